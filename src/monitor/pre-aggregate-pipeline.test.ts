import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { MemoryLogClient } from '../../test/support/memory-log-client.js';
import type { WindowUpdate } from '../alerts/series.js';
import type { OutgoingRecord } from '../client/types.js';
import { StreamsApp } from '../streams/streams-app.js';
import { buildMonitorTopology, DEFAULT_MONITOR_WINDOWS } from './pipeline.js';

const PARTITIONS = 3;
const EDGES = 12;
const EVENTS = 12_000;
const EVENTS_PER_SEC = 500;
/** Within the pipeline's out-of-orderness, so no record is late whatever the interleaving of tasks. */
const JITTER_MS = 800;
const FAR_FUTURE_MS = 3_600_000;

/** Deterministic CDN telemetry over PARTITIONS partitions per topic: 3 sites, 2 streams, 12 edges. */
function telemetry(baseMs: number): OutgoingRecord[] {
  let state = 7;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const records: OutgoingRecord[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const edgeIndex = Math.floor(random() * EDGES);
    const edge = `edge-${edgeIndex}`;
    const site = `site-${edgeIndex % 3}`;
    const stream = `stream-${Math.floor(random() * 2)}`;
    const ts = baseMs + Math.floor((i * 1000) / EVENTS_PER_SEC) - Math.floor(random() * JITTER_MS);
    const common = { ts, site, edge, stream };
    const value =
      i % 5 < 2
        ? {
            type: 'tcp_stats',
            ...common,
            conn: `c-${i % 50}`,
            intervalMs: 1000,
            segmentsOut: 100 + Math.floor(random() * 400),
            retransmits: Math.floor(random() * 8),
            bytesSent: 1,
            // Tenths of a millisecond, as agents report: sums of these depend on their order in the last bits.
            rttMs: Math.round(200 + random() * 400) / 10,
            rttVarMs: 1,
            cwnd: 10,
            deliveryRateKbps: 1,
          }
        : {
            type: 'segment',
            ...common,
            session: `s-${Math.floor(random() * 300)}`,
            downloadMs: 100 + Math.floor(random() * 2000),
            httpStatus: random() < 0.03 ? 503 : 200,
            bytes: 1,
            cmcd: { br: 3500, bl: 1, mtp: 1, ot: 'v', sid: 's', cid: stream, su: false, d: 2000 },
          };
    records.push(
      recordOf(value.type === 'tcp_stats' ? 'tcp' : 'qoe', edgeIndex % PARTITIONS, edge, ts, value),
    );
  }
  // A record far ahead on every partition closes every window of the ones above.
  for (const topic of ['tcp', 'qoe']) {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const ts = baseMs + FAR_FUTURE_MS;
      const common = { ts, site: 'site-0', edge: `edge-${partition}`, stream: 'stream-0' };
      const value =
        topic === 'tcp'
          ? { type: 'tcp_stats', ...common, conn: 'c', intervalMs: 1000, segmentsOut: 1, retransmits: 0 }
          : { type: 'segment', ...common, session: 's', downloadMs: 1, httpStatus: 200, bytes: 1 };
      records.push(recordOf(topic, partition, common.edge, ts, { ...value, bytesSent: 1, rttMs: 1 }));
    }
  }
  return records;
}

function recordOf(topic: string, partition: number, key: string, ts: number, value: object): OutgoingRecord {
  return {
    topic,
    partition,
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify(value)),
    timestamp: ts,
  };
}

/** Every final result of windows that close before the far-ahead records, as sorted comparable lines. */
async function finalResults(
  preAggregate: boolean,
  input: OutgoingRecord[],
  baseMs: number,
): Promise<string[]> {
  const client = new MemoryLogClient();
  for (const topic of ['tcp', 'qoe']) await client.ensureTopic({ name: topic, partitions: PARTITIONS });
  const app = new StreamsApp({
    applicationId: `preagg-${preAggregate}`,
    client,
    logger: pino({ level: 'silent' }),
    commitIntervalMs: 200,
  });
  const finals: string[] = [];
  buildMonitorTopology(app.builder, {
    tcpTopic: 'tcp',
    qoeTopic: 'qoe',
    aggregatesTopic: 'aggregates',
    windows: DEFAULT_MONITOR_WINDOWS,
    maxOutOfOrderness: '1s',
    preAggregate,
    onWindow: (update: WindowUpdate) => {
      if (!update.final || update.windowStart >= baseMs + FAR_FUTURE_MS - 60_000) return;
      finals.push(
        JSON.stringify([update.metric, update.dimensions, update.windowStart, rounded(update.values)]),
      );
    },
  });
  await app.start();
  try {
    await client.produce(input);
    let seen = -1;
    for (let waitedMs = 0; seen !== finals.length || finals.length === 0; waitedMs += 500) {
      assert.ok(waitedMs < 30_000, 'the final results kept coming for 30 s');
      seen = finals.length;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await app.close();
  }
  return finals.sort();
}

/**
 * Floating-point sums (RTT) depend on the order of their terms in the last bits, and the order measurements from
 * several tasks reach a site's task varies from run to run anyway: 12 significant digits, all else exact.
 */
function rounded(values: Record<string, number | null>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, value] of Object.entries(values))
    out[name] = value === null ? null : Number(value.toPrecision(12));
  return out;
}

describe('monitor pipelines with pre-aggregation before the site repartition', () => {
  it('give the same final result for every window, per edge, site and stream, as measurements one by one', async () => {
    const baseMs = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const input = telemetry(baseMs);
    const plain = await finalResults(false, input, baseMs);
    const preAggregated = await finalResults(true, input, baseMs);
    for (const metric of ['edge_tcp_1s', 'site_tcp_1s', 'site_qoe_10s', 'stream_qoe_10s', 'site_qoe_1m'])
      assert.ok(
        plain.some((line) => line.startsWith(`["${metric}"`)),
        `${metric} has final results`,
      );
    assert.ok(plain.length > 500, `${plain.length} final results`);
    assert.deepEqual(preAggregated, plain);
  });
});
