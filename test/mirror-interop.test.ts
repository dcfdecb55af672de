import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EachMessagePayload, Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import type { ConsumedRecord } from '../src/client/types.js';
import { Mirror, PROVENANCE_HEADER, remoteTarget } from '../src/mirror/index.js';
import { sampled } from '../src/mirror/policy.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { until } from './support/processes.js';

const PARTITIONS = 3;
const RECORDS_PER_ROUND = 600;
const T0 = 1_760_000_000_000;

interface Sent {
  partition: number;
  key: string;
  value: string;
  timestamp: string;
  headers: Record<string, string>;
}

interface Received extends Sent {
  source: string;
}

function kafka(broker: RunningBroker, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

/**
 * Producer and reader are kafkajs, the mirror writes through @platformatic/kafka (RemoteLogClient): the
 * records cross two client stacks other than the embedded path.
 */
describe('mirror with kafkajs at both ends and the target reached through the client library', {
  timeout: 120_000,
}, () => {
  let edge: RunningBroker;
  let cloud: RunningBroker;
  let source: EmbeddedLogClient;

  before(async () => {
    [edge, cloud] = await Promise.all([startBroker(), startBroker()]);
    source = new EmbeddedLogClient(edge.broker.embeddedLog());
  });

  after(async () => {
    await source.close();
    await Promise.all([edge.stop(), cloud.stop()]);
  });

  it('forwards exactly once across mirror and cloud restarts, sampling the same keys every time', async () => {
    const producer = kafka(edge, 'edge-producer').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const admin = kafka(edge, 'edge-admin').admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'player.events', numPartitions: PARTITIONS },
        { topic: 'player.raw', numPartitions: 1 },
      ],
    });
    await admin.disconnect();

    const sent: Sent[] = [];
    const rawKeys: string[] = [];
    const produceRound = async (round: number) => {
      const messages = Array.from({ length: RECORDS_PER_ROUND }, (_, j) => {
        const i = round * RECORDS_PER_ROUND + j;
        const message: Sent = {
          partition: i % PARTITIONS,
          key: `player-${i % 97}`,
          value: JSON.stringify({ i, rebuffering: i % 13 }),
          timestamp: String(T0 + i),
          headers: { trace: `trace-${i}`, codec: i % 2 === 0 ? 'h264' : 'hevc' },
        };
        sent.push(message);
        return message;
      });
      await producer.send({ topic: 'player.events', messages });
      const raw = Array.from({ length: 100 }, (_, j) => `session-${round * 100 + j}`);
      rawKeys.push(...raw);
      await producer.send({ topic: 'player.raw', messages: raw.map((key) => ({ key, value: key })) });
    };

    const logger = pino({ level: 'silent' });
    const newMirror = () =>
      new Mirror({
        source,
        connectTarget: remoteTarget([cloud.bootstrap], 'interop-mirror'),
        topics: /player\..*/,
        listSourceTopics: async () => edge.broker.embeddedLog().logs.topicNames(),
        prefix: 'site-b.',
        policies: [{ topics: /player\.raw/, policy: { samplePercent: 10 } }],
        logger,
        resumeSettleMs: 100,
        backoffBaseMs: 100,
        backoffCapMs: 1_000,
        fetchMaxWaitMs: 100,
      });

    const forwardedOf = (mirror: Mirror, topic: string) =>
      mirror
        .status()
        .partitions.filter((link) => link.topic === topic)
        .reduce((sum, link) => sum + link.forwardedUpTo, 0);
    let mirror = newMirror();
    await mirror.start();
    await produceRound(0);
    await until(
      () => forwardedOf(mirror, 'player.events') === RECORDS_PER_ROUND,
      30_000,
      'round 0 forwarded',
    );
    await produceRound(1);
    await mirror.close();
    // Store and forward: written while no mirror runs, forwarded by the next one from the target's tail.
    await produceRound(2);
    mirror = newMirror();
    await mirror.start();
    await until(
      () => forwardedOf(mirror, 'player.events') === 3 * RECORDS_PER_ROUND,
      30_000,
      'round 2 forwarded',
    );
    await Promise.all([produceRound(3), cloud.restart()]);
    const expectedRaw = rawKeys.filter((key) =>
      sampled({ key: Buffer.from(key), value: null } as unknown as ConsumedRecord, 10),
    );
    await until(
      () =>
        forwardedOf(mirror, 'player.events') === sent.length &&
        forwardedOf(mirror, 'player.raw') === rawKeys.length,
      60_000,
      'the mirror to catch up',
    );
    await mirror.close();
    await producer.disconnect();

    const received: Received[] = [];
    const rawReceived: string[] = [];
    const consumer = kafka(cloud, 'cloud-reader').consumer({
      groupId: 'cloud-check',
      heartbeatInterval: 500,
      sessionTimeout: 10_000,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({
        topics: ['site-b.player.events', 'site-b.player.raw'],
        fromBeginning: true,
      });
      await consumer.run({
        eachMessage: async ({ topic, partition, message }: EachMessagePayload) => {
          if (topic === 'site-b.player.raw') {
            rawReceived.push(message.key!.toString());
            return;
          }
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
          const { [PROVENANCE_HEADER]: provenance, ...original } = headers;
          received.push({
            partition,
            key: message.key!.toString(),
            value: message.value!.toString(),
            timestamp: message.timestamp,
            headers: original,
            source: provenance ?? '',
          });
        },
      });
      await until(
        () => received.length >= sent.length && rawReceived.length >= expectedRaw.length,
        60_000,
        'kafkajs to read the cloud',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await consumer.disconnect();
    }

    assert.equal(received.length, sent.length, 'every record exactly once');
    for (let p = 0; p < PARTITIONS; p += 1) {
      const got = received.filter((r) => r.partition === p);
      const want = sent.filter((s) => s.partition === p);
      assert.deepEqual(
        got.map(({ source: _, ...rest }) => rest),
        want,
        `partition ${p}: order, keys, values, headers, timestamps`,
      );
      assert.deepEqual(
        got.map((r) => r.source),
        want.map((_, offset) => `player.events:${p}:${offset}`),
      );
    }
    assert.deepEqual(rawReceived, expectedRaw, 'the same 10% of keys, once each, across the restarts');
    assert.ok(expectedRaw.length > 10 && expectedRaw.length < 80, `${expectedRaw.length} of 400 sampled`);
  });
});
