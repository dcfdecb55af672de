// bench:worker — the monitoring pipelines on one pipeline worker thread, as the product runs them
// (PipelineWorkers over the embedded broker's log), through a backlog of CDN telemetry in bench/loadgen.c's
// `cdn` format (2 in 5 events tcp_stats, the rest segment events). Reports CPU µs per event of the whole
// process and of its busiest threads (on a loaded machine the CPU figures are the ones to compare builds by),
// and hashes of the final window results per edge and per site and stream (through the site repartition,
// pre-aggregated or not), which every build must reproduce. Run it under
// `node --trace-gc-nvp` to see the worker's scavenges and what they promote. BENCH_EVENTS sets the backlog
// (default 1,000,000), BENCH_FINALS_FILE writes the hashed results, BENCH_PRE_AGGREGATE=0 turns pre-aggregation off (for A/B). The reference, measured in the same run, is
// JSON.parse alone over the same events' values: the least any pipeline reading them must spend.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Broker } from '../src/broker/broker.js';
import { parseBrokerConfig } from '../src/broker/config.js';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import { partitionForKey } from '../src/client/partitioner.js';
import type { OutgoingRecord } from '../src/client/types.js';
import { DEFAULT_MONITOR_WINDOWS } from '../src/monitor/pipeline.js';
import { PipelineWorkers } from '../src/monitor/pipeline-workers.js';
import { cpuMicros } from './support/cpu-time.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const EDGES = 40;
const PARTITIONS = 8;
const EVENTS_PER_SEC = 50_000;
const TCP = 'cdn-tcp';
const QOE = 'cdn-qoe';
/** Events the JSON.parse reference parses (the backlog's first): enough for a stable figure. */
const REFERENCE_EVENTS = 200_000;

function event(i: number, ts: number): { topic: string; key: string; value: string } {
  const edge = (i * 7919) % EDGES;
  const key = `bg-edge-${String(edge + 1).padStart(3, '0')}`;
  const site = `bg${(edge % 4) + 1}`;
  if (i % 5 < 2) {
    const segments = 200 + ((i * 37) % 200);
    const retransmits = (i * 13) % 1000 < (2 * segments) / 10 ? 1 : 0;
    return {
      topic: TCP,
      key,
      value:
        `{"type":"tcp_stats","ts":${ts},"site":"${site}","edge":"${key}","stream":"sports-1",` +
        `"conn":"c-${i % 200}","intervalMs":1000,"segmentsOut":${segments},"retransmits":${retransmits},` +
        `"bytesSent":${segments * 1448},"rttMs":${(20 + ((i * 11) % 300) / 10).toFixed(1)},` +
        `"rttVarMs":${(2 + ((i * 7) % 50) / 10).toFixed(1)},"cwnd":${10 + ((i * 3) % 90)},` +
        `"deliveryRateKbps":${2000 + ((i * 29) % 6000)}}`,
    };
  }
  const session = (i * 104729) % 4000;
  return {
    topic: QOE,
    key,
    value:
      `{"type":"segment","ts":${ts},"site":"${site}","edge":"${key}","stream":"sports-1",` +
      `"session":"${key}-s${session}","downloadMs":${300 + ((i * 17) % 900)},"httpStatus":${i % 1000 === 0 ? 503 : 200},` +
      `"bytes":${875000 + ((i * 101) % 10000)},"cmcd":{"br":3500,"bl":${8000 + ((i * 7) % 20000)},` +
      `"mtp":${5000 + ((i * 13) % 20000)},"ot":"v","sid":"${key}-s${session}","cid":"sports-1","su":false,"d":2000}}`,
  };
}

/** CPU ms of each thread of this process so far (utime + stime, clock ticks of 10 ms), by thread id. */
function threadCpuMs(): Map<string, { name: string; ms: number }> {
  const threads = new Map<string, { name: string; ms: number }>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    threads.set(tid, { name, ms: (Number(fields[11]) + Number(fields[12])) * 10 });
  }
  return threads;
}

/** CPU µs per event of JSON.parse alone over `values`. */
function jsonParseReference(values: readonly string[]): number {
  const cpuStarted = process.cpuUsage();
  let fields = 0;
  for (const value of values) fields += Object.keys(JSON.parse(value) as object).length;
  assert.ok(fields > 0, 'the reference parsed nothing');
  return cpuMicros(cpuStarted) / values.length;
}

function roundedValues(values: Record<string, number | null>): Record<string, number | null> {
  const rounded: Record<string, number | null> = {};
  for (const [name, value] of Object.entries(values))
    rounded[name] = value === null ? null : Number(value.toPrecision(12));
  return rounded;
}

function sha256Prefix(lines: string[]): string {
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex').slice(0, 16);
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-worker-bench-'));
  const logger = pino({ level: 'warn' });
  const broker = await Broker.start(parseBrokerConfig({ dataDir, listen: '127.0.0.1:0' }), logger);
  const log = broker.embeddedLog();
  const client = new EmbeddedLogClient(log);
  let workers: PipelineWorkers | null = null;
  try {
    for (const name of [TCP, QOE]) await client.ensureTopic({ name, partitions: PARTITIONS });
    // On a 10 s boundary (every window's start is one): every run puts the same events in the same windows.
    const baseMs =
      Math.floor((Date.now() - Math.ceil((EVENTS / EVENTS_PER_SEC) * 1000) - 15_000) / 10_000) * 10_000;
    const referenceValues: string[] = [];
    for (let from = 0; from < EVENTS; from += 5_000) {
      const batch: OutgoingRecord[] = [];
      for (let i = from; i < Math.min(from + 5_000, EVENTS); i++) {
        const ts = baseMs + Math.floor((i * 1000) / EVENTS_PER_SEC);
        const e = event(i, ts);
        if (i < REFERENCE_EVENTS) referenceValues.push(e.value);
        const key = Buffer.from(e.key);
        batch.push({
          topic: e.topic,
          partition: partitionForKey(key, PARTITIONS),
          key,
          value: Buffer.from(e.value),
          timestamp: ts,
        });
      }
      await client.produce(batch);
    }
    const lastTs = baseMs + Math.floor(((EVENTS - 1) * 1000) / EVENTS_PER_SEC);
    let updates = 0;
    // Final results do not depend on how records were batched: the same input gives the same set.
    const finals: string[] = [];
    const siteFinals: string[] = [];
    const threadsBefore = threadCpuMs();
    const cpuStarted = process.cpuUsage();
    const startedMs = performance.now();
    workers = await PipelineWorkers.start({
      workers: 1,
      worker: {
        applicationId: 'bench-worker',
        tcpTopic: TCP,
        qoeTopic: QOE,
        aggregatesTopic: 'cdn.aggregates',
        windows: DEFAULT_MONITOR_WINDOWS,
        maxOutOfOrdernessMs: 1_000,
        preAggregate: process.env.BENCH_PRE_AGGREGATE !== '0',
        fetchMaxBytes: 1024 * 1024,
        logLevel: 'warn',
      },
      log: { kind: 'embedded', client, served: () => undefined },
      logger,
      onWindows: (batch) => {
        updates += batch.length;
        for (const update of batch) {
          // Closed by the last event's watermark whatever the timing: the same set every run.
          if (!update.final || update.windowEnd > lastTs - 4_000) continue;
          const perEdge = 'edge' in update.dimensions;
          const line = JSON.stringify([
            update.metric,
            update.dimensions,
            update.windowStart - baseMs,
            update.windowEnd - baseMs,
            // Site sums of fractional values (RTT) depend on the order measurements from several tasks reach
            // the site's task, which varies from run to run, in their last bits: 12 digits say what matters.
            perEdge ? update.values : roundedValues(update.values),
          ]);
          (perEdge ? finals : siteFinals).push(line);
        }
      },
      hangTimeoutMs: 60_000,
    });
    const pipelines = workers;
    const processed = () => pipelines.recordsProcessed(TCP) + pipelines.recordsProcessed(QOE);
    while (processed() < EVENTS) await sleep(50);
    const inputMs = performance.now() - startedMs;
    const inputCpuUs = cpuMicros(cpuStarted);
    // Then the repartitioned measurements: every task at the end of its partition.
    for (;;) {
      const positions = pipelines.positions();
      let behind = 0;
      for (const { topic, partition, nextOffset } of positions) {
        const { latest } = await client.offsets({ topic, partition });
        behind += Math.max(0, latest - nextOffset);
      }
      if (behind < 50) break;
      await sleep(50);
    }
    const totalMs = performance.now() - startedMs;
    const totalCpuUs = cpuMicros(cpuStarted);
    // Site windows close on the markers of every task, which follow the last records: wait for the last ones.
    for (let seen = -1, waitedMs = 0; seen !== siteFinals.length && waitedMs < 10_000; waitedMs += 1_000) {
      seen = siteFinals.length;
      await sleep(1_000);
    }
    if (process.env.BENCH_FINALS_FILE)
      fs.writeFileSync(process.env.BENCH_FINALS_FILE, [...finals.sort(), ...siteFinals.sort()].join('\n'));
    const threads = [...threadCpuMs()]
      .map(([tid, { name, ms }]) => ({ name, tid, ms: ms - (threadsBefore.get(tid)?.ms ?? 0) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3)
      .map(({ name, ms }) => `${name} ${((ms * 1000) / EVENTS).toFixed(2)} µs/ev`);
    const referenceCpuUsPerEvent = jsonParseReference(referenceValues);
    console.log(
      JSON.stringify({
        machine: `${os.cpus()[0]?.model.trim()}, ${os.cpus().length} cores, Node ${process.version}`,
        events: EVENTS,
        updates,
        inputMs: Math.round(inputMs),
        inputCpuUsPerEvent: +(inputCpuUs / EVENTS).toFixed(2),
        totalMs: Math.round(totalMs),
        cpuUsPerEvent: +(totalCpuUs / EVENTS).toFixed(2),
        jsonParseReferenceCpuUsPerEvent: +referenceCpuUsPerEvent.toFixed(2),
        eventsPerSec: Math.round(EVENTS / (totalMs / 1000)),
        threads,
        finals: finals.length,
        finalsSha256: sha256Prefix(finals),
        siteFinals: siteFinals.length,
        siteFinalsSha256: sha256Prefix(siteFinals),
      }),
    );
  } finally {
    await workers?.close();
    await broker.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
