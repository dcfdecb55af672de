import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { MemoryLogClient } from '../../test/support/memory-log-client.js';
import { LogClientError, ProducerFencedError } from '../client/client-errors.js';
import type {
  OutgoingRecord,
  TopicPartition,
  TransactionalLogClient,
  TransactionalWriter,
} from '../client/types.js';
import { json } from './serdes.js';
import { StreamsApp } from './streams-app.js';
import { TransactionalSender } from './task-senders.js';
import { TaskWriter, type WritingTask } from './task-writer.js';

/**
 * A memory log whose transactional writers write at once; `fence(id)` makes the id's writers made so far
 * refuse everything from then on, as a newer producer of the id (or the coordinator's transaction timeout)
 * would make the cluster do.
 */
class FakeTransactionalClient extends MemoryLogClient implements TransactionalLogClient {
  readonly inits: string[] = [];
  private writersMade = 0;
  /** Per transactional id, the writers made before this count are fenced. */
  private readonly fencedBelow = new Map<string, number>();
  /** Per partition, how far its last stable offset lags behind its end (an open transaction of another). */
  readonly unstable = new Map<string, number>();

  constructor() {
    super(true);
  }

  fence(transactionalId: string): void {
    this.fencedBelow.set(transactionalId, this.writersMade);
  }

  transactionalWriter(transactionalId: string): TransactionalWriter {
    const serial = this.writersMade++;
    const check = () => {
      if (serial < (this.fencedBelow.get(transactionalId) ?? 0))
        throw new ProducerFencedError(transactionalId);
    };
    return {
      transactionalId,
      init: async () => {
        check();
        this.inits.push(transactionalId);
      },
      run: async (records: OutgoingRecord[]) => {
        check();
        return this.produce(records);
      },
      close: async () => undefined,
    };
  }

  async highWatermark(partition: TopicPartition): Promise<number> {
    return (await super.offsets(partition)).latest;
  }

  override async offsets(partition: TopicPartition) {
    const offsets = await super.offsets(partition);
    const lag = this.unstable.get(`${partition.topic}-${partition.partition}`) ?? 0;
    return { ...offsets, latest: offsets.latest - lag };
  }
}

const task = (id: string, partition: number): WritingTask => ({
  id,
  source: { topic: 'in' },
  partition,
  heldSince: 1,
  fenced: false,
});

const record = (partition: number): OutgoingRecord => ({
  topic: 'out',
  partition,
  key: null,
  value: Buffer.from('v'),
  timestamp: 1,
});

describe('transactional task writes', () => {
  it('sends each task its own way and fences, once, a task whose producer the cluster refuses', async () => {
    const client = new FakeTransactionalClient();
    await client.ensureTopic({ name: 'out', partitions: 2 });
    const sender = new TransactionalSender(client, 1_000);
    const fencedReports: string[][] = [];
    const writer = new TaskWriter(sender, null, (tasks) => fencedReports.push(tasks.map((t) => t.id)));
    const a = task('app:in:0', 0);
    const b = task('app:in:1', 1);
    await sender.open(a, []);
    await sender.open(b, []);
    assert.deepEqual(client.inits, ['app:in:0', 'app:in:1'], 'each task starts its producer when opened');

    await writer.write([
      { task: a, records: [record(0)] },
      { task: b, records: [record(1)] },
    ]);
    client.fence('app:in:1');
    await Promise.all([
      writer.write([
        { task: a, records: [record(0)] },
        { task: b, records: [record(1)] },
      ]),
      writer.write([{ task: b, records: [record(1)] }]),
    ]);
    await writer.write([{ task: b, records: [record(1)] }]);

    assert.equal(client.topics.get('out')![0]!.length, 2, "the unfenced task's writes all land");
    assert.equal(client.topics.get('out')![1]!.length, 1, "the fenced task's writes after the fence do not");
    assert.equal(b.fenced, true);
    assert.deepEqual(fencedReports, [['app:in:1']], 'reported fenced once');
  });

  it('waits for transactions open in the output partitions before the task restores', async () => {
    const client = new FakeTransactionalClient();
    await client.ensureTopic({ name: 'out', partitions: 1 });
    await client.produce([record(0), record(0)]);
    client.unstable.set('out-0', 2);
    const sender = new TransactionalSender(client, 5_000);
    let opened = false;
    const opening = sender.open(task('app:in:0', 0), [{ topic: 'out', partition: 0 }]).then(() => {
      opened = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(opened, false, 'still waiting while another transaction holds the partition back');
    client.unstable.delete('out-0');
    await opening;

    client.unstable.set('out-0', 1);
    await assert.rejects(
      new TransactionalSender(client, 100).open(task('app:in:1', 1), [{ topic: 'out', partition: 0 }]),
      /has had a transaction open for over 100 ms/,
    );
  });

  it('restores again a task fenced while the group still gives it to this instance (a timed-out transaction)', async () => {
    const client = new FakeTransactionalClient();
    await client.ensureTopic({ name: 'in', partitions: 1 });
    const app = new StreamsApp({
      applicationId: 'app',
      client,
      logger: pino({ level: 'silent' }),
      commitIntervalMs: 50,
      exactlyOnce: 'transactional',
    });
    app.stream('in', { value: json<number>() }).to('out', { value: json<number>() });
    await app.start();
    try {
      const value = (n: number) => ({
        topic: 'in',
        partition: 0,
        key: null,
        value: Buffer.from(String(n)),
        timestamp: n,
      });
      const outputs = () => client.topics.get('out')?.flat().length ?? 0;
      await client.produce([value(1)]);
      await waitFor(() => outputs() === 1, 'the first output');
      client.fence('app:in:0');
      await client.produce([value(2)]);
      await waitFor(() => outputs() === 2, 'the second output, written by the task made again');
      assert.deepEqual(client.inits, ['app:in:0', 'app:in:0'], 'its producer started again');
      assert.deepEqual(app.taskIds(), ['in\u00000'], 'it runs again');
    } finally {
      await app.close();
    }
  });

  it('refuses the transactional mode on a client that cannot write transactions', () => {
    assert.throws(
      () =>
        new StreamsApp({
          applicationId: 'app',
          client: new MemoryLogClient(),
          logger: pino({ level: 'silent' }),
          exactlyOnce: 'transactional',
        }),
      (error: unknown) =>
        error instanceof LogClientError &&
        /needs a client that writes Kafka transactions/.test(error.message),
    );
  });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
