import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryLogClient } from '../../test/support/memory-log-client.js';
import { partitionForKey } from '../client/partitioner.js';
import type { DoorSecurity } from '../security/index.js';
import { KafkaRestError } from './ingest-errors.js';
import { IngestMetrics } from './ingest-metrics.js';
import { RestProxy } from './rest-proxy.js';

const JSON_V2 = 'application/vnd.kafka.json.v2+json';

/** Lets only `User:writer` write, and remembers every question it was asked. */
class WriterOnly implements DoorSecurity {
  readonly loginRequired = false;
  readonly asked: string[][] = [];
  async checkPassword(): Promise<boolean> {
    return false;
  }
  mayWrite(door: string, principal: string, host: string, topic: string): boolean {
    this.asked.push([door, principal, host, topic]);
    return principal === 'User:writer';
  }
}

async function proxyOver(autoCreatePartitions: number | null = null) {
  const client = new MemoryLogClient();
  await client.ensureTopic({ name: 'devices', partitions: 4 });
  const doors = new WriterOnly();
  const proxy = new RestProxy({
    client,
    topics: () => [...client.topics].map(([name, partitions]) => ({ name, partitions: partitions.length })),
    autoCreatePartitions,
    doors,
    metrics: new IngestMetrics(),
    maxRecordsPerRequest: 100,
  });
  return { client, doors, proxy };
}

function request(body: unknown, principal = 'User:writer', topic = 'devices') {
  return {
    topic,
    partition: null,
    contentType: JSON_V2,
    accept: undefined,
    body: Buffer.from(JSON.stringify(body)),
    principal,
    host: '192.0.2.9',
    nowMs: 1_700_000_000_000,
  };
}

test('records go to their key partition, keyless ones round-robin, and the answer holds the log offsets', async () => {
  const { client, proxy } = await proxyOver();
  await client.produce([{ topic: 'devices', partition: 0, key: null, value: null, timestamp: 1 }]);
  const response = await proxy.produce(
    request({ records: [{ key: 'k', value: 1 }, { value: 2 }, { value: 3 }, { value: 4, partition: 0 }] }),
  );
  const keyed = partitionForKey(Buffer.from('"k"'), 4);
  const [first, second, third, fourth] = response.offsets;
  assert.equal(first?.partition, keyed);
  assert.equal(((second?.partition ?? 0) + 1) % 4, third?.partition, 'keyless records take turns');
  assert.equal(fourth?.partition, 0);
  assert.ok((fourth?.offset ?? 0) >= 1, 'after the record already in partition 0');
  for (const [i, offset] of response.offsets.entries()) {
    const stored = client.topics.get('devices')![offset.partition]![offset.offset];
    assert.equal(stored?.value?.toString(), String(i + 1), `record ${i} is where the answer says`);
    assert.equal(stored?.timestamp, 1_700_000_000_000);
  }
});

test("writes are checked against the broker's ACLs as User:NAME from the client's address", async () => {
  const { doors, proxy } = await proxyOver();
  await assert.rejects(proxy.produce(request({ records: [{ value: 1 }] }, 'User:reader')), (error) => {
    assert.ok(error instanceof KafkaRestError);
    assert.deepEqual([error.status, error.errorCode], [403, 40301]);
    return true;
  });
  assert.deepEqual(doors.asked, [['HTTP', 'User:reader', '192.0.2.9', 'devices']]);
});

test('unknown topics are refused, or created with the broker default when it auto-creates topics', async () => {
  const refusing = await proxyOver(null);
  await assert.rejects(refusing.proxy.produce(request({ records: [{ value: 1 }] }, 'User:writer', 'new')), {
    errorCode: 40401,
  });
  const creating = await proxyOver(2);
  const response = await creating.proxy.produce(request({ records: [{ value: 1 }] }, 'User:writer', 'new'));
  assert.equal(response.offsets.length, 1);
  assert.equal(await creating.client.partitionCount('new'), 2);
  assert.deepEqual(creating.proxy.describeTopic('new').partitions, [{ partition: 0 }, { partition: 1 }]);
});
