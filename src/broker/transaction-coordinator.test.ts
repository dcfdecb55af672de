import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import { LogManager, type PartitionLog } from '../log/index.js';
import { ErrorCode, encodeRecordBatch } from '../protocol/index.js';
import { OFFSETS_TOPIC } from './offset-store.js';
import { ProducerIdAllocator } from './producer-state.js';
import type { TransactionCoordinator, TransactionCoordinatorOptions } from './transaction-coordinator.js';
import { encodeTxnKey, encodeTxnValue, TRANSACTION_STATE_TOPIC, TxnState } from './transaction-log.js';
import type { TxnMarker } from './transaction-markers.js';
import { LocalTransactions } from './transaction-router.js';

interface Written {
  marker: TxnMarker;
  partitions: Array<{ topic: string; partition: number }>;
}

interface Fixture {
  coordinator: TransactionCoordinator;
  markers: Written[];
  /** Markers fail while this is set (the partition's leader is away). */
  failMarkers: boolean;
  clock: { now: number };
  /** The `__transaction_state` partition of the running coordinator. */
  stateLog(): PartitionLog;
  restart(): Promise<TransactionCoordinator>;
}

const SELF = { nodeId: 1, endpoints: new Map([['PLAINTEXT', { host: '127.0.0.1', port: 9092 }]]) };

/** A coordinator over a fresh data directory's `__transaction_state`, with recorded markers. */
async function withTransactions(
  work: (fixture: Fixture) => Promise<void>,
  overrides: Partial<TransactionCoordinatorOptions> = {},
): Promise<void> {
  using tmp = temporaryDirectory();
  const logger = new RecordingLogger();
  const fixture: Fixture = {
    coordinator: null!,
    markers: [],
    failMarkers: false,
    clock: { now: 1_000_000 },
    stateLog: () => current.logs.partition(TRANSACTION_STATE_TOPIC, 0),
    restart: async () => {
      current.router.close();
      await current.logs.close();
      current = open();
      fixture.coordinator = current.router.coordinatorOf();
      return fixture.coordinator;
    },
  };
  const open = () => {
    const logs = LogManager.open({ dataDir: tmp.dir, logger });
    const router = LocalTransactions.open(logs, SELF, {
      producerIds: new ProducerIdAllocator(tmp.dir),
      markers: {
        write: async (marker, partitions) => {
          if (fixture.failMarkers) {
            return partitions.map((p) => ({ ...p, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }));
          }
          fixture.markers.push({ marker, partitions: [...partitions] });
          return partitions.map((p) => ({ ...p, errorCode: ErrorCode.NONE }));
        },
      },
      coordinatorEpoch: 0,
      offsetsPartitionOf: (groupId) => (groupId === 'g' ? 3 : 0),
      partitionExists: (topic) => topic === 't',
      maxTimeoutMs: 60_000,
      abortCheckIntervalMs: 50,
      idExpirationMs: 3_600_000,
      maxTransactionalIds: 3,
      logger,
      now: () => fixture.clock.now,
      ...overrides,
    });
    return { logs, router };
  };
  let current = open();
  fixture.coordinator = current.router.coordinatorOf();
  try {
    await work(fixture);
  } finally {
    current.router.close();
    await current.logs.close();
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The producer id and epoch of an InitProducerId result. */
const idOf = (r: { producerId: number; producerEpoch: number }) => ({
  producerId: r.producerId,
  producerEpoch: r.producerEpoch,
});

const t0 = { topic: 't', partition: 0 };
const t1 = { topic: 't', partition: 1 };

describe('TransactionCoordinator', () => {
  it('bumps the epoch on each InitProducerId of a transactional id and fences the older producer', () =>
    withTransactions(async ({ coordinator }) => {
      const first = await coordinator.initProducerId('tx', 10_000, null);
      assert.equal(first.errorCode, ErrorCode.NONE);
      assert.equal(first.producerEpoch, 0);
      const second = await coordinator.initProducerId('tx', 10_000, null);
      assert.deepEqual(second, { errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: 1 });
      assert.equal(await coordinator.addPartitions('tx', first, [t0]), ErrorCode.PRODUCER_FENCED);
      assert.equal(
        await coordinator.addPartitions('tx', { producerId: 999, producerEpoch: 1 }, [t0]),
        ErrorCode.INVALID_PRODUCER_ID_MAPPING,
      );
      assert.equal(await coordinator.addPartitions('tx', second, [t0]), ErrorCode.NONE);
      // KIP-360: a producer naming an id and epoch that are not the current ones is fenced.
      assert.equal(
        (await coordinator.initProducerId('tx', 10_000, first)).errorCode,
        ErrorCode.PRODUCER_FENCED,
      );
    }));

  it('refuses a transaction timeout above the maximum and transactional ids beyond the limit', () =>
    withTransactions(async ({ coordinator }) => {
      assert.equal(
        (await coordinator.initProducerId('tx', 60_001, null)).errorCode,
        ErrorCode.INVALID_TRANSACTION_TIMEOUT,
      );
      assert.equal(
        (await coordinator.initProducerId('tx', 0, null)).errorCode,
        ErrorCode.INVALID_TRANSACTION_TIMEOUT,
      );
      for (const id of ['a', 'b', 'c']) {
        assert.equal((await coordinator.initProducerId(id, 1000, null)).errorCode, ErrorCode.NONE);
      }
      assert.equal(
        (await coordinator.initProducerId('d', 1000, null)).errorCode,
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
      );
    }));

  it('commits: Prepare answered, markers to every partition (the group offsets one too), then Complete', () =>
    withTransactions(async ({ coordinator, markers }) => {
      const producer = await coordinator.initProducerId('tx', 10_000, null);
      assert.equal(await coordinator.addPartitions('tx', producer, [t0, t1]), ErrorCode.NONE);
      assert.equal(await coordinator.addOffsets('tx', producer, 'g'), ErrorCode.NONE);
      const offsetsPartition = { topic: OFFSETS_TOPIC, partition: 3 };
      assert.deepEqual(coordinator.describe('tx')!.partitions, [
        { topic: 't', partitions: [0, 1] },
        { topic: OFFSETS_TOPIC, partitions: [3] },
      ]);
      assert.equal(await coordinator.endTransaction('tx', producer, true), ErrorCode.NONE);
      await until(() => coordinator.describe('tx')!.state === 'CompleteCommit', 'CompleteCommit');
      assert.deepEqual(markers, [
        {
          marker: { ...idOf(producer), coordinatorEpoch: 0, committed: true },
          partitions: [t0, t1, offsetsPartition],
        },
      ]);
      assert.deepEqual(coordinator.describe('tx')!.partitions, []);
      // A retried EndTxn whose answer was lost succeeds; the opposite outcome is an invalid state.
      assert.equal(await coordinator.endTransaction('tx', producer, true), ErrorCode.NONE);
      assert.equal(await coordinator.endTransaction('tx', producer, false), ErrorCode.INVALID_TXN_STATE);
    }));

  it('aborts: abort markers to every partition, the group offsets one too', () =>
    withTransactions(async ({ coordinator, markers }) => {
      const producer = await coordinator.initProducerId('tx', 10_000, null);
      assert.equal(await coordinator.endTransaction('tx', producer, false), ErrorCode.INVALID_TXN_STATE);
      await coordinator.addPartitions('tx', producer, [t0]);
      await coordinator.addOffsets('tx', producer, 'g');
      assert.equal(await coordinator.endTransaction('tx', producer, false), ErrorCode.NONE);
      await until(() => coordinator.describe('tx')!.state === 'CompleteAbort', 'CompleteAbort');
      assert.deepEqual(markers, [
        {
          marker: { ...idOf(producer), coordinatorEpoch: 0, committed: false },
          partitions: [t0, { topic: OFFSETS_TOPIC, partition: 3 }],
        },
      ]);
    }));

  it('a second InitProducerId aborts the ongoing transaction at a new epoch, answering CONCURRENT_TRANSACTIONS meanwhile', () =>
    withTransactions(async (fixture) => {
      const { coordinator, markers } = fixture;
      const zombie = await coordinator.initProducerId('tx', 10_000, null);
      await coordinator.addPartitions('tx', zombie, [t0]);
      fixture.failMarkers = true;
      assert.equal(
        (await coordinator.initProducerId('tx', 10_000, null)).errorCode,
        ErrorCode.CONCURRENT_TRANSACTIONS,
      );
      assert.equal(coordinator.describe('tx')!.state, 'PrepareAbort');
      assert.equal(
        (await coordinator.initProducerId('tx', 10_000, null)).errorCode,
        ErrorCode.CONCURRENT_TRANSACTIONS,
      );
      fixture.failMarkers = false;
      await until(() => coordinator.describe('tx')!.state === 'CompleteAbort', 'the abort to complete');
      assert.deepEqual(markers[0]!.marker, {
        producerId: zombie.producerId,
        producerEpoch: 1,
        coordinatorEpoch: 0,
        committed: false,
      });
      const next = await coordinator.initProducerId('tx', 10_000, null);
      assert.deepEqual(next, { errorCode: ErrorCode.NONE, producerId: zombie.producerId, producerEpoch: 2 });
      assert.equal(await coordinator.endTransaction('tx', zombie, true), ErrorCode.PRODUCER_FENCED);
    }));

  it('aborts a transaction past its timeout, fencing its producer', () =>
    withTransactions(async ({ coordinator, markers, clock }) => {
      const producer = await coordinator.initProducerId('tx', 5_000, null);
      await coordinator.addPartitions('tx', producer, [t0]);
      clock.now += 4_000;
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(coordinator.describe('tx')!.state, 'Ongoing');
      clock.now += 2_000;
      await until(() => coordinator.describe('tx')!.state === 'CompleteAbort', 'the timed-out abort');
      assert.equal(markers[0]!.marker.producerEpoch, producer.producerEpoch + 1);
      assert.equal(await coordinator.endTransaction('tx', producer, true), ErrorCode.PRODUCER_FENCED);
    }));

  it('after a restart completes prepared transactions (markers again) and keeps ongoing ones until their timeout', () =>
    withTransactions(async (fixture) => {
      let coordinator = fixture.coordinator;
      const prepared = await coordinator.initProducerId('prepared', 10_000, null);
      await coordinator.addPartitions('prepared', prepared, [t0]);
      await coordinator.addOffsets('prepared', prepared, 'g');
      const ongoing = await coordinator.initProducerId('ongoing', 10_000, null);
      await coordinator.addPartitions('ongoing', ongoing, [t1]);
      // The markers cannot be written before the "crash": PrepareCommit is in the log, nothing after it.
      fixture.failMarkers = true;
      assert.equal(await coordinator.endTransaction('prepared', prepared, true), ErrorCode.NONE);
      coordinator = await fixture.restart();
      fixture.failMarkers = false;
      await until(() => coordinator.describe('prepared')!.state === 'CompleteCommit', 'the reloaded commit');
      assert.deepEqual(fixture.markers, [
        {
          marker: { ...idOf(prepared), coordinatorEpoch: 0, committed: true },
          partitions: [t0, { topic: OFFSETS_TOPIC, partition: 3 }],
        },
      ]);
      assert.equal(coordinator.describe('ongoing')!.state, 'Ongoing');
      fixture.clock.now += 10_001;
      await until(() => coordinator.describe('ongoing')!.state === 'CompleteAbort', 'the reloaded timeout');
      // Reloaded again: the completed states stay, nothing is sent twice.
      coordinator = await fixture.restart();
      assert.equal(coordinator.describe('prepared')!.state, 'CompleteCommit');
      assert.equal(coordinator.describe('ongoing')!.state, 'CompleteAbort');
      assert.equal((await coordinator.initProducerId('ongoing', 10_000, null)).producerEpoch, 2);
    }));

  it('moves an exhausted epoch to a new producer id', () =>
    withTransactions(async (fixture) => {
      const first = await fixture.coordinator.initProducerId('tx', 10_000, null);
      // The last epoch, as 32,766 InitProducerIds would leave it.
      const log = fixture.stateLog();
      log.write(
        encodeRecordBatch([
          {
            key: encodeTxnKey('tx'),
            value: encodeTxnValue({
              producerId: first.producerId,
              previousProducerId: -1,
              producerEpoch: 32_766,
              timeoutMs: 10_000,
              state: TxnState.CompleteCommit,
              partitions: [],
              lastUpdateMs: fixture.clock.now,
              startMs: -1,
            }),
          },
        ]),
      );
      await log.durable();
      const coordinator = await fixture.restart();
      const moved = await coordinator.initProducerId('tx', 10_000, null);
      assert.equal(moved.errorCode, ErrorCode.NONE);
      assert.notEqual(moved.producerId, first.producerId);
      assert.equal(moved.producerEpoch, 0);
    }));

  it('lists with state, producer id and duration filters', () =>
    withTransactions(async ({ coordinator, clock }) => {
      const a = await coordinator.initProducerId('a', 10_000, null);
      await coordinator.initProducerId('b', 10_000, null);
      await coordinator.addPartitions('a', a, [t0]);
      clock.now += 500;
      const states = coordinator.list().map((t) => [t.transactionalId, t.state]);
      assert.deepEqual(states, [
        ['a', 'Ongoing'],
        ['b', 'Empty'],
      ]);
      assert.equal(coordinator.describe('a')!.startMs, clock.now - 500);
    }));
});
