// bench:footprint — what the processes cost while they do little or a steady demo load, measured from outside as
// an operator sees them (/proc, all threads of the process included):
// (a) the idle broker (`edgestream broker`): time from spawn to its "broker started" log line (written once its
//     port is listening; checked by connecting to it) over several runs, and RSS after a few seconds idle, beside
//     two references in the same run: a bare `node -e` process and a minimal `net` server;
// (b) `edgestream demo` at 5,000 events/s: CPU (cores) and RSS over a window after warm-up, and the simulator's
//     own share measured apart: `edgestream broker` + `edgestream simulate --rate 5000` as two processes.
// Every child is started in a process group of its own and the whole group is stopped, on success or not.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { percentile } from './support/percentile.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EDGESTREAM_BIN = path.join(ROOT, 'bin', 'edgestream.js');

const IDLE = {
  runs: Number(process.env.BENCH_IDLE_RUNS ?? 7),
  /** RSS is read this long after the process said it was ready, once start-up garbage had time to go. */
  settleMs: 5_000,
  readyTimeoutMs: 20_000,
} as const;
const LOAD = {
  ratePerSec: 5_000,
  warmupMs: Number(process.env.BENCH_WARMUP_S ?? 15) * 1000,
  windowMs: Number(process.env.BENCH_WINDOW_S ?? 60) * 1000,
  sampleEveryMs: 1_000,
  readyTimeoutMs: 60_000,
} as const;
const STOP_TIMEOUT_MS = 35_000;
/** The whole run is bounded: past this every child is killed and the bench fails. */
const BENCH_DEADLINE_MS = 15 * 60_000;
const GOALS = { idleRssMb: 80, startToListenMs: 500, demoCores: 0.3, demoRssMb: 150 } as const;

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- children: one process group each, so stopping one stops whatever it started too ----

const groups = new Set<number>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

function killAllGroups(): void {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  groups.clear();
}

interface Child {
  pid: number;
  process: ChildProcess;
  /** Resolves with the first output line (stdout or stderr) matching `pattern`, rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Every output line so far. */
  lines(): string[];
  /** SIGTERM to the group, SIGKILL after STOP_TIMEOUT_MS; resolves once the child has exited. */
  stop(): Promise<void>;
}

function start(args: string[]): Child {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid === undefined) throw new Error(`could not spawn node ${args.join(' ')}`);
  const pid = child.pid;
  groups.add(pid);
  const output: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Output is read continuously so that a child never blocks on a full pipe.
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        output.push(line);
        for (const waiter of waiters) if (waiter.pattern.test(line)) waiter.resolve(line);
      }
    });
  }
  return {
    pid,
    process: child,
    lines: () => output,
    waitForLine(pattern, timeoutMs) {
      const seen = output.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          pattern,
          resolve: (line: string) => {
            done();
            resolve(line);
          },
        };
        const onExit = () => {
          done();
          reject(
            new Error(`node ${args.join(' ')} exited before ${pattern}:\n${output.slice(-20).join('\n')}`),
          );
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`node ${args.join(' ')}: no ${pattern} in ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          waiters.delete(waiter);
          child.off('exit', onExit);
          clearTimeout(timer);
        };
        waiters.add(waiter);
        child.once('exit', onExit);
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      // Anything the child started and left behind goes with its group.
      killGroup(pid, 'SIGKILL');
      groups.delete(pid);
    },
  };
}

// ---- /proc readers ----

let clockTicksPerSecond: number | undefined;

/** utime + stime of the whole process, every thread included (/proc/<pid>/stat is per thread group). */
function cpuSeconds(pid: number): number {
  clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: state is [0], utime [11].
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** VmRSS (now) and VmHWM (peak since start) in bytes, and the thread count. */
function memory(pid: number): { rssBytes: number; peakRssBytes: number; threads: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
    if (!match?.[1]) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]);
  };
  return { rssBytes: field('VmRSS') * 1024, peakRssBytes: field('VmHWM') * 1024, threads: field('Threads') };
}

// ---- helpers ----

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const ms = (value: number) => `${Math.round(value)} ms`;
const mb = (bytes: number) => `${(bytes / MiB).toFixed(1)} MB`;

// ---- (a) start-up and idle footprint ----

interface IdleSample {
  readyMs: number;
  rssBytes: number;
  peakRssBytes: number;
  threads: number;
}

interface IdleSubject {
  name: string;
  args: (dir: string, port: number) => string[];
  ready: RegExp;
  /** Whether the port must accept a connection once the ready line is out. */
  listens: boolean;
}

const IDLE_SUBJECTS: IdleSubject[] = [
  {
    name: 'node -e (reference)',
    args: () => ['-e', "process.stdout.write('ready\\n'); setInterval(() => {}, 60_000);"],
    ready: /^ready$/,
    listens: false,
  },
  {
    name: 'node net server (reference)',
    args: (_dir, port) => [
      '-e',
      `require('node:net').createServer((s) => s.destroy()).listen(${port}, '127.0.0.1', () => process.stdout.write('listening\\n'));`,
    ],
    ready: /^listening$/,
    listens: true,
  },
  {
    name: 'edgestream broker',
    args: (dir, port) => [EDGESTREAM_BIN, 'broker', '--data-dir', dir, '--listen', `127.0.0.1:${port}`],
    // Logged after the Kafka port is listening (Broker.start).
    ready: /"msg":"broker started"/,
    listens: true,
  },
];

async function idleRun(subject: IdleSubject, baseDir: string, run: number): Promise<IdleSample> {
  const dir = path.join(baseDir, `idle-${run}`);
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const startedAt = performance.now();
  const child = start(subject.args(dir, port));
  try {
    await child.waitForLine(subject.ready, IDLE.readyTimeoutMs);
    const readyMs = performance.now() - startedAt;
    if (subject.listens && !(await connects(port)))
      throw new Error(`${subject.name} said ready but refuses ${port}`);
    await sleep(IDLE.settleMs);
    return { readyMs, ...memory(child.pid) };
  } finally {
    await child.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function idleFootprint(baseDir: string): Promise<Map<string, IdleSample[]>> {
  const samples = new Map<string, IdleSample[]>(IDLE_SUBJECTS.map((subject) => [subject.name, []]));
  // Interleaved, so that a noisy moment on a shared machine spreads over every subject instead of one.
  for (let run = 0; run < IDLE.runs; run++) {
    for (const subject of IDLE_SUBJECTS)
      samples.get(subject.name)?.push(await idleRun(subject, baseDir, run));
  }
  return samples;
}

// ---- (b) steady load ----

interface LoadSample {
  cores: number;
  rssMeanBytes: number;
  rssMaxBytes: number;
  peakRssBytes: number;
  threads: number;
}

/** CPU (cores, all threads) and RSS of `pid` over LOAD.windowMs, starting now. */
async function measureWindow(pids: number[]): Promise<LoadSample[]> {
  const cpuStart = pids.map(cpuSeconds);
  const startedAt = performance.now();
  const rss: number[][] = pids.map(() => []);
  while (performance.now() - startedAt < LOAD.windowMs) {
    await sleep(LOAD.sampleEveryMs);
    for (const [i, pid] of pids.entries()) rss[i]?.push(memory(pid).rssBytes);
  }
  const seconds = (performance.now() - startedAt) / 1000;
  return pids.map((pid, i) => {
    const values = rss[i] ?? [];
    const now = memory(pid);
    return {
      cores: (cpuSeconds(pid) - (cpuStart[i] ?? 0)) / seconds,
      rssMeanBytes: values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length),
      rssMaxBytes: Math.max(...values),
      peakRssBytes: now.peakRssBytes,
      threads: now.threads,
    };
  });
}

/** The demo's own ticker lines, "produced N ev/s, processed M ev/s", over the measured window. */
function demoRates(lines: string[]): { produced: number; processed: number } {
  const rates = lines
    .map((line) => /produced (\d+) ev\/s, processed (\d+) ev\/s/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ produced: Number(match[1]), processed: Number(match[2]) }));
  const window = rates.slice(-Math.max(1, Math.floor(LOAD.windowMs / 2_000)));
  const mean = (pick: (rate: { produced: number; processed: number }) => number) =>
    window.reduce((sum, rate) => sum + pick(rate), 0) / Math.max(1, window.length);
  return { produced: mean((rate) => rate.produced), processed: mean((rate) => rate.processed) };
}

async function demoLoad(
  baseDir: string,
): Promise<{ sample: LoadSample; rates: { produced: number; processed: number } }> {
  const dir = path.join(baseDir, 'demo');
  const child = start([
    EDGESTREAM_BIN,
    'demo',
    '--rate',
    String(LOAD.ratePerSec),
    '--kafka-port',
    String(await freePort()),
    '--http-port',
    String(await freePort()),
    '--data-dir',
    dir,
  ]);
  try {
    await child.waitForLine(/^edgestream demo: Kafka on/, LOAD.readyTimeoutMs);
    await sleep(LOAD.warmupMs);
    const linesBefore = child.lines().length;
    const [sample] = await measureWindow([child.pid]);
    if (!sample) throw new Error('no demo sample');
    return { sample, rates: demoRates(child.lines().slice(linesBefore)) };
  } finally {
    await child.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface ApartSample {
  simulator: LoadSample;
  broker: LoadSample;
  eventsPerSec: number;
}

/** The simulator in a process of its own, producing to a broker in another. */
async function simulatorApart(baseDir: string): Promise<ApartSample> {
  const dir = path.join(baseDir, 'apart');
  fs.mkdirSync(dir, { recursive: true });
  const kafka = `127.0.0.1:${await freePort()}`;
  const broker = start([EDGESTREAM_BIN, 'broker', '--data-dir', dir, '--listen', kafka]);
  let simulator: Child | null = null;
  try {
    await broker.waitForLine(/"msg":"broker started"/, IDLE.readyTimeoutMs);
    const seconds = Math.ceil((LOAD.warmupMs + LOAD.windowMs) / 1000) + 5;
    simulator = start([
      EDGESTREAM_BIN,
      'simulate',
      '--brokers',
      kafka,
      '--rate',
      String(LOAD.ratePerSec),
      '--duration',
      String(seconds),
    ]);
    await sleep(LOAD.warmupMs);
    const [simulatorSample, brokerSample] = await measureWindow([simulator.pid, broker.pid]);
    if (!simulatorSample || !brokerSample) throw new Error('no simulator sample');
    // Its one-line JSON summary on exit counts the events it produced over the whole run.
    const summary = await simulator.waitForLine(/^\{"events":/, seconds * 1000 + STOP_TIMEOUT_MS);
    const events = Number(/^\{"events":(\d+)/.exec(summary)?.[1] ?? Number.NaN);
    return { simulator: simulatorSample, broker: brokerSample, eventsPerSec: events / seconds };
  } finally {
    await simulator?.stop();
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- report ----

function printMachine(): void {
  const cpus = os.cpus();
  console.log('bench:footprint');
  console.log(
    `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${mb(os.totalmem())} RAM, Node ${process.version}, ` +
      `load average ${os
        .loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')} at start`,
  );
  console.log(
    'figures on a shared machine are indicative; compare the references measured in the same run\n',
  );
}

/**
 * Runs are interleaved, so run i of each process met about the same load: the p50 of the differences to the
 * bare node process of the same round is the part of the start-up that is the process's own.
 */
function readyOverReferenceMs(samples: Map<string, IdleSample[]>, runs: IdleSample[]): number {
  const reference = samples.get(IDLE_SUBJECTS[0]?.name ?? '') ?? [];
  return percentile(
    runs.map((run, i) => run.readyMs - (reference[i]?.readyMs ?? Number.NaN)),
    50,
  );
}

function printIdle(samples: Map<string, IdleSample[]>): { runs: IdleSample[]; readyOverReferenceMs: number } {
  console.log(
    `(a) start-up and idle footprint, ${IDLE.runs} runs each, RSS ${IDLE.settleMs / 1000} s after ready`,
  );
  console.log(
    `${'process'.padEnd(30)}${'ready p50'.padStart(11)}${'ready p90'.padStart(11)}${'over ref'.padStart(10)}` +
      `${'RSS p50'.padStart(11)}${'RSS max'.padStart(11)}${'peak p50'.padStart(11)}${'threads'.padStart(9)}`,
  );
  for (const [name, runs] of samples) {
    const ready = runs.map((run) => run.readyMs);
    const overReference = readyOverReferenceMs(samples, runs);
    const rss = runs.map((run) => run.rssBytes);
    const peak = percentile(
      runs.map((run) => run.peakRssBytes),
      50,
    );
    const threads = percentile(
      runs.map((run) => run.threads),
      50,
    );
    console.log(
      `${name.padEnd(30)}${ms(percentile(ready, 50)).padStart(11)}${ms(percentile(ready, 90)).padStart(11)}` +
        `${ms(overReference).padStart(10)}${mb(percentile(rss, 50)).padStart(11)}${mb(Math.max(...rss)).padStart(11)}` +
        `${mb(peak).padStart(11)}${String(threads).padStart(9)}`,
    );
  }
  console.log(
    'ready: spawn to the ready line (the broker: "broker started", logged once its port listens); ' +
      'over ref: p50 of each run minus the node -e run of the same round\n',
  );
  const broker = samples.get('edgestream broker') ?? [];
  return { runs: broker, readyOverReferenceMs: readyOverReferenceMs(samples, broker) };
}

function loadLine(name: string, sample: LoadSample): string {
  return (
    `${name.padEnd(34)}${sample.cores.toFixed(3).padStart(8)}${mb(sample.rssMeanBytes).padStart(11)}` +
    `${mb(sample.rssMaxBytes).padStart(11)}${mb(sample.peakRssBytes).padStart(11)}${String(sample.threads).padStart(9)}`
  );
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error(`bench:footprint: over ${BENCH_DEADLINE_MS / 60_000} min; stopping every child`);
    killAllGroups();
    process.exit(1);
  }, BENCH_DEADLINE_MS);
  deadline.unref();
  const onSignal = () => {
    killAllGroups();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-footprint-'));
  try {
    printMachine();
    const broker = printIdle(await idleFootprint(baseDir));

    const demo = await demoLoad(baseDir);
    const apart = await simulatorApart(baseDir);
    console.log(
      `(b) steady load at ${LOAD.ratePerSec} events/s, ${LOAD.windowMs / 1000} s window after ${LOAD.warmupMs / 1000} s warm-up`,
    );
    console.log(
      `${'process'.padEnd(34)}${'cores'.padStart(8)}${'RSS mean'.padStart(11)}${'RSS max'.padStart(11)}` +
        `${'VmHWM'.padStart(11)}${'threads'.padStart(9)}`,
    );
    console.log(loadLine('edgestream demo', demo.sample));
    console.log(loadLine('edgestream simulate (apart)', apart.simulator));
    console.log(loadLine('edgestream broker (its target)', apart.broker));
    console.log(
      `demo rates over the window: produced ${Math.round(demo.rates.produced)} ev/s, processed ` +
        `${Math.round(demo.rates.processed)} ev/s; simulate apart: ${Math.round(apart.eventsPerSec)} ev/s over its run`,
    );
    console.log(
      'the simulator apart produces over the Kafka protocol (a client encoding batches, a socket), so its share is ' +
        "an upper bound on the demo's in-process simulator\n",
    );

    const brokerRss = percentile(
      broker.runs.map((run) => run.rssBytes),
      50,
    );
    const brokerReady = percentile(
      broker.runs.map((run) => run.readyMs),
      50,
    );
    const rows: Array<[string, string, string, boolean]> = [
      [
        'idle broker RSS (p50)',
        `<= ${GOALS.idleRssMb} MB`,
        mb(brokerRss),
        brokerRss <= GOALS.idleRssMb * MiB,
      ],
      [
        'broker start to listening (p50)',
        `<= ${GOALS.startToListenMs} ms`,
        `${ms(brokerReady)} (${ms(broker.readyOverReferenceMs)} over node -e)`,
        brokerReady <= GOALS.startToListenMs,
      ],
      [
        'demo CPU',
        `<= ${GOALS.demoCores} cores`,
        `${demo.sample.cores.toFixed(3)} cores`,
        demo.sample.cores <= GOALS.demoCores,
      ],
      [
        'demo RSS (mean / VmHWM)',
        `<= ${GOALS.demoRssMb} MB`,
        `${mb(demo.sample.rssMeanBytes)} / ${mb(demo.sample.peakRssBytes)}`,
        demo.sample.peakRssBytes <= GOALS.demoRssMb * MiB,
      ],
      [
        'simulator share (apart)',
        'reported',
        `${apart.simulator.cores.toFixed(3)} cores, ${mb(apart.simulator.rssMeanBytes)}`,
        true,
      ],
    ];
    console.log('goal vs measured');
    for (const [name, goal, measured, met] of rows) {
      console.log(
        `${name.padEnd(34)}${goal.padStart(16)}${measured.padStart(34)}   ${met ? 'met' : 'NOT MET'}`,
      );
    }
  } finally {
    killAllGroups();
    fs.rmSync(baseDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await main();
