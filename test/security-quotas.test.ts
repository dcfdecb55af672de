import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Fetch } from '../src/protocol/apis/fetch.js';
import { Metadata } from '../src/protocol/apis/metadata.js';
import { Produce } from '../src/protocol/apis/produce.js';
import { encodeRecordBatch } from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { WireClient } from './support/wire-client.js';

const QUOTA_BYTES_PER_SECOND = 100 * 1024;
const VALUE_BYTES = 16 * 1024;
/**
 * A quota allows a window's worth (10 s x quota) before the first throttle, as in Kafka, so the throttled
 * producer runs past one window for its rate to say something about the quota.
 */
const THROTTLED_RUN_MS = 12_000;
const FREE_RUN_MS = 3_000;

/**
 * Client quotas end to end on PLAINTEXT (every client is User:ANONYMOUS, so the quotas are on client ids): set
 * and read back with @platformatic/kafka's admin client, enforced on a kafkajs producer while another
 * kafkajs producer without a quota is not slowed, and throttle_time_ms seen in raw Produce and Fetch answers.
 */
describe('client quotas', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  const topic = 'quota-topic';

  before(async () => {
    broker = await startBroker();
    broker.broker.logs.createTopic(topic, 1, {});
  });
  after(async () => {
    await broker?.stop();
  });

  function kafka(clientId: string): Kafka {
    return new Kafka({
      clientId,
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 10_000,
      requestTimeout: 30_000,
      retry: { retries: 2, initialRetryTime: 100 },
    });
  }

  /** Sends 4-record batches of VALUE_BYTES values for `runMs`; the bytes sent and the time it took. */
  async function produceFor(producer: Producer, runMs: number): Promise<{ bytes: number; seconds: number }> {
    const value = Buffer.alloc(VALUE_BYTES, 7);
    const started = performance.now();
    let bytes = 0;
    while (performance.now() - started < runMs) {
      await producer.send({ topic, acks: 1, messages: [{ value }, { value }, { value }, { value }] });
      bytes += 4 * VALUE_BYTES;
    }
    return { bytes, seconds: (performance.now() - started) / 1000 };
  }

  it('sets quotas with AlterClientQuotas and reads them back with DescribeClientQuotas', async () => {
    const admin = new Admin({ clientId: 'quota-admin', bootstrapBrokers: [broker.bootstrap] });
    try {
      await admin.alterClientQuotas({
        entries: ['throttled-producer', 'wire-test'].map((name) => ({
          entities: [{ entityType: 'client-id', entityName: name }],
          ops: [{ key: 'producer_byte_rate', value: QUOTA_BYTES_PER_SECOND, remove: false }],
        })),
      });
      await admin.alterClientQuotas({
        entries: [
          {
            entities: [{ entityType: 'client-id', entityName: 'wire-test' }],
            ops: [{ key: 'consumer_byte_rate', value: 10 * 1024, remove: false }],
          },
        ],
      });
      const described = await admin.describeClientQuotas({
        components: [{ entityType: 'client-id', matchType: 0, match: 'throttled-producer' }],
        strict: true,
      });
      assert.deepEqual(described, [
        {
          entity: [{ entityType: 'client-id', entityName: 'throttled-producer' }],
          values: [{ key: 'producer_byte_rate', value: QUOTA_BYTES_PER_SECOND }],
        },
      ]);
      const all = await admin.describeClientQuotas({ components: [], strict: false });
      assert.equal(all.length, 2);
    } finally {
      await admin.close();
    }
  });

  it('holds a producer near its quota while a producer without one is not slowed', async () => {
    const throttled = kafka('throttled-producer').producer({ allowAutoTopicCreation: false });
    const free = kafka('free-producer').producer({ allowAutoTopicCreation: false });
    await Promise.all([throttled.connect(), free.connect()]);
    try {
      const [slow, fast] = await Promise.all([
        produceFor(throttled, THROTTLED_RUN_MS),
        produceFor(free, FREE_RUN_MS),
      ]);
      const slowRate = slow.bytes / slow.seconds;
      const fastRate = fast.bytes / fast.seconds;
      assert.ok(slow.seconds >= 4, `the throttled producer ran ${slow.seconds} s`);
      assert.ok(
        slowRate < 2 * QUOTA_BYTES_PER_SECOND,
        `throttled producer: ${Math.round(slowRate / 1024)} KiB/s against a quota of 100 KiB/s`,
      );
      assert.ok(
        fastRate > 4 * QUOTA_BYTES_PER_SECOND,
        `the producer without a quota reached only ${Math.round(fastRate / 1024)} KiB/s`,
      );
    } finally {
      await Promise.all([throttled.disconnect(), free.disconnect()]);
    }
    const metrics = await broker.broker.metrics.registry.metrics();
    assert.match(metrics, /edgestream_broker_throttled_requests_total\{kind="produce"\} [1-9]/);
    assert.match(metrics, /edgestream_broker_throttle_time_ms_total\{kind="produce"\} [1-9]/);
  });

  it('answers a throttled Produce v9 with throttle_time_ms and mutes the connection; delays a v5 answer', async () => {
    const client = await WireClient.connect(broker.port);
    try {
      const records = encodeRecordBatch([{ key: null, value: Buffer.alloc(128 * 1024, 1) }]);
      // A throttle is at most 11 s (one window); the answer may come that much later.
      const produce = (version = 9) =>
        client.request(
          Produce,
          version,
          {
            transactionalId: null,
            acks: 1,
            timeoutMs: 5000,
            topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
          },
          { timeoutMs: 30_000 },
        ) as Promise<{
          throttleTimeMs: number;
          responses: Array<{ partitionResponses: Array<{ errorCode: number }> }>;
        }>;
      // A window's worth (about 1 MiB) passes before the first throttle.
      let throttleTimeMs = 0;
      for (let i = 0; i < 20 && throttleTimeMs === 0; i++) {
        const response = await produce();
        assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, 0, 'the records are kept');
        throttleTimeMs = response.throttleTimeMs;
      }
      assert.ok(throttleTimeMs > 0, 'no Produce response carried throttle_time_ms');
      const sent = performance.now();
      await produce();
      const waitedMs = performance.now() - sent;
      assert.ok(
        waitedMs >= throttleTimeMs * 0.9,
        `answered after ${waitedMs} ms, throttled ${throttleTimeMs} ms`,
      );

      // Produce v5 is from before KIP-219: its throttled answer is itself delayed by the throttle.
      let oldThrottleMs = 0;
      let oldWaitedMs = 0;
      for (let i = 0; i < 20 && oldThrottleMs === 0; i++) {
        const oldSent = performance.now();
        oldThrottleMs = (await produce(5)).throttleTimeMs;
        oldWaitedMs = performance.now() - oldSent;
      }
      assert.ok(oldThrottleMs > 0, 'no Produce v5 response carried throttle_time_ms');
      assert.ok(
        oldWaitedMs >= oldThrottleMs * 0.9,
        `v5 answered after ${oldWaitedMs} ms, throttled ${oldThrottleMs} ms`,
      );

      // consumer_byte_rate of 10 KiB/s: a fetch of the megabytes produced is over it, answered empty.
      const fetched = (await client.request(
        Fetch,
        12,
        {
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 4 << 20,
          topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 4 << 20 }] }],
        },
        { timeoutMs: 30_000 },
      )) as { throttleTimeMs: number; responses: unknown[] };
      assert.ok(fetched.throttleTimeMs > 0, 'the fetch was not throttled');
      assert.deepEqual(fetched.responses, []);
    } finally {
      await client.close();
    }
    assert.match(
      await broker.broker.metrics.registry.metrics(),
      /edgestream_broker_throttled_requests_total\{kind="fetch"\} [1-9]/,
    );
  });

  it('throttles a client over request_percentage in any response with throttle_time_ms', async () => {
    const admin = new Admin({ clientId: 'quota-admin', bootstrapBrokers: [broker.bootstrap] });
    try {
      // A thousandth of a percent of a thread: a few requests' handling time is over it.
      await admin.alterClientQuotas({
        entries: [
          {
            entities: [{ entityType: 'client-id', entityName: 'wire-test' }],
            ops: [{ key: 'request_percentage', value: 0.001, remove: false }],
          },
        ],
      });
    } finally {
      await admin.close();
    }
    const client = await WireClient.connect(broker.port);
    try {
      let throttleTimeMs = 0;
      for (let i = 0; i < 200 && throttleTimeMs === 0; i++) {
        const response = (await client.request(Metadata, 9, {
          topics: null,
          allowAutoTopicCreation: false,
          includeClusterAuthorizedOperations: false,
          includeTopicAuthorizedOperations: false,
        })) as { throttleTimeMs: number };
        throttleTimeMs = response.throttleTimeMs;
      }
      assert.ok(throttleTimeMs > 0, 'no Metadata response carried throttle_time_ms');
    } finally {
      await client.close();
    }
    assert.match(
      await broker.broker.metrics.registry.metrics(),
      /edgestream_broker_throttled_requests_total\{kind="request"\} [1-9]/,
    );
  });

  it('keeps the quotas in <dataDir>/security/quotas.json across a restart', async () => {
    await broker.restart();
    const admin = new Admin({ clientId: 'quota-admin', bootstrapBrokers: [broker.bootstrap] });
    try {
      const described = await admin.describeClientQuotas({
        components: [{ entityType: 'client-id', matchType: 0, match: 'wire-test' }],
        strict: true,
      });
      assert.deepEqual(described, [
        {
          entity: [{ entityType: 'client-id', entityName: 'wire-test' }],
          values: [
            { key: 'producer_byte_rate', value: QUOTA_BYTES_PER_SECOND },
            { key: 'consumer_byte_rate', value: 10 * 1024 },
            { key: 'request_percentage', value: 0.001 },
          ],
        },
      ]);
    } finally {
      await admin.close();
    }
  });
});
