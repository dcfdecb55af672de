// Chaos on a three-broker cluster with a three-member ZooKeeper ensemble: at least 30 faults in one run drawn
// from SIGKILL of one or two brokers, SIGSTOP past the session timeout, SIGKILL of a ZooKeeper member and a
// broker cut off the others, while idempotent acks=all producers (librdkafka through python3-confluent-kafka,
// and kafkajs) write and a kafkajs consumer group reads. At the end every acknowledged record is in the log
// exactly once at the offset it was acknowledged with, the three replicas of every partition are
// byte-identical up to the high watermark, and the group's committed offsets never went back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import pino from 'pino';
import { LogManager } from '../src/log/index.js';
import { decodeRecords, readBatchHeader, splitBatches } from '../src/protocol/index.js';
import { Random } from '../src/simulate/random.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { Background, until } from './support/processes.js';

const FAULTS = Number(process.env.CHAOS_FAULTS ?? 30);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
const TOPIC = 'chaos';
const PARTITIONS = 3;
const GROUP = 'chaos-readers';
const PYTHON = '/usr/bin/python3';
const producerScript = fileURLToPath(new URL('../../test/python/chaos_producer.py', import.meta.url));
/** Longer than the brokers' 2 s ZooKeeper session, so a paused broker is replaced and fenced. */
const PAUSE_MS = 4_000;
const HEALTHY_WAIT_MS = 90_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True once `condition` holds, false if it still does not after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

interface Acknowledged {
  partition: number;
  /** Null when the client reported the record delivered without its offset (see parseDeliveries). */
  offset: number | null;
  value: string;
}

type Fault = 'kill-one' | 'kill-two' | 'pause' | 'kill-zookeeper' | 'isolate';
const FAULT_KINDS: Fault[] = ['kill-one', 'kill-two', 'pause', 'kill-zookeeper', 'isolate'];

test(`chaos: ${FAULTS} faults, no acknowledged record lost or doubled, replicas identical (seed ${SEED})`, {
  timeout: 20 * 60_000,
}, async () => {
  const random = new Random(SEED);
  const cluster = await BrokerCluster.start({ proxied: true });
  const kafka = new Kafka({
    clientId: 'chaos',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const admin = kafka.admin();
  let python: Background | null = null;
  /** Everything started that keeps running until stopped: stopped again at the end, even after a failure. */
  const running: Array<() => Promise<void>> = [];
  try {
    await admin.connect();
    await createReplicatedTopic(admin, TOPIC, PARTITIONS);
    python = new Background(
      PYTHON,
      [producerScript, cluster.bootstrap, TOPIC, String(PARTITIONS), 'rk'],
      20 * 60_000,
    );
    const writer = startKafkajsProducer(kafka);
    running.push(writer.stop);
    const reader = await startConsumer(kafka);
    running.push(reader.stop);
    const sampler = startOffsetSampler(admin);
    running.push(sampler.stop);
    await until(() => writer.acknowledged.length >= 100, 60_000, 'kafkajs records before the faults');

    const done: string[] = [];
    for (let i = 0; i < FAULTS; i++) {
      const fault = FAULT_KINDS[random.below(FAULT_KINDS.length)]!;
      const brokers = shuffled(
        random,
        cluster.brokers.map((b) => b.id),
      );
      const target = fault === 'kill-two' ? brokers.slice(0, 2).join('+') : brokers[0];
      done.push(`${fault}:${target}@${new Date().toISOString().slice(11, 19)}`);
      await inject(cluster, fault, brokers, random);
      await waitHealthy(admin, cluster, `after fault ${i + 1} (${done.at(-1)})`);
    }

    python.signal('SIGTERM');
    await python.exited;
    await writer.stop();
    const librdkafka = parseDeliveries(python.stdout);
    assert.ok(
      librdkafka.length > 100,
      `librdkafka acknowledged ${librdkafka.length} records: ${python.stderr.slice(-2000)}`,
    );
    const acknowledged = [...librdkafka, ...writer.acknowledged];

    const highWatermarks = await admin.fetchTopicOffsets(TOPIC);
    const ends = new Map(highWatermarks.map((p) => [p.partition, Number(p.high)]));
    // The consumer's results are checked after the logs, which tell whether anything unread is there at all.
    await waitFor(() => acknowledged.every((a) => reader.seen.has(a.value)), 180_000);
    const unread = acknowledged.filter((a) => !reader.seen.has(a.value));
    // Leaving the group commits what the consumer has processed.
    await reader.stop();
    const lastCommitted = () => sampler.samples.at(-1);
    const committedAll = await waitFor(() => {
      const last = lastCommitted();
      return last !== undefined && [...ends].every(([p, end]) => last.get(p) === end);
    }, 60_000);
    await sampler.stop();

    for (let i = 1; i < sampler.samples.length; i++) {
      for (const [partition, offset] of sampler.samples[i]!) {
        const before = sampler.samples[i - 1]!.get(partition) ?? -1;
        assert.ok(offset >= before, `partition ${partition}: committed ${before} then ${offset}`);
      }
    }

    // Stop the brokers one by one (each hands its leaderships over), then read their logs directly.
    for (const broker of cluster.brokers) await cluster.kill(broker.id, 'SIGTERM');
    const replicas = cluster.brokers.map((broker) =>
      LogManager.open({ dataDir: broker.dataDir, logger: pino({ level: 'silent' }) }),
    );
    try {
      for (let p = 0; p < PARTITIONS; p++) {
        const end = ends.get(p)!;
        const copies = replicas.map((logs) => readAll(logs, p, end));
        for (const [i, copy] of copies.entries()) {
          assert.ok(
            copy.equals(copies[0]!),
            `partition ${p}: broker ${cluster.brokers[i]!.id}'s replica differs below the high watermark ${end}`,
          );
        }
        const { values, origins } = valuesByOffset(replicas[0]!, p, end);
        const counts = new Map<string, number>();
        for (const value of values.values()) counts.set(value, (counts.get(value) ?? 0) + 1);
        for (const a of acknowledged.filter((a) => a.partition === p)) {
          if (a.offset !== null) {
            assert.equal(
              values.get(a.offset),
              a.value,
              `partition ${p} offset ${a.offset} holds what was acknowledged there`,
            );
          }
          const at = [...values].filter(([, v]) => v === a.value).map(([o]) => `${o}: ${origins.get(o)}`);
          assert.equal(
            counts.get(a.value),
            1,
            `${a.value} is in the log exactly once: ${at.join('; ')} (${done.join(' ')})`,
          );
        }
      }
    } finally {
      for (const logs of replicas) await logs.close();
    }
    assert.deepEqual(
      unread.slice(0, 5),
      [],
      `the consumer group read every acknowledged record (${unread.length} unread; faults ${done.join(' ')}; consumer ${reader.events.join('; ')})`,
    );
    assert.ok(
      committedAll,
      `the group committed the end offsets ${JSON.stringify([...ends])}: last ${JSON.stringify([...(lastCommitted() ?? [])])}`,
    );
    const withoutOffset = acknowledged.filter((a) => a.offset === null).length;
    console.log(
      `chaos seed ${SEED}: ${done.join(' ')}; ${acknowledged.length} records acknowledged (${withoutOffset} without an offset)`,
    );
  } finally {
    await python?.stop('SIGKILL');
    for (const stop of running) await stop().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await cluster.stop();
  }
});

async function inject(
  cluster: BrokerCluster,
  fault: Fault,
  brokers: number[],
  random: Random,
): Promise<void> {
  const [first, second] = [brokers[0]!, brokers[1]!];
  switch (fault) {
    case 'kill-one':
      await cluster.kill(first);
      await sleep(1_000 + random.below(2_000));
      await cluster.restart(first);
      return;
    case 'kill-two':
      await Promise.all([cluster.kill(first), cluster.kill(second)]);
      await sleep(1_000 + random.below(2_000));
      await Promise.all([cluster.restart(first), cluster.restart(second)]);
      return;
    case 'pause':
      cluster.signal(first, 'SIGSTOP');
      await sleep(PAUSE_MS);
      cluster.signal(first, 'SIGCONT');
      return;
    case 'kill-zookeeper': {
      const member = cluster.ensemble.members[random.below(cluster.ensemble.members.length)]!;
      await member.kill('SIGKILL');
      await sleep(1_000 + random.below(2_000));
      await member.restart();
      return;
    }
    case 'isolate':
      cluster.isolate(first);
      await sleep(PAUSE_MS);
      cluster.heal(first);
      return;
  }
}

/**
 * Every partition of the topic and of the offsets topic led, with all three replicas in sync. On failure the
 * message holds the partitions that were not whole and each broker's last warnings, to tell why.
 */
async function waitHealthy(admin: Admin, cluster: BrokerCluster, what: string): Promise<void> {
  const deadline = Date.now() + HEALTHY_WAIT_MS;
  let lastSeen = 'no metadata answered';
  for (;;) {
    const healthy = await admin
      .fetchTopicMetadata({ topics: [TOPIC, '__consumer_offsets'] })
      .then(({ topics }) => {
        const broken = topics.flatMap((t) =>
          t.partitions
            .filter((p) => p.leader < 0 || p.isr.length !== 3)
            .map((p) => `${t.name}-${p.partitionId} leader ${p.leader} isr [${p.isr.join(',')}]`),
        );
        lastSeen = broken.join('; ');
        return broken.length === 0;
      })
      .catch((error: unknown) => {
        lastSeen = `metadata failed: ${String(error)}`;
        return false;
      });
    if (healthy) return;
    if (Date.now() >= deadline) {
      const warnings = cluster.brokers.map((b) => {
        const lines = cluster
          .logs(b.id)
          .split('\n')
          .filter((line) => /"level":(4|5|6)0/.test(line));
        return `broker ${b.id}:\n${lines.slice(-15).join('\n')}`;
      });
      assert.fail(`the cluster is whole again ${what}: ${lastSeen}\n${warnings.join('\n')}`);
    }
    await sleep(250);
  }
}

/**
 * kafkajs idempotent acks=all producer, one partition per send (kafkajs 2.2.4 can drop a multi-partition
 * send's records for a partition whose leader moved). A send that fails after its retries gets a new
 * producer: kafkajs rewinds its sequence numbers after a failure, and reusing them could make a broker take
 * the next batch for a duplicate of one it did store.
 */
function startKafkajsProducer(kafka: Kafka): { acknowledged: Acknowledged[]; stop: () => Promise<void> } {
  const acknowledged: Acknowledged[] = [];
  let running = true;
  let producer: Producer | null = null;
  const loop = (async () => {
    for (let n = 0; running; ) {
      producer ??= kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      try {
        await producer.connect();
        const partition = (n / 5) % PARTITIONS;
        const values = Array.from({ length: 5 }, (_, j) => `kj-${n + j}`);
        const [metadata] = await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: values.map((value) => ({ partition, value })),
        });
        const base = Number(metadata!.baseOffset);
        for (const [j, value] of values.entries()) acknowledged.push({ partition, offset: base + j, value });
      } catch {
        await producer.disconnect().catch(() => undefined);
        producer = null;
      }
      n += 5;
      await sleep(20);
    }
    await producer?.disconnect();
  })();
  return {
    acknowledged,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * The kafkajs consumer group member, and what happened to it (crashes, joins) for the failure message. kafkajs
 * gives up (a crash with restart false) on errors it counts as not retriable, such as finding no group
 * coordinator while two of the three brokers are down; an application then starts its consumer again, and so
 * does this one: it resumes from the group's committed offsets.
 */
async function startConsumer(
  kafka: Kafka,
): Promise<{ seen: Set<string>; events: string[]; stop: () => Promise<void> }> {
  const seen = new Set<string>();
  const events: string[] = [];
  const at = () => new Date().toISOString().slice(11, 23);
  let stopping = false;
  let current: Consumer | null = null;
  const start = async (): Promise<void> => {
    const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    current = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      events.push(
        `${at()} crash ${payload.error.name}: ${payload.error.message} (restart ${payload.restart})`,
      );
      if (payload.restart || stopping) return;
      void consumer
        .disconnect()
        .catch(() => undefined)
        .then(() => (stopping ? undefined : start()))
        .catch((error: Error) => events.push(`${at()} restart failed: ${error.message}`));
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      events.push(`${at()} joined as ${payload.memberId} (${payload.isLeader ? 'leader' : 'member'})`);
    });
    consumer.on(consumer.events.STOP, () => events.push(`${at()} stopped`));
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 200,
      eachMessage: async ({ message }) => {
        seen.add(message.value!.toString());
      },
    });
  };
  await start();
  return {
    seen,
    events,
    stop: async () => {
      stopping = true;
      await current?.disconnect();
    },
  };
}

/** The group's committed offsets every 500 ms (reads that fail during a fault are skipped). */
function startOffsetSampler(admin: Admin): {
  samples: Array<Map<number, number>>;
  stop: () => Promise<void>;
} {
  const samples: Array<Map<number, number>> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      await admin
        .fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
        .then(([topic]) => {
          samples.push(new Map(topic!.partitions.map((p) => [p.partition, Number(p.offset)])));
        })
        .catch(() => undefined);
      await sleep(500);
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * The records the Python producer's delivery reports acknowledged (lines {"p", "o", "v"}). librdkafka may
 * report a record delivered without an offset (null): an idempotent producer that learns from a later answer
 * that the broker already has a batch whose own answer it lost.
 */
function parseDeliveries(stdout: string): Acknowledged[] {
  const acknowledged: Acknowledged[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{"p"')) continue;
    const report: unknown = JSON.parse(line);
    assert.ok(
      typeof report === 'object' &&
        report !== null &&
        'p' in report &&
        'o' in report &&
        'v' in report &&
        typeof report.p === 'number' &&
        (typeof report.o === 'number' || report.o === null) &&
        typeof report.v === 'string',
      `a delivery report: ${line}`,
    );
    acknowledged.push({ partition: report.p, offset: report.o, value: report.v });
  }
  return acknowledged;
}

function readAll(logs: LogManager, partition: number, end: number): Buffer {
  const log = logs.partition(TOPIC, partition);
  const chunks: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < end) {
    const { records } = log.readForReplica(offset, 1 << 20);
    const batches = splitBatches(records);
    if (batches.length === 0) break;
    for (const batch of batches) {
      const header = readBatchHeader(batch);
      if (header.baseOffset >= end) return Buffer.concat(chunks);
      chunks.push(batch);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return Buffer.concat(chunks);
}

/** Each record's value by offset, and where it came from (producer id, epoch, sequence, leader epoch). */
function valuesByOffset(
  logs: LogManager,
  partition: number,
  end: number,
): { values: Map<number, string>; origins: Map<number, string> } {
  const values = new Map<number, string>();
  const origins = new Map<number, string>();
  for (const batch of splitBatches(readAll(logs, partition, end))) {
    const header = readBatchHeader(batch);
    for (const record of decodeRecords(batch)) {
      values.set(record.offset, record.value?.toString() ?? '');
      const sequence = header.baseSequence + record.offset - header.baseOffset;
      origins.set(
        record.offset,
        `producer ${header.producerId} epoch ${header.producerEpoch} sequence ${sequence} leader epoch ${header.partitionLeaderEpoch}`,
      );
    }
  }
  return { values, origins };
}

function shuffled(random: Random, ids: number[]): number[] {
  const copy = [...ids];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
