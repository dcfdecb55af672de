import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { edgeCountPipeline } from '../../test/support/edge-count-pipeline.js';
import { MemoryLogClient } from '../../test/support/memory-log-client.js';
import type { StreamsApp } from './streams-app.js';
import { SEQUENCE_HEADER } from './task-checkpoint.js';

const REPARTITION = 'dup-by-edge-repartition';

function pipeline(client: MemoryLogClient): StreamsApp {
  return edgeCountPipeline(client, { applicationId: 'dup', commitIntervalMs: 50 });
}

async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Writes every sequenced record of the repartition topic again, headers and all, as a late request would. */
async function replayRepartition(client: MemoryLogClient): Promise<number> {
  const copies = (client.topics.get(REPARTITION) ?? [])
    .flatMap((records, partition) => records.map((record) => ({ ...record, partition })))
    .filter((record) => record.headers.some((header) => header.key === SEQUENCE_HEADER))
    .map(({ topic, partition, key, value, timestamp, headers }) => ({
      topic,
      partition,
      key,
      value,
      timestamp,
      headers,
    }));
  await client.produce(copies);
  return copies.length;
}

const reading = (edge: string) => ({
  topic: 'readings',
  partition: 0,
  key: null,
  value: Buffer.from(JSON.stringify({ edge })),
  timestamp: Date.now(),
});

describe('repartitioned records delivered twice', () => {
  it('are processed once, also after a restart from the checkpoint', async () => {
    // Shared, as only another instance's late request can repeat a sequence.
    const client = new MemoryLogClient(true);
    await client.ensureTopic({ name: 'readings', partitions: 1 });
    let app = pipeline(client);
    after(() => app.close());
    await app.start();
    await client.produce([reading('a'), reading('a'), reading('b')]);
    await eventually(() => client.values('counts').length === 3, 'three running counts');

    assert.equal(await replayRepartition(client), 3);
    await client.produce([reading('a')]);
    await eventually(() => client.values('counts').length === 4, 'the next running count');
    assert.deepEqual(client.values('counts').sort(), ['1', '1', '2', '3'], 'the copies changed no count');

    await app.close();
    app = pipeline(client);
    await app.start();
    // The four records written so far and the three copies of the first replay.
    assert.equal(await replayRepartition(client), 7);
    await client.produce([reading('b')]);
    await eventually(() => client.values('counts').length === 5, 'a running count after the restart');
    assert.deepEqual(client.values('counts').sort(), ['1', '1', '2', '2', '3']);
    const skipped = await app.metrics.registry
      .getSingleMetric('edgestream_streams_duplicates_skipped_total')
      ?.get();
    assert.equal(skipped?.values[0]?.value, 7, 'the copies after the restart were counted as skipped');
    await app.close();
  });
});
