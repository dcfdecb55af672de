import type { PartitionLog } from '../log/index.js';
import { ErrorCode } from '../protocol/index.js';

/** What the leader knows of one follower, from its fetches (Kafka's Replica fetch state). */
interface FollowerPosition {
  /** The follower's fetch offset: everything below it is on the follower (durable under the durable policy). -1 until it fetches. */
  fetchOffset: number;
  lastFetchMs: number;
  /** The leader's log end offset when the follower last fetched. */
  leaderEndAtLastFetch: number;
  /** The last time the follower had everything the leader had: the ISR shrink clock. */
  lastCaughtUpMs: number;
  /** The log start offset the follower last reported (Fetch's logStartOffset), -1 until it fetches. */
  logStartOffset: number;
}

interface CommitWaiter {
  endOffset: number;
  resolve: (errorCode: number) => void;
  timer: NodeJS.Timeout;
}

export interface LeaderHooks {
  /** Compare-and-set of the ISR in the shared partition state; true once stored. */
  persistIsr(isr: number[], stateVersion: number): Promise<number | null>;
  /** The high watermark moved: consumers waiting on the partition can be woken. */
  highWatermarkAdvanced(): void;
  isrChanged(kind: 'shrink' | 'expand', isr: number[]): void;
}

export interface LeaderSettings {
  brokerId: number;
  replicaLagTimeMaxMs: number;
  minInsyncReplicas: number;
}

/**
 * The leader's side of one partition (Kafka's Partition as leader): where each follower is, the in-sync
 * replicas, and the high watermark, which is the lowest fetch offset over the ISR (the leader counted at
 * its durable end). An acks=all produce completes when the high watermark passes its last offset.
 *
 * ISR changes are stored in the shared partition state before they take effect: a removal before the high
 * watermark may move past the removed follower, an addition counted at once (the "maximal ISR"), so no
 * replica the controller might elect lacks a record below the high watermark.
 */
export class LeaderPartition {
  private readonly followers = new Map<number, FollowerPosition>();
  private waiters: CommitWaiter[] = [];
  private isrWrite: Promise<void> | null = null;
  private pendingAdd: number | null = null;
  private resigned = false;
  highWatermark: number;
  /** Where this leader epoch's records start: a follower that has this much is in sync (KIP-101). */
  readonly epochStartOffset: number;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly log: PartitionLog,
    readonly leaderEpoch: number,
    readonly replicas: readonly number[],
    public isr: number[],
    public stateVersion: number,
    private readonly settings: LeaderSettings,
    private readonly hooks: LeaderHooks,
    nowMs: number,
  ) {
    for (const id of replicas) {
      if (id === settings.brokerId) continue;
      // Followers in the ISR keep their place for one lag period, as if they had just caught up.
      this.followers.set(id, {
        fetchOffset: -1,
        lastFetchMs: 0,
        leaderEndAtLastFetch: -1,
        lastCaughtUpMs: nowMs,
        logStartOffset: -1,
      });
    }
    this.highWatermark = log.highWatermark;
    this.epochStartOffset = log.logEndOffset;
  }

  get minInsyncReplicas(): number {
    return this.settings.minInsyncReplicas;
  }

  /** Records a follower's fetch: its position, the ISR shrink clock, ISR expansion, the high watermark. */
  followerFetched(followerId: number, fetchOffset: number, nowMs: number): void {
    const follower = this.followers.get(followerId);
    if (!follower) return;
    const leaderEnd = this.log.logEndOffset;
    if (fetchOffset >= leaderEnd) follower.lastCaughtUpMs = Math.max(follower.lastCaughtUpMs, nowMs);
    else if (fetchOffset >= follower.leaderEndAtLastFetch) {
      follower.lastCaughtUpMs = Math.max(follower.lastCaughtUpMs, follower.lastFetchMs);
    }
    follower.fetchOffset = fetchOffset;
    follower.lastFetchMs = nowMs;
    follower.leaderEndAtLastFetch = leaderEnd;
    if (
      !this.isr.includes(followerId) &&
      fetchOffset >= this.highWatermark &&
      fetchOffset >= this.epochStartOffset
    ) {
      this.changeIsr('expand', [...this.isr, followerId], followerId);
    }
    this.updateHighWatermark();
  }

  /** Records the log start offset a follower reported with its fetch (it follows the leader's, KIP-107). */
  followerLogStart(followerId: number, logStartOffset: number): void {
    const follower = this.followers.get(followerId);
    if (follower) follower.logStartOffset = logStartOffset;
  }

  /** Whether every other replica of the ISR reported a log start at or past `offset` (DeleteRecords waits). */
  isrStartsAt(offset: number): boolean {
    return this.isr.every(
      (id) => id === this.settings.brokerId || (this.followers.get(id)?.logStartOffset ?? -1) >= offset,
    );
  }

  /** Followers of the ISR that have not caught up for longer than replica.lag.time.max.ms leave it. */
  checkLaggingFollowers(nowMs: number): void {
    const lagging = this.isr.filter((id) => {
      const follower = this.followers.get(id);
      return follower !== undefined && nowMs - follower.lastCaughtUpMs > this.settings.replicaLagTimeMaxMs;
    });
    if (lagging.length > 0)
      this.changeIsr(
        'shrink',
        this.isr.filter((id) => !lagging.includes(id)),
        null,
      );
  }

  /** The leader's own end advanced (an append became durable): the high watermark may follow. */
  updateHighWatermark(): void {
    let hw = this.log.durableEndOffset;
    for (const id of this.isr) {
      if (id !== this.settings.brokerId) hw = Math.min(hw, this.followers.get(id)?.fetchOffset ?? -1);
    }
    if (this.pendingAdd !== null) hw = Math.min(hw, this.followers.get(this.pendingAdd)?.fetchOffset ?? -1);
    if (hw <= this.highWatermark) return;
    this.highWatermark = hw;
    this.log.setReplicationHighWatermark(hw);
    this.completeWaiters();
    this.hooks.highWatermarkAdvanced();
  }

  /**
   * Resolves with NONE once every offset below `endOffset` is committed (below the high watermark) and the
   * ISR still has min.insync.replicas members, NOT_ENOUGH_REPLICAS_AFTER_APPEND if it shrank below that,
   * REQUEST_TIMED_OUT after `timeoutMs`, NOT_LEADER_OR_FOLLOWER if leadership is lost first.
   */
  waitForCommit(endOffset: number, timeoutMs: number): Promise<number> {
    if (this.resigned) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (endOffset <= this.highWatermark) return Promise.resolve(this.commitVerdict());
    return new Promise((resolve) => {
      const waiter: CommitWaiter = {
        endOffset,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(ErrorCode.REQUEST_TIMED_OUT);
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * This broker leads again at a newer epoch (the controller changed the ISR): follower positions and
   * pending acks=all produces carry over, as they still describe the same log.
   */
  inherit(previous: LeaderPartition): void {
    for (const [id, position] of previous.followers) {
      if (this.followers.has(id)) this.followers.set(id, { ...position });
    }
    for (const waiter of previous.waiters) this.waiters.push(waiter);
    previous.waiters = [];
    previous.resigned = true;
    this.updateHighWatermark();
  }

  /** Leadership moved on: every pending acks=all produce is told so. */
  resign(): void {
    this.resigned = true;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    this.waiters = [];
  }

  /** The ISR the shared state now holds (our own write, seen back through the watch). */
  adoptState(isr: number[], stateVersion: number): void {
    if (stateVersion <= this.stateVersion) return;
    this.isr = isr;
    this.stateVersion = stateVersion;
    this.updateHighWatermark();
  }

  followerLags(): Array<{ follower: number; lagOffsets: number }> {
    const end = this.log.logEndOffset;
    return [...this.followers].map(([follower, position]) => ({
      follower,
      lagOffsets: position.fetchOffset < 0 ? end : Math.max(0, end - position.fetchOffset),
    }));
  }

  private commitVerdict(): number {
    return this.isr.length < this.settings.minInsyncReplicas
      ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
      : ErrorCode.NONE;
  }

  private completeWaiters(): void {
    if (this.waiters.length === 0) return;
    const verdict = this.commitVerdict();
    const remaining: CommitWaiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.endOffset > this.highWatermark) {
        remaining.push(waiter);
        continue;
      }
      clearTimeout(waiter.timer);
      waiter.resolve(verdict);
    }
    this.waiters = remaining;
  }

  /** One ISR write at a time; a failed compare-and-set means the state moved and the watch will say how. */
  private changeIsr(kind: 'shrink' | 'expand', isr: number[], adding: number | null): void {
    if (this.isrWrite || this.resigned) return;
    this.pendingAdd = adding;
    this.isrWrite = this.hooks
      .persistIsr(isr, this.stateVersion)
      .then((version) => {
        if (version === null || this.resigned) return;
        this.isr = isr;
        this.stateVersion = version;
        this.hooks.isrChanged(kind, isr);
      })
      .catch(() => undefined)
      .finally(() => {
        this.isrWrite = null;
        this.pendingAdd = null;
        this.updateHighWatermark();
      });
  }
}
