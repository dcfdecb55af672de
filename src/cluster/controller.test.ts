import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { CoordinationError, type CoordinationOp, type Coordinator } from '../coordination/index.js';
import type {
  ClusterView,
  PartitionStateVersioned,
  ReportedOfflineReplicas,
  TopicInfo,
} from './cluster-view.js';
import { Controller } from './controller.js';
import { ClusterMetrics } from './metrics.js';
import type { LeaderElectionRequest, PartitionState } from './zk-layout.js';

const TOPIC = 'telemetry';
const CONTROLLER_EPOCH = 7;

/** What commit answers, call after call: throw (ZooKeeper away), refuse (a check failed) or take the ops. */
type CommitOutcome = 'unreachable' | 'refused' | 'taken';

interface LogLine {
  level: number;
  msg: string;
  failures?: number;
}

/**
 * A controller over a stand-in coordinator and shared view: topic TOPIC has two partitions on brokers 1, 2
 * and 3, and broker 1 is gone. Partition 0 was led by broker 1 (a new leader, 1 out of the ISR), partition 1
 * by broker 2 (1 only leaves the ISR).
 */
function controllerWith(
  outcomes: CommitOutcome[],
  reported: Record<string, ReportedOfflineReplicas> = {},
  partitionStates: Record<string, PartitionStateVersioned> = {},
  elections: Record<string, LeaderElectionRequest> = {},
) {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as LogLine);
        done();
      },
    }),
  );
  const state = (leader: number, isr: number[]): PartitionStateVersioned => ({
    state: { version: 1, controllerEpoch: 3, leader, leaderEpoch: 4, isr },
    version: 2,
  });
  const states = new Map<string, PartitionStateVersioned>([
    [`${TOPIC}:0`, state(1, [1, 2, 3])],
    [`${TOPIC}:1`, state(2, [2, 3, 1])],
    ...Object.entries(partitionStates),
  ]);
  const topic: TopicInfo = {
    name: TOPIC,
    topicId: '0'.repeat(32),
    replicas: [
      [1, 2, 3],
      [2, 3, 1],
    ],
    config: {},
  };
  const view = {
    topics: new Map([[TOPIC, topic]]),
    deleting: new Set<string>(),
    elections: new Map(Object.entries(elections)),
    reassignments: new Map(),
    shuttingDown: new Set<number>(),
    liveBrokerIds: () => new Set([2, 3]),
    state: (name: string, partition: number) => states.get(`${name}:${partition}`),
    offlineReplicas: (name: string, partition: number) =>
      reported[`${name}:${partition}`] ?? { offline: new Set<number>(), damaged: new Set<number>() },
    onChange: () => () => undefined,
  };
  const written: PartitionState[][] = [];
  const deleted: string[] = [];
  let commits = 0;
  const coordinator = {
    create: async () => true,
    get: async () => null,
    delete: async () => true,
    commit: async (ops: CoordinationOp[]) => {
      const outcome = outcomes[commits++] ?? 'taken';
      if (outcome === 'unreachable')
        throw new CoordinationError('UNREACHABLE', 'ZooKeeper silent for 1800 ms');
      if (outcome === 'refused') return false;
      deleted.push(...ops.flatMap((op) => (op.op === 'delete' ? [op.path] : [])));
      written.push(
        ops.flatMap((op) =>
          op.op === 'set' ? [JSON.parse(op.data.toString('utf8')) as PartitionState] : [],
        ),
      );
      return true;
    },
  };
  const registry = new Registry();
  const metrics = new ClusterMetrics(registry, () => {
    throw new Error('no gauges in this test');
  });
  const controller = new Controller(coordinator as unknown as Coordinator, view as unknown as ClusterView, {
    preferredLeaderCheckIntervalMs: 60_000,
    uncleanLeaderElection: false,
    logger,
    metrics,
  });
  return { controller, lines, written, deleted, metrics, commits: () => commits };
}

async function until(what: string, done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Controller', () => {
  it('warns once per run of failed passes, then at debug, and says when a pass succeeds again', async () => {
    const { controller, lines, written } = controllerWith([
      'unreachable',
      'unreachable',
      'unreachable',
      'unreachable',
      'taken',
    ]);
    controller.activate({ epoch: CONTROLLER_EPOCH, epochVersion: CONTROLLER_EPOCH });
    try {
      await until('the pass after the outage', () => written.length === 1);
      const failed = lines.filter((line) => line.msg === 'controller pass failed; retrying');
      assert.deepEqual(
        failed.map((line) => [line.level, line.failures]),
        [
          [40, 1],
          [20, 2],
          [20, 3],
          [20, 4],
        ],
      );
      const back = lines.filter((line) => line.msg === 'controller pass succeeded again');
      assert.deepEqual(
        back.map((line) => [line.level, line.failures]),
        [[30, 4]],
      );
      assert.ok(lines.indexOf(back[0]!) > lines.indexOf(failed.at(-1)!));
    } finally {
      controller.deactivate();
    }
  });

  it('counts its ISR shrinks and leader elections once, when ZooKeeper took them', async () => {
    // The first write is refused (a check failed): the next pass decides the same changes again.
    const { controller, lines, written, metrics, commits } = controllerWith(['refused', 'taken']);
    controller.activate({ epoch: CONTROLLER_EPOCH, epochVersion: CONTROLLER_EPOCH });
    try {
      await until('the second pass', () => written.length === 1);
      assert.equal(commits(), 2);
      assert.deepEqual(
        written[0]!.map((s) => [s.leader, s.isr, s.controllerEpoch]),
        [
          [2, [2, 3], CONTROLLER_EPOCH],
          [2, [2, 3], CONTROLLER_EPOCH],
        ],
      );
      const byReason = async (counter: typeof metrics.controllerIsrShrinks) =>
        Object.fromEntries((await counter.get()).values.map((v) => [v.labels.reason, v.value]));
      assert.deepEqual(await byReason(metrics.controllerIsrShrinks), {
        'leader-lost': 1,
        'isr-member-lost': 1,
      });
      assert.deepEqual(await byReason(metrics.leaderElections), { 'leader-lost': 1 });
      // The leaders' own shrinks stay apart, under the metric name they always had.
      assert.deepEqual(
        (await metrics.isrShrinks.get()).values.map((v) => v.value),
        [0],
      );
      assert.equal(lines.filter((line) => line.msg === 'partition state changed').length, 2);
      // A refused write is not a failure: no run of failures to end.
      assert.equal(lines.filter((line) => line.msg === 'controller pass succeeded again').length, 0);
    } finally {
      controller.deactivate();
    }
  });

  it('moves the leadership of a partition whose leader reported its replica damaged, there only', async () => {
    // Broker 2 reported its replica of partition 1 damaged; its replica of partition 0 is whole.
    const { controller, lines, written, metrics } = controllerWith([], {
      [`${TOPIC}:1`]: { offline: new Set([2]), damaged: new Set([2]) },
    });
    controller.activate({ epoch: CONTROLLER_EPOCH, epochVersion: CONTROLLER_EPOCH });
    try {
      await until('the pass', () => written.length === 1);
      assert.deepEqual(
        written[0]!.map((s) => [s.leader, s.isr, s.leaderEpoch]),
        [
          [2, [2, 3], 5],
          [3, [3], 5],
        ],
      );
      const changed = lines.filter((line) => line.msg === 'partition state changed') as Array<
        LogLine & { partition?: number; reason?: string }
      >;
      assert.deepEqual(
        changed.map((line) => [line.partition, line.reason]),
        [
          [0, 'leader-lost'],
          [1, 'replica-offline'],
        ],
      );
      const elections = Object.fromEntries(
        (await metrics.leaderElections.get()).values.map((v) => [v.labels.reason, v.value]),
      );
      assert.deepEqual(elections, { 'leader-lost': 1, 'replica-offline': 1 });
    } finally {
      controller.deactivate();
    }
  });

  it('leaves a damaged leader with no other in-sync replica leading, says why once, counts no election', async () => {
    const sole: PartitionStateVersioned = {
      state: { version: 1, controllerEpoch: 3, leader: 3, leaderEpoch: 4, isr: [3] },
      version: 2,
    };
    const { controller, lines, written, metrics } = controllerWith(
      [],
      { [`${TOPIC}:1`]: { offline: new Set([3]), damaged: new Set([3]) } },
      { [`${TOPIC}:1`]: sole },
    );
    controller.activate({ epoch: CONTROLLER_EPOCH, epochVersion: CONTROLLER_EPOCH });
    try {
      await until('the pass', () => written.length === 1);
      // Only partition 0 (its leader, broker 1, is gone) changes.
      assert.deepEqual(
        written[0]!.map((s) => [s.leader, s.isr]),
        [[2, [2, 3]]],
      );
      const kept = lines.filter((line) => line.msg.startsWith('leader reported a damaged replica'));
      assert.equal(kept.length, 1);
      assert.equal(kept[0]!.level, 40);
      const elections = (await metrics.leaderElections.get()).values.map((v) => v.labels.reason);
      assert.deepEqual(elections, ['leader-lost']);
    } finally {
      controller.deactivate();
    }
  });

  it('carries out an ElectLeaders request: the preferred replica leads at a new epoch, then the request goes', async () => {
    // Partition 1 prefers broker 2, which is in sync but not leading (3 took over while it was away).
    const { controller, written, deleted } = controllerWith(
      [],
      {},
      {
        [`${TOPIC}:1`]: {
          state: { version: 1, controllerEpoch: 3, leader: 3, leaderEpoch: 6, isr: [3, 2] },
          version: 5,
        },
      },
      { 'req-1': { version: 1, type: 0, partitions: [{ topic: TOPIC, partition: 1 }] } },
    );
    controller.activate({ epoch: CONTROLLER_EPOCH, epochVersion: CONTROLLER_EPOCH });
    try {
      await until('the request deleted', () => deleted.length === 1);
      const partition1 = written.flat().find((s) => s.leaderEpoch === 7);
      assert.deepEqual(partition1, {
        version: 1,
        controllerEpoch: CONTROLLER_EPOCH,
        leader: 2,
        leaderEpoch: 7,
        isr: [3, 2],
      });
      assert.deepEqual(deleted, ['/admin/elect_leaders/req-1']);
    } finally {
      controller.deactivate();
    }
  });
});
