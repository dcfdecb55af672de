import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Admin,
  Consumer,
  type Message,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { until } from './support/processes.js';

const RECORDS = 10_000;
const T0 = 1_700_000_000_000;

interface Seen {
  partition: number;
  offset: number;
  key: string;
  sequence: number;
}

describe('@platformatic/kafka against edgestream', { timeout: 300_000 }, () => {
  let broker: RunningBroker;
  const topic = 'platformatic-orders';
  const base = () => ({ clientId: 'platformatic-interop', bootstrapBrokers: [broker.bootstrap] });

  function consumer(groupId: string) {
    return new Consumer({
      ...base(),
      groupId,
      deserializers: stringDeserializers,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
    });
  }

  async function consume(groupId: string, count: number): Promise<Seen[]> {
    const client = consumer(groupId);
    const seen: Seen[] = [];
    const stream = await client.consume({
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: 100,
    });
    stream.on('data', (message: Message<string, string, string, string>) => {
      seen.push({
        partition: message.partition,
        offset: Number(message.offset),
        key: message.key,
        sequence: Number(message.value.split('-')[1]),
      });
    });
    try {
      await until(() => seen.length >= count, 60_000, `${count} records in ${groupId}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await stream.close();
      await client.close();
    }
    return seen;
  }

  async function produce(start: number, count: number): Promise<void> {
    const producer = new Producer({ ...base(), serializers: stringSerializers });
    try {
      for (let at = start; at < start + count; at += 500) {
        await producer.send({
          messages: Array.from({ length: Math.min(500, start + count - at) }, (_, i) => {
            const n = at + i;
            return {
              topic,
              key: `key-${n % 100}`,
              value: `value-${n}`,
              timestamp: BigInt(n < RECORDS / 2 ? T0 : T0 + 1_000_000),
            };
          }),
        });
      }
    } finally {
      await producer.close();
    }
  }

  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  it('creates a topic and produces 10,000 keyed records', async () => {
    const admin = new Admin(base());
    try {
      await admin.createTopics({ topics: [topic], partitions: 4, replicas: 1 });
      assert.ok((await admin.listTopics()).includes(topic));
    } finally {
      await admin.close();
    }
    await produce(0, RECORDS);
    assert.equal(broker.broker.logs.describeTopic(topic).partitions, 4);
  });

  it('consumes every record back in order per partition and per key', async () => {
    const seen = await consume('platformatic-reader', RECORDS);
    assert.equal(seen.length, RECORDS);
    for (let p = 0; p < 4; p++) {
      const offsets = seen.filter((s) => s.partition === p).map((s) => s.offset);
      assert.deepEqual(
        offsets,
        Array.from({ length: offsets.length }, (_, i) => i),
        `partition ${p}`,
      );
    }
    const last = new Map<string, number>();
    for (const s of seen) {
      assert.ok(s.sequence > (last.get(s.key) ?? -1), `${s.key} in order`);
      last.set(s.key, s.sequence);
    }
  });

  it('splits partitions between two group members and hands all to the survivor', async () => {
    const assigned = new Map<string, number[]>();
    const start = async (name: string) => {
      const client = consumer('platformatic-pair');
      client.on('consumer:group:join', (payload) => {
        assigned.set(
          name,
          (payload.assignments ?? []).flatMap((a) => (a.topic === topic ? a.partitions : [])),
        );
      });
      const stream = await client.consume({ topics: [topic], mode: 'earliest', autocommit: false });
      stream.on('data', () => undefined);
      return { client, stream };
    };
    const a = await start('a');
    const b = await start('b');
    try {
      await until(
        () =>
          (assigned.get('a')?.length ?? 0) > 0 &&
          (assigned.get('b')?.length ?? 0) > 0 &&
          assigned.get('a')!.length + assigned.get('b')!.length === 4,
        60_000,
        'two members sharing four partitions',
      );
      assert.deepEqual([...assigned.get('a')!, ...assigned.get('b')!].sort(), [0, 1, 2, 3]);
      await b.stream.close();
      await b.client.close();
      await until(() => assigned.get('a')?.length === 4, 60_000, 'survivor takes every partition');
    } finally {
      await a.stream.close();
      await a.client.close();
    }
  });

  it('resumes from committed offsets after a consumer restart and after a broker restart', async () => {
    const group = 'platformatic-resume';
    assert.equal((await consume(group, RECORDS)).length, RECORDS);
    await produce(RECORDS, 30);
    const resumed = await consume(group, 30);
    assert.ok(
      resumed.every((s) => s.sequence >= RECORDS),
      'only new records after a consumer restart',
    );
    await broker.restart();
    await produce(RECORDS + 30, 20);
    const afterRestart = await consume(group, 20);
    assert.ok(
      afterRestart.every((s) => s.sequence >= RECORDS + 30),
      'only new records after a broker restart',
    );
  });

  it('looks up offsets by timestamp', async () => {
    const seen = await consume('platformatic-by-time', RECORDS + 50);
    const client = consumer('platformatic-offsets');
    try {
      const offsets = await client.listOffsets({ topics: [topic], timestamp: BigInt(T0 + 500_000) });
      const perPartition = offsets.get(topic)!;
      for (let p = 0; p < 4; p++) {
        const expected = seen
          .filter((s) => s.partition === p && s.sequence >= RECORDS / 2 && s.sequence < RECORDS)
          .reduce((min, s) => Math.min(min, s.offset), Number.POSITIVE_INFINITY);
        assert.equal(Number(perPartition[p]), expected, `partition ${p}`);
      }
    } finally {
      await client.close();
    }
  });
});
