import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { LogClientError, UnknownTopicError } from '../src/client/client-errors.js';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import type { ConsumedRecord, FetchRequest, OutgoingRecord, TopicPartition } from '../src/client/types.js';
import { splitBatches } from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run, until } from './support/processes.js';

const T0 = 1_700_000_000_000;
const RECORDS = 10_000;
const PARTITIONS = 4;
const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));

/** A record whose every field depends on `i`: null keys, null values, headers and unordered timestamps. */
function sampleRecord(topic: string, i: number): OutgoingRecord {
  return {
    topic,
    partition: i % PARTITIONS,
    key: i % 7 === 0 ? null : Buffer.from(`key-${i % 100}`),
    value: i % 13 === 0 ? null : Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`),
    timestamp: T0 + i * 7 - (i % 5) * 1000,
    headers:
      i % 3 === 0
        ? []
        : [
            { key: 'seq', value: Buffer.from(String(i)) },
            { key: 'empty', value: i % 2 === 0 ? null : Buffer.alloc(0) },
          ],
  };
}

/** The offset each record of an empty topic gets: its rank among the records of its partition. */
function expectedOffsets(records: readonly OutgoingRecord[], partitions: number): number[] {
  const next = new Array<number>(partitions).fill(0);
  return records.map((record) => next[record.partition]!++);
}

/** Fetches every partition from `from` until each reaches `until`, without waiting. */
async function fetchAll(
  client: EmbeddedLogClient,
  topic: string,
  ends: number[],
  from = 0,
): Promise<ConsumedRecord[][]> {
  const seen: ConsumedRecord[][] = ends.map(() => []);
  const next = ends.map(() => from);
  for (let round = 0; next.some((offset, p) => offset < ends[p]!); round++) {
    assert.ok(round < 10_000, 'fetch makes progress');
    const requests: FetchRequest[] = next.flatMap((offset, partition) =>
      offset < ends[partition]! ? [{ topic, partition, offset }] : [],
    );
    for (const record of await client.fetch(requests, { maxBytes: 64 * 1024, maxWaitMs: 0 })) {
      seen[record.partition]!.push(record);
      next[record.partition] = record.offset + 1;
    }
  }
  return seen;
}

function expectCode(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof LogClientError, `expected a LogClientError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe('embedded LogClient on an in-process broker', { timeout: 180_000 }, () => {
  let broker: RunningBroker;
  let client: EmbeddedLogClient;
  const kafka = () =>
    new Kafka({
      clientId: 'embedded-client-test',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });

  before(async () => {
    broker = await startBroker();
    client = new EmbeddedLogClient(broker.broker.embeddedLog());
  });
  after(async () => {
    await client?.close();
    await broker?.stop();
  });

  it('produces 10,000 records over 4 partitions and fetches them back exactly', async () => {
    const topic = 'embedded-roundtrip';
    assert.equal(await client.ensureTopic({ name: topic, partitions: PARTITIONS }), PARTITIONS);
    assert.equal(await client.ensureTopic({ name: topic, partitions: 9 }), PARTITIONS, 'existing topic kept');
    const records = Array.from({ length: RECORDS }, (_, i) => sampleRecord(topic, i));
    const calls = 20;
    const perCall = RECORDS / calls;
    // Overlapping calls: each keeps its order per partition and they share fsyncs.
    const offsets = await Promise.all(
      Array.from({ length: calls }, (_, c) => client.produce(records.slice(c * perCall, (c + 1) * perCall))),
    );
    assert.deepEqual(offsets.flat(), expectedOffsets(records, PARTITIONS), 'each record told its offset');
    for (let p = 0; p < PARTITIONS; p++) {
      assert.deepEqual(await client.offsets({ topic, partition: p }), { earliest: 0, latest: RECORDS / 4 });
      const fsyncs = broker.broker.logs.partition(topic, p).fsyncCount;
      assert.ok(fsyncs < calls, `partition ${p}: ${fsyncs} fsyncs for ${calls} pipelined produce calls`);
    }

    const seen = await fetchAll(client, topic, Array(PARTITIONS).fill(RECORDS / PARTITIONS));
    for (let p = 0; p < PARTITIONS; p++) {
      const expected = records
        .filter((r) => r.partition === p)
        .map((r, offset) => ({
          topic,
          partition: p,
          offset,
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          headers: r.headers,
        }));
      assert.deepEqual(seen[p], expected, `partition ${p}`);
    }
  });

  it('fetches from the middle of a batch and bounds a fetch by maxBytes', async () => {
    const topic = 'embedded-bounds';
    await client.ensureTopic({ name: topic, partitions: 2 });
    for (let call = 0; call < 5; call++) {
      // One call is one batch of 10 records per partition.
      await client.produce(
        Array.from({ length: 20 }, (_, i) => ({ ...sampleRecord(topic, call * 20 + i), partition: i % 2 })),
      );
    }
    const both: FetchRequest[] = [
      { topic, partition: 0, offset: 13 },
      { topic, partition: 1, offset: 13 },
    ];
    const middle = await client.fetch([both[0]!], { maxBytes: 1024 * 1024, maxWaitMs: 0 });
    assert.deepEqual(
      middle.map((r) => r.offset),
      Array.from({ length: 37 }, (_, i) => 13 + i),
      'records below the requested offset are dropped',
    );

    const first = await client.fetch(both, { maxBytes: 1, maxWaitMs: 0 });
    assert.deepEqual(
      first.map((r) => r.offset),
      [13, 14, 15, 16, 17, 18, 19],
      'maxBytes=1 still returns the rest of one batch, and only one',
    );
    const second = await client.fetch(both, { maxBytes: 1, maxWaitMs: 0 });
    assert.equal(second.length, 7);
    assert.notEqual(
      second[0]!.partition,
      first[0]!.partition,
      'the next fetch starts at the other partition',
    );

    const all = await client.fetch(both, { maxBytes: 1024 * 1024, maxWaitMs: 0 });
    assert.equal(all.length, 2 * 37);
  });

  it('splits a produce into batches within max.message.bytes and refuses a record that cannot fit', async () => {
    const topic = 'embedded-small-batches';
    const maxMessageBytes = 2048;
    await client.ensureTopic({
      name: topic,
      partitions: 1,
      config: { 'max.message.bytes': String(maxMessageBytes) },
    });
    const value = Buffer.alloc(200, 'v');
    await client.produce(
      Array.from({ length: 100 }, (_, i) => ({ topic, partition: 0, key: null, value, timestamp: T0 + i })),
    );
    const stored = splitBatches(broker.broker.logs.partition(topic, 0).read(0, 10 * 1024 * 1024).records);
    assert.ok(stored.length >= 10, `${stored.length} batches for 20,000 bytes of values`);
    assert.ok(stored.every((batch) => batch.length <= maxMessageBytes));
    assert.equal((await fetchAll(client, topic, [100]))[0]!.length, 100);

    const huge = { topic, partition: 0, key: null, value: Buffer.alloc(4096), timestamp: T0 };
    const small = { ...huge, value: Buffer.from('fits') };
    await assert.rejects(client.produce([small, huge]), expectCode('MESSAGE_TOO_LARGE'));
    assert.equal((await client.offsets({ topic, partition: 0 })).latest, 100, 'nothing of the call appended');
  });

  it('gives LogAppendTime topics the broker time', async () => {
    const topic = 'embedded-append-time';
    await client.ensureTopic({
      name: topic,
      partitions: 1,
      config: { 'message.timestamp.type': 'LogAppendTime' },
    });
    const before = Date.now();
    await client.produce([{ topic, partition: 0, key: null, value: Buffer.from('v'), timestamp: T0 }]);
    const [record] = await client.fetch([{ topic, partition: 0, offset: 0 }], {
      maxBytes: 1024,
      maxWaitMs: 0,
    });
    assert.ok(record!.timestamp >= before && record!.timestamp <= Date.now(), `${record!.timestamp}`);
  });

  it('refuses unknown topics and partitions, bad offsets and bad topic configs with clear errors', async () => {
    const options = { maxBytes: 1024, maxWaitMs: 0 };
    const unknown = (error: unknown) => error instanceof UnknownTopicError && error.topic === 'nope';
    await assert.rejects(client.partitionCount('nope'), unknown);
    await assert.rejects(client.offsets({ topic: 'nope', partition: 0 }), unknown);
    await assert.rejects(
      client.produce([{ topic: 'nope', partition: 0, key: null, value: null, timestamp: T0 }]),
      unknown,
    );
    await assert.rejects(client.fetch([{ topic: 'nope', partition: 0, offset: 0 }], options), unknown);
    await assert.rejects(client.joinGroup('g', ['nope'], { assigned: noop, revoked: noop }), unknown);
    assert.equal(broker.broker.logs.hasTopic('nope'), false, 'no silent auto-create');

    const topic = 'embedded-roundtrip';
    await assert.rejects(
      client.fetch([{ topic, partition: 4, offset: 0 }], options),
      expectCode('UNKNOWN_PARTITION'),
    );
    await assert.rejects(
      client.fetch([{ topic, partition: 0, offset: RECORDS }], options),
      (error: unknown) =>
        expectCode('OFFSET_OUT_OF_RANGE')(error) && /\[0, 2500\]/.test((error as Error).message),
    );
    await assert.rejects(
      client.fetch([{ topic, partition: 0, offset: 0 }], { maxBytes: 0, maxWaitMs: 0 }),
      expectCode('INVALID_ARGUMENT'),
    );
    await assert.rejects(
      client.ensureTopic({ name: 'embedded-bad-config', partitions: 1, config: { 'retention.ms': 'soon' } }),
      /retention\.ms="soon" is invalid/,
    );
  });

  it('wakes a kafkajs consumer long-polling for records the embedded client produces', async () => {
    const topic = 'embedded-to-kafkajs';
    await client.ensureTopic({ name: topic, partitions: 1 });
    const consumer = kafka().consumer({
      groupId: 'kafkajs-watchers',
      maxWaitTimeInMs: 5_000,
      heartbeatInterval: 500,
      sessionTimeout: 10_000,
    });
    const received: Array<{ message: KafkaMessage; atMs: number }> = [];
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.push({ message, atMs: Date.now() });
        },
      });
      await until(() => joined, 30_000, 'kafkajs joined its group');
      // Let the consumer settle into a long poll on the empty partition.
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      await assert.rejects(
        client.joinGroup('kafkajs-watchers', [topic], { assigned: noop, revoked: noop }),
        expectCode('GROUP_HAS_MEMBERS'),
      );

      const producedAtMs = Date.now();
      await client.produce([
        {
          topic,
          partition: 0,
          key: Buffer.from('edge-17'),
          value: Buffer.from('retransmits=600'),
          timestamp: T0,
          headers: [{ key: 'source', value: Buffer.from('embedded') }],
        },
      ]);
      await until(() => received.length > 0, 10_000, 'kafkajs received the record');
      const [{ message, atMs }] = received as [{ message: KafkaMessage; atMs: number }];
      assert.ok(atMs - producedAtMs < 1_000, `woken after ${atMs - producedAtMs} ms of a 5,000 ms long poll`);
      assert.equal(message.key?.toString(), 'edge-17');
      assert.equal(message.value?.toString(), 'retransmits=600');
      assert.equal(message.timestamp, String(T0));
      assert.equal(message.headers?.source?.toString(), 'embedded');
    } finally {
      await consumer.disconnect();
    }
  });

  it('fetches records a kafkajs producer sends, waking a waiting fetch', async () => {
    const topic = 'kafkajs-to-embedded';
    await client.ensureTopic({ name: topic, partitions: 2 });
    const producer = kafka().producer();
    await producer.connect();
    try {
      const fetching = client.fetch(
        [
          { topic, partition: 0, offset: 0 },
          { topic, partition: 1, offset: 0 },
        ],
        { maxBytes: 1024 * 1024, maxWaitMs: 10_000 },
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sentAtMs = Date.now();
      await producer.send({
        topic,
        acks: -1,
        messages: [
          { partition: 1, key: 'k', value: 'from-kafkajs', timestamp: String(T0), headers: { h: 'v' } },
        ],
      });
      const records = await fetching;
      const wokenAfterMs = Date.now() - sentAtMs;
      assert.ok(wokenAfterMs < 2_000, `woken after ${wokenAfterMs} ms of a 10,000 ms wait`);
      assert.equal(records.length, 1);
      const [record] = records as [ConsumedRecord];
      assert.equal(record.partition, 1);
      assert.equal(record.offset, 0);
      assert.equal(record.timestamp, T0);
      assert.equal(record.key?.toString(), 'k');
      assert.equal(record.value?.toString(), 'from-kafkajs');
      assert.deepEqual(record.headers, [{ key: 'h', value: Buffer.from('v') }]);
    } finally {
      await producer.disconnect();
    }
  });

  it('commits group offsets that group describe and the lag metric show', async () => {
    const topic = 'embedded-roundtrip';
    const group = 'embedded-pipeline';
    const assigned: TopicPartition[][] = [];
    const revoked: TopicPartition[][] = [];
    const membership = await client.joinGroup(group, [topic], {
      assigned: async (partitions) => {
        assigned.push(partitions);
      },
      revoked: async (partitions) => {
        revoked.push(partitions);
        // Final commits are still accepted while partitions are being revoked.
        await membership.commit([{ topic, partition: 3, offset: RECORDS / 4 }]);
      },
    });
    const all = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
    // The group's one member holds every partition from the start (generation 0).
    assert.deepEqual(assigned, [all.map((p) => ({ ...p, heldSince: 0 }))]);
    assert.deepEqual(membership.assignment(), all);
    await assert.rejects(
      client.joinGroup(group, [topic], { assigned: noop, revoked: noop }),
      expectCode('GROUP_ALREADY_JOINED'),
    );
    const committed = [2400, 2450, 2500];
    await membership.commit(committed.map((offset, partition) => ({ topic, partition, offset })));
    await membership.leave();
    assert.deepEqual(revoked, [all]);
    assert.deepEqual(membership.assignment(), []);
    await assert.rejects(membership.commit([{ topic, partition: 0, offset: 1 }]), expectCode('NOT_A_MEMBER'));

    const described = await run(
      process.execPath,
      [bin, 'group', 'describe', group, '--brokers', broker.bootstrap],
      { timeoutMs: 30_000 },
    );
    assert.equal(described.status, 0, described.stderr);
    const rows = [...described.stdout.matchAll(/^embedded-roundtrip\s+(\d)\s+(\d+)\s+(\d+)\s+(\d+)$/gm)].map(
      (m) => m.slice(1).map(Number),
    );
    assert.deepEqual(
      rows.sort((a, b) => a[0]! - b[0]!),
      [
        [0, 2400, 2500, 100],
        [1, 2450, 2500, 50],
        [2, 2500, 2500, 0],
        [3, 2500, 2500, 0],
      ],
      described.stdout,
    );
    const metrics = await broker.broker.metrics.registry.getSingleMetricAsString(
      'edgestream_consumer_group_lag',
    );
    assert.match(
      metrics,
      /edgestream_consumer_group_lag\{group="embedded-pipeline",topic="embedded-roundtrip",partition="0"\} 100/,
    );
  });

  it('close() ends waiting fetches, leaves groups, then refuses calls', async () => {
    const local = new EmbeddedLogClient(broker.broker.embeddedLog());
    const topic = 'embedded-close';
    await local.ensureTopic({ name: topic, partitions: 1 });
    const revoked: TopicPartition[][] = [];
    await local.joinGroup('embedded-close-group', [topic], {
      assigned: noop,
      revoked: async (partitions) => {
        revoked.push(partitions);
      },
    });
    const startedAtMs = Date.now();
    const waiting = local.fetch([{ topic, partition: 0, offset: 0 }], { maxBytes: 1024, maxWaitMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await local.close();
    assert.deepEqual(await waiting, []);
    assert.ok(Date.now() - startedAtMs < 5_000, 'the fetch did not wait out its maxWaitMs');
    assert.deepEqual(revoked, [[{ topic, partition: 0 }]]);
    await assert.rejects(local.partitionCount(topic), expectCode('CLIENT_CLOSED'));
  });
});

async function noop(): Promise<void> {}
