// npm run fuzz — the structure-aware fuzzer against `edgestream broker` in a process of its own, so an exit is
// seen as one. Sends FUZZ_FRAMES (default 1,000,000) frames of every advertised API version, checks a normal
// produce/fetch every HEALTH_INTERVAL_MS and at the end, and prints frames/s, closes, error answers and the
// broker's RSS. FUZZ_SEED replays a run; FUZZ_REPLAY=i,j,... sends only those frames of it, one connection
// each, and prints the first that ends the broker as hex.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { advertisedApis, checkProduceConsume } from '../test/support/fuzz/broker-probe.js';
import { fuzzWhileServing, hangs } from '../test/support/fuzz/campaign.js';
import type { FuzzReport } from '../test/support/fuzz/fuzz-driver.js';
import { advertisedPairs, ProtocolFuzzer } from '../test/support/fuzz/protocol-fuzzer.js';
import { freePort } from './support/e2e-harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 1_000_000);
const SEED = Number(process.env.FUZZ_SEED ?? randomInt(0, 2 ** 31));
const REPLAY = process.env.FUZZ_REPLAY?.split(',').map(Number) ?? null;
const HOST = '127.0.0.1';
/** The broker is another process here: answers take a little longer than in the test. */
const PROBE_AFTER_MS = 50;
/** The CLI broker lets a fetch wait up to 30 s (maxFetchWaitMs): a stall is an answer later than that. */
const STALL_TIMEOUT_MS = 45_000;
const HEALTH_INTERVAL_MS = 10_000;
const HEALTH_TIMEOUT_MS = 15_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const PROGRESS_EVERY = 100_000;
/** Valid compressed bodies inflate this far (the CLI broker accepts requests up to 100 MiB). */
const BOMB_BYTES = 64 * 1024 * 1024;
const MiB = 1024 * 1024;

interface BrokerChild {
  child: ChildProcess;
  port: number;
  logFile: string;
  /** Set once the process has ended, with how. */
  exit: string | null;
}

function startBroker(dir: string, port: number): BrokerChild {
  const logFile = path.join(dir, 'broker.log');
  const log = fs.openSync(logFile, 'w');
  const args = [
    path.join(ROOT, 'bin/edgestream.js'),
    'broker',
    '--data-dir',
    path.join(dir, 'data'),
    '--listen',
    `${HOST}:${port}`,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const broker: BrokerChild = { child, port, logFile, exit: null };
  child.once('exit', (code, signal) => {
    broker.exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
  });
  return broker;
}

async function waitReady(broker: BrokerChild): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await advertisedApis(HOST, broker.port, 1_000);
      return;
    } catch (error) {
      if (broker.exit !== null || Date.now() > deadline)
        throw new Error(`broker not ready: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Resident and peak resident memory of a process, from /proc (Linux). */
function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

async function stopBroker(broker: BrokerChild): Promise<string> {
  if (broker.exit !== null) return broker.exit;
  const exited = new Promise((resolve) => broker.child.once('exit', resolve));
  const started = Date.now();
  broker.child.kill('SIGTERM');
  const timer = setTimeout(() => broker.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  return `${broker.exit} after SIGTERM in ${Date.now() - started} ms`;
}

function tail(file: string, lines: number): string {
  return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Sends one frame alone and waits until the broker answers or closes. */
function sendAlone(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port }, () => socket.write(bytes));
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.once('data', () => socket.destroy());
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function replay(broker: BrokerChild, fuzzer: ProtocolFuzzer, indexes: number[]): Promise<void> {
  for (const index of indexes) {
    const frame = fuzzer.frame(index);
    await sendAlone(broker.port, frame.bytes);
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (broker.exit !== null) {
      console.log(
        `frame ${index} (${frame.api} v${frame.version}, ${frame.mutation}) ended the broker: ${broker.exit}`,
      );
      console.log(`frame hex: ${frame.bytes.toString('hex')}`);
      return;
    }
  }
  console.log(`the broker survived frames ${indexes.join(',')} sent one by one`);
}

function row(name: string, value: string): void {
  console.log(`| ${name} | ${value} |`);
}

function printReport(
  report: FuzzReport,
  before: { rss: number },
  after: { rss: number; peak: number },
): void {
  const rate = report.examined / (report.elapsedMs / 1000);
  const n = (value: number) => Math.round(value).toLocaleString('en-US');
  console.log(`\nFuzz run — ${new Date().toISOString().slice(0, 10)}, seed ${SEED}`);
  console.log(
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`,
  );
  console.log('| measure | value |');
  console.log('|---|---|');
  row('frames examined by the broker', `${n(report.examined)} in ${(report.elapsedMs / 1000).toFixed(1)} s`);
  row('frames/s', n(rate));
  row('frames sent (incl. written behind a fatal frame)', n(report.sent));
  row('connections closed by the broker', n(report.closes));
  row('answers without error / with an error code', `${n(report.okResponses)} / ${n(report.errorResponses)}`);
  row('frames taken without an answer (acks=0)', n(report.silent));
  row('answers that do not decode', n(report.undecodable));
  row(
    'stalled frames (no answer in 45 s): rebalance waits / others',
    `${n(report.stalls.length - hangs(report).length)} / ${n(hangs(report).length)}`,
  );
  row(
    'broker RSS before / after / peak',
    `${before.rss.toFixed(0)} / ${after.rss.toFixed(0)} / ${after.peak.toFixed(0)} MiB`,
  );
}

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-fuzz-bench-'));
  const broker = startBroker(dir, await freePort());
  try {
    await waitReady(broker);
    const pairs = advertisedPairs(await advertisedApis(HOST, broker.port, HEALTH_TIMEOUT_MS));
    const fuzzer = new ProtocolFuzzer({ seed: SEED, pairs, records: { bombBytes: BOMB_BYTES } });
    console.log(
      `seed ${SEED} (FUZZ_SEED=${SEED} replays it); ${pairs.length} API versions; ${fuzzer.systematicCount} systematic frames first`,
    );
    if (REPLAY) {
      await replay(broker, fuzzer, REPLAY);
      return broker.exit === null ? 0 : 1;
    }
    await checkProduceConsume(HOST, broker.port, 0, HEALTH_TIMEOUT_MS);
    const before = memoryMiB(broker.child.pid!);
    const { report, healthChecks, healthFailures } = await fuzzWhileServing({
      host: HOST,
      port: broker.port,
      fuzzer,
      frames: FRAMES,
      probeAfterMs: PROBE_AFTER_MS,
      stallTimeoutMs: STALL_TIMEOUT_MS,
      healthIntervalMs: HEALTH_INTERVAL_MS,
      healthTimeoutMs: HEALTH_TIMEOUT_MS,
      progressEvery: PROGRESS_EVERY,
      onProgress: (progress) =>
        console.log(
          `${progress.examined} frames, ${Math.round(progress.examined / (progress.elapsedMs / 1000))}/s, ${progress.closes} closes, ${progress.errorResponses} error answers, broker RSS ${memoryMiB(broker.child.pid!).rss.toFixed(0)} MiB`,
        ),
    });
    for (const failure of healthFailures) console.log(`health check failed: ${failure}`);
    if (report.aborted !== null || broker.exit !== null) {
      console.log(
        `fuzzing stopped after ${report.examined} frames: ${report.aborted}; broker ${broker.exit ?? 'still running'}`,
      );
      console.log(
        `frames sent last (replay with FUZZ_SEED=${SEED} FUZZ_REPLAY=${report.recent.map((f) => f.index).join(',')}):`,
      );
      for (const frame of report.recent) console.log(`  ${JSON.stringify(frame)}`);
      console.log(`broker log tail:\n${tail(broker.logFile, 30)}`);
      return 1;
    }
    const after = memoryMiB(broker.child.pid!);
    printReport(report, before, after);
    row(
      'health checks (produce acks=all + fetch) passed',
      `${healthChecks - healthFailures.length} of ${healthChecks}`,
    );
    row('broker log written', `${(fs.statSync(broker.logFile).size / MiB).toFixed(0)} MiB`);
    for (const stall of report.stalls) console.log(`stall: ${JSON.stringify(stall)}`);
    for (const example of report.undecodableExamples) console.log(`undecodable: ${JSON.stringify(example)}`);
    return healthFailures.length === 0 && hangs(report).length === 0 && report.undecodable === 0 ? 0 : 1;
  } finally {
    console.log(`broker ${await stopBroker(broker)}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
