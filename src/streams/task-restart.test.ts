import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLogClient } from '../../test/support/memory-log-client.js';
import type { OutgoingRecord } from '../client/types.js';
import { TopologyBuilder } from './dsl.js';
import { json } from './serdes.js';
import { StreamTask, type TaskObserver } from './task.js';
import { outputPartitionKey, readLastCheckpoint, SEQUENCE_HEADER } from './task-checkpoint.js';
import { Topology } from './topology.js';

const observer: TaskObserver = {
  recordsIn: () => undefined,
  late: () => undefined,
  deserializationError: () => undefined,
  processingLatencyMs: () => undefined,
  duplicatesSkipped: () => undefined,
};

function makeTask(): StreamTask {
  const topology = new Topology('restart');
  new TopologyBuilder(topology)
    .stream('readings', { value: json<number>() })
    .to('out', { value: json<number>() });
  return new StreamTask(
    'restart',
    topology.sources.get('readings')!,
    0,
    0,
    {
      sinkPartitions: new Map([['out', 1]]),
      checkpointTopic: 'restart-checkpoint',
      changelogTopic: (store) => `restart-${store}-changelog`,
      repartitionTopics: [],
      deadLetterTopic: 'restart-dead-letter',
    },
    observer,
    new Map(),
    false,
  );
}

describe('a task restarted twice', () => {
  it('writes no output twice when the second attempt checkpoints before it has replayed past the first', async () => {
    const client = new MemoryLogClient();
    for (const name of ['readings', 'out', 'restart-checkpoint'])
      await client.ensureTopic({ name, partitions: 1 });
    await client.produce(
      Array.from({ length: 10 }, (_, i) => ({
        topic: 'readings',
        partition: 0,
        key: null,
        value: Buffer.from(String(i)),
        timestamp: 0,
      })),
    );
    const input = await client.fetch([{ topic: 'readings', partition: 0, offset: 0 }], {
      maxBytes: 1 << 20,
      maxWaitMs: 0,
    });
    const write = async (records: OutgoingRecord[]) => {
      await client.produce(records);
    };
    const handoff = { owner: 'me', staleAfterMs: 0, maxWaitMs: 0 };
    const restored = async () => {
      const task = makeTask();
      await task.restore(client, async () => 0, handoff, write);
      return task;
    };
    const run = async (task: StreamTask, from: number, to: number) => {
      task.process(input.slice(from, to));
      await write(task.takeOutputs().records);
    };
    const checkpoint = async (task: StreamTask) => {
      await write([task.snapshot('me', false).marker]);
      await task.refreshOutputBounds(client);
    };

    // The first attempt checkpoints after 5 readings and dies after 10.
    const first = await restored();
    await run(first, 0, 5);
    await checkpoint(first);
    await run(first, 5, 10);
    // The second replays two readings (their outputs are already written), checkpoints twice, and dies.
    const second = await restored();
    await run(second, 5, 7);
    await checkpoint(second);
    await checkpoint(second);
    // A purge deletes below the bound of the last checkpoint (were 'out' a repartition topic consumed that
    // far); the third attempt must still find that outputs up to the tenth are written.
    const checkpointed = await readLastCheckpoint(client, 'restart-checkpoint', 0);
    const bound = checkpointed!.outputBounds[outputPartitionKey('out', 0)]!;
    assert.ok(bound <= 7, `the bound ${bound} is at or before the eighth output, not yet replayed`);
    await client.deleteRecords([{ topic: 'out', partition: 0, offset: bound }]);
    const third = await restored();
    await run(third, 7, 10);

    const sequences = (client.topics.get('out')?.[0] ?? []).map((record) =>
      record.headers.find((header) => header.key === SEQUENCE_HEADER)!.value!.toString(),
    );
    assert.deepEqual(sequences, ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    // Replayed past them, the bound moves on to the end again, and with it what a purge may delete.
    await checkpoint(third);
    await checkpoint(third);
    const caughtUp = await readLastCheckpoint(client, 'restart-checkpoint', 0);
    assert.equal(caughtUp!.outputBounds[outputPartitionKey('out', 0)], 10);
  });
});
