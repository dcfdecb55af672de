// bench:live — does serving live updates slow the pipeline? `edgestream start --config` in its own process takes
// healthy CDN telemetry from the native generator (bench/loadgen.c) at a fixed rate, first with no live client,
// then with N Server-Sent Events clients reading what the dashboard reads. For each phase: the rate the pipelines
// processed, how the backlog moved, the edgestream CPU, and per client the events received and dropped. The
// reference is the same phase without clients, in the same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QOE_TOPIC, TCP_TOPIC } from '../src/simulate/telemetry.js';
import { buildLoadgen } from './native-tools.js';
import {
  type EdgestreamProcess,
  killAllChildren,
  type PipelineSample,
  runNativeLoad,
  samplePipeline,
  startEdgestream,
} from './support/e2e-harness.js';

const RATES = (process.env.BENCH_RATES ?? '50000,15000').split(',').map(Number);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const PHASE_SECONDS = 15;
const SKIP_MS = 3_000;
const EDGES = 40;
/** What the dashboard subscribes to (web/src/main.ts). */
const LIVE_PATH = '/api/live?types=window,alert&metric=edge_tcp_10s,edge_qoe_10s,site_tcp_10s,site_qoe_10s';
const TOPICS = [TCP_TOPIC, QOE_TOPIC] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface LiveClient {
  events: number;
  dropped: number;
  bytes: number;
  abort: AbortController;
  done: Promise<void>;
}

function openClient(base: string): LiveClient {
  const abort = new AbortController();
  const client: LiveClient = { events: 0, dropped: 0, bytes: 0, abort, done: Promise.resolve() };
  client.done = (async () => {
    try {
      const response = await fetch(`${base}${LIVE_PATH}`, { signal: abort.signal });
      if (!response.ok || response.body === null) throw new Error(`live stream answered ${response.status}`);
      const decoder = new TextDecoder();
      let pending = '';
      for await (const chunk of response.body) {
        client.bytes += chunk.byteLength;
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
      if (!abort.signal.aborted) throw error;
    }
  })();
  return client;
}

interface Phase {
  rate: number;
  clients: number;
  offeredPerSec: number;
  processedPerSec: number;
  lagStart: number;
  lagEnd: number;
  cores: number;
  eventsPerClientPerSec: number;
  droppedPerClient: number;
}

async function phase(
  edgestream: EdgestreamProcess,
  loadgen: string,
  rate: number,
  clients: number,
): Promise<Phase> {
  const live = Array.from({ length: clients }, () => openClient(edgestream.httpBase!));
  const samples: PipelineSample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await samplePipeline(edgestream, TOPICS));
      await sleep(1_000);
    }
  })();
  const startedMs = Date.now();
  const load = await runNativeLoad(loadgen, edgestream.kafka, rate, PHASE_SECONDS, EDGES);
  sampling = false;
  await sampler;
  for (const client of live) client.abort.abort();
  await Promise.all(live.map((client) => client.done));
  const window = samples.filter((s) => s.atMs >= startedMs + SKIP_MS && s.atMs <= startedMs + load.wallMs);
  const first = window[0]!;
  const last = window.at(-1)!;
  const seconds = (last.atMs - first.atMs) / 1000;
  const wallSeconds = (Date.now() - startedMs) / 1000;
  return {
    rate,
    clients,
    offeredPerSec: load.eventsPerSec,
    processedPerSec: (last.processed - first.processed) / seconds,
    lagStart: first.appended - first.processed,
    lagEnd: last.appended - last.processed,
    cores: (last.cpuSeconds - first.cpuSeconds) / seconds,
    eventsPerClientPerSec:
      clients === 0 ? 0 : live.reduce((sum, c) => sum + c.events, 0) / clients / wallSeconds,
    droppedPerClient: clients === 0 ? 0 : live.reduce((sum, c) => sum + c.dropped, 0) / clients,
  };
}

async function drain(edgestream: EdgestreamProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const sample = await samplePipeline(edgestream, TOPICS);
    if (sample.appended === sample.processed) return;
    await sleep(500);
  }
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-live-bench-'));
  let edgestream: EdgestreamProcess | null = null;
  try {
    const loadgen = buildLoadgen(root, 'bench:live');
    edgestream = await startEdgestream({
      dir: path.join(root, 'edgestream'),
      monitorEnabled: true,
      webhookUrl: null,
      flushPolicy: null,
    });
    const phases: Phase[] = [];
    for (const rate of RATES) {
      for (const clients of [0, CLIENTS]) {
        await drain(edgestream);
        console.error(`${rate} ev/s with ${clients} live clients...`);
        phases.push(await phase(edgestream, loadgen, rate, clients));
      }
    }
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    console.log(`machine: ${cpu}, ${os.cpus().length} cores, Node ${process.version}`);
    console.log(
      '| target ev/s | live clients | offered ev/s | processed ev/s | backlog start -> end | edgestream cores | events/s per client | dropped per client |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    for (const p of phases) {
      console.log(
        `| ${n(p.rate)} | ${p.clients} | ${n(p.offeredPerSec)} | ${n(p.processedPerSec)} | ${n(p.lagStart)} -> ${n(p.lagEnd)} | ${p.cores.toFixed(2)} | ${p.clients === 0 ? '-' : n(p.eventsPerClientPerSec)} | ${p.clients === 0 ? '-' : n(p.droppedPerClient)} |`,
      );
    }
  } finally {
    await edgestream?.stop();
    killAllChildren();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
