import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { UnknownTopicError } from '../src/client/client-errors.js';
import { type RemoteGroupOptions, RemoteLogClient } from '../src/client/remote-client.js';
import type {
  AssignmentListener,
  ConsumedRecord,
  FetchRequest,
  GroupMembership,
  OutgoingRecord,
  TopicPartition,
} from '../src/client/types.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { Background, until } from './support/processes.js';

const T0 = 1_700_000_000_000;
const RECORDS = 10_000;
const PARTITIONS = 4;
/** Short enough that a killed member is noticed within a couple of seconds. */
const FAST_GROUP: RemoteGroupOptions = {
  sessionTimeoutMs: 2_000,
  heartbeatIntervalMs: 200,
  rebalanceTimeoutMs: 4_000,
  rejoinDelayMs: 500,
};

/** A record whose every field depends on `i`: null keys and values, repeated header names, unordered times. */
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
            { key: 'seq', value: Buffer.from('again') },
            { key: 'empty', value: i % 2 === 0 ? null : Buffer.alloc(0) },
          ],
  };
}

function comparable(record: OutgoingRecord | ConsumedRecord) {
  return {
    partition: record.partition,
    key: record.key?.toString('hex') ?? null,
    value: record.value?.toString('hex') ?? null,
    timestamp: record.timestamp,
    headers: (record.headers ?? []).map((h) => [h.key, h.value?.toString('hex') ?? null]),
  };
}

/** Fetches every partition from `from` until each reaches its end offset. */
async function fetchAll(
  client: RemoteLogClient,
  topic: string,
  ends: number[],
  from = 0,
): Promise<ConsumedRecord[][]> {
  const seen: ConsumedRecord[][] = ends.map(() => []);
  const next = ends.map(() => from);
  for (let round = 0; next.some((offset, p) => offset < ends[p]!); round++) {
    assert.ok(round < 1_000, 'fetch makes progress');
    const requests: FetchRequest[] = next.flatMap((offset, partition) =>
      offset < ends[partition]! ? [{ topic, partition, offset }] : [],
    );
    for (const record of await client.fetch(requests, { maxBytes: 64 * 1024, maxWaitMs: 1_000 })) {
      seen[record.partition]!.push(record);
      next[record.partition] = record.offset + 1;
    }
  }
  return seen;
}

/** Records every listener call and the assignment the member believes it holds. */
class RecordingListener implements AssignmentListener {
  readonly calls: string[] = [];
  readonly held = new Set<number>();

  constructor(
    private readonly beforeRevoke: (partitions: TopicPartition[]) => Promise<void> = async () => {},
  ) {}

  async assigned(partitions: TopicPartition[]): Promise<void> {
    this.calls.push(`assigned ${partitions.map((p) => p.partition).join(',')}`);
    for (const p of partitions) this.held.add(p.partition);
  }

  async revoked(partitions: TopicPartition[]): Promise<void> {
    // Slow on purpose: the membership must not run the next call before this one finished.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await this.beforeRevoke(partitions);
    this.calls.push(`revoked ${partitions.map((p) => p.partition).join(',')}`);
    for (const p of partitions) this.held.delete(p.partition);
  }

  partitions(): number[] {
    return [...this.held].sort();
  }
}

/** A group member in a child process, so it can be killed without leaving the group. */
const MEMBER_SCRIPT = `
const [modulePath, options] = process.argv.slice(1);
const { RemoteLogClient } = await import(modulePath);
const { bootstrap, group, topic, timings } = JSON.parse(options);
const client = new RemoteLogClient({ bootstrapBrokers: [bootstrap], clientId: 'killed-member', group: timings });
const held = new Set();
const report = () => process.stdout.write(JSON.stringify([...held].sort()) + '\\n');
await client.joinGroup(group, [topic], {
  async assigned(partitions) { for (const p of partitions) held.add(p.partition); report(); },
  async revoked(partitions) { for (const p of partitions) held.delete(p.partition); report(); },
});
setInterval(() => undefined, 60_000);
`;

describe('RemoteLogClient against edgestream over TCP', { timeout: 60_000 }, () => {
  let broker: RunningBroker;
  const clients: RemoteLogClient[] = [];
  const topic = 'remote-orders';

  function client(clientId: string, group: Partial<RemoteGroupOptions> = FAST_GROUP): RemoteLogClient {
    const created = new RemoteLogClient({
      bootstrapBrokers: [broker.bootstrap],
      clientId,
      connectTimeoutMs: 2_000,
      requestTimeoutMs: 10_000,
      retries: 3,
      retryDelayMs: 100,
      metadataMaxAgeMs: 5_000,
      replicationFactor: -1,
      maxProduceRequestBytes: 256 * 1024,
      group,
    });
    clients.push(created);
    return created;
  }

  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await broker?.stop();
  });

  it('creates a topic with its partitions and config once, and knows missing topics', async () => {
    const remote = client('topics');
    const spec = { name: 'remote-compacted', partitions: 3, config: { 'cleanup.policy': 'compact' } };
    assert.equal(await remote.ensureTopic(spec), 3);
    assert.equal(await remote.ensureTopic({ ...spec, partitions: 8 }), 3, 'an existing topic is not altered');
    assert.equal(await remote.partitionCount(spec.name), 3);
    const created = broker.broker.logs.describeTopic(spec.name);
    assert.equal(created.partitions, 3);
    assert.equal(created.config.cleanupPolicy, 'compact');
    await assert.rejects(remote.partitionCount('no-such-topic'), UnknownTopicError);
    await assert.rejects(remote.offsets({ topic: 'no-such-topic', partition: 0 }), UnknownTopicError);
    await assert.rejects(remote.offsets({ topic: spec.name, partition: 3 }), /UNKNOWN_PARTITION/);
  });

  it('alters only the configs that differ, and deletes records below an offset (log start moved, no further)', async () => {
    const remote = client('admin');
    const name = 'remote-trimmed';
    await remote.ensureTopic({ name, partitions: 2, config: { 'retention.ms': '604800000' } });
    const wanted = { 'retention.ms': '-1', 'segment.ms': '600000' };
    assert.deepEqual((await remote.alterTopicConfig(name, wanted)).sort(), ['retention.ms', 'segment.ms']);
    assert.deepEqual(await remote.alterTopicConfig(name, wanted), [], 'nothing left to change');
    assert.deepEqual(broker.broker.logs.describeTopic(name).overrides, wanted);

    await remote.produce(Array.from({ length: 10 }, (_, i) => ({ ...sampleRecord(name, i), partition: 0 })));
    const at0 = { topic: name, partition: 0 };
    assert.deepEqual(await remote.deleteRecords([{ ...at0, offset: 4 }]), [4]);
    assert.deepEqual(await remote.offsets(at0), { earliest: 4, latest: 10 });
    assert.deepEqual(
      await remote.deleteRecords([{ ...at0, offset: 2 }]),
      [4],
      'a log start never moves back',
    );
    await assert.rejects(remote.deleteRecords([{ ...at0, offset: 11 }]), 'past the high watermark');
    assert.equal((await remote.offsets(at0)).earliest, 4);
  });

  it('produces 10,000 records in overlapping calls and fetches them back exactly, in order', async () => {
    const remote = client('data');
    assert.equal(await remote.ensureTopic({ name: topic, partitions: PARTITIONS }), PARTITIONS);
    const records = Array.from({ length: RECORDS }, (_, i) => sampleRecord(topic, i));
    const calls: Promise<number[]>[] = [];
    for (let at = 0; at < RECORDS; at += 250) calls.push(remote.produce(records.slice(at, at + 250)));
    const next = new Array<number>(PARTITIONS).fill(0);
    const expectedOffsets = records.map((record) => next[record.partition]!++);
    assert.deepEqual((await Promise.all(calls)).flat(), expectedOffsets, 'each record told its offset');

    const perPartition = RECORDS / PARTITIONS;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      assert.deepEqual(await remote.offsets({ topic, partition }), { earliest: 0, latest: perPartition });
    }
    const seen = await fetchAll(remote, topic, Array(PARTITIONS).fill(perPartition));
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const got = seen[partition]!;
      assert.deepEqual(
        got.map((r) => r.offset),
        Array.from({ length: perPartition }, (_, i) => i),
        `offsets of partition ${partition}`,
      );
      const expected = records.filter((r) => r.partition === partition).map(comparable);
      assert.deepEqual(got.map(comparable), expected, `records of partition ${partition}`);
      assert.ok(got.every((r) => r.topic === topic));
    }
  });

  it('fetches from a middle offset, dropping the earlier records of the batch', async () => {
    const remote = client('middle');
    const middle = 1_001;
    const records = await remote.fetch([{ topic, partition: 2, offset: middle }], {
      maxBytes: 4 * 1024,
      maxWaitMs: 0,
    });
    assert.ok(records.length > 0);
    assert.equal(records[0]!.offset, middle);
    const expected = Array.from({ length: RECORDS }, (_, i) => sampleRecord(topic, i)).filter(
      (r) => r.partition === 2,
    );
    assert.deepEqual(
      records.map(comparable),
      expected.slice(middle, middle + records.length).map(comparable),
    );
    assert.ok(records.length < 1_000, 'maxBytes bounds the answer');
  });

  it('waits up to maxWaitMs on an empty partition, and returns early when data arrives', async () => {
    const remote = client('long-poll');
    await remote.ensureTopic({ name: 'remote-quiet', partitions: 1 });
    const request = [{ topic: 'remote-quiet', partition: 0, offset: 0 }];

    let started = Date.now();
    assert.deepEqual(await remote.fetch(request, { maxBytes: 1024, maxWaitMs: 600 }), []);
    const waitedMs = Date.now() - started;
    assert.ok(waitedMs >= 550 && waitedMs < 2_000, `waited ${waitedMs} ms for 600`);

    started = Date.now();
    const fetched = remote.fetch(request, { maxBytes: 1024, maxWaitMs: 5_000 });
    setTimeout(() => {
      void remote.produce([sampleRecord('remote-quiet', 4)].map((r) => ({ ...r, partition: 0 })));
    }, 200);
    const records = await fetched;
    const elapsedMs = Date.now() - started;
    assert.equal(records.length, 1);
    assert.equal(records[0]!.offset, 0);
    assert.ok(elapsedMs < 2_000, `returned after ${elapsedMs} ms, not the full 5,000`);
  });

  it('splits a topic between two members, hands all to the one that stays, and shares commits', async () => {
    const group = 'remote-pair';
    const listenerA = new RecordingListener();
    const listenerB = new RecordingListener();
    const a = await client('member-a').joinGroup(group, [topic], listenerA);
    assert.deepEqual(listenerA.partitions(), [0, 1, 2, 3]);
    const b = await client('member-b').joinGroup(group, [topic], listenerB);
    await until(
      () => listenerA.partitions().length === 2 && listenerB.partitions().length === 2,
      20_000,
      'two members with two partitions each',
    );
    assert.deepEqual([...listenerA.partitions(), ...listenerB.partitions()].sort(), [0, 1, 2, 3]);
    assert.deepEqual(
      a.assignment().map((p) => p.partition),
      listenerA.partitions(),
    );
    assert.notEqual(a.memberId, b.memberId);

    await b.commit([{ topic, partition: listenerB.partitions()[0]!, offset: 42, metadata: 'checkpoint-7' }]);
    assert.deepEqual(await committed(group), [[listenerB.partitions()[0]!, 42n, 'checkpoint-7']]);

    const bHeld = listenerB.partitions();
    await b.leave();
    assert.deepEqual(listenerB.calls, [`assigned ${bHeld.join(',')}`, `revoked ${bHeld.join(',')}`]);
    assert.deepEqual(b.assignment(), []);
    await assert.rejects(b.commit([{ topic, partition: 0, offset: 1 }]), /NOT_A_MEMBER/);
    await until(() => listenerA.partitions().length === 4, 20_000, 'the remaining member taking all four');
    assert.deepEqual(listenerA.calls, [
      'assigned 0,1,2,3',
      `revoked ${bHeld.join(',')}`,
      `assigned ${bHeld.join(',')}`,
    ]);
    // The member that stayed commits over what the one that left committed.
    await a.commit([{ topic, partition: bHeld[0]!, offset: 43 }]);
    // A commit without metadata reads back as '' (Kafka's OffsetCommitValue has no null metadata).
    assert.deepEqual(await committed(group), [[bHeld[0]!, 43n, '']]);
    await a.leave();
  });

  it('gives a killed member’s partitions to the survivor once its session times out', async () => {
    const group = 'remote-crash';
    const listener = new RecordingListener();
    const survivor = await client('survivor').joinGroup(group, [topic], listener);
    const modulePath = new URL('../src/client/remote-client.js', import.meta.url).href;
    const options = JSON.stringify({ bootstrap: broker.bootstrap, group, topic, timings: FAST_GROUP });
    const member = new Background(
      process.execPath,
      ['--input-type=module', '-e', MEMBER_SCRIPT, modulePath, options],
      30_000,
    );
    try {
      await until(() => listener.partitions().length === 2, 20_000, 'the survivor down to two partitions');
      await until(
        () => member.stdout.trim().split('\n').at(-1)?.split(',').length === 2,
        5_000,
        'member with two',
      );
      const killedAt = Date.now();
      await member.stop('SIGKILL');
      await until(() => listener.partitions().length === 4, 20_000, 'the survivor taking all four back');
      const tookMs = Date.now() - killedAt;
      assert.ok(
        tookMs >= FAST_GROUP.sessionTimeoutMs / 2,
        `taken back after ${tookMs} ms, before the session expired`,
      );
      assert.equal(listener.calls.length, 3, listener.calls.join('; '));
      assert.equal(listener.calls[0], 'assigned 0,1,2,3');
      assert.match(listener.calls[1]!, /^revoked \d,\d$/);
      assert.equal(listener.calls[2], listener.calls[1]!.replace('revoked', 'assigned'));
    } finally {
      await member.stop('SIGKILL');
      assert.equal(member.stderr, '');
      await survivor.leave();
    }
  });

  it('leaves its groups and closes on close()', async () => {
    const remote = client('closer');
    let membership: GroupMembership | null = null;
    const listener = new RecordingListener((revoked) =>
      membership!.commit(revoked.map((p) => ({ ...p, offset: 7, metadata: 'final' }))),
    );
    membership = await remote.joinGroup('remote-closing', [topic], listener);
    const waiting = remote.fetch([{ topic: 'remote-quiet', partition: 0, offset: 1 }], {
      maxBytes: 1024,
      maxWaitMs: 8_000,
    });
    const started = Date.now();
    await remote.close();
    assert.deepEqual(await waiting, []);
    assert.ok(Date.now() - started < 2_000, 'a waiting fetch returns when the client closes');
    assert.deepEqual(listener.calls, ['assigned 0,1,2,3', 'revoked 0,1,2,3']);
    assert.deepEqual(
      await committed('remote-closing'),
      [0, 1, 2, 3].map((p) => [p, 7n, 'final']),
      'revoked() commits while still a member',
    );
    await assert.rejects(remote.partitionCount(topic), /CLIENT_CLOSED/);
  });

  /** Committed offsets as another client sees them: [partition, offset, metadata] of partitions committed. */
  async function committed(group: string): Promise<Array<[number, bigint, string | null]>> {
    const admin = new Admin({ clientId: 'offsets-reader', bootstrapBrokers: [broker.bootstrap], retries: 0 });
    try {
      const [listed] = await admin.listConsumerGroupOffsets({ groups: [group] });
      return (listed?.topics ?? [])
        .flatMap((t) => t.partitions)
        .filter((p) => p.committedOffset >= 0n)
        .map((p): [number, bigint, string | null] => [
          p.partitionIndex,
          p.committedOffset,
          p.metadata ?? null,
        ]);
    } finally {
      await admin.close();
    }
  }
});
