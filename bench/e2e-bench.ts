// bench:e2e — the whole product as an operator runs it: `edgestream start --config` in its own process (broker,
// monitoring pipelines, alert engine, webhook notifier), simulated CDN telemetry from a second process over the
// Kafka protocol, alerts received by a webhook on 127.0.0.1. Measures (1) detection latency of retransmit
// storms injected by the simulator (its own process), from the produce call carrying a storm's first event to the
// webhook receiving its firing alert, over healthy background load from the native generator (bench/loadgen.c),
// and (2) the highest input rate the pipelines keep up with, beside (reference, same run) the rate the broker
// accepts from the same native generator with no pipeline running.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FaultReport } from '../src/simulate/simulator.js';
import { QOE_TOPIC, TCP_TOPIC } from '../src/simulate/telemetry.js';
import { buildLoadgen } from './native-tools.js';
import {
  type AlertSighting,
  type EdgestreamProcess,
  killAllChildren,
  type NativeLoadReport,
  type PipelineSample,
  processCpuSeconds,
  runLoad,
  runNativeLoad,
  samplePipeline,
  startEdgestream,
  startWebhookReceiver,
} from './support/e2e-harness.js';
import type { LoadReport, LoadSpec } from './support/e2e-load.js';

const FLEET = { edges: 40, sites: 4, partitions: 8 } as const;
/** Edge servers of the native background load (bg-edge-N in sites bg1..bg4). */
const BACKGROUND_EDGES = 40;
const DETECTION = {
  backgroundPerSec: Number(process.env.BENCH_RATE ?? 50_000),
  /** The simulator's own rate: it carries the storms, the native generator the bulk. */
  simulatorPerSec: 2_000,
  storms: 20,
  firstStartMs: 8_000,
  staggerMs: 2_000,
  durationMs: 4_000,
  /** Load keeps running this long after the last storm ends, so its alert can still arrive. */
  tailMs: 3_000,
  /** The run may take this many times its event-time length in wall time when the generator falls behind. */
  wallCapFactor: 3,
} as const;
const STEP_RATES = (process.env.BENCH_STEPS ?? '25000,50000,100000,150000,200000').split(',').map(Number);
const STEP = { runMs: 15_000, skipMs: 3_000, sampleEveryMs: 1_000, drainTimeoutMs: 20_000 } as const;
const REFERENCE = { ratePerSec: 1_000_000, seconds: 8 } as const;
const TELEMETRY_TOPICS = [TCP_TOPIC, QOE_TOPIC] as const;
const STORM_ALERT = 'RetransmitStorm';
/** BENCH_FLUSH_POLICY=interval measures without fsync-gated produce acknowledgements; default: broker default. */
const FLUSH_POLICY = parseFlushPolicy(process.env.BENCH_FLUSH_POLICY);
/** BENCH_PIPELINE_WORKERS=N runs N pipeline worker threads; default: edgestream's (cores - 1). */
const PIPELINE_WORKERS = parseWorkers(process.env.BENCH_PIPELINE_WORKERS);
/** BENCH_DETECTION_ONLY=1 runs the detection part alone (no reference, no steps) and prints each storm's timings. */
const DETECTION_ONLY = process.env.BENCH_DETECTION_ONLY === '1';
const GOALS = { detectionP99Ms: 1_000, sustainedPerSec: 120_000, ofReference: 0.5 } as const;

function parseFlushPolicy(raw: string | undefined): 'durable' | 'interval' | null {
  if (raw === undefined || raw === '') return null;
  if (raw === 'durable' || raw === 'interval') return raw;
  throw new Error(`BENCH_FLUSH_POLICY expects durable or interval, got '${raw}'`);
}

function parseWorkers(raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return null;
  const workers = Number(raw);
  if (!Number.isSafeInteger(workers) || workers < 1)
    throw new Error(`BENCH_PIPELINE_WORKERS expects a positive integer, got '${raw}'`);
  return workers;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function loadSpec(kafka: string, ratePerSec: number, runMs: number, storms = 0): LoadSpec {
  return {
    brokers: kafka,
    ratePerSec,
    // Storm runs end by event time, so a generator that falls behind still sends every storm.
    ...(storms > 0 ? { eventTimeMs: runMs } : {}),
    edges: FLEET.edges,
    sites: FLEET.sites,
    partitions: FLEET.partitions,
    runMs,
    storms: {
      count: storms,
      firstStartMs: DETECTION.firstStartMs,
      staggerMs: DETECTION.staggerMs,
      durationMs: DETECTION.durationMs,
    },
  };
}

interface Reference {
  load: NativeLoadReport;
  brokerCores: number;
}

/** The rate the broker accepts from the native generator when nothing consumes: the ceiling of this setup. */
async function reference(root: string, loadgen: string): Promise<Reference> {
  const edgestream = await startEdgestream({
    dir: path.join(root, 'reference'),
    monitorEnabled: false,
    webhookUrl: null,
    flushPolicy: FLUSH_POLICY,
    pipelineWorkers: null,
  });
  try {
    const cpuBefore = processCpuSeconds(edgestream.pid);
    const load = await runNativeLoad(
      loadgen,
      edgestream.kafka,
      REFERENCE.ratePerSec,
      REFERENCE.seconds,
      BACKGROUND_EDGES,
    );
    const cpuSeconds = processCpuSeconds(edgestream.pid) - cpuBefore;
    return { load, brokerCores: cpuSeconds / (load.wallMs / 1000) };
  } finally {
    await edgestream.stop();
  }
}

interface Detection {
  load: LoadReport;
  background: NativeLoadReport;
  latenciesMs: number[];
  /** Per fault, in the load's order: first faulty produce -> webhook, null when missed. */
  faultLatenciesMs: Array<number | null>;
  missed: FaultReport[];
  falseAlerts: AlertSighting[];
}

function detection(
  load: LoadReport,
  background: NativeLoadReport,
  sightings: readonly AlertSighting[],
  untilMs: number,
): Detection {
  const firing = sightings.filter((sighting) => sighting.status === 'firing' && sighting.atMs <= untilMs);
  const latenciesMs: number[] = [];
  const faultLatenciesMs: Array<number | null> = [];
  const missed: FaultReport[] = [];
  const faultEdges = new Set(load.faults.map((fault) => fault.target));
  for (const fault of load.faults) {
    const sentAtMs = fault.firstEventSentAtMs;
    const seen =
      sentAtMs === null
        ? undefined
        : firing.find(
            (s) => s.alertname === STORM_ALERT && s.labels.edge === fault.target && s.atMs >= sentAtMs,
          );
    const latencyMs = seen === undefined || sentAtMs === null ? null : seen.atMs - sentAtMs;
    faultLatenciesMs.push(latencyMs);
    if (latencyMs === null) missed.push(fault);
    else latenciesMs.push(latencyMs);
  }
  // A storm alert before its fault began, or any alert on an edge (or site) without a fault, is false.
  const falseAlerts = firing.filter((s) => {
    const edge = s.labels.edge;
    if (edge === undefined || !faultEdges.has(edge) || s.alertname !== STORM_ALERT) return true;
    const fault = load.faults.find((f) => f.target === edge)!;
    return fault.firstEventSentAtMs === null || s.atMs < fault.firstEventSentAtMs;
  });
  return {
    load,
    background,
    latenciesMs: latenciesMs.sort((a, b) => a - b),
    faultLatenciesMs,
    missed,
    falseAlerts,
  };
}

interface Step {
  targetPerSec: number;
  load: NativeLoadReport;
  appendedPerSec: number;
  processedPerSec: number;
  /** Backlog left from before the step when draining it took longer than STEP.drainTimeoutMs. */
  lagCarried: number;
  lagStart: number;
  lagEnd: number;
  edgestreamCores: number;
  /** The worst of the broker thread's per-scrape p99 event-loop delays over the step, ms. */
  brokerLoopDelayP99Ms: number;
  keptUp: boolean;
  /** The load process got below LOAD_LIMITED_BELOW of the target: higher targets would measure nothing new. */
  loadLimited: boolean;
}

const LOAD_LIMITED_BELOW = 0.9;

async function runStep(
  edgestream: EdgestreamProcess,
  loadgen: string,
  targetPerSec: number,
  lagCarried: number,
): Promise<Step> {
  const samples: PipelineSample[] = [];
  let running = true;
  const sampling = (async () => {
    while (running) {
      samples.push(await samplePipeline(edgestream, TELEMETRY_TOPICS));
      await sleep(STEP.sampleEveryMs);
    }
  })();
  const startedMs = Date.now();
  let load: NativeLoadReport;
  try {
    load = await runNativeLoad(loadgen, edgestream.kafka, targetPerSec, STEP.runMs / 1000, BACKGROUND_EDGES);
  } finally {
    running = false;
    await sampling;
  }
  // The load process ends about when the run does; samples after it would show an idle broker.
  const endMs = startedMs + load.wallMs;
  const window = samples.filter((s) => s.atMs >= startedMs + STEP.skipMs && s.atMs <= endMs);
  const first = window[0];
  const last = window.at(-1);
  if (first === undefined || last === undefined || last === first)
    throw new Error(`step ${targetPerSec}/s: too few samples (${window.length})`);
  const seconds = (last.atMs - first.atMs) / 1000;
  const appendedPerSec = (last.appended - first.appended) / seconds;
  const lagStart = first.appended - first.processed;
  const lagEnd = last.appended - last.processed;
  // Kept up: the backlog grew by less than half a second of input over the window and stays under two seconds
  // beyond what was carried in (a loaded machine may not drain the detection run's backlog in time; a pipeline
  // that keeps up then shrinks it, and should not fail the step for it).
  const keptUp = lagEnd - lagStart <= appendedPerSec * 0.5 && lagEnd <= lagCarried + appendedPerSec * 2;
  return {
    targetPerSec,
    load,
    appendedPerSec,
    processedPerSec: (last.processed - first.processed) / seconds,
    lagCarried,
    lagStart,
    lagEnd,
    edgestreamCores: (last.cpuSeconds - first.cpuSeconds) / seconds,
    brokerLoopDelayP99Ms: Math.max(...window.slice(1).map((sample) => sample.brokerLoopDelayP99Ms)),
    keptUp,
    loadLimited: appendedPerSec < targetPerSec * LOAD_LIMITED_BELOW,
  };
}

/** Waits until the pipelines have consumed everything appended; the records left when that takes too long. */
async function drain(edgestream: EdgestreamProcess): Promise<number> {
  const deadline = Date.now() + STEP.drainTimeoutMs;
  let lag = 0;
  while (Date.now() < deadline) {
    const sample = await samplePipeline(edgestream, TELEMETRY_TOPICS);
    lag = sample.appended - sample.processed;
    if (lag === 0) return 0;
    await sleep(250);
  }
  return lag;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const rate = (perSec: number) => `${Math.round(perSec).toLocaleString('en-US')} ev/s`;
const metOrNot = (met: boolean) => (met ? 'met' : 'NOT met');

function printTable(
  ref: Reference,
  det: Detection,
  steps: readonly Step[],
  stepsNotRun: readonly number[],
): void {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const p99 = quantile(det.latenciesMs, 0.99);
  const sustained = steps.filter((s) => s.keptUp).reduce((best, s) => Math.max(best, s.processedPerSec), 0);
  const rows: Array<[string, string]> = [
    ['machine', `${cpu}, ${os.cpus().length} cores, Node ${process.version}`],
    ['topic flush.policy', FLUSH_POLICY ?? 'broker default (durable: produce acknowledged after fsync)'],
    ['pipeline workers', PIPELINE_WORKERS === null ? 'default (cores - 1)' : String(PIPELINE_WORKERS)],
    [
      'fleet',
      `${FLEET.edges} edges, ${FLEET.sites} sites, ${FLEET.partitions} partitions per topic (${TCP_TOPIC}, ${QOE_TOPIC})`,
    ],
    [
      'reference: broker only (monitor off), native generator flat out',
      `${rate(ref.load.eventsPerSec)}; edgestream ${ref.brokerCores.toFixed(2)} cores`,
    ],
    [
      `detection run: background (target ${rate(DETECTION.backgroundPerSec)}) + simulator with the storms`,
      `${rate(det.background.eventsPerSec)} background + ${rate(det.load.eventsPerSec)} simulator; simulator event time ${det.load.eventTimeLagMs} ms behind at the end`,
    ],
    [
      `retransmit storms detected`,
      `${det.latenciesMs.length} of ${det.load.faults.length}${det.missed.length > 0 ? ` (missed: ${det.missed.map((f) => f.target).join(', ')})` : ''}`,
    ],
    [
      'detection latency: first faulty produce -> webhook',
      `p50 ${quantile(det.latenciesMs, 0.5)} ms, p99 ${p99} ms, max ${det.latenciesMs.at(-1) ?? Number.NaN} ms (goal p99 <= ${GOALS.detectionP99Ms} ms: ${metOrNot(p99 <= GOALS.detectionP99Ms && det.missed.length === 0)})`,
    ],
    [
      'false alerts (firing, no fault on that edge)',
      det.falseAlerts.length === 0
        ? '0'
        : `${det.falseAlerts.length}: ${det.falseAlerts.map((s) => `${s.alertname}{${s.labels.edge ?? s.labels.site ?? ''}}`).join(', ')}`,
    ],
  ];
  for (const step of steps) {
    rows.push([
      `step ${rate(step.targetPerSec)}: produced / processed`,
      `${rate(step.appendedPerSec)} / ${rate(step.processedPerSec)}, ${step.lagCarried > 0 ? `${step.lagCarried.toLocaleString('en-US')} records not drained before the step, ` : ''}lag ${step.lagStart.toLocaleString('en-US')} -> ${step.lagEnd.toLocaleString('en-US')} records, edgestream ${step.edgestreamCores.toFixed(2)} cores, broker event-loop delay p99 ${step.brokerLoopDelayP99Ms.toFixed(1)} ms: ${step.keptUp ? 'kept up' : 'FELL BEHIND'}${step.loadLimited ? '; the load process did not reach the target' : ''}`,
    ]);
  }
  for (const target of stepsNotRun)
    rows.push([
      `step ${rate(target)}`,
      'not run: a lower step fell behind or the generator could not offer it',
    ]);
  rows.push([
    'sustained (highest step kept up)',
    `${rate(sustained)} (goal >= ${rate(GOALS.sustainedPerSec)} on 2 cores: ${metOrNot(sustained >= GOALS.sustainedPerSec)})`,
  ]);
  rows.push([
    'sustained / reference',
    `${((sustained / ref.load.eventsPerSec) * 100).toFixed(0)}% of the broker-only accept rate (goal >= ${GOALS.ofReference * 100}%: ${metOrNot(sustained >= ref.load.eventsPerSec * GOALS.ofReference)})`,
  ]);
  console.log('| figure | value |\n|---|---|');
  for (const [figure, value] of rows) console.log(`| ${figure} | ${value} |`);
}

/** Each storm's timings (ms after its first faulty produce), the CPU edgestream used, then the quantiles. */
function printDetection(det: Detection, cpuSeconds: number): void {
  for (const [index, fault] of det.load.faults.entries()) {
    const sentAtMs = fault.firstEventSentAtMs ?? Number.NaN;
    console.log(
      JSON.stringify({
        edge: fault.target,
        sentAtMs,
        eventBeforeSendMs: fault.firstEventTs === null ? null : sentAtMs - fault.firstEventTs,
        ackedAfterMs: (fault.firstEventAckedAtMs ?? Number.NaN) - sentAtMs,
        webhookAfterMs: det.faultLatenciesMs[index],
      }),
    );
  }
  const { latenciesMs } = det;
  const events = det.load.eventsProduced + det.background.eventsProduced;
  console.log(
    `edgestream CPU over the run: ${cpuSeconds.toFixed(1)} s, ${((cpuSeconds * 1e6) / events).toFixed(2)} µs per event`,
  );
  console.log(
    `detection: ${latenciesMs.length} of ${det.load.faults.length} storms, p50 ${quantile(latenciesMs, 0.5)} ms, p99 ${quantile(latenciesMs, 0.99)} ms, false alerts ${det.falseAlerts.length}; background ${rate(det.background.eventsPerSec)}, simulator ${rate(det.load.eventsPerSec)}`,
  );
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-e2e-bench-'));
  const receiver = await startWebhookReceiver();
  let edgestream: EdgestreamProcess | null = null;
  try {
    const loadgen = buildLoadgen(root, 'bench:e2e');
    if (!DETECTION_ONLY) console.error('reference: broker only...');
    const ref = DETECTION_ONLY ? null : await reference(root, loadgen);
    edgestream = await startEdgestream({
      dir: path.join(root, 'monitor'),
      monitorEnabled: true,
      webhookUrl: receiver.url,
      flushPolicy: FLUSH_POLICY,
      pipelineWorkers: PIPELINE_WORKERS,
    });
    console.error(
      `detection: ${DETECTION.storms} storms over ${DETECTION.backgroundPerSec} ev/s of background load...`,
    );
    const runMs =
      DETECTION.firstStartMs +
      (DETECTION.storms - 1) * DETECTION.staggerMs +
      DETECTION.durationMs +
      DETECTION.tailMs;
    const cpuBeforeSeconds = processCpuSeconds(edgestream.pid);
    const background = runNativeLoad(
      loadgen,
      edgestream.kafka,
      DETECTION.backgroundPerSec,
      Math.ceil(runMs / 1000) + 2,
      BACKGROUND_EDGES,
    );
    const detectionLoad = await runLoad({
      ...loadSpec(edgestream.kafka, DETECTION.simulatorPerSec, runMs, DETECTION.storms),
      runMs: runMs * DETECTION.wallCapFactor,
    });
    // Alerts after the load stopped are about the silence that follows (EdgeSilent), not the storms.
    const det = detection(detectionLoad, await background, receiver.sightings, Date.now());
    if (ref === null) {
      printDetection(det, processCpuSeconds(edgestream.pid) - cpuBeforeSeconds);
      return;
    }
    const steps: Step[] = [];
    const stepsNotRun: number[] = [];
    for (const target of STEP_RATES) {
      if (steps.some((s) => !s.keptUp || s.loadLimited)) {
        stepsNotRun.push(target);
        continue;
      }
      const lagCarried = await drain(edgestream);
      console.error(`step ${target} ev/s...`);
      steps.push(await runStep(edgestream, loadgen, target, lagCarried));
    }
    printTable(ref, det, steps, stepsNotRun);
  } finally {
    await edgestream?.stop();
    killAllChildren();
    await receiver.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
