import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import pino from 'pino';
import { type RunningBroker, startBroker } from '../../test/support/broker-harness.js';
import { until } from '../../test/support/processes.js';
import { readPartition } from '../../test/support/read-partition.js';
import { EmbeddedLogClient } from '../client/embedded-client.js';
import { RemoteLogClient } from '../client/remote-client.js';
import type { ConsumedRecord } from '../client/types.js';
import { Mirror, type MirrorOptions } from './mirror.js';
import { PROVENANCE_HEADER, provenanceOf } from './provenance.js';
import { remoteTarget } from './remote-target.js';

const logger = pino({ level: 'silent' });
const TRANSACTIONAL_ID = 'mirror-tx-test:site-t.';

describe('Mirror forwarding in Kafka transactions', { timeout: 90_000 }, () => {
  let edge: RunningBroker;
  let cloud: RunningBroker;
  let source: EmbeddedLogClient;
  let cloudReader: RemoteLogClient;

  before(async () => {
    edge = await startBroker();
    cloud = await startBroker();
    source = new EmbeddedLogClient(edge.broker.embeddedLog());
    // The remote client reads committed: aborted records and markers stay out of what it returns.
    cloudReader = new RemoteLogClient({ bootstrapBrokers: [cloud.bootstrap], clientId: 'mirror-tx-reader' });
  });

  after(async () => {
    await cloudReader.close();
    await source.close();
    await edge.stop();
    await cloud.stop();
  });

  function mirrorOf(topic: string, overrides: Partial<MirrorOptions> = {}): Mirror {
    return new Mirror({
      source,
      connectTarget: remoteTarget([cloud.bootstrap], 'mirror-tx-test'),
      transactionalId: TRANSACTIONAL_ID,
      topics: [topic],
      prefix: 'site-t.',
      logger,
      fetchMaxWaitMs: 100,
      backoffBaseMs: 50,
      backoffCapMs: 200,
      ...overrides,
    });
  }

  async function produceToEdge(topic: string, from: number, count: number): Promise<void> {
    await source.produce(
      Array.from({ length: count }, (_, i) => ({
        topic,
        partition: 0,
        key: Buffer.from(`k-${from + i}`),
        value: Buffer.from(`v-${from + i}`),
        timestamp: 1_700_000_000_000 + from + i,
      })),
    );
  }

  function assertExactlyOnce(records: ConsumedRecord[], count: number): void {
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      Array.from({ length: count }, (_, i) => `v-${i}`),
      'every source record once, in order',
    );
    assert.deepEqual(
      records.map((r) => provenanceOf(r)?.offset),
      Array.from({ length: count }, (_, i) => i),
    );
  }

  it('forwards each batch in a transaction and resumes after the last committed record', async () => {
    const topic = 'cdn.tx-resume';
    await source.ensureTopic({ name: topic, partitions: 1 });
    await produceToEdge(topic, 0, 100);
    const first = mirrorOf(topic);
    await first.start();
    await until(() => first.status().partitions[0]?.forwardedUpTo === 100, 20_000, 'first 100 forwarded');
    await first.close();
    await produceToEdge(topic, 100, 50);
    const second = mirrorOf(topic);
    await second.start();
    await until(() => second.status().partitions[0]?.forwardedUpTo === 150, 20_000, 'next 50 forwarded');
    await second.close();
    assert.equal(second.status().totals.recordsSent, 50, 'the second mirror sends only what is new');
    const target = await readPartition(cloudReader, { topic: `site-t.${topic}`, partition: 0 });
    assertExactlyOnce(target, 150);
    const { latest } = await cloudReader.offsets({ topic: `site-t.${topic}`, partition: 0 });
    assert.ok(latest > 150, 'commit markers sit between the records: the target was written in transactions');
  });

  it("fences a dead mirror's transaction left on the wire before reading the tails", async () => {
    const topic = 'cdn.tx-zombie';
    const targetTopic = `site-t.${topic}`;
    await source.ensureTopic({ name: topic, partitions: 1 });
    await cloudReader.ensureTopic({ name: targetTopic, partitions: 1 });
    // A mirror that died mid-transaction: its producer holds the id and has sent a record claiming source
    // offsets 0..9 were forwarded, but has not committed. Were that commit to land after the new mirror read
    // the tails, offsets 0..9 would be forwarded twice.
    const zombie = new Producer({
      clientId: 'mirror-zombie',
      bootstrapBrokers: [cloud.bootstrap],
      idempotent: true,
      transactionalId: TRANSACTIONAL_ID,
      serializers: stringSerializers,
      retries: 0,
    });
    try {
      // -1/-1: a producer new to the id (the library's default 0/0 is refused once another producer held it).
      const transaction = await zombie.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      await transaction.send({
        messages: [
          {
            topic: targetTopic,
            partition: 0,
            key: 'zombie',
            value: 'zombie',
            headers: new Map([[PROVENANCE_HEADER, `${topic}:0:9`]]),
          },
        ],
        acks: ProduceAcks.ALL,
      });
      // The source is empty, so the new mirror sends nothing yet: only its start can have fenced the zombie.
      const mirror = mirrorOf(topic);
      await mirror.start();
      await until(() => mirror.status().linkUp, 20_000, 'mirror link up');
      await assert.rejects(transaction.commit(), 'the dead mirror can no longer commit');
      await produceToEdge(topic, 0, 20);
      await until(() => mirror.status().partitions[0]?.forwardedUpTo === 20, 20_000, 'all 20 forwarded');
      await mirror.close();
      assertExactlyOnce(await readPartition(cloudReader, { topic: targetTopic, partition: 0 }), 20);
    } finally {
      await zombie.close(true);
    }
  });
});
