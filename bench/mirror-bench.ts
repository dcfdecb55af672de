// bench:mirror — edge-to-cloud forwarding. Two brokers and the mirror run as processes of their own on
// loopback. With the cloud broker stopped, 1,000,000 records are produced to the edge through
// @platformatic/kafka (RemoteLogClient): that is the broker's own produce rate, measured in this run, and the
// backlog. Then the cloud broker starts and the clock runs until the mirror has drained the backlog into it.
// Goal: the mirror forwards at >= 90% of the rate at which the broker accepts produce requests.
// The mirror forwards in transactions (its default); BENCH_MIRROR_TRANSACTIONS=0 measures its idempotent mode.
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { newestRecordFromTail } from '../src/client/partition-tail.js';
import { RemoteLogClient } from '../src/client/remote-client.js';
import type { OutgoingRecord } from '../src/client/types.js';
import { provenanceOf } from '../src/mirror/provenance.js';
import { BrokerProcess } from '../test/support/mirror-cluster.js';
import { Background } from '../test/support/processes.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const PARTITIONS = 4;
const RECORDS_PER_CALL = 5_000;
const TOPIC = 'bench.events';
const PREFIX = 'site-a.';
const VALUE_BYTES = 200;
const TRANSACTIONS = process.env.BENCH_MIRROR_TRANSACTIONS !== '0';
/** Node flags for the mirror process alone, e.g. `--cpu-prof --cpu-prof-dir=DIR` (NODE_OPTIONS refuses those). */
const MIRROR_NODE_FLAGS = (process.env.BENCH_MIRROR_NODE_FLAGS ?? '')
  .split(' ')
  .filter((flag) => flag !== '');
const EDGESTREAM_BIN = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));

function record(i: number, partition: number): OutgoingRecord {
  const body = JSON.stringify({ edge: `edge-${i % 1000}`, retransmits: i % 500, rttMs: i % 90 });
  return {
    topic: TOPIC,
    partition,
    key: Buffer.from(`edge-${i % 1000}`),
    value: Buffer.from(body.padEnd(VALUE_BYTES, ' ')),
    timestamp: Date.now(),
    headers: [
      { key: 'site', value: Buffer.from('a') },
      { key: 'schema', value: Buffer.from('telemetry-v1') },
    ],
  };
}

function recordBytes(r: OutgoingRecord): number {
  let bytes = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const header of r.headers ?? []) bytes += header.key.length + (header.value?.length ?? 0);
  return bytes;
}

/** Records forwarded: the newest record of each target partition names its source offset (offsets count markers). */
async function cloudCount(client: RemoteLogClient): Promise<number> {
  let total = 0;
  for (let partition = 0; partition < PARTITIONS; partition += 1) {
    const { record } = await newestRecordFromTail(
      client,
      { topic: `${PREFIX}${TOPIC}`, partition },
      () => true,
      Number.POSITIVE_INFINITY,
      2,
    ).catch(() => ({ record: null }));
    total += record ? (provenanceOf(record)?.offset ?? -1) + 1 : 0;
  }
  return total;
}

/** The mirror child process's id: the bench's child whose command line runs `mirror`. */
function mirrorPid(): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
      if (parentPid === process.pid && args.includes('mirror')) return Number(entry);
    } catch {
      // The process ended while the list was read.
    }
  }
  return null;
}

/** User plus system CPU a process has used, in milliseconds (Linux /proc). */
function cpuMsOf(pid: number | null): number {
  if (pid === null) return Number.NaN;
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const [utime, stime] = fields
    .slice(fields.lastIndexOf(')') + 2)
    .split(' ')
    .slice(11, 13)
    .map(Number);
  return ((utime! + stime!) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Linux's USER_HZ, the unit of utime and stime in /proc/PID/stat. */
const CLOCK_TICKS_PER_SECOND = 100;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const [edge, cloud] = await Promise.all([
    BrokerProcess.start('bench-edge'),
    BrokerProcess.start('bench-cloud'),
  ]);
  const producer = new RemoteLogClient({ bootstrapBrokers: [edge.bootstrap], clientId: 'bench-producer' });
  const mirror = new Background(
    'node',
    [
      ...MIRROR_NODE_FLAGS,
      EDGESTREAM_BIN,
      'mirror',
      '--source',
      edge.bootstrap,
      '--target',
      cloud.bootstrap,
      '--topics',
      'bench\\..*',
      '--prefix',
      PREFIX,
      ...(TRANSACTIONS ? [] : ['--no-transactions']),
    ],
    600_000,
  );
  let cloudReader: RemoteLogClient | null = null;
  try {
    await producer.ensureTopic({ name: TOPIC, partitions: PARTITIONS });
    // Let the mirror create the target topic, then take the link away.
    const probe = new RemoteLogClient({ bootstrapBrokers: [cloud.bootstrap], clientId: 'bench-probe' });
    for (let tries = 0; (await probe.partitionCount(`${PREFIX}${TOPIC}`).catch(() => 0)) === 0; tries += 1) {
      if (tries > 300) throw new Error(`the mirror did not create its target topic:\n${mirror.stderr}`);
      await delay(100);
    }
    await probe.close();
    await cloud.stop();

    let bytes = 0;
    const produceStart = performance.now();
    for (let i = 0; i < RECORDS; i += RECORDS_PER_CALL) {
      const batch = Array.from({ length: Math.min(RECORDS_PER_CALL, RECORDS - i) }, (_, j) =>
        record(i + j, (i + j) % PARTITIONS),
      );
      for (const r of batch) bytes += recordBytes(r);
      await producer.produce(batch);
    }
    const produceSeconds = (performance.now() - produceStart) / 1000;

    const pid = mirrorPid();
    await cloud.restart();
    const cpuAtLinkBackMs = cpuMsOf(pid);
    // The link is back once the cloud broker accepts connections.
    const linkBackAt = performance.now();
    cloudReader = new RemoteLogClient({ bootstrapBrokers: [cloud.bootstrap], clientId: 'bench-reader' });
    let firstAt: number | null = null;
    let forwarded = 0;
    const deadline = Date.now() + 600_000;
    while (forwarded < RECORDS) {
      if (Date.now() > deadline)
        throw new Error(`drain timed out at ${forwarded} records:\n${mirror.stderr}`);
      forwarded = await cloudCount(cloudReader);
      if (firstAt === null && forwarded > 0) firstAt = performance.now();
      await delay(50);
    }
    const doneAt = performance.now();
    const mirrorCpuMs = cpuMsOf(pid) - cpuAtLinkBackMs;
    const drainSeconds = (doneAt - linkBackAt) / 1000;
    const forwardSeconds = (doneAt - (firstAt ?? linkBackAt)) / 1000;
    const produceRate = RECORDS / produceSeconds;
    const forwardRate = RECORDS / forwardSeconds;
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const rows: Array<[string, string]> = [
      ['machine', `${cpu}, ${os.cpus().length} cores, Node ${process.version}`],
      [
        'records',
        `${RECORDS.toLocaleString('en-US')} x ${Math.round(bytes / RECORDS)} B, ${PARTITIONS} partitions`,
      ],
      [
        'broker produce rate (@platformatic/kafka, acks=all, idempotent)',
        `${Math.round(produceRate).toLocaleString('en-US')} records/s, ${(bytes / MiB / produceSeconds).toFixed(1)} MiB/s`,
      ],
      [
        `mirror forwarding rate (first record to last), ${TRANSACTIONS ? 'in transactions' : 'idempotent'}`,
        `${Math.round(forwardRate).toLocaleString('en-US')} records/s, ${(bytes / MiB / forwardSeconds).toFixed(1)} MiB/s`,
      ],
      ['forwarding / produce rate', `${Math.round((forwardRate / produceRate) * 100)}% (goal >= 90%)`],
      [
        'mirror CPU per forwarded record (user + system, link back to drained)',
        `${((mirrorCpuMs * 1000) / RECORDS).toFixed(2)} us`,
      ],
      ['cloud back -> first record forwarded', `${(((firstAt ?? doneAt) - linkBackAt) / 1000).toFixed(2)} s`],
      [
        `time to drain the ${RECORDS.toLocaleString('en-US')}-record backlog after the link returns`,
        `${drainSeconds.toFixed(2)} s`,
      ],
    ];
    console.log('| measure | result |\n|---|---|');
    for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
  } finally {
    await mirror.stop('SIGTERM');
    await cloudReader?.close();
    await producer.close();
    await Promise.all([edge.destroy(), cloud.destroy()]);
  }
}

await main();
