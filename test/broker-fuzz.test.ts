import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiVersions } from '../src/protocol/apis/api-versions.js';
import { Fetch } from '../src/protocol/apis/fetch.js';
import { FindCoordinator } from '../src/protocol/apis/find-coordinator.js';
import { Heartbeat } from '../src/protocol/apis/heartbeat.js';
import { ListOffsets } from '../src/protocol/apis/list-offsets.js';
import { Metadata } from '../src/protocol/apis/metadata.js';
import { OffsetCommit } from '../src/protocol/apis/offset-commit.js';
import { Produce } from '../src/protocol/apis/produce.js';
import { type ApiSchema, encodeRecordBatch, encodeRequest, type Message } from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { WireClient } from './support/wire-client.js';

const MUTATED_FRAMES = Number(process.env.EDGESTREAM_FUZZ_FRAMES ?? 100_000);
/** The broker drops a connection at the first fatal frame, so each frame gets a connection of its own. */
const PARALLEL_CONNECTIONS = 32;

/** A small deterministic PRNG so a failing run can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function validFrames(): Buffer[] {
  const batch = encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('fuzz-value') }]);
  const frame = (schema: ApiSchema, version: number, body: Message) =>
    encodeRequest(
      schema,
      { apiKey: schema.apiKey, apiVersion: version, correlationId: 7, clientId: 'fuzz' },
      body,
    );
  const produce = (version: number) =>
    frame(Produce, version, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 'fuzz', partitionData: [{ index: 0, records: batch }] }],
    });
  const fetch = (version: number) =>
    frame(Fetch, version, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'fuzz', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
  return [
    ...[0, 1, 2, 3].map((v) =>
      frame(ApiVersions, v, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }),
    ),
    ...[1, 4, 9, 12].map((v) =>
      frame(Metadata, v, { topics: [{ name: 'fuzz' }], allowAutoTopicCreation: false }),
    ),
    ...[3, 7, 9].map(produce),
    ...[4, 11, 12].map(fetch),
    frame(ListOffsets, 1, {
      replicaId: -1,
      topics: [{ name: 'fuzz', partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
    }),
    frame(FindCoordinator, 2, { key: 'fuzz-group', keyType: 0 }),
    frame(Heartbeat, 3, { groupId: 'fuzz-group', generationId: 1, memberId: 'm', groupInstanceId: null }),
    frame(OffsetCommit, 8, {
      groupId: 'fuzz-group',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'fuzz',
          partitions: [
            { partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    }),
  ];
}

function mutate(frame: Buffer, next: () => number): Buffer {
  const copy = Buffer.from(frame);
  const body = () => 4 + Math.floor(next() * (copy.length - 4));
  switch (Math.floor(next() * 6)) {
    case 0:
      for (let i = 0; i < 1 + next() * 4; i++) copy[body()] = Math.floor(next() * 256);
      return copy;
    case 1: {
      const cut = copy.subarray(0, body());
      cut.writeInt32BE(cut.length - 4, 0);
      return cut;
    }
    case 2: {
      const grown = Buffer.concat([
        copy,
        Buffer.from(Array.from({ length: 1 + next() * 64 }, () => Math.floor(next() * 256))),
      ]);
      grown.writeInt32BE(grown.length - 4, 0);
      return grown;
    }
    case 3:
      copy.writeInt16BE(Math.floor(next() * 80) - 5, 4);
      copy.writeInt16BE(Math.floor(next() * 40) - 5, 6);
      return copy;
    case 4:
      copy.writeInt32BE(Math.floor(next() * 0x7fffffff) * (next() < 0.2 ? -1 : 1), 0);
      return copy;
    default: {
      const length = Math.floor(next() * 200);
      const noise = Buffer.from(Array.from({ length: 4 + length }, () => Math.floor(next() * 256)));
      noise.writeInt32BE(length, 0);
      return noise;
    }
  }
}

/** Writes frames on one connection as fast as the socket takes them; the broker may close it at any time. */
function blast(port: number, frames: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect', () => {
      socket.end(Buffer.concat(frames));
    });
  });
}

describe('broker under malformed and random input', { timeout: 300_000 }, () => {
  let broker: RunningBroker;

  before(async () => {
    broker = await startBroker({ autoCreateTopics: false, maxRequestBytes: 1024 * 1024 });
    broker.broker.logs.createTopic('fuzz', 1);
  });
  after(async () => {
    await broker?.stop();
  });

  it(`survives ${MUTATED_FRAMES} mutated and random frames and still serves produce and fetch`, async () => {
    const seed = Number(process.env.EDGESTREAM_FUZZ_SEED ?? 20261125);
    const next = random(seed);
    const corpus = validFrames();
    let sent = 0;
    const sender = async () => {
      while (sent < MUTATED_FRAMES) {
        sent++;
        await blast(broker.port, [mutate(corpus[Math.floor(next() * corpus.length)]!, next)]);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_CONNECTIONS }, sender));
    const metrics = await broker.broker.metrics.registry.getMetricsAsJSON();
    const total = (name: string) =>
      (metrics.find((m) => m.name === name)?.values ?? [])
        .filter(
          (v) => !('metricName' in v) || String(v.metricName).endsWith('_count') || name.endsWith('_total'),
        )
        .reduce((sum, v) => sum + Number(v.value), 0);
    const looked =
      total('edgestream_broker_request_duration_seconds') +
      total('edgestream_broker_rejected_requests_total');
    assert.ok(looked >= MUTATED_FRAMES * 0.99, `the broker looked at ${looked} of ${MUTATED_FRAMES} frames`);

    const client = await WireClient.connect(broker.port);
    try {
      const versions = await client.request(ApiVersions, 3, {
        clientSoftwareName: 'check',
        clientSoftwareVersion: '1',
      });
      assert.equal(versions.errorCode, 0);
      const produced = (await client.request(Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 1000,
        topicData: [
          {
            name: 'fuzz',
            partitionData: [
              { index: 0, records: encodeRecordBatch([{ key: null, value: Buffer.from('after-fuzz') }]) },
            ],
          },
        ],
      })) as { responses: Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: number }> }> };
      const partition = produced.responses[0]!.partitionResponses[0]!;
      assert.equal(partition.errorCode, 0);
      const fetched = (await client.request(Fetch, 12, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 'fuzz',
            partitions: [{ partition: 0, fetchOffset: partition.baseOffset, partitionMaxBytes: 1 << 20 }],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      })) as { responses: Array<{ partitions: Array<{ errorCode: number; records: Buffer }> }> };
      const records = fetched.responses[0]!.partitions[0]!;
      assert.equal(records.errorCode, 0);
      assert.ok(
        records.records.includes(Buffer.from('after-fuzz')),
        'the record produced after fuzzing is served',
      );
    } finally {
      await client.close();
    }
  });

  it('closes a connection that announces a frame over socket.request.max.bytes without reading it', async () => {
    const client = await WireClient.connect(broker.port);
    const header = Buffer.alloc(4);
    header.writeInt32BE(2 * 1024 * 1024, 0);
    client.sendRaw(header);
    await client.closed;
  });

  it('answers ApiVersions at an unknown version with UNSUPPORTED_VERSION and its own ranges', async () => {
    const client = await WireClient.connect(broker.port);
    try {
      const response = await client.request(
        { ...ApiVersions, versions: [0, 99] },
        99,
        {},
        { responseVersion: 0 },
      );
      assert.equal(response.errorCode, 35);
      const keys = (response.apiKeys as Array<{ apiKey: number; maxVersion: number }>).map((k) => k.apiKey);
      assert.ok(keys.includes(0) && keys.includes(1) && keys.includes(18));
    } finally {
      await client.close();
    }
  });
});
