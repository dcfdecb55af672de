// bench:soak — does the demo hold up for an hour? `edgestream start --config` runs what `edgestream demo` runs
// (broker, pipelines, alerting, store, HTTP API, simulator at 5,000 events/s) with the simulator's `cycle`
// scenario: every fault kind in turn, 30 s each with 30 s of health between them, repeating. Ten Server-Sent
// Events clients read what the dashboard reads the whole time, reconnecting if dropped. Every 10 s the bench
// samples the process's RSS (VmRSS: every thread of it, so pipelines moved into worker threads still count) and
// CPU. At the end it prints the machine, each fault injected against the alert that detected and resolved it (from
// the webhook), produced against processed, and RSS: at warm-up end (half the run), at the end, and the growth
// over the last half. The goal is at most 5 MB of growth; beyond it the bench takes two heap snapshots a few
// minutes apart and prints the constructors that grew most.
//
// SOAK_MINUTES=N (or --minutes N) shortens the run from its default 60 minutes.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { alertMatchesFault, EXPECTED_ALERT, faultExplains } from '../src/cli/fault-detection.js';
import { buildFleet } from '../src/simulate/generator.js';
import { FAULT_KINDS, type Fault, scenarioFaults } from '../src/simulate/scenarios.js';
import { QOE_TOPIC, TCP_TOPIC } from '../src/simulate/telemetry.js';
import {
  type AlertSighting,
  freePort,
  processCpuSeconds,
  startWebhookReceiver,
} from './support/e2e-harness.js';
import { compareSnapshots, formatGrowth } from './support/heap-diff.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EDGESTREAM_BIN = path.join(ROOT, 'bin', 'edgestream.js');

const RATE_PER_SEC = 5_000;
const CLIENTS = 10;
const SAMPLE_INTERVAL_MS = 10_000;
/** The simulator's fleet: the config defaults, which the bench needs to know each fault's target. */
const FLEET = { edges: 20, sites: 4, seed: 1 } as const;
const FAULT_TIMING = { startOffsetMs: 20_000, durationMs: 30_000, staggerMs: 30_000 } as const;
/** A fault is judged once this much event time has passed since it ended: time for its alert to resolve. */
const RESOLVE_ALLOWANCE_MS = 120_000;
/** A firing notification this long after a fault ended is not taken as its detection. */
const DETECT_ALLOWANCE_MS = 60_000;
/**
 * How far a notification's event offset may fall before its fault's start and still be its own: the offset is
 * interpolated from the produced count sampled every SAMPLE_INTERVAL_MS, and the simulator produces in slices,
 * so on a loaded machine it is off by a second or two (a 60-minute run mapped 5 firings 0-2 s early).
 */
const OFFSET_TOLERANCE_MS = 3_000;
const RSS_GROWTH_GOAL_MB = 5;
const TOP_CONSTRUCTORS = 15;
/** What the dashboard subscribes to (web/src/main.ts). */
const LIVE_PATH = '/api/live?types=window,alert&metric=edge_tcp_10s,edge_qoe_10s,site_tcp_10s,site_qoe_10s';
const RECONNECT_DELAY_MS = 1_000;
const LIMITS = { readyTimeoutMs: 60_000, stopTimeoutMs: 30_000, snapshotTimeoutMs: 120_000 } as const;
const TELEMETRY_TOPICS = [TCP_TOPIC, QOE_TOPIC] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function runMinutes(): number {
  const { values } = parseArgs({ options: { minutes: { type: 'string' } }, strict: true });
  const raw = values.minutes ?? process.env.SOAK_MINUTES ?? '60';
  const minutes = Number(raw);
  if (!Number.isFinite(minutes) || minutes < 2 || minutes > 24 * 60)
    throw new Error(`soak minutes must be a number in [2, 1440], got '${raw}'`);
  return minutes;
}

interface Sample {
  atMs: number;
  rssMb: number;
  cpuSeconds: number;
  appended: number;
  processed: number;
}

interface Edgestream {
  child: ChildProcess;
  pid: number;
  httpBase: string;
  logFile: string;
  snapshotDir: string;
  exited: Promise<number | null>;
}

async function startEdgestream(dir: string, webhookUrl: string): Promise<Edgestream> {
  fs.mkdirSync(dir, { recursive: true });
  const httpListen = `127.0.0.1:${await freePort()}`;
  // What `edgestream demo` configures (src/cli/start-command.ts), with the `cycle` scenario and the webhook.
  const config = {
    dataDir: path.join(dir, 'data'),
    broker: { listen: `127.0.0.1:${await freePort()}` },
    http: { listen: httpListen },
    monitor: { commitInterval: '5s' },
    notifiers: [
      { kind: 'log' },
      { kind: 'topic', topic: 'edgestream.alerts', partitions: 1 },
      { kind: 'webhook', url: webhookUrl },
    ],
    simulator: {
      enabled: true,
      rate: RATE_PER_SEC,
      ...FLEET,
      scenario: 'cycle',
      faultStart: FAULT_TIMING.startOffsetMs,
      faultDuration: FAULT_TIMING.durationMs,
      faultStagger: FAULT_TIMING.staggerMs,
    },
  };
  const configFile = path.join(dir, 'edgestream.yaml');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const snapshotDir = path.join(dir, 'snapshots');
  fs.mkdirSync(snapshotDir);
  const logFile = path.join(dir, 'edgestream.log');
  const log = fs.openSync(logFile, 'w');
  // Heap snapshots on SIGUSR2 cost nothing until asked for; they land in snapshotDir.
  const child = spawn(
    process.execPath,
    [
      '--heapsnapshot-signal=SIGUSR2',
      `--diagnostic-dir=${snapshotDir}`,
      EDGESTREAM_BIN,
      'start',
      '--config',
      configFile,
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const edgestream = {
    child,
    pid: child.pid!,
    httpBase: `http://${httpListen}`,
    logFile,
    snapshotDir,
    exited,
  };
  const deadline = Date.now() + LIMITS.readyTimeoutMs;
  while (!(await isReady(edgestream.httpBase))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`edgestream did not become ready; log: ${logFile}`);
    }
    await sleep(100);
  }
  return edgestream;
}

async function isReady(httpBase: string): Promise<boolean> {
  try {
    return (await fetch(`${httpBase}/health`)).ok;
  } catch {
    return false;
  }
}

/** SIGTERM and wait for a clean shutdown; SIGKILL past LIMITS.stopTimeoutMs. Returns the exit code. */
async function stopEdgestream(edgestream: Edgestream): Promise<number | null> {
  const { child } = edgestream;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), LIMITS.stopTimeoutMs);
  const code = await edgestream.exited;
  clearTimeout(timer);
  return code;
}

interface LiveClient {
  events: number;
  dropped: number;
  connections: number;
  done: Promise<void>;
}

/** A dashboard-like SSE client that counts events and reconnects whenever its stream ends, until `stop` aborts. */
function openLiveClient(base: string, stop: AbortSignal): LiveClient {
  const client: LiveClient = { events: 0, dropped: 0, connections: 0, done: Promise.resolve() };
  client.done = (async () => {
    while (!stop.aborted) {
      try {
        const response = await fetch(`${base}${LIVE_PATH}`, { signal: stop });
        if (!response.ok || response.body === null)
          throw new Error(`live stream answered ${response.status}`);
        client.connections++;
        const decoder = new TextDecoder();
        let pending = '';
        for await (const chunk of response.body) {
          pending += decoder.decode(chunk, { stream: true });
          let end = pending.indexOf('\n\n');
          while (end !== -1) {
            const frame = pending.slice(0, end);
            pending = pending.slice(end + 2);
            if (frame.startsWith('event: dropped'))
              client.dropped += Number(/"dropped":(\d+)/.exec(frame)?.[1] ?? 0);
            else if (frame.startsWith('event: ')) client.events++;
            end = pending.indexOf('\n\n');
          }
        }
      } catch (error) {
        if (stop.aborted) return;
        console.error(`live client: ${error instanceof Error ? error.message : String(error)}; reconnecting`);
      }
      await sleep(RECONNECT_DELAY_MS);
    }
  })();
  return client;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (kb === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}

async function sample(edgestream: Edgestream): Promise<Sample> {
  const text = await (await fetch(`${edgestream.httpBase}/metrics`)).text();
  return {
    atMs: Date.now(),
    rssMb: rssMb(edgestream.pid),
    cpuSeconds: processCpuSeconds(edgestream.pid),
    appended: sumCounter(text, 'edgestream_broker_records_in_total'),
    processed: sumCounter(text, 'edgestream_streams_records_in_total'),
  };
}

/** A counter summed over the telemetry topics. */
function sumCounter(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const match = /topic="([^"]*)"\}\s+(\S+)/.exec(line);
    if (match && (TELEMETRY_TOPICS as readonly string[]).includes(match[1]!)) total += Number(match[2]);
  }
  return total;
}

interface FaultVerdict {
  fault: Fault;
  detectedAfterMs: number | null;
  resolved: boolean;
}

/**
 * The simulator's event time, from the wall clock. Faults are scheduled in event time, which falls behind the
 * wall clock whenever the process cannot keep up with the rate (a busy machine), so the bench reads it off the
 * events produced: the generator emits exactly the rate's share per slice, less those a dying edge withholds
 * (1/edges of the events during its window, in expectation).
 */
class EventClock {
  private readonly dyingEdges: readonly Fault[];
  private readonly sampleOffsetsMs: readonly number[];

  constructor(
    private readonly samples: readonly Sample[],
    faults: readonly Fault[],
  ) {
    this.dyingEdges = faults.filter((f) => f.kind === 'dying-edge');
    this.sampleOffsetsMs = samples.map((s) => this.offsetAt(s.atMs));
  }

  /** Event offset from the start of the run at wall time `wallMs`. */
  offsetAt(wallMs: number): number {
    const produced = this.producedAt(wallMs);
    let low = 0;
    let high = Math.max(1, (2 * produced * 1000) / RATE_PER_SEC);
    while (high - low > 10) {
      const mid = (low + high) / 2;
      if (this.expectedProduced(mid) < produced) low = mid;
      else high = mid;
    }
    return low;
  }

  /** Wall time at which the event offset reached `offsetMs`, between samples by interpolation. */
  wallAt(offsetMs: number): number {
    const reached = this.sampleOffsetsMs.findIndex((sampleOffsetMs) => sampleOffsetMs >= offsetMs);
    if (reached === -1) return this.samples.at(-1)!.atMs;
    if (reached === 0) return this.samples[0]!.atMs;
    const [a, b] = [this.samples[reached - 1]!, this.samples[reached]!];
    const [fromMs, toMs] = [this.sampleOffsetsMs[reached - 1]!, this.sampleOffsetsMs[reached]!];
    return a.atMs + ((b.atMs - a.atMs) * (offsetMs - fromMs)) / Math.max(1, toMs - fromMs);
  }

  private producedAt(wallMs: number): number {
    const after = this.samples.findIndex((s) => s.atMs >= wallMs);
    if (after === -1) return this.samples.at(-1)!.appended;
    if (after === 0) return this.samples[0]!.appended;
    const a = this.samples[after - 1]!;
    const b = this.samples[after]!;
    return a.appended + ((b.appended - a.appended) * (wallMs - a.atMs)) / (b.atMs - a.atMs);
  }

  private expectedProduced(offsetMs: number): number {
    let silencedMs = 0;
    for (const f of this.dyingEdges)
      silencedMs += Math.max(0, Math.min(offsetMs, f.endOffsetMs) - f.startOffsetMs) / FLEET.edges;
    return ((offsetMs - silencedMs) * RATE_PER_SEC) / 1000;
  }
}

/**
 * Pairs each fault that ended (in event time) long enough before the end of the run with the first firing
 * notification of its expected alert on its target during its window or shortly after, and a resolved one after
 * that and before the same target's next fault.
 */
function judgeFaults(
  faults: readonly Fault[],
  sightings: readonly AlertSighting[],
  clock: EventClock,
  endOffsetMs: number,
): FaultVerdict[] {
  const periodMs = FAULT_TIMING.durationMs + FAULT_TIMING.staggerMs;
  const judged = faults.filter((f) => f.endOffsetMs + RESOLVE_ALLOWANCE_MS <= endOffsetMs);
  const seen = sightings.map((sighting) => ({ sighting, offsetMs: clock.offsetAt(sighting.atMs) }));
  return judged.map((fault) => {
    const nextOnTargetMs = fault.startOffsetMs + FAULT_KINDS.length * periodMs;
    const mine = seen.filter(
      ({ sighting, offsetMs }) =>
        sighting.alertname === EXPECTED_ALERT[fault.kind] &&
        alertMatchesFault(sighting.labels, fault) &&
        offsetMs >= fault.startOffsetMs - OFFSET_TOLERANCE_MS &&
        offsetMs < nextOnTargetMs,
    );
    const firing = mine.find(
      ({ sighting, offsetMs }) =>
        sighting.status === 'firing' && offsetMs < fault.endOffsetMs + DETECT_ALLOWANCE_MS,
    );
    return {
      fault,
      detectedAfterMs: firing === undefined ? null : firing.sighting.atMs - clock.wallAt(fault.startOffsetMs),
      resolved:
        firing !== undefined &&
        mine.some(({ sighting }) => sighting.status === 'resolved' && sighting.atMs >= firing.sighting.atMs),
    };
  });
}

/**
 * Firing notifications no fault accounts for (its expected alert or a consequence of it, as the demo and
 * monitor-e2e judge them) within its window: false alarms.
 */
function unexplainedFirings(
  faults: readonly Fault[],
  sightings: readonly AlertSighting[],
  clock: EventClock,
): AlertSighting[] {
  return sightings.filter((s) => {
    if (s.status !== 'firing') return false;
    const offsetMs = clock.offsetAt(s.atMs);
    return !faults.some(
      (f) =>
        faultExplains(f, s) &&
        offsetMs >= f.startOffsetMs - OFFSET_TOLERANCE_MS &&
        offsetMs < f.endOffsetMs + DETECT_ALLOWANCE_MS,
    );
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Least-squares slope of RSS over time, MB per minute: GC makes single samples swing by tens of MB. */
function rssSlopeMbPerMin(samples: readonly Sample[]): number {
  const n = samples.length;
  const meanT = samples.reduce((sum, s) => sum + s.atMs, 0) / n;
  const meanR = samples.reduce((sum, s) => sum + s.rssMb, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.atMs - meanT) * (s.rssMb - meanR);
    den += (s.atMs - meanT) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

/** Sends SIGUSR2 and waits until the snapshot file it writes is complete (its size stops changing). */
async function takeHeapSnapshot(edgestream: Edgestream): Promise<string> {
  const before = new Set(fs.readdirSync(edgestream.snapshotDir));
  edgestream.child.kill('SIGUSR2');
  const deadline = Date.now() + LIMITS.snapshotTimeoutMs;
  let lastSize = -1;
  while (Date.now() < deadline) {
    await sleep(2_000);
    const file = fs.readdirSync(edgestream.snapshotDir).find((name) => !before.has(name));
    if (file === undefined) continue;
    const full = path.join(edgestream.snapshotDir, file);
    const size = fs.statSync(full).size;
    if (size > 0 && size === lastSize) return full;
    lastSize = size;
  }
  throw new Error(`no complete heap snapshot within ${LIMITS.snapshotTimeoutMs} ms`);
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const mb = (value: number) => `${value.toFixed(1)} MB`;

async function soak(root: string, minutes: number, stopped: AbortSignal): Promise<void> {
  const durationMs = minutes * 60_000;
  const webhook = await startWebhookReceiver();
  const clientsStop = new AbortController();
  let edgestream: Edgestream | null = null;
  try {
    edgestream = await startEdgestream(path.join(root, 'edgestream'), webhook.url);
    const simulatorStartMs = Date.now();
    const { httpBase } = edgestream;
    const live = Array.from({ length: CLIENTS }, () => openLiveClient(httpBase, clientsStop.signal));
    const samples: Sample[] = [];
    const endMs = simulatorStartMs + durationMs;
    console.error(`soak: ${minutes} min; edgestream pid ${edgestream.pid}, logs in ${edgestream.logFile}`);
    while (Date.now() < endMs && !stopped.aborted && edgestream.child.exitCode === null) {
      const s = await sample(edgestream);
      samples.push(s);
      if (samples.length % 6 === 1) {
        console.error(
          `[${Math.round((s.atMs - simulatorStartMs) / 1000)} s] RSS ${mb(s.rssMb)}, produced ${n(s.appended)}, processed ${n(s.processed)}, alerts seen ${webhook.sightings.length}`,
        );
      }
      await sleep(Math.min(SAMPLE_INTERVAL_MS, Math.max(0, endMs - Date.now())));
    }
    if (edgestream.child.exitCode !== null)
      throw new Error(`edgestream exited early; log: ${edgestream.logFile}`);
    const last = await sample(edgestream);
    samples.push(last);
    const runEndMs = last.atMs;
    clientsStop.abort();
    await Promise.all(live.map((client) => client.done));

    const schedule = scenarioFaults('cycle', buildFleet(FLEET.edges, FLEET.sites, FLEET.seed), FAULT_TIMING);
    const clock = new EventClock(samples, schedule);
    const endOffsetMs = clock.offsetAt(runEndMs);
    const faults = schedule.filter((f) => f.startOffsetMs < endOffsetMs);
    const verdicts = judgeFaults(faults, webhook.sightings, clock, endOffsetMs);
    const falseAlarms = unexplainedFirings(faults, webhook.sightings, clock);
    const first = samples[0]!;
    const warmupEndMs = simulatorStartMs + durationMs / 2;
    const secondHalf = samples.filter((s) => s.atMs >= warmupEndMs);
    const aroundWarmupEnd = samples.filter(
      (s) => s.atMs >= warmupEndMs - 60_000 && s.atMs <= warmupEndMs + 60_000,
    );
    const lastMinute = samples.filter((s) => s.atMs >= runEndMs - 60_000);
    const rssWarmupEnd = median(aroundWarmupEnd.map((s) => s.rssMb));
    const rssEnd = median(lastMinute.map((s) => s.rssMb));
    const slope = rssSlopeMbPerMin(secondHalf);
    const secondHalfMinutes = (runEndMs - warmupEndMs) / 60_000;
    const fittedGrowth = slope * secondHalfMinutes;

    const cpus = os.cpus();
    console.log(
      `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${n(os.totalmem() / 2 ** 20)} MB, Node ${process.version}, load average at end ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    const wallS = (runEndMs - simulatorStartMs) / 1000;
    console.log(
      `run: ${(wallS / 60).toFixed(1)} min, ${CLIENTS} live clients, scenario cycle (${FAULT_TIMING.durationMs / 1000} s faults, ${FAULT_TIMING.staggerMs / 1000} s apart); target ${n(RATE_PER_SEC)} events/s, produced ${n(last.appended / wallS)}/s: event time ${n(wallS - endOffsetMs / 1000)} s behind the wall clock at the end`,
    );
    const detected = verdicts.filter((v) => v.detectedAfterMs !== null);
    const resolved = verdicts.filter((v) => v.resolved);
    const latencies = detected.map((v) => v.detectedAfterMs!);
    console.log(
      `faults: ${faults.length} injected, ${verdicts.length} judged (ended ${RESOLVE_ALLOWANCE_MS / 1000} s before the end), ${detected.length} detected, ${resolved.length} resolved; detection median ${latencies.length === 0 ? '-' : n(median(latencies))} ms, max ${latencies.length === 0 ? '-' : n(Math.max(...latencies))} ms; ${falseAlarms.length} firing notifications outside any fault`,
    );
    for (const v of verdicts.filter((v) => v.detectedAfterMs === null || !v.resolved))
      console.log(`  ${v.fault.id}: ${v.detectedAfterMs === null ? 'not detected' : 'not resolved'}`);
    for (const s of falseAlarms.slice(0, 10))
      console.log(
        `  false alarm: ${s.alertname} ${JSON.stringify(s.labels)} at event time ${n(clock.offsetAt(s.atMs) / 1000)} s`,
      );
    console.log(
      `events: produced ${n(last.appended)}, processed ${n(last.processed)} (backlog at the end ${n(last.appended - last.processed)})`,
    );
    const liveEvents = live.reduce((sum, c) => sum + c.events, 0);
    console.log(
      `live clients: ${n(liveEvents / CLIENTS)} events each, ${n(live.reduce((sum, c) => sum + c.dropped, 0))} dropped, ${live.reduce((sum, c) => sum + c.connections, 0) - CLIENTS} reconnections`,
    );
    const cores = (last.cpuSeconds - first.cpuSeconds) / ((last.atMs - first.atMs) / 1000);
    console.log(`CPU: ${cores.toFixed(2)} cores on average`);
    console.log(
      `RSS: ${mb(first.rssMb)} at start, ${mb(rssWarmupEnd)} at warm-up end (${(durationMs / 120_000).toFixed(1)} min), ${mb(rssEnd)} at the end; over the last ${secondHalfMinutes.toFixed(1)} min ${mb(rssEnd - rssWarmupEnd)} (medians of a minute), fitted ${mb(fittedGrowth)} (${slope.toFixed(2)} MB/min); goal <= ${RSS_GROWTH_GOAL_MB} MB`,
    );
    console.log('| minute | RSS MB | cores |');
    console.log('|---|---|---|');
    let previous = first;
    for (const s of samples.filter((s, i) => i % 6 === 0 || s === last)) {
      const c = s === first ? 0 : (s.cpuSeconds - previous.cpuSeconds) / ((s.atMs - previous.atMs) / 1000);
      console.log(
        `| ${((s.atMs - simulatorStartMs) / 60_000).toFixed(1)} | ${s.rssMb.toFixed(1)} | ${c.toFixed(2)} |`,
      );
      previous = s;
    }
    const grew = Math.max(fittedGrowth, rssEnd - rssWarmupEnd) > RSS_GROWTH_GOAL_MB;
    if (grew && !stopped.aborted) {
      const gapMs = Math.min(5 * 60_000, durationMs / 4);
      console.error(`RSS grew beyond the goal: heap snapshots ${gapMs / 60_000} min apart...`);
      const before = await takeHeapSnapshot(edgestream);
      await sleep(gapMs);
      const after = await takeHeapSnapshot(edgestream);
      console.log(`heap growth over ${gapMs / 60_000} min (self sizes, top ${TOP_CONSTRUCTORS}):`);
      console.log(formatGrowth(compareSnapshots(before, after, TOP_CONSTRUCTORS)));
    }
    const code = await stopEdgestream(edgestream);
    console.log(`edgestream stopped with exit code ${code}`);
    edgestream = null;
  } finally {
    clientsStop.abort();
    if (edgestream) await stopEdgestream(edgestream);
    await webhook.close();
  }
}

async function main(): Promise<void> {
  const minutes = runMinutes();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-soak-bench-'));
  // Ctrl-C or a kill ends the run early and still stops edgestream and removes its data.
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  try {
    await soak(root, minutes, stop.signal);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
