import assert from 'node:assert/strict';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { ApiVersions } from '../src/protocol/apis/api-versions.js';
import { CreateTopics, type CreateTopicsResponse } from '../src/protocol/apis/create-topics.js';
import { Metadata } from '../src/protocol/apis/metadata.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { until } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

const TOPICS = 500;

describe('a large CreateTopics beside other clients', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker({});
  });
  after(async () => {
    await broker?.stop();
  });

  it(`answers a second connection while ${TOPICS} topics are being created`, async (t) => {
    const admin = await WireClient.connect(broker.port);
    const other = await WireClient.connect(broker.port);
    const names = Array.from({ length: TOPICS }, (_, i) => `bulk-${i}`);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    let createdAt = Number.POSITIVE_INFINITY;
    const created = admin
      .request(
        CreateTopics,
        4,
        {
          topics: names.map((name) => ({
            name,
            numPartitions: -1,
            replicationFactor: -1,
            assignments: [],
            configs: [],
          })),
          timeoutMs: 60_000,
          validateOnly: false,
        },
        { timeoutMs: 60_000 },
      )
      .then((response) => {
        createdAt = performance.now();
        return response as unknown as CreateTopicsResponse;
      });
    try {
      // The request is under way once its first topic exists.
      await until(() => broker.broker.logs.hasTopic(names[0]!), 30_000, 'the first topic');
      const versions = await other.request(ApiVersions, 3, {
        clientSoftwareName: 't',
        clientSoftwareVersion: '1',
      });
      const metadata = (await other.request(Metadata, 9, {
        topics: null,
        allowAutoTopicCreation: false,
      })) as {
        topics: unknown[];
      };
      const answeredAt = performance.now();
      const topicsWhenAnswered = names.filter((name) => broker.broker.logs.hasTopic(name)).length;
      assert.equal(versions.errorCode, 0);
      assert.ok(metadata.topics.length < TOPICS, 'metadata saw the creation in progress');

      const response = await created;
      delay.disable();
      t.diagnostic(
        `small requests answered after ${(answeredAt - started).toFixed(0)} ms with ${topicsWhenAnswered} of ` +
          `${TOPICS} topics created; CreateTopics took ${(createdAt - started).toFixed(0)} ms; longest ` +
          `event-loop delay ${(delay.max / 1e6).toFixed(1)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms)`,
      );
      assert.ok(answeredAt < createdAt, 'the small requests were answered before the CreateTopics response');
      assert.ok(topicsWhenAnswered < TOPICS);
      assert.deepEqual(
        response.topics.map((topic) => [topic.name, topic.errorCode]),
        names.map((name) => [name, 0]),
      );
      assert.equal(broker.broker.logs.topicNames().filter((name) => name.startsWith('bulk-')).length, TOPICS);
    } finally {
      delay.disable();
      await admin.close();
      await other.close();
    }
  });
});
