import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TRANSACTION_STATE_TOPIC } from '../src/broker/transaction-log.js';
import { RemoteLogClient } from '../src/client/remote-client.js';
import type { OutgoingRecord } from '../src/client/types.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { CoordinatorKey, coordinatorOf, kafkaOf } from './support/cluster-coordinators.js';
import { eventually } from './support/processes.js';
import { readTopic } from './support/read-partition.js';

/**
 * The remote client's transactional writer on a 3-broker cluster whose broker coordinating the writer's
 * transactional id is SIGKILLed while the writer runs transactions in a loop, twice: between two runs, then
 * (the first broker back) as a run starts. The writer goes on with the successor coordinator each time, every
 * run it reported committed is read (read_committed) exactly once, and nothing of a run it did not report
 * committed is. Before the writer sent its coordinator requests itself, the run after the first kill ended the
 * process (the library's uncaught TypeError).
 */
const TOPIC = 'writer-failover';
const PARTITIONS = 3;
const TRANSACTIONAL_ID = 'writer-failover-tx';
/** Transactions committed before the first kill, and after each kill. */
const RUNS_BEFORE_KILL = 3;
const RUNS_AFTER_KILL = 5;
/**
 * Records of a run per partition, and the client's request size: a run's records go in a dozen produce
 * requests, so the writer spends nearly all its time inside a transaction and the kill lands in one.
 */
const RECORDS_PER_PARTITION = 40;
const VALUE_BYTES = 1_000;
const PRODUCE_REQUEST_BYTES = 10_000;
/** Short, so the client's metadata is soon read again after the kill. */
const METADATA_MAX_AGE_MS = 1_000;

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

/** RECORDS_PER_PARTITION records per partition, values naming the run and the record (padded). */
function runRecords(run: number): OutgoingRecord[] {
  return Array.from({ length: PARTITIONS * RECORDS_PER_PARTITION }, (_, i) => ({
    topic: TOPIC,
    partition: i % PARTITIONS,
    key: null,
    value: Buffer.from(`run${run}-${i}-`.padEnd(VALUE_BYTES, '.')),
    timestamp: Date.now(),
  }));
}

test('the transactional writer survives the death of its transaction coordinator', {
  timeout: 300_000,
}, async () => {
  const admin = kafkaOf(cluster, 'writer-failover-admin').admin();
  await admin.connect();
  const client = new RemoteLogClient({
    bootstrapBrokers: cluster.bootstrap.split(','),
    clientId: 'writer-failover',
    requestTimeoutMs: 20_000,
    metadataMaxAgeMs: METADATA_MAX_AGE_MS,
    maxProduceRequestBytes: PRODUCE_REQUEST_BYTES,
  });
  try {
    await createReplicatedTopic(admin, TOPIC, PARTITIONS);
    const writer = client.transactionalWriter(TRANSACTIONAL_ID);
    await writer.init();
    const committed: number[] = [];
    const failures: unknown[] = [];
    const ended = () => committed.length + failures.length;
    let stop = false;
    let gate = Promise.resolve();
    /** whileRunning is called once a run has started, then cleared. */
    const hook: { whileRunning: (() => void) | null } = { whileRunning: null };
    const loop = (async () => {
      for (let run = 0; !stop; run++) {
        await gate;
        const running = writer.run(runRecords(run));
        hook.whileRunning?.();
        hook.whileRunning = null;
        try {
          await running;
          committed.push(run);
        } catch (error) {
          failures.push(error);
        }
      }
    })();
    const runsAfter = (endedBefore: number, what: string) =>
      eventually(
        async () => committed.length >= endedBefore + RUNS_AFTER_KILL || failures.length > 0,
        120_000,
        what,
      );
    try {
      await eventually(
        async () => committed.length >= RUNS_BEFORE_KILL,
        60_000,
        'transactions before the kill',
      );

      // Between two runs the coordinator is killed, and the next run waits until the cluster's metadata has
      // dropped it and the client's metadata has expired since: a client that kept the coordinator it first
      // found looks it up there and fails.
      const first = await coordinatorOf(
        cluster,
        CoordinatorKey.TRANSACTION,
        TRANSACTIONAL_ID,
        cluster.brokers[0]!.id,
      );
      let open: () => void = () => undefined;
      gate = new Promise((resolve) => {
        open = () => resolve();
      });
      const before = ended();
      await eventually(async () => ended() > before, 60_000, 'the run in flight');
      await cluster.kill(first);
      await eventually(
        async () => (await admin.describeCluster()).brokers.every((b) => b.nodeId !== first),
        60_000,
        'the killed broker gone from the metadata',
      );
      await new Promise((resolve) => setTimeout(resolve, 2 * METADATA_MAX_AGE_MS));
      const endedAtFirstKill = ended();
      open();
      await runsAfter(endedAtFirstKill, 'transactions after the first kill');
      const second = await coordinatorOf(
        cluster,
        CoordinatorKey.TRANSACTION,
        TRANSACTIONAL_ID,
        cluster.brokers.find((b) => b.id !== first)!.id,
      );
      assert.notEqual(second, first);

      // The killed broker back in sync everywhere (so a second kill leaves two replicas of every partition),
      // then the successor coordinator killed as a run starts: mid-transaction.
      await cluster.restart(first);
      await eventually(
        async () =>
          (await admin.fetchTopicMetadata({ topics: [TOPIC, TRANSACTION_STATE_TOPIC] })).topics.every(
            (topic) => topic.partitions.every((partition) => partition.isr.length === 3),
          ),
        120_000,
        'every replica back in sync',
      );
      let killed: Promise<void> = Promise.resolve();
      const endedAtSecondKill = ended();
      hook.whileRunning = () => {
        killed = cluster.kill(second);
      };
      await eventually(async () => hook.whileRunning === null, 60_000, 'a run started');
      await killed;
      await runsAfter(endedAtSecondKill, 'transactions after the second kill');
      assert.notEqual(
        await coordinatorOf(cluster, CoordinatorKey.TRANSACTION, TRANSACTIONAL_ID, first),
        second,
      );
    } finally {
      stop = true;
      await loop;
    }
    assert.deepEqual(failures, [], 'every run committed');

    const expected = committed.flatMap((run) => runRecords(run).map((r) => r.value!.toString())).sort();
    const read = async () => (await readTopic(client, TOPIC)).map((r) => r.value!.toString()).sort();
    // The last commit's markers may still be on their way to a partition.
    await eventually(async () => (await read()).length >= expected.length, 60_000, 'every commit visible');
    assert.deepEqual(await read(), expected, 'each committed run read once, nothing else');
  } finally {
    await client.close();
    await admin.disconnect();
  }
});
