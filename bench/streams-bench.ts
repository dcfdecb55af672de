// bench:streams — a 10-second tumbling window count/sum/p95 per key over 200-byte JSON telemetry with 100,000
// distinct keys, in-process against the embedded broker. Reports events/s on one core beside the JSON.parse
// ceiling of the same events measured in the same run, and produce -> early-update latency at a fixed rate
// with a native librdkafka producer (bench/loadgen.c) over the Kafka protocol.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { Broker } from '../src/broker/broker.js';
import { parseBrokerConfig } from '../src/broker/config.js';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import { combine, count, sum } from '../src/streams/aggregations.js';
import { jsonFields } from '../src/streams/serdes.js';
import { quantiles } from '../src/streams/sketches.js';
import { StreamsApp } from '../src/streams/streams-app.js';
import { tumbling } from '../src/streams/windows.js';
import { buildLoadgen } from './native-tools.js';
import { cpuMicros } from './support/cpu-time.js';

interface Telemetry {
  edge: string;
  site: string;
  ts: number;
  retransmits: number;
  rttMs: number;
  segmentMs: number;
  bytes: number;
  status: number;
  session: string;
}

/** What the pipeline reads of an event. */
type TelemetryRead = Pick<Telemetry, 'ts' | 'retransmits' | 'segmentMs'>;

const KEYS = 100_000;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const LATENCY_RATE = Number(process.env.BENCH_RATE ?? 100_000);
const LATENCY_SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WARMUP_MS = 2_000;

function event(i: number, ts: number): Telemetry {
  const key = (i * 7919) % KEYS;
  return {
    edge: `edge-${String(key).padStart(6, '0')}`,
    site: `site-${key % 40}`,
    ts,
    retransmits: (i * 31) % 17,
    rttMs: 5 + ((i * 13) % 200) / 3,
    segmentMs: 20 + ((i * 17) % 900),
    bytes: 1_000_000 + ((i * 101) % 900_000),
    status: i % 97 === 0 ? 503 : 200,
    session: `s-${(i * 104729) % 10_000_000}-abcdefghijklmnopqrst`,
  };
}

function pipeline(app: StreamsApp, onUpdate: (ts: number) => void): void {
  app
    .stream('telemetry', {
      // The fields the pipeline reads, as the monitoring pipelines' serdes do: the others are only checked.
      value: jsonFields<TelemetryRead>({ ts: true, retransmits: true, segmentMs: true }),
      timestamp: (e) => e.ts,
      maxOutOfOrderness: '1s',
    })
    .groupByKey({ name: 'by-edge' })
    .windowedBy(tumbling('10s').grace('2s'))
    .aggregate(
      combine({
        count: count<TelemetryRead>(),
        retransmits: sum<TelemetryRead>((e) => e.retransmits),
        segment: quantiles<TelemetryRead>((e) => e.segmentMs, [0.95]),
      }),
      { name: 'edge-10s', emit: 'update' },
    )
    .foreach((_result, _key, timestamp) => onUpdate(timestamp));
}

async function startBroker(dataDir: string): Promise<{ broker: Broker; client: EmbeddedLogClient }> {
  const broker = await Broker.start(
    parseBrokerConfig({ dataDir, listen: '127.0.0.1:0' }),
    pino({ level: 'warn' }),
  );
  return { broker, client: new EmbeddedLogClient(broker.embeddedLog()) };
}

/** Events/s, and CPU µs per event: on a loaded machine the CPU figure is the one to compare runs by. */
function jsonParseCeiling(values: Buffer[]): { eventsPerSecond: number; cpuUsPerEvent: number } {
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  let checksum = 0;
  for (const value of values) checksum += (JSON.parse(value.toString('utf8')) as Telemetry).retransmits;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (checksum < 0) throw new Error('unreachable');
  return { eventsPerSecond: values.length / seconds, cpuUsPerEvent: cpuMicros(cpuStarted) / values.length };
}

async function throughput(dataDir: string): Promise<{
  eventsPerSecond: number;
  cpuUsPerEvent: number;
  ceiling: { eventsPerSecond: number; cpuUsPerEvent: number };
  eventBytes: number;
}> {
  const { broker, client } = await startBroker(dataDir);
  await client.ensureTopic({ name: 'telemetry', partitions: 1 });
  const base = Date.now() - 3_600_000;
  const values: Buffer[] = [];
  for (let from = 0; from < EVENTS; from += 10_000) {
    const batch = [];
    for (let i = from; i < Math.min(from + 10_000, EVENTS); i++) {
      const e = event(i, base + Math.floor(i / 50));
      const value = Buffer.from(JSON.stringify(e));
      values.push(value);
      batch.push({ topic: 'telemetry', partition: 0, key: Buffer.from(e.edge), value, timestamp: e.ts });
    }
    await client.produce(batch);
  }
  const eventBytes = values.reduce((total, value) => total + value.length, 0) / values.length;
  const ceiling = jsonParseCeiling(values);
  values.length = 0;
  let updates = 0;
  const app = new StreamsApp({ applicationId: 'bench-throughput', client, logger: pino({ level: 'warn' }) });
  pipeline(app, () => updates++);
  const profile = process.env.BENCH_PROFILE ? await startProfile() : null;
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  await app.start();
  while (updates < EVENTS) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuUsPerEvent = cpuMicros(cpuStarted) / EVENTS;
  if (profile) await profile.stop(process.env.BENCH_PROFILE!);
  await app.close();
  await broker.close();
  return { eventsPerSecond: EVENTS / seconds, cpuUsPerEvent, ceiling, eventBytes };
}

async function latency(
  dataDir: string,
  loadgen: string,
): Promise<{
  p50: number;
  p99: number;
  p999: number;
  samples: number;
  rate: number;
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}> {
  const { broker, client } = await startBroker(dataDir);
  await client.ensureTopic({ name: 'telemetry', partitions: 1 });
  const latencies: number[] = [];
  const app = new StreamsApp({
    applicationId: 'bench-latency',
    client,
    logger: pino({ level: 'warn' }),
    startFrom: 'latest',
  });
  let measureFrom = Number.POSITIVE_INFINITY;
  pipeline(app, (ts) => {
    if (ts >= measureFrom) latencies.push(Date.now() - ts);
  });
  await app.start();
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  // A native producer (librdkafka) in its own process: a Node producer at this rate would take the core the
  // pipeline needs. The first seconds (connection, first fetches) are not measured.
  measureFrom = Date.now() + WARMUP_MS;
  const produced = await runProcess(loadgen, [
    'telemetry',
    `127.0.0.1:${broker.kafkaAddress.port}`,
    'telemetry',
    String(LATENCY_RATE),
    String(LATENCY_SECONDS),
    String(KEYS),
  ]);
  loopDelay.disable();
  const match = /produced (\d+) records in ([\d.]+) s/.exec(produced);
  if (!match) throw new Error(`unexpected loadgen output: ${produced}`);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await app.close();
  await broker.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    samples: latencies.length,
    rate: Number(match[1]) / Number(match[2]),
    loopDelayMaxMs: loopDelay.max / 1e6,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  };
}

/** Runs a program to completion without blocking the event loop (the broker lives in this process). */
function runProcess(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (status) =>
      status === 0
        ? resolve(stdout.trim())
        : reject(new Error(`${command} exited with ${status}: ${stdout}`)),
    );
  });
}

/** `BENCH_PROFILE=FILE`: a CPU profile of the pipeline phase only, for chrome://inspect or speedscope. */
async function startProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** `BENCH_PHASE=throughput` or `latency` runs one phase alone (the other's rows are left out). */
const PHASE = process.env.BENCH_PHASE ?? 'both';

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-streams-bench-'));
  try {
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const rows = [['machine', `${cpu}, ${os.cpus().length} cores, Node ${process.version}`]];
    if (PHASE !== 'latency') rows.push(...throughputRows(await throughput(path.join(root, 'throughput'))));
    if (PHASE !== 'throughput')
      rows.push(
        ...latencyRows(await latency(path.join(root, 'latency'), buildLoadgen(root, 'bench:streams'))),
      );
    console.log('| measure | result |\n|---|---|');
    for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function throughputRows(t: Awaited<ReturnType<typeof throughput>>): string[][] {
  return [
    [
      'events',
      `${EVENTS.toLocaleString()} JSON events, ${Math.round(t.eventBytes)} bytes avg, ${KEYS.toLocaleString()} keys`,
    ],
    [
      'JSON.parse ceiling (same events, same run)',
      `${Math.round(t.ceiling.eventsPerSecond).toLocaleString()} events/s, ${t.ceiling.cpuUsPerEvent.toFixed(2)} µs CPU/event`,
    ],
    [
      'pipeline: 10 s tumbling count/sum/p95, update emit',
      `${Math.round(t.eventsPerSecond).toLocaleString()} events/s, ${t.cpuUsPerEvent.toFixed(2)} µs CPU/event (all threads)`,
    ],
    [
      'pipeline / ceiling (goal >= 50%)',
      `${((t.eventsPerSecond / t.ceiling.eventsPerSecond) * 100).toFixed(0)}% by rate, ` +
        `${((t.ceiling.cpuUsPerEvent / t.cpuUsPerEvent) * 100).toFixed(0)}% by CPU time`,
    ],
  ];
}

function latencyRows(l: Awaited<ReturnType<typeof latency>>): string[][] {
  return [
    [
      `produce -> early update at ${Math.round(l.rate).toLocaleString()} events/s`,
      `p50 ${l.p50} ms, p99 ${l.p99} ms, p99.9 ${l.p999} ms (${l.samples.toLocaleString()} samples; goal p99 <= 50 ms)`,
    ],
    [
      'event-loop delay meanwhile',
      `p99 ${l.loopDelayP99Ms.toFixed(1)} ms, max ${l.loopDelayMaxMs.toFixed(0)} ms`,
    ],
  ];
}

await main();
