import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import { SupervisedProcess } from '../src/cli/supervised-process.js';
import { type Ensemble, freePorts, startZooKeeperEnsemble } from '../src/cli/zookeeper-ensemble.js';
import { buildLoadgen } from './native-tools.js';
import { percentile } from './support/percentile.js';

/**
 * A replicated cluster of three brokers and a ZooKeeper ensemble of three on this machine: produce throughput
 * with replication factor 3 and acks=all beside replication factor 1 in the same run, end-to-end latency on a
 * replicated topic, and how long partition 0 cannot take an acks=all record after its leader is SIGKILLed,
 * while an idempotent producer writes throughout and every record it had acknowledged is read back at the end.
 */

const MAIN_SCRIPT = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-cluster-bench-'));
const RECORDS = Number(process.env.BENCH_RECORDS ?? 2_000_000);
const KILLS = Number(process.env.BENCH_KILLS ?? 20);
const RATE = 50_000;
const LATENCY_SECONDS = 10;
const PARTITIONS = 4;
const SESSION_TIMEOUT_MS = 2_000;
const REPLICA_LAG_MS = 2_000;
const READY_TIMEOUT_MS = 60_000;
const PROBE_INTERVAL_MS = 100;

const execFileAsync = promisify(execFile);

interface Broker {
  id: number;
  address: string;
  process: SupervisedProcess | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const format = (n: number) => Math.round(n).toLocaleString('en-US');

async function loadgen(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(path.join(work, 'loadgen'), args, { timeout: 600_000 });
  return stdout.trim();
}

function rate(output: string): number {
  const match = /produced (\d+) records in ([\d.]+) s \((\d+) failed\)/.exec(output);
  if (match?.[3] !== '0') throw new Error(`unexpected loadgen output: ${output}`);
  return Number(match[1]) / Number(match[2]);
}

class Cluster {
  readonly brokers: Broker[];

  private constructor(
    private readonly ensemble: Ensemble,
    ports: number[],
  ) {
    this.brokers = ports.map((port, index) => ({
      id: index + 1,
      address: `127.0.0.1:${port}`,
      process: null,
    }));
  }

  static async start(): Promise<Cluster> {
    const ensemble = await startZooKeeperEnsemble({ members: 3, dir: path.join(work, 'zookeeper') });
    const cluster = new Cluster(ensemble, await freePorts(3));
    try {
      for (const broker of cluster.brokers) await cluster.launch(broker);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get bootstrap(): string[] {
    return this.brokers.map((broker) => broker.address);
  }

  broker(id: number): Broker {
    const broker = this.brokers.find((b) => b.id === id);
    if (!broker) throw new Error(`no broker ${id}`);
    return broker;
  }

  async launch(broker: Broker): Promise<void> {
    broker.process = await SupervisedProcess.start(
      process.execPath,
      [
        MAIN_SCRIPT,
        'broker',
        ...['--node-id', String(broker.id), '--zookeeper', this.ensemble.connectString],
        ...['--data-dir', path.join(work, `broker-${broker.id}`), '--listen', broker.address],
        ...['--zookeeper-session-timeout-ms', String(SESSION_TIMEOUT_MS)],
        ...['--replica-lag-time-max-ms', String(REPLICA_LAG_MS)],
      ],
      path.join(work, `broker-${broker.id}.log`),
    );
  }

  /** SIGKILL, sent without waiting; resolves once the broker has exited. */
  kill(id: number): Promise<unknown> {
    const broker = this.broker(id);
    const process = broker.process;
    if (!process) throw new Error(`broker ${id} is not running`);
    process.signal('SIGKILL');
    broker.process = null;
    return process.exited;
  }

  /** Throws, naming the log, when a broker that should run has exited. */
  checkRunning(): void {
    for (const broker of this.brokers) {
      if (broker.process && !broker.process.running)
        throw new Error(`broker ${broker.id} exited (log ${path.join(work, `broker-${broker.id}.log`)})`);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.brokers.map((broker) => broker.process?.stop('SIGKILL', 10_000)));
    for (const broker of this.brokers) broker.process = null;
    await this.ensemble.stop();
  }
}

/** Polls until `condition` holds; fails early when a broker exits. */
async function waitFor(cluster: Cluster, what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    cluster.checkRunning();
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not within ${READY_TIMEOUT_MS} ms`);
    await sleep(PROBE_INTERVAL_MS);
  }
}

/** True once every partition of every topic has all its replicas in sync. */
async function isrFull(admin: Admin): Promise<boolean> {
  const { topics } = await admin.fetchTopicMetadata();
  return topics.every((topic) => topic.partitions.every((p) => p.isr.length === p.replicas.length));
}

async function leaderOf(admin: Admin, topic: string, partition: number): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const leader = topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
  if (leader === undefined || leader < 0) throw new Error(`${topic}-${partition} has no leader`);
  return leader;
}

/** An idempotent acks=all producer writing batches of 10, one partition per send, until stopped. */
class BackgroundWriter {
  readonly acknowledged: string[] = [];
  failedSends = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    for (let sent = 0; !this.stopped; sent += 10) {
      const messages = Array.from({ length: 10 }, (_, i) => ({
        partition: (sent / 10) % PARTITIONS,
        value: `bg-${sent + i}`,
      }));
      try {
        await this.producer.send({ topic: this.topic, acks: -1, messages });
        this.acknowledged.push(...messages.map((m) => m.value));
      } catch {
        this.failedSends++;
        await sleep(50);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** Reads the topic from the beginning up to its current end offsets; returns every value seen. */
async function readAll(kafka: Kafka, admin: Admin, topic: string): Promise<string[]> {
  const ends = new Map(
    (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)] as const),
  );
  const positions = new Map([...ends.keys()].map((partition) => [partition, 0]));
  const seen: string[] = [];
  const consumer = kafka.consumer({ groupId: `cluster-bench-reader-${process.pid}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let complete: () => void = () => undefined;
    const caughtUp = new Promise<void>((resolve) => {
      complete = resolve;
    });
    const check = () => {
      if ([...ends].every(([partition, end]) => (positions.get(partition) ?? 0) >= end)) complete();
    };
    check();
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          seen.push(message.value?.toString() ?? '');
          positions.set(batch.partition, Number(message.offset) + 1);
        }
        check();
      },
    });
    const timeout = sleep(120_000).then(() => {
      throw new Error(`read-back of ${topic} incomplete after 120 s (${seen.length} records)`);
    });
    await Promise.race([caughtUp, timeout]);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

async function main(): Promise<void> {
  buildLoadgen(work, 'bench:cluster');
  const client = await loadgen('version');
  const rows: Array<[string, string, string]> = [];
  const cluster = await Cluster.start();
  const kafka = new Kafka({
    clientId: 'cluster-bench',
    brokers: cluster.bootstrap,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 100 },
  });
  const admin = kafka.admin();
  const producers: Producer[] = [];
  try {
    await waitFor(cluster, 'three brokers in the cluster', async () => {
      await admin.connect();
      return (await admin.describeCluster()).brokers.length === 3;
    });
    const replicated = [{ name: 'min.insync.replicas', value: '2' }];
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: 'bench-rf1', numPartitions: PARTITIONS, replicationFactor: 1 },
        ...['bench-rf3', 'bench-latency-rf3', 'bench-failover-rf3'].map((topic) => ({
          topic,
          numPartitions: PARTITIONS,
          replicationFactor: 3,
          configEntries: replicated,
        })),
      ],
    });
    await waitFor(cluster, 'every replica in sync', () => isrFull(admin));
    const brokers = cluster.bootstrap.join(',');

    // Latency first, on a quiet disk (as bench:broker does).
    const [, p50, p99, p999] = (
      await loadgen('latency', brokers, 'bench-latency-rf3', String(RATE), String(LATENCY_SECONDS), '100')
    )
      .split(' ')
      .map(Number);
    rows.push([
      `end-to-end latency at 50k msg/s, RF=3 (consumers see records once on the ISR), ${LATENCY_SECONDS} s`,
      `p50 ${((p50 ?? 0) / 1000).toFixed(2)} ms, p99 ${((p99 ?? 0) / 1000).toFixed(2)} ms, p99.9 ${((p999 ?? 0) / 1000).toFixed(2)} ms`,
      'p99 reported',
    ]);

    const rf1 = rate(await loadgen('produce', brokers, 'bench-rf1', String(RECORDS), '100', 'all'));
    const rf3 = rate(await loadgen('produce', brokers, 'bench-rf3', String(RECORDS), '100', 'all'));
    rows.push(['produce, acks=all, RF=1 (reference)', `${format(rf1)} records/s`, 'reference']);
    rows.push(['produce, acks=all, RF=3, min.insync.replicas=2', `${format(rf3)} records/s`, '']);
    rows.push(['RF=3 / RF=1', `${((rf3 / rf1) * 100).toFixed(0)}%`, '>= 50%']);

    // Leader failover: an idempotent writer on every partition throughout, a probe on partition 0.
    const topic = 'bench-failover-rf3';
    const writerProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const probe = kafka.producer({ retry: { initialRetryTime: 20, maxRetryTime: 100, retries: 1000 } });
    producers.push(writerProducer, probe);
    await Promise.all(producers.map((producer) => producer.connect()));
    const probed: string[] = [];
    const probeSend = async () => {
      const value = `probe-${probed.length}`;
      await probe.send({ topic, acks: -1, messages: [{ partition: 0, value }] });
      probed.push(value);
    };
    const writer = new BackgroundWriter(writerProducer, topic);
    const outages: number[] = [];
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        await probeSend();
        const leader = await leaderOf(admin, topic, 0);
        const started = performance.now();
        const exited = cluster.kill(leader);
        await probeSend();
        outages.push(performance.now() - started);
        await exited;
        await cluster.launch(cluster.broker(leader));
        await waitFor(cluster, `broker ${leader} back in every ISR`, () => isrFull(admin));
        process.stderr.write(
          `kill ${kill + 1}/${KILLS}: broker ${leader}, partition 0 unavailable ${outages.at(-1)?.toFixed(0)} ms\n`,
        );
      }
    } finally {
      await writer.stop();
    }
    const seen = await readAll(kafka, admin, topic);
    const present = new Set(seen);
    const acknowledged = [...writer.acknowledged, ...probed];
    const lost = acknowledged.filter((value) => !present.has(value)).length;
    const background = seen.filter((value) => value.startsWith('bg-'));
    const duplicates = background.length - new Set(background).size;
    outages.sort((a, b) => a - b);
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    rows.push([
      `partition 0 unavailable after SIGKILL of its leader (kill -> first acks=all record acknowledged), ${KILLS} kills`,
      `p50 ${seconds(percentile(outages, 50))}, p99 ${seconds(percentile(outages, 99))}, max ${seconds(outages.at(-1) ?? Number.NaN)}`,
      'p99 <= 3 s (moonshot 1 s)',
    ]);
    rows.push([
      'acknowledged records lost across the kills (idempotent acks=all writer + probes)',
      `lost: ${lost} of ${format(acknowledged.length)} (duplicates: ${duplicates}, failed sends: ${writer.failedSends})`,
      '0',
    ]);
  } finally {
    await Promise.all(producers.map((producer) => producer.disconnect().catch(() => undefined)));
    await admin.disconnect().catch(() => undefined);
    await cluster.stop();
  }

  console.log(`\nCluster benchmark — ${new Date().toISOString().slice(0, 10)}`);
  console.log(
    `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  );
  console.log(
    `Client: librdkafka ${client} (bench/loadgen.c) for throughput and latency, kafkajs for failover; 100-byte values, no keys, ${RECORDS.toLocaleString('en-US')} records per throughput case, ${PARTITIONS} partitions per topic. Three brokers (ZooKeeper session ${SESSION_TIMEOUT_MS} ms, replica lag ${REPLICA_LAG_MS} ms), a ZooKeeper ensemble of three and the clients share the machine.\n`,
  );
  console.log('| case | measured | goal |');
  console.log('|---|---|---|');
  for (const [name, value, goal] of rows) console.log(`| ${name} | ${value} | ${goal} |`);
}

main().then(
  () => fs.rmSync(work, { recursive: true, force: true }),
  (error: unknown) => {
    console.error(error);
    console.error(`broker and ZooKeeper logs kept in ${work}`);
    process.exitCode = 1;
  },
);
