import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeBatch, RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import { DEFAULT_TOPIC_CONFIG, OpenFileLimiter, PartitionLog } from '../log/index.js';
import { ErrorCode } from '../protocol/index.js';
import { type LeaderHooks, LeaderPartition } from './leader-partition.js';

const ME = 1;
const LAG_MS = 10_000;
/** Long enough never to fire in a test: a waiter that is not resolved otherwise shows up as pending. */
const NO_TIMEOUT_MS = 60_000;

/** Stands in for the compare-and-set on the partition state node, answering as a test tells it to. */
class FakeHooks implements LeaderHooks {
  readonly writes: Array<{ isr: number[]; stateVersion: number }> = [];
  readonly changes: Array<{ kind: 'shrink' | 'expand'; isr: number[] }> = [];
  advanced = 0;
  /** accept: stored at the next version; refuse: the compare-and-set lost (null); hold: until release(). */
  mode: 'accept' | 'refuse' | 'hold' = 'accept';
  private readonly held: Array<(version: number | null) => void> = [];

  persistIsr(isr: number[], stateVersion: number): Promise<number | null> {
    this.writes.push({ isr: [...isr], stateVersion });
    if (this.mode === 'accept') return Promise.resolve(stateVersion + 1);
    if (this.mode === 'refuse') return Promise.resolve(null);
    return new Promise((resolve) => this.held.push(resolve));
  }

  release(version: number | null): void {
    const resolve = this.held.shift();
    assert.ok(resolve, 'no ISR write is held');
    resolve(version);
  }

  highWatermarkAdvanced(): void {
    this.advanced++;
  }

  isrChanged(kind: 'shrink' | 'expand', isr: number[]): void {
    this.changes.push({ kind, isr: [...isr] });
  }
}

/** Lets the ISR write's promise chain (then, catch, finally) run to its end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const PENDING = 'pending';
/** The waiter's answer if it has one by now, else PENDING. */
async function outcome(waiter: Promise<number>): Promise<number | typeof PENDING> {
  const later = settle().then((): typeof PENDING => PENDING);
  return Promise.race([waiter, later]);
}

/**
 * A real partition log as the replica manager opens it: flush policy interval (so durableEndOffset is the
 * written end, which produce below brings to the log end) and a replication high watermark set from the start.
 */
async function withLog(body: (log: PartitionLog) => Promise<void>): Promise<void> {
  using tmp = temporaryDirectory('edgestream-leader-');
  const log = PartitionLog.open({
    dir: tmp.dir,
    config: { ...DEFAULT_TOPIC_CONFIG, flushPolicy: 'interval', flushMs: 60_000 },
    files: new OpenFileLimiter(16),
    logger: new RecordingLogger(),
  });
  log.setReplicationHighWatermark(0);
  try {
    await body(log);
  } finally {
    await log.close();
  }
}

/** A leader's write of `count` records, in the file when it returns; returns the new log end offset. */
function produce(log: PartitionLog, leaderEpoch: number, count: number): number {
  log.write(makeBatch('r', count), { leaderEpoch });
  log.settleWrites();
  return log.logEndOffset;
}

interface LeaderOptions {
  leaderEpoch?: number;
  replicas?: number[];
  isr?: number[];
  stateVersion?: number;
  minInsyncReplicas?: number;
  nowMs?: number;
}

/** Becomes leader as the replica manager does: the epoch is assigned in the log first. */
function lead(log: PartitionLog, hooks: FakeHooks, options: LeaderOptions = {}): LeaderPartition {
  const leaderEpoch = options.leaderEpoch ?? 0;
  log.assignLeaderEpoch(leaderEpoch);
  return new LeaderPartition(
    'orders',
    0,
    log,
    leaderEpoch,
    options.replicas ?? [1, 2, 3],
    options.isr ?? [1, 2, 3],
    options.stateVersion ?? 7,
    { brokerId: ME, replicaLagTimeMaxMs: LAG_MS, minInsyncReplicas: options.minInsyncReplicas ?? 2 },
    hooks,
    options.nowMs ?? 0,
  );
}

describe('high watermark', () => {
  it('is the lowest fetch offset over the ISR and never moves back', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = lead(log, hooks);
      produce(log, 0, 5);
      leader.updateHighWatermark();
      assert.equal(leader.highWatermark, 0, 'no follower has fetched yet');

      leader.followerFetched(2, 5, 1);
      assert.equal(leader.highWatermark, 0, 'follower 3 has nothing yet');
      leader.followerFetched(3, 3, 1);
      assert.equal(leader.highWatermark, 3);
      assert.equal(log.highWatermark, 3, 'consumers see up to the high watermark');
      assert.equal(hooks.advanced, 1);
      leader.followerFetched(3, 5, 2);
      assert.equal(leader.highWatermark, 5);
      assert.equal(hooks.advanced, 2);

      // A follower that truncated and fetches from further back does not take committed records back.
      leader.followerFetched(2, 2, 3);
      assert.equal(leader.highWatermark, 5);
      assert.equal(log.highWatermark, 5);
      assert.equal(hooks.advanced, 2);

      // The leader's own end counts too: followers at its end, new records wait for them.
      produce(log, 0, 5);
      leader.updateHighWatermark();
      assert.equal(leader.highWatermark, 5);
      leader.followerFetched(2, 10, 4);
      leader.followerFetched(3, 10, 4);
      assert.equal(leader.highWatermark, 10);
      assert.equal(log.highWatermark, 10);
      assert.deepEqual(hooks.writes, [], 'nobody joined or left the ISR');
    }));

  it('counts only ISR members: a replica outside it does not hold the high watermark back', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = lead(log, hooks, { isr: [1, 2] });
      produce(log, 0, 5);
      leader.followerFetched(2, 5, 1);
      assert.equal(leader.highWatermark, 5);
    }));

  it('with the leader alone in the ISR, is the leader end', () =>
    withLog(async (log) => {
      const leader = lead(log, new FakeHooks(), { isr: [1], minInsyncReplicas: 1 });
      produce(log, 0, 4);
      leader.updateHighWatermark();
      assert.equal(leader.highWatermark, 4);
    }));
});

describe('waitForCommit', () => {
  it('resolves NONE once every ISR follower fetched past the offset', () =>
    withLog(async (log) => {
      const leader = lead(log, new FakeHooks());
      const end = produce(log, 0, 5);
      const committed = leader.waitForCommit(end, NO_TIMEOUT_MS);
      leader.followerFetched(2, 5, 1);
      assert.equal(await outcome(committed), PENDING, 'follower 3 does not have it yet');
      leader.followerFetched(3, 4, 1);
      assert.equal(await outcome(committed), PENDING, 'follower 3 lacks the last record');
      // Below the high watermark already: answered at once.
      assert.equal(await outcome(leader.waitForCommit(4, NO_TIMEOUT_MS)), ErrorCode.NONE);
      leader.followerFetched(3, 5, 2);
      assert.equal(await outcome(committed), ErrorCode.NONE);
    }));

  it('resolves REQUEST_TIMED_OUT when the followers do not catch up in time', () =>
    withLog(async (log) => {
      const leader = lead(log, new FakeHooks());
      const end = produce(log, 0, 5);
      leader.followerFetched(2, 5, 1);
      assert.equal(await leader.waitForCommit(end, 20), ErrorCode.REQUEST_TIMED_OUT);
    }));

  it('resolves NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is below min.insync.replicas', () =>
    withLog(async (log) => {
      const leader = lead(log, new FakeHooks(), { replicas: [1, 2], isr: [1], minInsyncReplicas: 2 });
      const end = produce(log, 0, 5);
      leader.updateHighWatermark();
      assert.equal(
        await outcome(leader.waitForCommit(end, NO_TIMEOUT_MS)),
        ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
      );
    }));

  it('a waiter committed by an ISR shrink below min.insync.replicas gets NOT_ENOUGH_REPLICAS_AFTER_APPEND', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = lead(log, hooks, { replicas: [1, 2], isr: [1, 2], minInsyncReplicas: 2 });
      const end = produce(log, 0, 5);
      const committed = leader.waitForCommit(end, NO_TIMEOUT_MS);
      leader.checkLaggingFollowers(LAG_MS + 1);
      await settle();
      assert.deepEqual(leader.isr, [1]);
      assert.equal(await outcome(committed), ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    }));

  it('resolves NOT_LEADER_OR_FOLLOWER on resign, and answers so afterwards', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = lead(log, hooks);
      const end = produce(log, 0, 5);
      const committed = leader.waitForCommit(end, NO_TIMEOUT_MS);
      // An ISR write in flight when leadership moves on must not be applied to the deposed leader.
      hooks.mode = 'hold';
      leader.checkLaggingFollowers(LAG_MS + 1);
      leader.resign();
      assert.equal(await outcome(committed), ErrorCode.NOT_LEADER_OR_FOLLOWER);
      assert.equal(await outcome(leader.waitForCommit(0, NO_TIMEOUT_MS)), ErrorCode.NOT_LEADER_OR_FOLLOWER);
      hooks.release(8);
      await settle();
      assert.deepEqual(leader.isr, [1, 2, 3]);
      assert.equal(leader.stateVersion, 7);
      assert.deepEqual(hooks.changes, []);
    }));
});

describe('ISR shrink', () => {
  it('a follower that fetches without catching up leaves after replicaLagTimeMaxMs; the high watermark then moves on', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = lead(log, hooks, { nowMs: 1_000 });
      produce(log, 0, 5);
      leader.followerFetched(2, 5, 2_000);
      leader.followerFetched(3, 5, 2_000);
      assert.equal(leader.highWatermark, 5);
      const end = produce(log, 0, 5);
      leader.followerFetched(2, end, 3_000);
      // Follower 3 keeps fetching but never gets past where it was at 2 000 ms: fetching is not catching up.
      for (const nowMs of [5_000, 8_000, 11_000]) leader.followerFetched(3, 5, nowMs);
      assert.equal(leader.highWatermark, 5);

      leader.checkLaggingFollowers(2_000 + LAG_MS);
      assert.deepEqual(hooks.writes, [], 'exactly replicaLagTimeMaxMs behind is still in sync');

      hooks.mode = 'hold';
      leader.checkLaggingFollowers(2_000 + LAG_MS + 1);
      assert.deepEqual(hooks.writes, [{ isr: [1, 2], stateVersion: 7 }]);
      await settle();
      // One ISR write at a time: the next check does not race a second compare-and-set at the same version.
      leader.checkLaggingFollowers(2_000 + LAG_MS + 2);
      assert.equal(hooks.writes.length, 1);
      // Until the removal is stored the controller may still elect follower 3: it keeps counting.
      assert.deepEqual(leader.isr, [1, 2, 3]);
      assert.equal(leader.highWatermark, 5);

      hooks.release(8);
      await settle();
      assert.deepEqual(leader.isr, [1, 2]);
      assert.equal(leader.stateVersion, 8);
      assert.deepEqual(hooks.changes, [{ kind: 'shrink', isr: [1, 2] }]);
      assert.equal(leader.highWatermark, end);
      assert.equal(log.highWatermark, end);
    }));

  it('a follower that always reaches the leader end of its previous fetch stays in sync behind a busy leader', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = lead(log, hooks, { replicas: [1, 2], isr: [1, 2] });
      let previousEnd = produce(log, 0, 5);
      leader.followerFetched(2, 0, 1_000);
      // Each fetch asks for what the leader had at the previous one, while the leader has grown again.
      for (const nowMs of [6_000, 11_000, 16_000]) {
        const end = produce(log, 0, 5);
        leader.followerFetched(2, previousEnd, nowMs);
        previousEnd = end;
      }
      // Caught up as of 11 000 ms (the fetch at 16 000 reached the end of the one at 11 000).
      leader.checkLaggingFollowers(11_000 + LAG_MS);
      assert.deepEqual(hooks.writes, []);
      leader.checkLaggingFollowers(11_000 + LAG_MS + 1);
      assert.deepEqual(hooks.writes, [{ isr: [1], stateVersion: 7 }]);
      await settle();
      assert.deepEqual(leader.isr, [1]);
    }));

  it('a refused ISR write (null) changes nothing and is tried again', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = lead(log, hooks);
      const end = produce(log, 0, 5);
      leader.followerFetched(2, end, 1_000);
      hooks.mode = 'refuse';
      leader.checkLaggingFollowers(LAG_MS + 1);
      await settle();
      assert.equal(hooks.writes.length, 1);
      assert.deepEqual(leader.isr, [1, 2, 3]);
      assert.equal(leader.stateVersion, 7);
      assert.deepEqual(hooks.changes, []);
      assert.equal(leader.highWatermark, 0, 'follower 3 is still in the ISR as far as anyone knows');

      hooks.mode = 'accept';
      leader.checkLaggingFollowers(LAG_MS + 2);
      await settle();
      assert.deepEqual(hooks.writes[1], { isr: [1, 2], stateVersion: 7 });
      assert.deepEqual(leader.isr, [1, 2]);
      assert.equal(leader.highWatermark, end);
    }));
});

describe('ISR expansion', () => {
  it('a follower out of the ISR is added back once it reaches the high watermark', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = lead(log, hooks, { isr: [1, 2] });
      produce(log, 0, 5);
      leader.followerFetched(2, 5, 1);
      assert.equal(leader.highWatermark, 5);
      produce(log, 0, 5);
      leader.followerFetched(3, 4, 2);
      assert.deepEqual(hooks.writes, [], 'below the high watermark');
      // At the high watermark, though still short of the log end (10): in sync.
      leader.followerFetched(3, 5, 3);
      assert.deepEqual(hooks.writes, [{ isr: [1, 2, 3], stateVersion: 7 }]);
      await settle();
      assert.deepEqual(leader.isr, [1, 2, 3]);
      assert.equal(leader.stateVersion, 8);
      assert.deepEqual(hooks.changes, [{ kind: 'expand', isr: [1, 2, 3] }]);
    }));

  it('a follower must also have the records before this leader epoch started (KIP-101)', () =>
    withLog(async (log) => {
      // The previous leader wrote 5 records at epoch 0, of which only 3 were committed.
      produce(log, 0, 5);
      log.setReplicationHighWatermark(3);
      const hooks = new FakeHooks();
      const leader = lead(log, hooks, { leaderEpoch: 1, isr: [1, 2] });
      assert.equal(leader.highWatermark, 3);
      assert.equal(leader.epochStartOffset, 5);
      leader.followerFetched(3, 4, 1);
      assert.deepEqual(hooks.writes, [], 'at the high watermark but short of the epoch start');
      leader.followerFetched(3, 5, 2);
      assert.deepEqual(hooks.writes, [{ isr: [1, 2, 3], stateVersion: 7 }]);
    }));

  /** Leader alone in the ISR with 5 committed records; follower 2 reaches them and its addition is held. */
  async function expansionInFlight(log: PartitionLog, hooks: FakeHooks): Promise<LeaderPartition> {
    const leader = lead(log, hooks, { replicas: [1, 2], isr: [1], minInsyncReplicas: 1 });
    produce(log, 0, 5);
    leader.updateHighWatermark();
    assert.equal(leader.highWatermark, 5);
    hooks.mode = 'hold';
    leader.followerFetched(2, 5, 1);
    assert.deepEqual(hooks.writes, [{ isr: [1, 2], stateVersion: 7 }]);
    produce(log, 0, 5);
    leader.updateHighWatermark();
    await settle();
    // The controller may read the new ISR any moment now: follower 2 must have all that is committed.
    assert.equal(leader.highWatermark, 5, 'the member being added counts at once (maximal ISR)');
    return leader;
  }

  it('an expansion in flight counts the new member; once stored it stays counted', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = await expansionInFlight(log, hooks);
      hooks.release(8);
      await settle();
      assert.deepEqual(leader.isr, [1, 2]);
      assert.equal(leader.highWatermark, 5);
      leader.followerFetched(2, 10, 2);
      assert.equal(leader.highWatermark, 10);
    }));

  it('an expansion refused (null) leaves the ISR as it was and stops counting the follower', () =>
    withLog(async (log) => {
      const hooks = new FakeHooks();
      const leader = await expansionInFlight(log, hooks);
      hooks.release(null);
      await settle();
      assert.deepEqual(leader.isr, [1]);
      assert.equal(leader.stateVersion, 7);
      assert.deepEqual(hooks.changes, []);
      assert.equal(leader.highWatermark, 10);
    }));
});

describe('inherit', () => {
  /** Epoch 3 leads with follower 2 at 5 and follower 3 at 3, and an acks=all produce waits for 5. */
  async function previousLeader(log: PartitionLog) {
    const previous = lead(log, new FakeHooks(), { leaderEpoch: 3 });
    const end = produce(log, 3, 5);
    previous.followerFetched(2, 5, 1);
    previous.followerFetched(3, 3, 1);
    assert.equal(previous.highWatermark, 3);
    const committed = previous.waitForCommit(end, NO_TIMEOUT_MS);
    assert.equal(await outcome(committed), PENDING);
    return { previous, committed };
  }

  it('carries follower positions and waiters over to the new epoch', () =>
    withLog(async (log) => {
      const { previous, committed } = await previousLeader(log);
      const next = lead(log, new FakeHooks(), { leaderEpoch: 4, stateVersion: 8 });
      next.inherit(previous);
      assert.equal(next.highWatermark, 3);
      assert.equal(await outcome(previous.waitForCommit(5, NO_TIMEOUT_MS)), ErrorCode.NOT_LEADER_OR_FOLLOWER);
      // The waiter moved: telling the old leader it resigned does not fail the produce.
      previous.resign();
      assert.equal(await outcome(committed), PENDING);
      // Follower 2's position came along: follower 3 catching up is all that was missing.
      next.followerFetched(3, 5, 2);
      assert.equal(next.highWatermark, 5);
      assert.equal(await outcome(committed), ErrorCode.NONE);
    }));

  it('commits at once when the controller removed the lagging follower from the new epoch ISR', () =>
    withLog(async (log) => {
      const { previous, committed } = await previousLeader(log);
      const next = lead(log, new FakeHooks(), { leaderEpoch: 4, isr: [1, 2], stateVersion: 8 });
      next.inherit(previous);
      assert.equal(next.highWatermark, 5);
      assert.equal(await outcome(committed), ErrorCode.NONE);
    }));
});
