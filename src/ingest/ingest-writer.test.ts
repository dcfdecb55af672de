import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLogClient } from '../../test/support/memory-log-client.js';
import { UnknownTopicError } from '../client/client-errors.js';
import { partitionForKey } from '../client/partitioner.js';
import type { OutgoingRecord, TopicSpec } from '../client/types.js';
import { IngestWriter } from './ingest-writer.js';

/** A memory log that remembers each produce call and each ensureTopic, and can be told to fail produces. */
class CountingClient extends MemoryLogClient {
  readonly produceCalls: OutgoingRecord[][] = [];
  readonly ensured: string[] = [];
  failWith: Error | null = null;

  override async ensureTopic(spec: TopicSpec): Promise<number> {
    this.ensured.push(spec.name);
    return super.ensureTopic(spec);
  }

  override async produce(records: OutgoingRecord[]): Promise<number[]> {
    this.produceCalls.push(records);
    if (this.failWith) throw this.failWith;
    return super.produce(records);
  }
}

const record = (key: string, value = 'v') => ({
  key: Buffer.from(key),
  value: Buffer.from(value),
  timestamp: 1_700_000_000_000,
  headers: [],
});

describe('IngestWriter', () => {
  it('writes one turn per partition in one produce call, partitioned by key, creating the topic once', async () => {
    const client = new CountingClient();
    const writer = new IngestWriter(client, 4, 1024 * 1024, () => undefined);
    const keys = Array.from({ length: 40 }, (_, i) => `device-${i % 10}`);
    const outcomes = await Promise.all(
      keys.map((key, i) => writer.write('mqtt.test', record(key, `m-${i}`))),
    );
    assert.deepEqual(new Set(outcomes), new Set([null]));
    assert.deepEqual(client.ensured, ['mqtt.test']);
    const partitions = new Set(keys.map((key) => partitionForKey(Buffer.from(key), 4)));
    assert.equal(client.produceCalls.length, partitions.size);
    for (const call of client.produceCalls) {
      assert.equal(new Set(call.map((r) => r.partition)).size, 1);
      for (const r of call) assert.equal(r.partition, partitionForKey(r.key!, 4));
    }
    // Each key's records in the order written.
    const device3 = client.produceCalls.flat().filter((r) => r.key!.toString() === 'device-3');
    assert.deepEqual(
      device3.map((r) => r.value!.toString()),
      ['m-3', 'm-13', 'm-23', 'm-33'],
    );
    await writer.write('mqtt.test', record('device-1'));
    assert.deepEqual(client.ensured, ['mqtt.test'], 'the partition count is kept');
  });

  it('resolves a failed write to its error, never a rejection', async () => {
    const client = new CountingClient();
    const writer = new IngestWriter(client, 1, 1024 * 1024, () => undefined);
    await writer.write('mqtt.test', record('a'));
    client.failWith = new Error('disk full');
    const outcome = await writer.write('mqtt.test', record('a'));
    assert.equal(outcome?.message, 'disk full');
  });

  it('creates a topic again after a write found it deleted', async () => {
    const client = new CountingClient();
    const writer = new IngestWriter(client, 2, 1024 * 1024, () => undefined);
    await writer.write('mqtt.test', record('a'));
    client.topics.delete('mqtt.test');
    client.failWith = new UnknownTopicError('mqtt.test');
    assert.ok((await writer.write('mqtt.test', record('a'))) instanceof UnknownTopicError);
    client.failWith = null;
    assert.equal(await writer.write('mqtt.test', record('a')), null);
    assert.deepEqual(client.ensured, ['mqtt.test', 'mqtt.test']);
  });

  it('is overloaded past its pending bytes and says when it drains', async () => {
    const client = new CountingClient();
    let drained = 0;
    const writer = new IngestWriter(client, 1, 1024 * 1024, () => drained++);
    await client.ensureTopic({ name: 'mqtt.test', partitions: 1 });
    await writer.write('mqtt.test', record('warm-up'));
    const big = writer.write('mqtt.test', record('a', 'x'.repeat(1024 * 1024 + 1)));
    assert.equal(writer.overloaded, true);
    await big;
    assert.equal(writer.overloaded, false);
    assert.equal(drained, 1);
    await writer.close();
  });
});
