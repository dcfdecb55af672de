import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newestRecordFromTail } from '../src/client/partition-tail.js';
import { RemoteLogClient } from '../src/client/remote-client.js';
import type { OutgoingRecord } from '../src/client/types.js';
import { originalHeaders, provenanceOf } from '../src/mirror/index.js';
import { BrokerProcess, runMirrorProcess, startMirrorProcess } from './support/mirror-cluster.js';
import type { Background } from './support/processes.js';
import { readPartition } from './support/read-partition.js';

const TOPIC = 'cdn.aggregates';
const PARTITIONS = 3;
const PREFIX = 'site-a.';
const KILLS = 6;
const CLOUD_DOWN_MS = 20_000;
const PRODUCE_INTERVAL_MS = 25;
const RECORDS_PER_PRODUCE = 30;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (lowMs: number, highMs: number) => lowMs + Math.floor(Math.random() * (highMs - lowMs));

function edgeRecord(partition: number, sequence: number): OutgoingRecord {
  return {
    topic: TOPIC,
    partition,
    key: sequence % 7 === 0 ? null : Buffer.from(`edge-${sequence % 40}`),
    value: Buffer.from(JSON.stringify({ partition, sequence, retransmits: sequence % 500 })),
    timestamp: 1_750_000_000_000 + sequence * 3 + partition,
    headers: [
      { key: 'site', value: Buffer.from('a') },
      { key: 'seq', value: Buffer.from(String(sequence)) },
      ...(sequence % 5 === 0 ? [{ key: 'nullable', value: null }] : []),
    ],
  };
}

describe('mirror between two broker processes, SIGKILLed and with the cloud down for 20 s', {
  timeout: 240_000,
}, () => {
  let edge: BrokerProcess;
  let cloud: BrokerProcess;
  let producerClient: RemoteLogClient;
  let mirror: Background | null = null;

  before(async () => {
    [edge, cloud] = await Promise.all([BrokerProcess.start('edge'), BrokerProcess.start('cloud')]);
    producerClient = new RemoteLogClient({ bootstrapBrokers: [edge.bootstrap], clientId: 'chaos-producer' });
    await producerClient.ensureTopic({ name: TOPIC, partitions: PARTITIONS });
  });

  after(async () => {
    await mirror?.stop('SIGKILL');
    await producerClient.close();
    await Promise.all([edge.destroy(), cloud.destroy()]);
  });

  /** Output of every mirror process so far (each is replaced on restart). */
  const mirrorLogs: string[] = [];
  const startMirror = () => {
    if (mirror) mirrorLogs.push(mirror.stdout + mirror.stderr);
    return startMirrorProcess([
      '--source',
      edge.bootstrap,
      '--target',
      cloud.bootstrap,
      '--topics',
      'cdn\\..*',
      '--prefix',
      PREFIX,
    ]);
  };

  it('refuses bad arguments naming what is wrong', async () => {
    const missing = await runMirrorProcess([
      '--source',
      edge.bootstrap,
      '--target',
      cloud.bootstrap,
      '--topics',
      'x',
    ]);
    assert.equal(missing.status, 2, 'a usage error');
    assert.match(missing.stderr, /mirror needs --prefix/);
    const badTarget = await runMirrorProcess([
      '--source',
      edge.bootstrap,
      '--target',
      'cloud',
      '--topics',
      'x',
      '--prefix',
      'site-a.',
    ]);
    assert.equal(badTarget.status, 2, 'a usage error');
    assert.match(badTarget.stderr, /target\.0: expected HOST:PORT/);
  });

  it('delivers every edge record to the cloud exactly once, in order, intact', async () => {
    const produced: OutgoingRecord[][] = Array.from({ length: PARTITIONS }, () => []);
    let producing = true;
    let sequence = 0;
    const producer = (async () => {
      while (producing) {
        const batch = Array.from({ length: RECORDS_PER_PRODUCE }, () => {
          const next = sequence++;
          return edgeRecord(next % PARTITIONS, next);
        });
        await producerClient.produce(batch);
        for (const record of batch) produced[record.partition]!.push(record);
        await delay(PRODUCE_INTERVAL_MS);
      }
    })();

    const startedAt = Date.now();
    mirror = startMirror();
    let kills = 0;
    const killAndRestart = async () => {
      await delay(between(800, 3_000));
      await mirror!.stop('SIGKILL');
      kills += 1;
      await delay(between(50, 500));
      mirror = startMirror();
    };
    for (let i = 0; i < 3; i += 1) await killAndRestart();
    await cloud.stop();
    const cloudDownAt = Date.now();
    await killAndRestart();
    await delay(Math.max(0, CLOUD_DOWN_MS - (Date.now() - cloudDownAt)));
    await cloud.restart();
    while (kills < KILLS) await killAndRestart();
    await delay(2_000);
    producing = false;
    await producer;
    const total = produced.reduce((sum, records) => sum + records.length, 0);

    const cloudReader = new RemoteLogClient({
      bootstrapBrokers: [cloud.bootstrap],
      clientId: 'chaos-reader',
    });
    try {
      const deadline = Date.now() + 60_000;
      for (let p = 0; p < PARTITIONS; p += 1) {
        for (;;) {
          // The newest forwarded record names how far the mirror got (offsets also count commit markers).
          const forwarded = await newestRecordFromTail(
            cloudReader,
            { topic: `${PREFIX}${TOPIC}`, partition: p },
            () => true,
            Number.POSITIVE_INFINITY,
            2,
          )
            .then(({ record }) => (record ? (provenanceOf(record)?.offset ?? -1) + 1 : 0))
            .catch(() => 0);
          if (forwarded >= produced[p]!.length) break;
          if (Date.now() > deadline) {
            assert.fail(
              `partition ${p}: ${forwarded} of ${produced[p]!.length} on the cloud; mirror said:\n${mirror.stdout}${mirror.stderr}`,
            );
          }
          await delay(200);
        }
      }
      await mirror.stop('SIGTERM');
      mirrorLogs.push(mirror.stdout + mirror.stderr);
      mirror = null;
      for (let p = 0; p < PARTITIONS; p += 1) {
        const copies = await readPartition(cloudReader, { topic: `${PREFIX}${TOPIC}`, partition: p });
        const expected = produced[p]!;
        assert.equal(copies.length, expected.length, `partition ${p}: every record exactly once`);
        for (const [i, copy] of copies.entries()) {
          const original = expected[i]!;
          assert.deepEqual(
            provenanceOf(copy),
            { topic: TOPIC, partition: p, offset: i },
            `order at ${p}/${i}`,
          );
          assert.deepEqual(copy.key, original.key);
          assert.deepEqual(copy.value, original.value);
          assert.equal(copy.timestamp, original.timestamp);
          assert.deepEqual(originalHeaders(copy), original.headers);
        }
      }
      process.stdout.write(
        `# mirror chaos: ${total} records, ${kills} SIGKILLs, cloud down ${CLOUD_DOWN_MS} ms, ` +
          `${Math.round((Date.now() - startedAt) / 1000)} s\n`,
      );
      assert.ok(kills >= 5);
      const logs = mirrorLogs.join('');
      assert.match(
        logs,
        /target does not acknowledge; link down|mirror link lost; retrying|mirror cannot connect; retrying/,
      );
      assert.match(logs, /mirror link up/);
    } finally {
      await cloudReader.close();
    }
  });
});
