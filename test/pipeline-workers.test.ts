import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { parseEdgestreamConfig } from '../src/cli/config.js';
import { EdgestreamRuntime } from '../src/cli/runtime.js';
import type { ConsumedRecord, OutgoingRecord } from '../src/client/types.js';
import { eventually } from './support/processes.js';
import { readTopic } from './support/read-partition.js';

const PARTITIONS = 4;
const EDGES = 8;
const SITES = 2;
const ROUNDS = 60;
/** Events per edge per round; each round is 250 ms of event time. */
const PER_EDGE = 5;
const ROUND_MS = 250;
const WINDOW_MS = 10_000;
const BASE_MS = Date.UTC(2026, 0, 1);

const edgeName = (edge: number) => `edge-${edge}`;
const siteName = (edge: number) => `site-${edge % SITES}`;

function round(r: number): OutgoingRecord[] {
  const records: OutgoingRecord[] = [];
  for (let edge = 0; edge < EDGES; edge++) {
    for (let i = 0; i < PER_EDGE; i++) {
      const ts = BASE_MS + r * ROUND_MS + i;
      records.push({
        topic: 'cdn.tcp',
        // Each edge stays on one partition: its per-edge windows are computed in place.
        partition: edge % PARTITIONS,
        key: Buffer.from(edgeName(edge)),
        value: Buffer.from(
          JSON.stringify({
            type: 'tcp_stats',
            ts,
            site: siteName(edge),
            edge: edgeName(edge),
            stream: 'live-1',
            conn: `c${edge}`,
            intervalMs: 1000,
            segmentsOut: 10,
            retransmits: 1,
            bytesSent: 14_000,
            rttMs: 20,
            rttVarMs: 2,
            cwnd: 10,
            deliveryRateKbps: 5000,
          }),
        ),
        timestamp: ts,
      });
    }
  }
  return records;
}

/** Per-edge and per-site sample counts each 10 s window must end with. */
function expectedSamples(): Map<string, number> {
  const expected = new Map<string, number>();
  for (let r = 0; r < ROUNDS; r++) {
    const windowStart = Math.floor((BASE_MS + r * ROUND_MS) / WINDOW_MS) * WINDOW_MS;
    for (let edge = 0; edge < EDGES; edge++) {
      for (const key of [
        `edge_tcp_10s/${edgeName(edge)}@${windowStart}`,
        `site_tcp_10s/${siteName(edge)}@${windowStart}`,
      ])
        expected.set(key, (expected.get(key) ?? 0) + PER_EDGE);
    }
  }
  return expected;
}

/**
 * Starts the runtime of a suite (broker, HTTP API, monitor with `monitor`'s workers) in a fresh data
 * directory; the suite stops it and removes the directory when done.
 */
function suiteRuntime(
  prefix: string,
): (monitor: { workers: number; workerHangTimeout?: string }) => Promise<EdgestreamRuntime> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let runtime: EdgestreamRuntime | null = null;
  after(async () => {
    await runtime?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return async (monitor) => {
    runtime = await EdgestreamRuntime.start(
      parseEdgestreamConfig({
        dataDir: dir,
        broker: { listen: '127.0.0.1:0', defaultPartitions: PARTITIONS },
        http: { listen: '127.0.0.1:0' },
        monitor: {
          ...monitor,
          commitInterval: '1s',
          topics: { partitions: PARTITIONS },
          windows: [{ name: '10s', size: '10s', early: false }],
        },
      }),
      pino({ level: 'warn' }),
    );
    return runtime;
  };
}

describe('pipeline workers', () => {
  const start = suiteRuntime('edgestream-workers-');

  it('restarts a crashed and a hung worker, resumes their tasks exactly once, and the broker serves meanwhile', async () => {
    const runtime = await start({ workers: 2, workerHangTimeout: '3s' });
    const { client } = runtime;
    const pipelines = runtime.monitor!.pipelines;
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${runtime.broker.kafkaAddress.port}`],
      clientId: 'workers-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (let r = 0; r < ROUNDS; r++) {
        await client.produce(round(r));
        if (r === 20) pipelines.injectFault(0, 'exit');
        if (r === 40) {
          pipelines.injectFault(1, 'hang');
          // The worker is stuck for good; the broker's thread is not: a Kafka client is answered.
          const topics = await admin.listTopics();
          assert.ok(topics.includes('cdn.tcp'));
          assert.equal(pipelines.restarts(), 1, 'the hung worker is not restarted before its timeout');
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Far ahead in event time on every partition, so every window of the rounds closes.
      const closing = round(ROUNDS + (WINDOW_MS / ROUND_MS) * 3);
      await client.produce(closing);
      await eventually(async () => pipelines.restarts() === 2, 30_000, 'both workers restarted');
      const expected = expectedSamples();
      const finals = async () => finalWindows(await readTopic(runtime.client, 'cdn.aggregates'));
      await eventually(
        async () => {
          const seen = await finals();
          return [...expected.keys()].every((key) => seen.has(key));
        },
        60_000,
        'every window closed',
      );
      const seen = await finals();
      for (const [key, samples] of expected) {
        assert.deepEqual(seen.get(key), [samples], `${key}: one final result with every sample`);
      }
    } finally {
      await admin.disconnect();
    }
  });
});

describe('pipeline workers read committed', () => {
  const start = suiteRuntime('edgestream-workers-txn-');

  it("aggregates a committed transaction's records and never an aborted one's", async () => {
    const runtime = await start({ workers: 1 });
    const producer = new Kafka({
      brokers: [`127.0.0.1:${runtime.broker.kafkaAddress.port}`],
      clientId: 'workers-txn-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    }).producer({ transactionalId: 'workers-txn', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      // Rounds 0 and 1 (one window) go in two transactions: the first aborted, the second committed.
      for (const [r, commit] of [
        [0, false],
        [1, true],
      ] as const) {
        const txn = await producer.transaction();
        for (const record of round(r)) {
          await txn.send({
            topic: record.topic,
            messages: [
              {
                partition: record.partition,
                key: record.key,
                value: record.value,
                timestamp: String(record.timestamp),
              },
            ],
          });
        }
        await (commit ? txn.commit() : txn.abort());
      }
    } finally {
      await producer.disconnect();
    }
    await runtime.client.produce(round((WINDOW_MS / ROUND_MS) * 3));
    const windowStart = Math.floor(BASE_MS / WINDOW_MS) * WINDOW_MS;
    const key = `edge_tcp_10s/${edgeName(0)}@${windowStart}`;
    const finals = async () => finalWindows(await readTopic(runtime.client, 'cdn.aggregates'));
    await eventually(async () => (await finals()).has(key), 60_000, 'the window closed');
    assert.deepEqual((await finals()).get(key), [PER_EDGE], 'only the committed round is counted');
  });
});

/** Samples of each final window in the aggregates topic, every time it appears. */
function finalWindows(records: ConsumedRecord[]): Map<string, number[]> {
  const windows = new Map<string, number[]>();
  for (const record of records) {
    const value = JSON.parse(record.value!.toString()) as {
      metric: string;
      dimensions: Record<string, string>;
      windowStart: number;
      values: { samples: number };
    };
    const dimension = value.metric.startsWith('edge') ? value.dimensions.edge : value.dimensions.site;
    const key = `${value.metric}/${dimension}@${value.windowStart}`;
    windows.set(key, [...(windows.get(key) ?? []), value.values.samples]);
  }
  return windows;
}
