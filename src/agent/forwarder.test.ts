import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { type RunningBroker, startBroker } from '../../test/support/broker-harness.js';
import { EmbeddedLogClient } from '../client/embedded-client.js';
import { partitionForKey } from '../client/partitioner.js';
import type { ConsumedRecord } from '../client/types.js';
import { AGENT_PROVENANCE_HEADER, Forwarder } from './forwarder.js';
import { SPOOL_BYTES_MIN, Spool, type SpoolRecord } from './spool.js';

const TOPIC = 'cdn.tcp';
const EDGE = 'edge-042';
const logger = pino({ level: 'silent' });

let broker: RunningBroker;
let dir: string;
before(async () => {
  broker = await startBroker();
  dir = mkdtempSync(path.join(os.tmpdir(), 'agent-forwarder-'));
});
after(async () => {
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
});

const records = (from: number, count: number): SpoolRecord[] =>
  Array.from({ length: count }, (_, i) => ({
    topic: TOPIC,
    ts: 1_000 + from + i,
    value: `{"n":${from + i}}`,
  }));

async function partitionRecords(client: EmbeddedLogClient): Promise<ConsumedRecord[]> {
  const partition = partitionForKey(Buffer.from(EDGE), await client.partitionCount(TOPIC));
  const { latest } = await client.offsets({ topic: TOPIC, partition });
  if (latest === 0) return [];
  const fetched = await client.fetch([{ topic: TOPIC, partition, offset: 0 }], {
    maxBytes: 1 << 22,
    maxWaitMs: 0,
  });
  return fetched.filter((record) => record.offset < latest);
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; !(await condition()); tries++) {
    if (tries > 100) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a restarted forwarder skips what a crashed one had written but not acknowledged, and sends the rest in order', async () => {
  const client = new EmbeddedLogClient(broker.broker.embeddedLog());
  const spoolDir = path.join(dir, 'spool');
  const spool = await Spool.open(spoolDir, SPOOL_BYTES_MIN);
  await spool.append(records(0, 10), null);
  const first = new Forwarder({ client, spool, edge: EDGE, topics: [TOPIC], partitions: 4, logger });
  first.start();
  await until(async () => (await partitionRecords(client)).length === 10);
  await first.close(1_000);
  assert.equal(spool.acked, 9);

  // The crash: records 10..14 reached the broker, the agent died before it stored the acknowledgement.
  await spool.append(records(10, 10), null);
  const partition = partitionForKey(Buffer.from(EDGE), await client.partitionCount(TOPIC));
  await client.produce(
    (await spool.read(9, 5, 1 << 20)).map((record) => ({
      topic: TOPIC,
      partition,
      key: Buffer.from(EDGE),
      value: Buffer.from(record.value),
      timestamp: record.ts,
      headers: [{ key: AGENT_PROVENANCE_HEADER, value: Buffer.from(`${spool.id}:${record.seq}`) }],
    })),
  );
  await spool.close();

  const reopened = await Spool.open(spoolDir, SPOOL_BYTES_MIN);
  assert.equal(reopened.acked, 9);
  const second = new Forwarder({
    client,
    spool: reopened,
    edge: EDGE,
    topics: [TOPIC],
    partitions: 4,
    logger,
  });
  second.start();
  await until(async () => (await partitionRecords(client)).length >= 20);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await second.close(1_000);
  const written = await partitionRecords(client);
  assert.deepEqual(
    written.map((record) => JSON.parse(record.value!.toString()).n),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.ok(written.every((record) => record.key?.toString() === EDGE));
  assert.equal(second.stats().skippedRecords, 5);
  assert.equal(second.stats().sentRecords, 5);
  await reopened.close();
});
