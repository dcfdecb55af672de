import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Consumer, type EachMessagePayload, Kafka, logLevel } from 'kafkajs';
import { type RunningBroker, startBroker } from './support/broker-harness.js';

const T0 = 1_700_000_000_000;
const RECORDS = 10_000;
const KEYS = 100;

interface Seen {
  partition: number;
  offset: number;
  key: string;
  sequence: number;
}

function kafka(broker: RunningBroker): Kafka {
  return new Kafka({
    clientId: 'kafkajs-interop',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs a consumer in `groupId` until it has seen `count` records; returns what it saw. */
async function consume(
  broker: RunningBroker,
  groupId: string,
  topic: string,
  count: number,
): Promise<Seen[]> {
  const consumer = kafka(broker).consumer({ groupId, heartbeatInterval: 500, sessionTimeout: 10_000 });
  const seen: Seen[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }: EachMessagePayload) => {
        const [key, sequence] = [message.key!.toString(), Number(message.value!.toString().split(':')[1])];
        seen.push({ partition, offset: Number(message.offset), key, sequence });
      },
    });
    await until(() => seen.length >= count, 60_000, `${count} records in group ${groupId}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('kafkajs 2.2.4 against edgestream', { timeout: 240_000 }, () => {
  let broker: RunningBroker;
  const topic = 'kafkajs-orders';

  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  it('creates a topic and produces 10,000 keyed records', async () => {
    const admin = kafka(broker).admin();
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] }), true);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(metadata.topics[0]!.partitions.length, 4);
    await admin.disconnect();

    const producer = kafka(broker).producer();
    await producer.connect();
    for (let start = 0; start < RECORDS; start += 500) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 500 }, (_, i) => {
          const n = start + i;
          return {
            key: `key-${n % KEYS}`,
            value: `value:${n}`,
            timestamp: String(n < RECORDS / 2 ? T0 : T0 + 1_000_000),
          };
        }),
      });
    }
    await producer.disconnect();
  });

  it('consumes every record back, in order per partition and per key', async () => {
    const seen = await consume(broker, 'kafkajs-reader', topic, RECORDS);
    assert.equal(seen.length, RECORDS);
    assert.equal(new Set(seen.map((s) => s.sequence)).size, RECORDS);
    for (let p = 0; p < 4; p++) {
      const offsets = seen.filter((s) => s.partition === p).map((s) => s.offset);
      assert.deepEqual(
        offsets,
        Array.from({ length: offsets.length }, (_, i) => i),
        `partition ${p} dense and ordered`,
      );
    }
    const partitionOfKey = new Map<string, number>();
    const lastSequence = new Map<string, number>();
    for (const s of seen) {
      assert.equal(partitionOfKey.get(s.key) ?? s.partition, s.partition, `${s.key} stays on one partition`);
      partitionOfKey.set(s.key, s.partition);
      assert.ok(s.sequence > (lastSequence.get(s.key) ?? -1), `${s.key} in order`);
      lastSequence.set(s.key, s.sequence);
    }
  });

  it('splits partitions between two group members and hands all to the survivor', async () => {
    const assignments = new Map<string, number[]>();
    const start = async (name: string): Promise<Consumer> => {
      const consumer = kafka(broker).consumer({
        groupId: 'kafkajs-pair',
        heartbeatInterval: 300,
        sessionTimeout: 10_000,
      });
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        assignments.set(name, event.payload.memberAssignment[topic] ?? []);
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => undefined });
      return consumer;
    };
    const a = await start('a');
    const b = await start('b');
    try {
      await until(
        () =>
          (assignments.get('a')?.length ?? 0) > 0 &&
          (assignments.get('b')?.length ?? 0) > 0 &&
          assignments.get('a')!.length + assignments.get('b')!.length === 4,
        30_000,
        'both members assigned',
      );
      const both = [...assignments.get('a')!, ...assignments.get('b')!].sort();
      assert.deepEqual(both, [0, 1, 2, 3], 'the two members split the four partitions');
      await b.disconnect();
      await until(() => assignments.get('a')?.length === 4, 30_000, 'survivor takes all partitions');
    } finally {
      await a.disconnect();
      await b.disconnect();
    }
  });

  it('resumes from committed offsets after a consumer restart and after a broker restart', async () => {
    const group = 'kafkajs-resume';
    assert.equal((await consume(broker, group, topic, RECORDS)).length, RECORDS);
    const producer = kafka(broker).producer();
    const produceMore = async (tag: string) => {
      await producer.connect();
      await producer.send({
        topic,
        messages: Array.from({ length: 40 }, (_, i) => ({ key: `key-${i}`, value: `${tag}:${RECORDS + i}` })),
      });
      await producer.disconnect();
    };
    await produceMore('after-consumer-restart');
    const resumed = await consume(broker, group, topic, 40);
    assert.equal(resumed.length, 40, 'only the new records are delivered');

    await broker.restart();
    await produceMore('after-broker-restart');
    const afterRestart = await consume(broker, group, topic, 40);
    assert.equal(afterRestart.length, 40, 'committed offsets survived the broker restart');
  });

  it('looks up offsets by timestamp', async () => {
    const admin = kafka(broker).admin();
    await admin.connect();
    try {
      const before = await admin.fetchTopicOffsetsByTimestamp(topic, T0 - 1);
      assert.ok(before.every((p) => p.offset === '0'));
      const middle = await admin.fetchTopicOffsetsByTimestamp(topic, T0 + 500_000);
      const seen = await consume(broker, 'kafkajs-by-time', topic, RECORDS + 80);
      for (const { partition, offset } of middle) {
        const firstLate = seen
          .filter((s) => s.partition === partition && s.sequence >= RECORDS / 2 && s.sequence < RECORDS)
          .reduce((min, s) => Math.min(min, s.offset), Number.POSITIVE_INFINITY);
        assert.equal(Number(offset), firstLate, `partition ${partition}`);
      }
    } finally {
      await admin.disconnect();
    }
  });
});
