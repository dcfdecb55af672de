import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { type RunningBroker, startBroker } from '../../test/support/broker-harness.js';
import { until } from '../../test/support/processes.js';
import { Backoff } from '../client/backoff.js';
import { LogClientError } from '../client/client-errors.js';
import { EmbeddedLogClient } from '../client/embedded-client.js';
import { RemoteLogClient } from '../client/remote-client.js';
import type { ConsumedRecord, LogClient, OutgoingRecord } from '../client/types.js';
import { Compression, compressionOf, readBatchHeader, splitBatches } from '../protocol/index.js';
import { MirrorError } from './errors.js';
import { Mirror, type MirrorOptions } from './mirror.js';
import { compileFilter, fnv1a, sampled } from './policy.js';
import { originalHeaders, provenanceOf } from './provenance.js';
import { remoteTarget } from './remote-target.js';

const logger = pino({ level: 'silent' });

function record(topic: string, partition: number, i: number, value: object = { i }): OutgoingRecord {
  return {
    topic,
    partition,
    key: Buffer.from(`key-${i % 50}`),
    value: Buffer.from(JSON.stringify(value)),
    timestamp: 1_700_000_000_000 + i,
    headers: [
      { key: 'trace', value: Buffer.from(`t-${i}`) },
      { key: 'empty', value: null },
    ],
  };
}

async function readAll(client: LogClient, topic: string, partition: number): Promise<ConsumedRecord[]> {
  const { earliest, latest } = await client.offsets({ topic, partition });
  const out: ConsumedRecord[] = [];
  let offset = earliest;
  while (offset < latest) {
    const records = await client.fetch([{ topic, partition, offset }], { maxBytes: 1 << 20, maxWaitMs: 0 });
    out.push(...records.filter((r) => r.offset < latest));
    offset = out.at(-1)!.offset + 1;
  }
  return out;
}

describe('Mirror between two in-process brokers (target through the client library)', {
  timeout: 60_000,
}, () => {
  let edge: RunningBroker;
  let cloud: RunningBroker;
  let source: EmbeddedLogClient;
  let cloudReader: EmbeddedLogClient;

  before(async () => {
    edge = await startBroker();
    cloud = await startBroker();
    source = new EmbeddedLogClient(edge.broker.embeddedLog());
    cloudReader = new EmbeddedLogClient(cloud.broker.embeddedLog());
  });

  after(async () => {
    await source.close();
    await cloudReader.close();
    await edge.stop();
    await cloud.stop();
  });

  function mirrorOf(overrides: Partial<MirrorOptions>): Mirror {
    return new Mirror({
      source,
      connectTarget: remoteTarget([cloud.bootstrap], 'mirror-test'),
      topics: ['none'],
      prefix: 'site-a.',
      logger,
      resumeSettleMs: 50,
      fetchMaxWaitMs: 100,
      backoffBaseMs: 50,
      backoffCapMs: 200,
      ...overrides,
    });
  }

  async function forwarded(mirror: Mirror, topic: string, partitions: number): Promise<void> {
    await until(
      () => {
        const links = mirror.status().partitions.filter((p) => p.topic === topic);
        return links.length === partitions && links.every((p) => p.forwardedUpTo === 100);
      },
      20_000,
      `${topic} forwarded`,
    );
  }

  it('forwards renamed, keeps key, headers, timestamp and order, and resumes without duplicates', async () => {
    await source.ensureTopic({ name: 'cdn.aggregates', partitions: 3 });
    for (let p = 0; p < 3; p += 1) {
      await source.produce(Array.from({ length: 60 }, (_, i) => record('cdn.aggregates', p, i)));
    }
    const first = mirrorOf({ topics: /cdn\..*/, listSourceTopics: async () => ['cdn.aggregates', 'other'] });
    await first.start();
    await until(() => first.status().totals.recordsSent === 180, 20_000, 'first 180 records');
    await first.close();
    for (let p = 0; p < 3; p += 1) {
      await source.produce(Array.from({ length: 40 }, (_, i) => record('cdn.aggregates', p, 60 + i)));
    }
    const second = mirrorOf({ topics: ['cdn.aggregates'] });
    await second.start();
    await forwarded(second, 'cdn.aggregates', 3);
    await second.close();
    assert.equal(second.status().totals.recordsSent, 120, 'the second mirror sends only what is new');

    assert.equal(await cloudReader.partitionCount('site-a.cdn.aggregates'), 3);
    for (let p = 0; p < 3; p += 1) {
      const target = await readAll(cloudReader, 'site-a.cdn.aggregates', p);
      assert.equal(target.length, 100);
      for (const [i, copy] of target.entries()) {
        const expected = record('cdn.aggregates', p, i);
        assert.deepEqual(copy.key, expected.key);
        assert.deepEqual(copy.value, expected.value);
        assert.equal(copy.timestamp, expected.timestamp);
        assert.deepEqual(originalHeaders(copy), expected.headers);
        assert.deepEqual(provenanceOf(copy), { topic: 'cdn.aggregates', partition: p, offset: i });
      }
    }
  });

  it('forwards compressed batches that the target stores as sent and that decode intact', async () => {
    const codecs = [
      { name: 'gzip', id: Compression.Gzip },
      { name: 'lz4', id: Compression.Lz4 },
    ] as const;
    const cloudRemote = new RemoteLogClient({ bootstrapBrokers: [cloud.bootstrap], clientId: 'zip-reader' });
    try {
      for (const codec of codecs) {
        const topic = `zip-${codec.name}`;
        const mirrored = `site-z.${topic}`;
        const zipMirror = () =>
          mirrorOf({
            topics: [topic],
            prefix: 'site-z.',
            connectTarget: remoteTarget([cloud.bootstrap], `mirror-${topic}`, codec.name),
          });
        await source.ensureTopic({ name: topic, partitions: 1 });
        await source.produce(Array.from({ length: 60 }, (_, i) => record(topic, 0, i)));
        const first = zipMirror();
        await first.start();
        await until(() => first.status().totals.recordsSent === 60, 20_000, `first 60 ${codec.name} records`);
        await first.close();
        // Resuming reads the target's compressed tail to find where the first mirror stopped.
        await source.produce(Array.from({ length: 40 }, (_, i) => record(topic, 0, 60 + i)));
        const second = zipMirror();
        await second.start();
        await forwarded(second, topic, 1);
        await second.close();
        assert.equal(second.status().totals.recordsSent, 40, `${codec.name}: no duplicates after resuming`);

        const stored = splitBatches(
          cloud.broker
            .embeddedLog()
            .logs.partition(mirrored, 0)
            .read(0, 1 << 20).records,
        );
        assert.ok(stored.length >= 2, `${codec.name}: one batch per mirror at least`);
        for (const batch of stored) {
          assert.equal(
            compressionOf(readBatchHeader(batch).attributes),
            codec.id,
            `${codec.name} batch stored`,
          );
        }
        const readers: LogClient[] =
          codec.id === Compression.Gzip ? [cloudReader, cloudRemote] : [cloudRemote];
        for (const reader of readers) {
          const target = await readAll(reader, mirrored, 0);
          assert.equal(target.length, 100);
          for (const [i, copy] of target.entries()) {
            const expected = record(topic, 0, i);
            assert.deepEqual(copy.key, expected.key);
            assert.deepEqual(copy.value, expected.value);
            assert.equal(copy.timestamp, expected.timestamp);
            assert.deepEqual(originalHeaders(copy), expected.headers);
            assert.deepEqual(provenanceOf(copy), { topic, partition: 0, offset: i });
          }
        }
      }
      // The embedded client decodes none and gzip only: lz4 batches are refused with a clear error.
      await assert.rejects(
        cloudReader.fetch([{ topic: 'site-z.zip-lz4', partition: 0, offset: 0 }], {
          maxBytes: 1 << 20,
          maxWaitMs: 0,
        }),
        (error: unknown) => error instanceof LogClientError && error.code === 'UNSUPPORTED_COMPRESSION_TYPE',
      );
    } finally {
      await cloudRemote.close();
    }
  });

  it('filters and samples deterministically per topic', async () => {
    await source.ensureTopic({ name: 'raw', partitions: 1 });
    await source.produce(
      Array.from({ length: 100 }, (_, i) =>
        record('raw', 0, i, { i, kind: i % 4 === 0 ? 'aggregate' : 'raw' }),
      ),
    );
    const mirror = mirrorOf({
      topics: ['raw'],
      prefix: 'site-f.',
      policies: [
        { topics: /raw/, policy: { filter: compileFilter({ jsonField: 'kind', equals: 'aggregate' }) } },
      ],
    });
    await mirror.start();
    await forwarded(mirror, 'raw', 1);
    await mirror.close();
    const target = await readAll(cloudReader, 'site-f.raw', 0);
    assert.deepEqual(
      target.map((r) => provenanceOf(r)!.offset),
      Array.from({ length: 25 }, (_, i) => i * 4),
    );
    assert.equal(mirror.status().totals.recordsFiltered, 75);

    const keys = Array.from({ length: 10_000 }, (_, i) => Buffer.from(`edge-${i}`));
    const kept = keys.filter((key) => sampled({ key, value: null } as ConsumedRecord, 10)).length;
    assert.ok(kept > 900 && kept < 1100, `10% sampling kept ${kept} of 10,000 keys`);
    assert.equal(fnv1a(Buffer.from('edge-17')), fnv1a(Buffer.from('edge-17')));
  });

  it('counts and reports records the source deleted before they were forwarded', async () => {
    await source.ensureTopic({
      name: 'short',
      partitions: 1,
      config: { 'segment.bytes': '1024', 'retention.ms': '1' },
    });
    await source.produce(Array.from({ length: 20 }, (_, i) => record('short', 0, i)));
    const mirror = mirrorOf({ topics: ['short'], prefix: 'site-r.' });
    await mirror.start();
    await until(() => mirror.status().totals.recordsSent === 20, 20_000, 'first 20 records');
    await mirror.close();
    for (let i = 20; i < 100; i += 1) await source.produce([record('short', 0, i)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    edge.broker.embeddedLog().logs.runRetention();
    const { earliest } = await source.offsets({ topic: 'short', partition: 0 });
    assert.ok(earliest > 20, `retention deleted records not forwarded yet (log start ${earliest})`);

    const restarted = mirrorOf({ topics: ['short'], prefix: 'site-r.' });
    await restarted.start();
    await forwarded(restarted, 'short', 1);
    await restarted.close();
    assert.equal(restarted.status().totals.skippedByRetention, earliest - 20);
    const text = await restarted.metrics.registry.metrics();
    assert.match(
      text,
      new RegExp(
        `edgestream_mirror_records_skipped_by_retention_total\\{topic="short",partition="0"\\} ${earliest - 20}`,
      ),
    );
    const target = await readAll(cloudReader, 'site-r.short', 0);
    assert.equal(target.length, 20 + (100 - earliest));
  });

  it('stops with a clear error when the target topic has records it did not write', async () => {
    await source.ensureTopic({ name: 'owned', partitions: 1 });
    await source.produce([record('owned', 0, 0)]);
    await cloudReader.ensureTopic({ name: 'site-x.owned', partitions: 1 });
    await cloudReader.produce([record('site-x.owned', 0, 0)]);
    const mirror = mirrorOf({ topics: ['owned'], prefix: 'site-x.' });
    await mirror.start();
    await assert.rejects(mirror.whenStopped(), (error: unknown) => {
      assert.ok(error instanceof MirrorError);
      assert.equal(error.code, 'TARGET_FOREIGN_RECORDS');
      return true;
    });
    await mirror.close();
  });
});

describe('Mirror with a record the target cannot take', { timeout: 30_000 }, () => {
  it('stops with RECORD_REFUSED instead of retrying forever or skipping it', async () => {
    const edge = await startBroker();
    const cloud = await startBroker();
    const source = new EmbeddedLogClient(edge.broker.embeddedLog());
    try {
      await source.ensureTopic({ name: 'big', partitions: 1 });
      await source.produce([{ ...record('big', 0, 0), value: Buffer.alloc(999_990, 1) }]);
      const mirror = new Mirror({
        source,
        connectTarget: remoteTarget([cloud.bootstrap], 'mirror-big'),
        topics: ['big'],
        prefix: 'site-a.',
        logger,
        resumeSettleMs: 10,
      });
      await mirror.start();
      await assert.rejects(mirror.whenStopped(), /RECORD_REFUSED: .*MESSAGE_TOO_LARGE/);
      await mirror.close();
      assert.equal(mirror.status().totals.recordsSent, 0);
    } finally {
      await source.close();
      await edge.stop();
      await cloud.stop();
    }
  });
});

describe('Backoff', () => {
  it('grows exponentially with jitter up to the cap and never waits zero', () => {
    const highest = new Backoff(100, 1_000, () => 0.999_999);
    assert.deepEqual(
      Array.from({ length: 6 }, () => highest.nextDelayMs()),
      [99, 199, 399, 799, 999, 999],
    );
    const lowest = new Backoff(100, 1_000, () => 0);
    assert.equal(lowest.nextDelayMs(), 10);
    highest.reset();
    assert.equal(highest.nextDelayMs(), 99);
  });
});
