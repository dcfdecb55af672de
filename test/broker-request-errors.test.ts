import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RequestStage } from '../src/broker/server.js';
import { CreateTopics } from '../src/protocol/apis/create-topics.js';
import { DeleteTopics } from '../src/protocol/apis/delete-topics.js';
import { Fetch } from '../src/protocol/apis/fetch.js';
import { JoinGroup } from '../src/protocol/apis/join-group.js';
import { Produce } from '../src/protocol/apis/produce.js';
import {
  type ApiSchema,
  encodeRecordBatch,
  encodeRequest,
  type Message,
  splitBatches,
} from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { WireClient } from './support/wire-client.js';

/** 11,000 bytes: as U+FFFD each 0xFF would come back as three bytes, 33,000, over the int16 string length. */
const RAW_BYTES = 11_000;
const PLACEHOLDER = 'Q'.repeat(RAW_BYTES);

/** A request frame whose PLACEHOLDER strings are 0xFF bytes: invalid UTF-8 that no encoder of ours writes. */
function frameWithInvalidUtf8(
  schema: ApiSchema,
  version: number,
  body: Message,
  clientId = 'crafted',
): Buffer {
  const frame = encodeRequest(
    schema,
    { apiKey: schema.apiKey, apiVersion: version, correlationId: 9, clientId },
    body,
  );
  const marker = Buffer.from(PLACEHOLDER);
  for (let at = frame.indexOf(marker); at >= 0; at = frame.indexOf(marker, at + RAW_BYTES)) {
    frame.fill(0xff, at, at + RAW_BYTES);
  }
  assert.ok(frame.includes(Buffer.alloc(RAW_BYTES, 0xff)), 'the frame carries the raw bytes');
  return frame;
}

const TOPIC = 'strings';
const batch = (text: string) => encodeRecordBatch([{ key: null, value: Buffer.from(text) }]);

describe('requests whose strings do not survive a round trip', { timeout: 60_000 }, () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker({ autoCreateTopics: true });
    broker.broker.logs.createTopic(TOPIC, 1);
  });
  after(async () => {
    await broker?.stop();
  });

  async function errors(stage: RequestStage): Promise<number> {
    const metric = broker.broker.metrics.registry.getSingleMetric('edgestream_broker_request_errors_total');
    return (await metric?.get())?.values.find((v) => v.labels.stage === stage)?.value ?? 0;
  }

  /** Sends `frame` on a connection of its own; resolves once the broker has closed that connection. */
  async function sendAndExpectClose(frame: Buffer): Promise<void> {
    const client = await WireClient.connect(broker.port);
    let answered = false;
    client.socket.on('data', () => {
      answered = true;
    });
    client.sendRaw(frame);
    const timeout = setTimeout(() => client.socket.destroy(new Error('still open')), 10_000);
    await client.closed;
    clearTimeout(timeout);
    assert.equal(client.socket.errored, null, 'the broker closed the connection');
    assert.equal(answered, false, 'nothing was written back');
  }

  /** A normal produce and fetch on a new connection still work. */
  async function brokerStillServes(text: string): Promise<void> {
    const client = await WireClient.connect(broker.port);
    try {
      const produced = (await client.request(Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch(text) }] }],
      })) as { responses: Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: number }> }> };
      const { errorCode, baseOffset } = produced.responses[0]!.partitionResponses[0]!;
      assert.equal(errorCode, 0);
      const fetched = (await client.request(Fetch, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [
          {
            topic: TOPIC,
            partitions: [{ partition: 0, fetchOffset: baseOffset, partitionMaxBytes: 1 << 20 }],
          },
        ],
      })) as { responses: Array<{ partitions: Array<{ errorCode: number; records: Buffer }> }> };
      const partition = fetched.responses[0]!.partitions[0]!;
      assert.equal(partition.errorCode, 0);
      assert.equal(splitBatches(partition.records).length, 1);
      assert.ok(partition.records.includes(Buffer.from(text)));
    } finally {
      await client.close();
    }
  }

  async function expectRefusedAtDecode(frame: Buffer, after: string): Promise<void> {
    const before = await errors('decode');
    await sendAndExpectClose(frame);
    assert.equal(await errors('decode'), before + 1, 'counted as a decode error');
    await brokerStillServes(after);
  }

  it('Fetch v4 naming a topic with 11,000 bytes of 0xFF', async () => {
    await expectRefusedAtDecode(
      frameWithInvalidUtf8(Fetch, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [
          { topic: PLACEHOLDER, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] },
        ],
      }),
      'after-fetch',
    );
  });

  for (const version of [0, 1, 2, 3]) {
    it(`DeleteTopics v${version} naming such a topic`, async () => {
      await expectRefusedAtDecode(
        frameWithInvalidUtf8(DeleteTopics, version, { topicNames: [PLACEHOLDER], timeoutMs: 1000 }),
        `after-delete-v${version}`,
      );
    });
  }

  for (const version of [0, 1, 2, 3, 4, 5]) {
    it(`JoinGroup v${version} from such a client id (the member id is built from it)`, async () => {
      const frame = frameWithInvalidUtf8(
        JoinGroup,
        version,
        {
          groupId: `crafted-${version}`,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          memberId: '',
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        },
        PLACEHOLDER,
      );
      await expectRefusedAtDecode(frame, `after-join-v${version}`);
      assert.deepEqual(
        broker.broker.groups.all()[0]!.describe(`crafted-${version}`).members,
        [],
        'the group gained no member',
      );
    });
  }

  for (const version of [3, 7, 9]) {
    it(`Produce v${version} acks=all to such a topic beside a valid one, refused before anything is written`, async () => {
      const highWatermark = broker.broker.logs.partition(TOPIC, 0).highWatermark;
      await expectRefusedAtDecode(
        frameWithInvalidUtf8(Produce, version, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [
            { name: TOPIC, partitionData: [{ index: 0, records: batch('beside-crafted') }] },
            { name: PLACEHOLDER, partitionData: [{ index: 0, records: batch('crafted') }] },
          ],
        }),
        `after-produce-v${version}`,
      );
      const log = broker.broker.logs.partition(TOPIC, 0);
      const read = log.read(highWatermark, 1 << 20).records;
      assert.ok(
        !read.includes(Buffer.from('beside-crafted')),
        'the valid partition of the request was not written',
      );
    });
  }

  it('a valid client id too long to become a member id is closed and counted or answered, never a crash', async () => {
    const failedBefore = (await errors('encode')) + (await errors('handle'));
    const client = await WireClient.connect(broker.port);
    const outcome = new Promise<'closed' | Buffer>((resolve) => {
      client.socket.once('data', (chunk: Buffer) => resolve(chunk));
      void client.closed.then(() => resolve('closed'));
    });
    client.sendRaw(
      encodeRequest(
        JoinGroup,
        { apiKey: JoinGroup.apiKey, apiVersion: 0, correlationId: 1, clientId: 'c'.repeat(32_767) },
        {
          groupId: 'long-client-id',
          sessionTimeoutMs: 10_000,
          memberId: '',
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        },
      ),
    );
    const answer = await outcome;
    if (answer === 'closed') {
      assert.equal((await errors('encode')) + (await errors('handle')), failedBefore + 1);
    } else {
      // Bounded elsewhere (a refusal, or a shorter member id): the answer must then be well formed.
      assert.equal(answer.readInt32BE(4), 1, 'the correlation id of the request');
    }
    await client.close();
    await brokerStillServes('after-long-client-id');
  });

  it('a valid topic name of 32,767 bytes is answered with an error code and comes back as the same bytes', async () => {
    const name = 'n'.repeat(32_767);
    const client = await WireClient.connect(broker.port);
    type Topics = Array<{ name?: string; topic?: string; errorCode?: number; errorMessage?: string | null }>;
    try {
      const fetched = (await client.request(Fetch, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [{ topic: name, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }],
      })) as { responses: Array<{ topic: string; partitions: Array<{ errorCode: number }> }> };
      assert.equal(fetched.responses[0]!.topic, name);
      assert.equal(fetched.responses[0]!.partitions[0]!.errorCode, 3, 'UNKNOWN_TOPIC_OR_PARTITION');

      // These quote the name in their error message, which is cut to fit.
      const deleted = (await client.request(DeleteTopics, 5, { topicNames: [name], timeoutMs: 1000 })) as {
        responses: Topics;
      };
      const created = (await client.request(CreateTopics, 5, {
        topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 1000,
        validateOnly: false,
      })) as { topics: Topics };
      const produced = (await client.request(Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 1000,
        topicData: [{ name, partitionData: [{ index: 0, records: batch('long-name') }] }],
      })) as { responses: Array<{ name: string; partitionResponses: Topics }> };
      for (const [what, topic, answered, errorCode] of [
        ['DeleteTopics', deleted.responses[0]!, deleted.responses[0]!, 3],
        ['CreateTopics', created.topics[0]!, created.topics[0]!, 17],
        ['Produce', produced.responses[0]!, produced.responses[0]!.partitionResponses[0]!, 17],
      ] as const) {
        assert.equal(topic.name, name, `${what} echoes the name`);
        assert.equal(answered.errorCode, errorCode, what);
        assert.ok(answered.errorMessage && answered.errorMessage.length <= 1024 + 3, `${what} error message`);
      }
      assert.equal(client.socket.destroyed, false);
    } finally {
      await client.close();
    }
  });
});
