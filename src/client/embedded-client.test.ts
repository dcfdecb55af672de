import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import pino from 'pino';
import { temporaryDirectory } from '../../test/support/log-fixtures.js';
import { PartitionWatch } from '../broker/partition-watch.js';
import { TopicCatalog } from '../broker/topic-catalog.js';
import { localTxnMarkerWriter } from '../broker/transaction-markers.js';
import { LogManager } from '../log/index.js';
import { encodeRecordBatch, TRANSACTIONAL_BIT } from '../protocol/index.js';
import type { PartitionBatches } from './batch-records.js';
import { type EmbeddedLog, EmbeddedLogClient } from './embedded-client.js';
import { LogPortServer } from './log-port-server.js';
import { PortLogClient } from './port-log-client.js';
import type { ConsumedRecord, FetchOptions, FetchRequest, LogClient } from './types.js';

const logger = pino({ level: 'silent' });
const TOPIC = 'tx';
const at0 = { topic: TOPIC, partition: 0 };
/** Long enough that a poll woken by the marker is told apart from one that ran out its wait. */
const LONG_POLL_MS = 60_000;

/** A single-node broker's log side: partition logs, long-poll watch and marker writer, as Broker wires them. */
function brokerLog(dataDir: string) {
  const logs = LogManager.open({ dataDir, logger });
  const topics = new TopicCatalog(logs, { autoCreateTopics: false, defaultPartitions: 1, logger });
  const watch = new PartitionWatch();
  const embedded: EmbeddedLog = {
    logs,
    createTopic: (name, partitions, config) => logs.createTopic(name, partitions, config),
    appended: (topic, partition) => watch.notify(topic, partition),
    madeDurable: (topic, partition) => watch.notify(topic, partition),
    served: () => undefined,
    watch: (partitions, onData) =>
      watch.watch(
        partitions.map((p) => PartitionWatch.key(p.topic, p.partition)),
        onData,
      ),
    commitOffsets: async () => [],
    groupMemberCount: () => 0,
  };
  const markers = localTxnMarkerWriter({
    topics,
    watch,
    cluster: null,
    replicationTimeoutMs: 1_000,
    offsetsMarked: () => undefined,
  });
  return { logs, embedded, markers };
}

function transactional(producerId: number, tag: string): Buffer {
  return encodeRecordBatch(
    [
      { key: null, value: Buffer.from(`${tag}-0`) },
      { key: null, value: Buffer.from(`${tag}-1`) },
    ],
    { producerId, producerEpoch: 0, baseSequence: 0, flags: TRANSACTIONAL_BIT },
  );
}

function plain(value: string) {
  return { ...at0, key: null, value: Buffer.from(value), timestamp: Date.now() };
}

/** Fetches from `offset`; returns the values read and where readUpTo moved the reader. */
async function fetchFrom(
  client: LogClient,
  offset: number,
  options: Omit<FetchOptions, 'readUpTo'> = { maxBytes: 1 << 20, maxWaitMs: 0 },
): Promise<{ values: string[]; next: number }> {
  let next = offset;
  const records: ConsumedRecord[] = await client.fetch([{ ...at0, offset }], {
    ...options,
    readUpTo: (_topic, _partition, nextOffset) => {
      next = nextOffset;
    },
  });
  return { values: records.map((r) => `${r.offset}:${r.value?.toString()}`), next };
}

/** Each in-process client over a fresh single-node log: the embedded one and a worker's, through a port. */
const clients: Array<
  [string, (embedded: EmbeddedLogClient) => { client: LogClient; close(): Promise<void> }]
> = [
  ['EmbeddedLogClient', (embedded) => ({ client: embedded, close: () => embedded.close() })],
  [
    'PortLogClient',
    (embedded) => {
      const { port1, port2 } = new MessageChannel();
      const server = new LogPortServer(port2, embedded, { slot: 0, slots: 1 }, () => undefined);
      const client = new PortLogClient(port1);
      return {
        client,
        close: async () => {
          await client.close();
          await server.close();
          await embedded.close();
        },
      };
    },
  ],
];

for (const [name, connect] of clients) {
  describe(`${name} reads committed`, () => {
    const tmp = temporaryDirectory();
    const { logs, embedded, markers } = brokerLog(tmp.dir);
    const { client, close } = connect(new EmbeddedLogClient(embedded));
    after(async () => {
      await close();
      logs.close();
      tmp[Symbol.dispose]();
    });

    it('returns an open transaction only once committed, waking a long poll at the LSO', async () => {
      await client.ensureTopic({ name: TOPIC, partitions: 1 });
      const log = logs.partition(TOPIC, 0);
      await client.produce([plain('a')]); // 0
      log.write(transactional(1, 'open')); // 1-2
      await log.durable();
      await client.produce([plain('b')]); // 3
      assert.deepEqual(await fetchFrom(client, 0), { values: ['0:a'], next: 1 });
      assert.deepEqual(await client.offsets(at0), { earliest: 0, latest: 1 });
      assert.deepEqual(await fetchFrom(client, 1), { values: [], next: 1 });

      const started = Date.now();
      const polled = fetchFrom(client, 1, { maxBytes: 1 << 20, maxWaitMs: LONG_POLL_MS });
      // Lets a worker's fetch reach the log's side and wait there (the embedded one already waits).
      await new Promise((resolve) => setTimeout(resolve, 100));
      const written = await markers.write(
        { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, committed: true },
        [at0],
      ); // marker at 4
      assert.deepEqual(
        written.map((w) => w.errorCode),
        [0],
      );
      const woken = await polled;
      assert.deepEqual(woken.values, ['1:open-0', '2:open-1', '3:b']);
      assert.ok(Date.now() - started < LONG_POLL_MS / 2, 'the commit marker woke the long poll');
      // The poll may have answered before the marker was durable (visible); then the next read passes it.
      assert.deepEqual(await fetchFrom(client, woken.next), { values: [], next: 5 });
      assert.deepEqual(await client.offsets(at0), { earliest: 0, latest: 5 });
    });

    it('never returns an aborted transaction, and readUpTo moves past it and its marker', async () => {
      const log = logs.partition(TOPIC, 0);
      log.write(transactional(2, 'aborted')); // 5-6
      await log.durable();
      assert.deepEqual(await client.offsets(at0), { earliest: 0, latest: 5 });
      await markers.write({ producerId: 2, producerEpoch: 0, coordinatorEpoch: 0, committed: false }, [at0]); // 7
      await client.produce([plain('c')]); // 8
      assert.deepEqual(await fetchFrom(client, 5), { values: ['8:c'], next: 9 });
      // A read that holds only the aborted batch (past maxBytes only the first batch is read) still moves on.
      assert.deepEqual(await fetchFrom(client, 5, { maxBytes: 1, maxWaitMs: 0 }), { values: [], next: 7 });
      assert.deepEqual(await fetchFrom(client, 7, { maxBytes: 1, maxWaitMs: 0 }), { values: [], next: 8 });
      assert.deepEqual(await fetchFrom(client, 0), {
        values: ['0:a', '1:open-0', '2:open-1', '3:b', '8:c'],
        next: 9,
      });
    });

    it('waits past an aborted transaction at the end of the log, then returns the record behind it', async () => {
      const log = logs.partition(TOPIC, 0);
      log.write(transactional(3, 'aborted')); // 9-10
      await log.durable();
      await markers.write({ producerId: 3, producerEpoch: 0, coordinatorEpoch: 0, committed: false }, [at0]); // 11
      let answered = false;
      const polled = fetchFrom(client, 9, { maxBytes: 1 << 20, maxWaitMs: LONG_POLL_MS }).finally(() => {
        answered = true;
      });
      // A fetch that answered at once with nothing for readers would have its caller spin on offset 9.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(answered, false, 'the fetch waits for data behind the aborted transaction');
      await client.produce([plain('d')]); // 12
      assert.deepEqual(await polled, { values: ['12:d'], next: 13 });
    });
  });
}

/** Appends `onFirstRead`'s records once the server's first read is done: they land while its fetch lingers. */
class AppendingAfterFirstRead extends EmbeddedLogClient {
  readonly asked: number[][] = [];
  readonly served: PartitionBatches[] = [];
  onFirstRead: () => Promise<unknown> = async () => undefined;

  override async fetchBatches(requests: FetchRequest[], options: FetchOptions): Promise<PartitionBatches[]> {
    this.asked.push(requests.map((request) => request.offset));
    const reads = await super.fetchBatches(requests, options);
    this.served.push(...reads);
    if (this.asked.length === 1) await this.onFirstRead();
    return reads;
  }
}

describe('LogPortServer lingering on a small fetch', () => {
  it('reads only what came during the linger, answers each partition side by side and moves the bytes', async () => {
    const tmp = temporaryDirectory();
    const { logs, embedded } = brokerLog(tmp.dir);
    const log = new AppendingAfterFirstRead(embedded);
    const { port1, port2 } = new MessageChannel();
    const server = new LogPortServer(port2, log, { slot: 0, slots: 1 }, () => undefined);
    const client = new PortLogClient(port1);
    try {
      await client.ensureTopic({ name: TOPIC, partitions: 2 });
      const at1 = { topic: TOPIC, partition: 1 };
      await log.produce([plain('x')]);
      log.onFirstRead = () => log.produce([plain('y'), { ...plain('z'), ...at1 }, { ...plain('w'), ...at1 }]);
      const records = await client.fetch(
        [
          { ...at0, offset: 0 },
          { ...at1, offset: 0 },
        ],
        { maxBytes: 1 << 20, maxWaitMs: 1_000 },
      );
      assert.deepEqual(
        records.map((r) => `${r.partition}:${r.offset}:${r.value?.toString()}`),
        ['0:0:x', '0:1:y', '1:0:z', '1:1:w'],
      );
      assert.deepEqual(log.asked, [
        [0, 0],
        [1, 0],
      ]);
      // Moved to the other end of the port, not copied: nothing of them is left on this thread.
      assert.ok(log.served.length > 0);
      for (const read of log.served) assert.equal(read.bytes.byteLength, 0);
    } finally {
      await client.close();
      await server.close();
      await log.close();
      logs.close();
      tmp[Symbol.dispose]();
    }
  });
});
