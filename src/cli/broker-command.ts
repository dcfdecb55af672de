import { parseArgs } from 'node:util';
import pino from 'pino';
import { Broker } from '../broker/broker.js';
import { parseBrokerConfig } from '../broker/config.js';
import { untilSignal } from './signals.js';
import { UsageError } from './usage-error.js';

export const BROKER_USAGE = `  edgestream broker --data-dir DIR        run the Kafka-compatible broker
        [--listen HOST:PORT]               where clients connect (default 127.0.0.1:9092)
        [--advertised HOST:PORT]           the address given to clients in metadata
        [--metrics HOST:PORT]              Prometheus /metrics endpoint
        [--partitions N]                   partitions of auto-created topics (default 4)
        [--no-auto-create]                 refuse to create topics on first use
`;

/** Runs the broker until SIGINT/SIGTERM, then finishes in-flight requests and flushes the logs. */
export async function brokerCommand(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        listen: { type: 'string' },
        advertised: { type: 'string' },
        metrics: { type: 'string' },
        partitions: { type: 'string' },
        'no-auto-create': { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (typeof values['data-dir'] !== 'string') throw new UsageError('broker needs --data-dir DIR');
  let config: ReturnType<typeof parseBrokerConfig>;
  try {
    config = parseBrokerConfig({
      dataDir: values['data-dir'],
      ...(typeof values.listen === 'string' ? { listen: values.listen } : {}),
      ...(typeof values.advertised === 'string' ? { advertised: values.advertised } : {}),
      ...(typeof values.metrics === 'string' ? { metricsListen: values.metrics } : {}),
      ...(typeof values.partitions === 'string' ? { defaultPartitions: Number(values.partitions) } : {}),
      autoCreateTopics: values['no-auto-create'] !== true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime });
  const broker = await Broker.start(config, logger);
  const signal = await untilSignal();
  logger.info({ signal }, 'shutting down');
  await broker.close();
  return 0;
}
