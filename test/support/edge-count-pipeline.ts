import pino from 'pino';
import type { LogClient } from '../../src/client/types.js';
import { count } from '../../src/streams/aggregations.js';
import { json } from '../../src/streams/serdes.js';
import { StreamsApp, type StreamsConfig } from '../../src/streams/streams-app.js';

/**
 * Readings counted per edge through one repartition (`<applicationId>-by-edge-repartition`), counts written to
 * `counts`: the smallest pipeline whose outputs travel through a repartition topic.
 */
export function edgeCountPipeline(
  client: LogClient,
  config: Omit<StreamsConfig, 'client' | 'logger'>,
): StreamsApp {
  const app = new StreamsApp({ ...config, client, logger: pino({ level: 'silent' }) });
  app
    .stream('readings', { value: json<{ edge: string }>() })
    .groupBy((reading) => reading.edge, { name: 'by-edge' })
    .aggregate(count<{ edge: string }>(), { name: 'per-edge' })
    .to('counts', { value: json<number>() });
  return app;
}
