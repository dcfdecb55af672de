import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { ProducerFencedError } from '../src/client/client-errors.js';
import { RemoteLogClient } from '../src/client/remote-client.js';
import type { OutgoingRecord } from '../src/client/types.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { kcatValues } from './support/kcat-consume.js';
import { eventually } from './support/processes.js';
import { readPartition } from './support/read-partition.js';

// The remote client's transactional writer against the broker's transactions: committed runs are read, aborted
// ones are not (by our read_committed fetch and by kcat), a second writer of the same id fences the first, and
// offsets committed in a run reach the group only with the commit.

const T0 = 1_700_000_000_000;

function record(topic: string, partition: number, i: number): OutgoingRecord {
  return { topic, partition, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), timestamp: T0 + i };
}

/** Reads until `read` gives `expected` (a commit's markers and offsets land just after it is answered). */
async function settled<T>(read: () => Promise<T>, expected: T): Promise<void> {
  let seen: T | undefined;
  try {
    await eventually(
      async () => {
        seen = await read();
        return JSON.stringify(seen) === JSON.stringify(expected);
      },
      10_000,
      JSON.stringify(expected),
    );
  } catch (error) {
    assert.deepEqual(seen, expected, String(error));
  }
}

describe('remote transactional writer', () => {
  let broker: RunningBroker;
  let client: RemoteLogClient;
  before(async () => {
    broker = await startBroker();
    client = new RemoteLogClient({ bootstrapBrokers: [broker.bootstrap], clientId: 'tx-test' });
  });
  after(async () => {
    await client.close();
    await broker.stop();
  });

  it('commits each run as one transaction; aborted records stay invisible to read_committed readers', async () => {
    const topic = 'tx-commit';
    await client.ensureTopic({ name: topic, partitions: 2 });
    const writer = client.transactionalWriter('tx-commit-writer');
    const first = await writer.run([record(topic, 0, 0), record(topic, 1, 1), record(topic, 0, 2)]);
    assert.deepEqual(first, [0, 0, 1], 'offsets per record, in call order');

    // An aborted transaction of another producer, between two committed runs of ours.
    const other = new Producer({
      clientId: 'tx-aborter',
      bootstrapBrokers: [broker.bootstrap],
      idempotent: true,
      transactionalId: 'tx-aborter',
      serializers: stringSerializers,
      autocreateTopics: false,
    });
    try {
      const aborted = await other.beginTransaction();
      await aborted.send({
        messages: [{ topic, partition: 0, key: 'aborted', value: 'aborted' }],
        acks: ProduceAcks.ALL,
      });
      await aborted.abort();
    } finally {
      await other.close();
    }
    await writer.run([record(topic, 0, 3)]);
    await writer.close();

    // A commit is answered once prepared; its markers land right after (as in Kafka).
    await settled(
      async () => {
        // readPartition reads past markers to the partition's end (it throws at a fetch that does not move).
        const records = await readPartition(client, { topic, partition: 0 });
        const { latest } = await client.offsets({ topic, partition: 0 });
        return {
          values: records.map((r) => r.value?.toString()),
          endsInMarker: latest > records.at(-1)!.offset + 1,
        };
      },
      { values: ['v0', 'v2', 'v3'], endsInMarker: true },
    );
    await settled(
      async () => (await kcatValues(broker.bootstrap, topic, null, 'read_committed')).sort(),
      ['v0', 'v1', 'v2', 'v3'],
    );
  });

  it('a second writer of the same transactional id fences the first', async () => {
    const topic = 'tx-fence';
    await client.ensureTopic({ name: topic, partitions: 1 });
    const old = client.transactionalWriter('tx-fenced-id');
    await old.run([record(topic, 0, 0)]);
    const other = new RemoteLogClient({ bootstrapBrokers: [broker.bootstrap], clientId: 'tx-test-new' });
    try {
      const successor = other.transactionalWriter('tx-fenced-id');
      await successor.run([record(topic, 0, 1)]);
      await assert.rejects(old.run([record(topic, 0, 2)]), ProducerFencedError);
      await assert.rejects(old.run([record(topic, 0, 3)]), ProducerFencedError, 'fenced for good');
      await successor.run([record(topic, 0, 4)]);
    } finally {
      await other.close();
    }
    await settled(
      async () => (await readPartition(client, { topic, partition: 0 })).map((r) => r.value?.toString()),
      ['v0', 'v1', 'v4'],
    );
  });

  it('commits consumer offsets in the transaction', async () => {
    const topic = 'tx-offsets';
    const group = 'tx-offsets-group';
    await client.ensureTopic({ name: topic, partitions: 2 });
    const writer = client.transactionalWriter('tx-offsets-writer');
    await writer.run([record(topic, 0, 0)], {
      offsets: {
        groupId: group,
        entries: [
          { topic, partition: 0, offset: 17, metadata: 'mirror' },
          { topic, partition: 1, offset: 4 },
        ],
      },
    });
    await writer.close();
    const admin = new Admin({ clientId: 'tx-offsets-reader', bootstrapBrokers: [broker.bootstrap] });
    try {
      await settled(async () => {
        const [listed] = await admin.listConsumerGroupOffsets({ groups: [group] });
        return (listed?.topics ?? [])
          .flatMap((t) => t.partitions)
          .filter((p) => p.committedOffset >= 0n)
          .map((p) => [p.partitionIndex, String(p.committedOffset), p.metadata ?? null])
          .sort();
      }, [
        [0, '17', 'mirror'],
        // No metadata is stored as '' (Kafka's OffsetAndMetadata.NoMetadata).
        [1, '4', ''],
      ]);
    } finally {
      await admin.close();
    }
  });
});
