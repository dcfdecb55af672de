import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import type { ConsumedRecord } from '../src/client/types.js';
import { buildCloudTopology, type WorstOffendersRecord } from '../src/monitor/cloud-pipeline.js';
import type { AggregateRecord } from '../src/monitor/pipeline.js';
import { StreamsApp } from '../src/streams/streams-app.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';

const WINDOW = 10_000;

function aggregate(edge: string, site: string, windowStart: number, retransmitPct: number): AggregateRecord {
  return {
    metric: 'edge_tcp_10s',
    dimensions: { site, edge },
    windowStart,
    windowEnd: windowStart + WINDOW,
    values: { retransmit_pct: retransmitPct, retransmits: 1 },
  };
}

async function readAll(client: EmbeddedLogClient, topic: string): Promise<ConsumedRecord[]> {
  const { latest } = await client.offsets({ topic, partition: 0 });
  if (latest === 0) return [];
  return client.fetch([{ topic, partition: 0, offset: 0 }], { maxBytes: 1024 * 1024, maxWaitMs: 0 });
}

describe('cloud pipeline: worst edge servers over all sites', { timeout: 60_000 }, () => {
  let broker: RunningBroker | null = null;
  let app: StreamsApp | null = null;
  let client: EmbeddedLogClient | null = null;
  after(async () => {
    await app?.close();
    await client?.close();
    await broker?.stop();
  });

  it('ranks the windows every site forwarded, across sites, once per window', async () => {
    broker = await startBroker();
    client = new EmbeddedLogClient(broker.broker.embeddedLog());
    const sources = ['site-a.cdn.aggregates', 'site-b.cdn.aggregates'];
    for (const name of sources) await client.ensureTopic({ name, partitions: 1 });
    const t0 = 1_800_000_000_000;
    const send = (topic: string, records: AggregateRecord[]) =>
      client!.produce(
        records.map((record) => ({
          topic,
          partition: 0,
          key: Buffer.from(`${record.metric}/${record.dimensions.edge}`),
          value: Buffer.from(JSON.stringify(record)),
          timestamp: record.windowEnd - 1,
        })),
      );
    await send('site-a.cdn.aggregates', [
      aggregate('edge-001', 'fra1', t0, 0.2),
      aggregate('edge-002', 'fra1', t0, 8.1),
      { ...aggregate('edge-001', 'fra1', t0, 50), metric: 'site_tcp_10s' },
    ]);
    await send('site-b.cdn.aggregates', [
      aggregate('edge-001', 'ams1', t0, 3.5),
      aggregate('edge-002', 'ams1', t0, 0.1),
      aggregate('edge-003', 'ams1', t0, 5),
    ]);
    // Later windows from both sites move the watermark past the first window.
    await send('site-a.cdn.aggregates', [aggregate('edge-001', 'fra1', t0 + 3 * WINDOW, 0.2)]);
    await send('site-b.cdn.aggregates', [aggregate('edge-001', 'ams1', t0 + 3 * WINDOW, 0.2)]);

    app = new StreamsApp({
      applicationId: 'cloud',
      client,
      logger: pino({ level: 'warn' }),
      commitIntervalMs: 1_000,
    });
    buildCloudTopology(app.builder, {
      sourceTopics: sources,
      suffix: '.cdn.aggregates',
      outputTopic: 'cloud.worst-edges',
      metric: 'edge_tcp_10s',
      field: 'retransmit_pct',
      top: 3,
      window: WINDOW,
      maxOutOfOrderness: WINDOW,
    });
    await app.start();
    let results: WorstOffendersRecord[] = [];
    const deadline = Date.now() + 30_000;
    while (results.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      results = (await readAll(client, 'cloud.worst-edges').catch(() => [])).map(
        (record) => JSON.parse(record.value!.toString()) as WorstOffendersRecord,
      );
    }
    assert.equal(results.length, 1, 'one ranking for the first window; later windows are still open');
    const [ranking] = results;
    assert.equal(ranking!.windowStart, t0);
    assert.deepEqual(
      ranking!.worst.map((o) => [o.origin, o.dimensions.site, o.dimensions.edge, o.value]),
      [
        ['site-a', 'fra1', 'edge-002', 8.1],
        ['site-b', 'ams1', 'edge-003', 5],
        ['site-b', 'ams1', 'edge-001', 3.5],
      ],
      'the top 3 over both sites, per-site metrics left out',
    );
  });
});
