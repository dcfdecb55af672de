// Processes and probes for bench:e2e: the edgestream child, the load child, a webhook receiver, a metrics scraper
// and the CPU time of a child read from /proc. Every server listens on 127.0.0.1; every child is tracked so the
// bench can stop all of them on any exit path.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QOE_TOPIC, TCP_TOPIC } from '../../src/simulate/telemetry.js';
import type { LoadReport, LoadSpec } from './e2e-load.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const EDGESTREAM_BIN = path.join(ROOT, 'bin', 'edgestream.js');
const LOAD_SCRIPT = fileURLToPath(new URL('./e2e-load.js', import.meta.url));

const LIMITS = {
  readyTimeoutMs: 30_000,
  stopTimeoutMs: 20_000,
  webhookBodyBytes: 4 * 1024 * 1024,
  webhookAlerts: 100_000,
  loadOutputBytes: 16 * 1024 * 1024,
  scrapeAttempts: 5,
} as const;

/** Records the pipeline workers consumed, per topic: reported by the workers, absent when none answered. */
const PROCESSED_COUNTER = 'edgestream_streams_records_in_total';

/**
 * BENCH_CPU_PROF_DIR=DIR runs edgestream under `--cpu-prof`: one .cpuprofile per thread (the broker's and each
 * pipeline worker's) is written to DIR when it exits, to see where the time of a run goes.
 */
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF_DIR ?? '';
const PROFILE_ARGS = CPU_PROFILE_DIR === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}`];

const children = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL): the error path, where a clean stop is not owed. */
export function killAllChildren(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface EdgestreamProcess {
  pid: number;
  kafka: string;
  /** Null when the monitor is disabled (the HTTP API only runs with it). */
  httpBase: string | null;
  logFile: string;
  /** SIGTERM and wait for a clean shutdown; SIGKILL after LIMITS.stopTimeoutMs. */
  stop(): Promise<void>;
}

export interface EdgestreamSetup {
  dir: string;
  monitorEnabled: boolean;
  webhookUrl: string | null;
  /** Log flush policy of every topic; null keeps the broker default (durable: acknowledged after fsync). */
  flushPolicy: 'durable' | 'interval' | null;
  /** Pipeline worker threads; null or absent keeps the default (cores - 1, so 1 on two cores). */
  pipelineWorkers?: number | null;
}

/** Writes a config (JSON is YAML) and runs `edgestream start --config` until its API or broker answers. */
export async function startEdgestream(setup: EdgestreamSetup): Promise<EdgestreamProcess> {
  fs.mkdirSync(setup.dir, { recursive: true });
  const kafka = `127.0.0.1:${await freePort()}`;
  const httpListen = `127.0.0.1:${await freePort()}`;
  const config = {
    dataDir: path.join(setup.dir, 'data'),
    broker: {
      listen: kafka,
      topicDefaults: setup.flushPolicy === null ? {} : { 'flush.policy': setup.flushPolicy },
    },
    http: { listen: httpListen },
    // The storm simulator's producer (Node, acks=all) trails the native background producer by seconds; with the
    // default 2 s allowance its events would be late in partitions the background keeps moving. Early results,
    // which alerting uses, do not wait for the watermark, so this does not change detection latency.
    monitor: {
      enabled: setup.monitorEnabled,
      maxOutOfOrderness: '60s',
      ...(setup.pipelineWorkers == null ? {} : { workers: setup.pipelineWorkers }),
    },
    // Default rules; one group per alerting edge so each new storm is sent at once (groupWait 0) instead of
    // waiting out the groupInterval of a group that already fired for another edge.
    alerting: { route: { groupBy: ['alertname', 'site', 'edge'], groupWait: 0 } },
    notifiers: setup.webhookUrl === null ? [] : [{ kind: 'webhook', url: setup.webhookUrl }],
  };
  const configFile = path.join(setup.dir, 'edgestream.yaml');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(setup.dir, 'edgestream.log');
  const log = fs.openSync(logFile, 'w');
  const child = track(
    spawn(process.execPath, [...PROFILE_ARGS, EDGESTREAM_BIN, 'start', '--config', configFile], {
      stdio: ['ignore', log, log],
    }),
  );
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const httpBase = setup.monitorEnabled ? `http://${httpListen}` : null;
  const deadline = Date.now() + LIMITS.readyTimeoutMs;
  while (!(await isReady(kafka, httpBase))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`edgestream did not become ready; log: ${logFile}\n${tail(logFile)}`);
    }
    await sleep(100);
  }
  return {
    pid: child.pid!,
    kafka,
    httpBase,
    logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), LIMITS.stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function isReady(kafka: string, httpBase: string | null): Promise<boolean> {
  if (httpBase !== null) {
    try {
      return (await fetch(`${httpBase}/health`)).ok;
    } catch {
      return false;
    }
  }
  const [host, port] = kafka.split(':') as [string, string];
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface NativeLoadReport {
  eventsProduced: number;
  wallMs: number;
  eventsPerSec: number;
}

/**
 * Healthy background telemetry from the native generator (bench/loadgen.c `cdn` mode, librdkafka): it offers
 * rates a Node.js producer on the same two cores cannot, for edge servers bg-edge-N in sites bg1..bg4.
 */
export function runNativeLoad(
  loadgen: string,
  kafka: string,
  ratePerSec: number,
  seconds: number,
  edges: number,
): Promise<NativeLoadReport> {
  return new Promise((resolve, reject) => {
    const args = ['cdn', kafka, TCP_TOPIC, QOE_TOPIC, String(ratePerSec), String(seconds), String(edges)];
    const child = track(spawn(loadgen, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (status) => {
      const match = /produced (\d+) records in ([\d.]+) s/.exec(stdout);
      if (status !== 0 || match === null)
        return reject(new Error(`loadgen exited with ${status}: ${stdout}`));
      const eventsProduced = Number(match[1]);
      const wallMs = Number(match[2]) * 1000;
      resolve({ eventsProduced, wallMs, eventsPerSec: eventsProduced / (wallMs / 1000) });
    });
  });
}

/** Runs bench/support/e2e-load.js with `spec` and returns its report. */
export function runLoad(spec: LoadSpec): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [LOAD_SCRIPT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      if (stdout.length + chunk.length > LIMITS.loadOutputBytes) {
        child.kill('SIGKILL');
        reject(new Error(`load child wrote more than ${LIMITS.loadOutputBytes} bytes`));
        return;
      }
      stdout += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (status) => {
      if (status !== 0) return reject(new Error(`load child exited with ${status}: ${stdout}`));
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as LoadReport);
      } catch {
        reject(new Error(`load child printed no report: ${stdout}`));
      }
    });
  });
}

export interface AlertSighting {
  /** Bench clock when the notification's body had arrived. */
  atMs: number;
  alertname: string;
  status: string;
  labels: Record<string, string>;
}

export interface WebhookReceiver {
  url: string;
  sightings: AlertSighting[];
  close(): Promise<void>;
}

interface WebhookBody {
  alerts?: Array<{ status?: string; labels?: Record<string, string> }>;
}

/** An Alertmanager-style webhook receiver: records each alert of each notification with its arrival time. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const sightings: AlertSighting[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > LIMITS.webhookBodyBytes) {
        response.writeHead(413).end();
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      const atMs = Date.now();
      let body: WebhookBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookBody;
      } catch {
        response.writeHead(400).end();
        return;
      }
      for (const alert of body.alerts ?? []) {
        if (sightings.length >= LIMITS.webhookAlerts) break;
        const labels = alert.labels ?? {};
        sightings.push({ atMs, alertname: labels.alertname ?? '', status: alert.status ?? '', labels });
      }
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    sightings,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface PipelineSample {
  atMs: number;
  /** Records the broker appended to the telemetry topics. */
  appended: number;
  /** Records the monitoring pipelines consumed from them. */
  processed: number;
  /** CPU the edgestream process used since it started, in core-seconds (every thread). */
  cpuSeconds: number;
  /**
   * p99 event-loop delay of the broker's thread since the previous scrape, ms (prom-client's default metric,
   * whose histogram restarts at each scrape); the pipelines run on other threads.
   */
  brokerLoopDelayP99Ms: number;
}

/** One scrape of /metrics plus the process's CPU time, for the telemetry topics named. */
export async function samplePipeline(
  edgestream: EdgestreamProcess,
  topics: readonly string[],
): Promise<PipelineSample> {
  if (edgestream.httpBase === null) throw new Error('the pipeline can only be sampled with the monitor on');
  // A worker that does not answer a scrape in time leaves its counters out: such a scrape would read as
  // nothing processed, so it is taken again.
  let text = '';
  for (let attempt = 0; attempt < LIMITS.scrapeAttempts; attempt++) {
    text = await (await fetch(`${edgestream.httpBase}/metrics`)).text();
    if (text.includes(`${PROCESSED_COUNTER}{`)) break;
  }
  const atMs = Date.now();
  return {
    atMs,
    appended: sumCounter(text, 'edgestream_broker_records_in_total', topics),
    processed: sumCounter(text, PROCESSED_COUNTER, topics),
    cpuSeconds: processCpuSeconds(edgestream.pid),
    brokerLoopDelayP99Ms: gauge(text, 'edgestream_nodejs_eventloop_lag_p99_seconds') * 1000,
  };
}

function gauge(text: string, name: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

function sumCounter(text: string, name: string, topics: readonly string[]): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const match = /topic="([^"]*)"\}\s+(\S+)/.exec(line);
    if (match && topics.includes(match[1]!)) total += Number(match[2]);
  }
  return total;
}

let clockTicksPerSecond: number | null = null;

/** utime + stime of a process from /proc/PID/stat (a child's CPU is not visible through process.cpuUsage). */
export function processCpuSeconds(pid: number): number {
  clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: state is [0], utime [11].
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}
