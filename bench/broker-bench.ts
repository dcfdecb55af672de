import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLoadgen, ensureDebianPackages } from './native-tools.js';
import { percentile } from './support/percentile.js';
import { waitForPort } from './support/ports.js';

/**
 * Broker throughput and latency measured with a native client (librdkafka via bench/loadgen.c), beside Redis
 * Streams on the same machine in the same run as the peer reference.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-broker-bench-'));
const RECORDS = Number(process.env.BENCH_RECORDS ?? 2_000_000);
const RATE = 50_000;
const LATENCY_SECONDS = 10;
/**
 * The raw disk's reference for the durable case: back-to-back write + fdatasync of this many bytes (about what
 * the broker syncs per round at 50k msg/s of 100 bytes) in the broker's data directory, just before it.
 */
const RAW_SYNC_BYTES = 8 * 1024;
/** BENCH_ONLY=latency runs the two end-to-end latency cases alone (no throughput cases, no Redis). */
const ONLY_LATENCY = process.env.BENCH_ONLY === 'latency';
const TXN_RECORDS = Math.round(RECORDS / 4);
const TXN_PRODUCERS = 8;
const RECORDS_PER_TXN = 100;
const KAFKA_PORT = 19_192;
const REDIS_PORT = 19_379;

const NEEDED: Record<string, string> = {
  'redis-server': '/usr/bin/redis-server',
  'redis-tools': '/usr/bin/redis-benchmark',
};

function loadgen(...args: string[]): string {
  return execFileSync(path.join(work, 'loadgen'), args, { encoding: 'utf8', timeout: 300_000 }).trim();
}

function edgestream(...args: string[]): void {
  execFileSync(process.execPath, [path.join(root, 'bin/edgestream.js'), ...args], {
    stdio: 'pipe',
    timeout: 60_000,
  });
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** Fields of /proc/PID/stat after the command name (the first is the state, field 3 of proc(5)). */
function procStat(pid: number | 'self'): number[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
}

/** CPU (user + system) a process has used so far, all its threads. */
function processCpuSeconds(pid: number): number {
  const fields = procStat(pid);
  return (fields[11]! + fields[12]!) / CLOCK_TICKS_PER_SECOND;
}

/** CPU used by this process's children once they have exited (the load generator runs to completion). */
function childrenCpuSeconds(): number {
  const fields = procStat('self');
  return (fields[13]! + fields[14]!) / CLOCK_TICKS_PER_SECOND;
}

function rate(output: string, verb: string): number {
  const match = new RegExp(`${verb} (\\d+) records in ([\\d.]+) s`).exec(output);
  if (!match) throw new Error(`unexpected loadgen output: ${output}`);
  return Number(match[1]) / Number(match[2]);
}

/** A result line: case, measured value, goal. */
type Row = [string, string, string];

async function main(): Promise<void> {
  ensureDebianPackages(NEEDED, 'bench:broker');
  buildLoadgen(work, 'bench:broker');
  const brokers = `127.0.0.1:${KAFKA_PORT}`;
  const broker = spawn(
    process.execPath,
    [
      path.join(root, 'bin/edgestream.js'),
      'broker',
      '--data-dir',
      path.join(work, 'data'),
      '--listen',
      brokers,
    ],
    {
      stdio: 'ignore',
    },
  );
  const rows: Row[] = [];
  try {
    await waitForPort(KAFKA_PORT);
    for (const [topic, configs] of [
      ['bench-durable', ['-c', 'flush.policy=durable']],
      ['bench-acks-all', ['-c', 'flush.policy=durable']],
      ['bench-idempotent', ['-c', 'flush.policy=durable']],
      ['bench-transactional', ['-c', 'flush.policy=durable']],
      ['bench-latency-durable', ['-c', 'flush.policy=durable']],
      ['bench-latency-interval', ['-c', 'flush.policy=interval', '-c', 'flush.ms=1000']],
    ] as const) {
      edgestream('topic', 'create', topic, '-p', '4', ...configs, '--brokers', brokers);
    }
    // Latency first, on a quiet disk: after gigabytes of throughput runs the kernel's writeback stalls writes.
    rows.push([
      `reference: raw ${RAW_SYNC_BYTES / 1024} KiB write + fdatasync, back to back for ${LATENCY_SECONDS} s, just before the durable case`,
      formatLatencies(rawSyncLatenciesMs(path.join(work, 'data'), LATENCY_SECONDS)),
      'reference',
    ]);
    for (const [label, topic, goal] of [
      ['durable topic: consumers see fsynced data only', 'bench-latency-durable', 'p99 <= 10 ms'],
      ['interval topic: fsync every second', 'bench-latency-interval', 'p99 <= 5 ms'],
    ] as const) {
      const [, p50, p99, p999] = loadgen(
        'latency',
        brokers,
        topic,
        String(RATE),
        String(LATENCY_SECONDS),
        '100',
      )
        .split(' ')
        .map(Number);
      rows.push([
        `end-to-end latency at 50k msg/s, ${label}`,
        formatLatencies([p50! / 1000, p99! / 1000, p999! / 1000]),
        goal,
      ]);
    }
    if (!ONLY_LATENCY) await throughputCases(brokers, broker.pid!, rows);
  } finally {
    broker.kill('SIGTERM');
    await new Promise((resolve) => broker.once('exit', resolve));
  }
  if (!ONLY_LATENCY) await redisCases(rows);
  printRows(rows);
}

/** p50, p99 and p99.9 in ms of write + fdatasync of RAW_SYNC_BYTES, one after another for `seconds`. */
function rawSyncLatenciesMs(dir: string, seconds: number): [number, number, number] {
  const file = path.join(dir, 'raw-sync-reference');
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(RAW_SYNC_BYTES, 7);
  const latenciesMs: number[] = [];
  try {
    const endMs = performance.now() + seconds * 1000;
    for (let started = performance.now(); started < endMs; started = performance.now()) {
      fs.writeSync(fd, chunk);
      fs.fdatasyncSync(fd);
      latenciesMs.push(performance.now() - started);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file);
  }
  return [percentile(latenciesMs, 50), percentile(latenciesMs, 99), percentile(latenciesMs, 99.9)];
}

function formatLatencies([p50Ms, p99Ms, p999Ms]: readonly [number, number, number]): string {
  return `p50 ${p50Ms.toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms, p99.9 ${p999Ms.toFixed(2)} ms`;
}

/** Produce (acks=1, acks=all, idempotent, transactional) and consume rates against the running broker. */
async function throughputCases(brokers: string, brokerPid: number, rows: Row[]): Promise<void> {
  const acks1 = rate(loadgen('produce', brokers, 'bench-durable', String(RECORDS), '100', '1'), 'produced');
  rows.push([
    'produce, acks=1, durable topic',
    `${Math.round(acks1).toLocaleString('en-US')} records/s`,
    '>= 800,000',
  ]);
  const acksAll = rate(
    loadgen('produce', brokers, 'bench-acks-all', String(RECORDS), '100', 'all'),
    'produced',
  );
  rows.push([
    'produce, acks=all (fsynced before ack)',
    `${Math.round(acksAll).toLocaleString('en-US')} records/s`,
    '>= 800,000',
  ]);
  // The same producers with and without transactions: only the transactions' cost differs. The CPU both
  // sides spend per record bounds the rate on this machine whatever the latency.
  const txnCase = (topic: string, perTxn: number) => {
    const before = { client: childrenCpuSeconds(), broker: processCpuSeconds(brokerPid) };
    const recordsPerSecond = rate(
      loadgen('txn', brokers, topic, String(TXN_RECORDS), '100', String(perTxn), String(TXN_PRODUCERS)),
      'produced',
    );
    const msPer100 = (seconds: number) => ((seconds * 1000) / TXN_RECORDS) * 100;
    const clientMs = msPer100(childrenCpuSeconds() - before.client);
    const brokerMs = msPer100(processCpuSeconds(brokerPid) - before.broker);
    const ceiling = (os.cpus().length * 1000 * 100) / (clientMs + brokerMs);
    return {
      recordsPerSecond,
      cpu: `CPU per 100 records: client ${clientMs.toFixed(2)} ms, broker ${brokerMs.toFixed(2)} ms (all ${os.cpus().length} cores busy: at most ${Math.round(ceiling).toLocaleString('en-US')} records/s)`,
    };
  };
  const idempotent = txnCase('bench-idempotent', 0);
  rows.push([
    `produce, idempotent, ${TXN_PRODUCERS} producers (reference for transactions)`,
    `${Math.round(idempotent.recordsPerSecond).toLocaleString('en-US')} records/s; ${idempotent.cpu}`,
    'reference',
  ]);
  const transactional = txnCase('bench-transactional', RECORDS_PER_TXN);
  rows.push([
    `produce, transactional, ${RECORDS_PER_TXN}-record transactions, ${TXN_PRODUCERS} producers`,
    `${Math.round(transactional.recordsPerSecond).toLocaleString('en-US')} records/s = ${((100 * transactional.recordsPerSecond) / idempotent.recordsPerSecond).toFixed(0)}% of idempotent; ${transactional.cpu}`,
    '>= 60% of idempotent',
  ]);
  const consumed = rate(loadgen('consume', brokers, 'bench-durable', String(RECORDS)), 'consumed');
  rows.push([
    'consume (one consumer, 4 partitions)',
    `${Math.round(consumed).toLocaleString('en-US')} records/s`,
    '>= 1,000,000',
  ]);
}

/** Redis Streams on the same machine: the peer reference. */
async function redisCases(rows: Row[]): Promise<void> {
  const redis = spawn(
    '/usr/bin/redis-server',
    [
      '--port',
      String(REDIS_PORT),
      '--bind',
      '127.0.0.1',
      '--dir',
      work,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
    ],
    { stdio: 'ignore' },
  );
  try {
    await waitForPort(REDIS_PORT);
    const value = 'x'.repeat(100);
    for (const pipeline of ['16', '100']) {
      const output = execFileSync(
        '/usr/bin/redis-benchmark',
        [
          '-p',
          String(REDIS_PORT),
          '-n',
          String(RECORDS / 2),
          '-P',
          pipeline,
          '-q',
          'XADD',
          'bench',
          '*',
          'v',
          value,
        ],
        { encoding: 'utf8', timeout: 300_000 },
      );
      const match = /([\d.]+) requests per second/.exec(output);
      rows.push([
        `peer: Redis 7 XADD, AOF everysec, pipeline ${pipeline}`,
        `${Math.round(Number(match?.[1] ?? 0)).toLocaleString('en-US')} records/s`,
        'reference',
      ]);
    }
  } finally {
    redis.kill('SIGTERM');
    await new Promise((resolve) => redis.once('exit', resolve));
  }
}

function printRows(rows: Row[]): void {
  console.log(`\nBroker benchmark — ${new Date().toISOString().slice(0, 10)}`);
  console.log(
    `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  );
  console.log(
    `Client: librdkafka ${loadgen('version')} (bench/loadgen.c), 100-byte values, no keys, ${RECORDS.toLocaleString('en-US')} records per throughput case; broker and client share the machine.\n`,
  );
  console.log('| case | measured | goal |');
  console.log('|---|---|---|');
  for (const [name, value, goal] of rows) console.log(`| ${name} | ${value} | ${goal} |`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(work, { recursive: true, force: true }));
