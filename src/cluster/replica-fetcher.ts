import type { Logger } from 'pino';
import { LogError, type PartitionLog } from '../log/index.js';
import { Fetch } from '../protocol/apis/fetch.js';
import { OffsetForLeaderEpoch } from '../protocol/apis/offset-for-leader-epoch.js';
import { ErrorCode, readBatchHeader } from '../protocol/index.js';
import type { BrokerChannel } from './broker-channel.js';
import { partitionKey } from './cluster-view.js';
import type { ClusterMetrics } from './metrics.js';

/** Fetch v11: topics by name, current leader epoch per partition (KIP-320), follower log start offset. */
const FETCH_VERSION = 11;
/** v3: replica id and current leader epoch. */
const EPOCH_QUERY_VERSION = 3;
/** A leader epoch query answered with a smaller epoch than asked is asked again with that one (KIP-279). */
const MAX_TRUNCATION_ROUNDS = 64;

export interface FetcherSettings {
  brokerId: number;
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  requestTimeoutMs: number;
  backoffMs: number;
}

interface FollowedPartition {
  topic: string;
  partition: number;
  log: PartitionLog;
  leaderEpoch: number;
  /** A new leader epoch starts with truncation to the leader's epoch boundary before any fetch. */
  truncated: boolean;
}

/**
 * A follower's fetcher for every partition it follows on one leader (Kafka's ReplicaFetcherThread): on each
 * new leader epoch it first cuts its log back to where its history and the leader's agree
 * (OffsetForLeaderEpoch, KIP-101/279), then fetches from its log end with its replica id, appends the
 * leader's batches as they are, and only fetches again once they are durable, so the fetch offset the
 * leader sees is what this replica would still have after a crash.
 */
export class ReplicaFetcher {
  private readonly partitions = new Map<string, FollowedPartition>();
  private running = false;
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(
    readonly leaderId: number,
    private readonly channel: BrokerChannel,
    private readonly settings: FetcherSettings,
    private readonly logger: Logger,
    private readonly metrics: ClusterMetrics,
  ) {}

  get size(): number {
    return this.partitions.size;
  }

  follow(key: string, topic: string, partition: number, log: PartitionLog, leaderEpoch: number): void {
    this.partitions.set(key, { topic, partition, log, leaderEpoch, truncated: false });
    this.wake?.();
    if (!this.running) void this.loop();
  }

  unfollow(key: string): void {
    this.partitions.delete(key);
  }

  close(): void {
    this.stopped = true;
    this.channel.close();
    this.wake?.();
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && this.partitions.size > 0) {
        const ok = await this.round().then(
          () => true,
          (error: unknown) => {
            this.metrics.replicaFetchErrors.inc({
              error: error instanceof LogError ? error.code : 'NETWORK',
            });
            this.logger.warn({ leader: this.leaderId, err: error }, 'replica fetch failed; retrying');
            return false;
          },
        );
        if (!ok) await this.pause(this.settings.backoffMs);
      }
    } finally {
      this.running = false;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async round(): Promise<void> {
    const untruncated = [...this.partitions.values()].filter((p) => !p.truncated);
    if (untruncated.length > 0) await this.truncate(untruncated);
    const ready = [...this.partitions.values()].filter((p) => p.truncated);
    if (ready.length === 0) {
      await this.pause(this.settings.backoffMs);
      return;
    }
    await this.fetch(ready);
  }

  /** Cuts each log back to the leader epoch boundary the leader reports, asking again until they agree. */
  private async truncate(partitions: FollowedPartition[]): Promise<void> {
    for (let round = 0; round < MAX_TRUNCATION_ROUNDS; round++) {
      const asking = partitions.filter((p) => !p.truncated && this.partitions.get(keyOf(p)) === p);
      if (asking.length === 0) return;
      const byTopic = groupByTopic(asking);
      const response = await this.channel.request(
        OffsetForLeaderEpoch,
        EPOCH_QUERY_VERSION,
        {
          replicaId: this.settings.brokerId,
          topics: [...byTopic].map(([topic, list]) => ({
            topic,
            partitions: list.map((p) => ({
              partition: p.partition,
              currentLeaderEpoch: p.leaderEpoch,
              leaderEpoch: p.log.latestEpoch(),
            })),
          })),
        },
        this.settings.requestTimeoutMs,
      );
      let fenced = false;
      for (const topic of response.topics) {
        for (const answer of topic.partitions) {
          const followed = asking.find((p) => p.topic === topic.topic && p.partition === answer.partition);
          if (!followed) continue;
          if (answer.errorCode !== ErrorCode.NONE) {
            // The leader does not (yet) lead at our epoch: wait for the shared state to settle.
            fenced = true;
            continue;
          }
          this.applyEpochAnswer(followed, answer.leaderEpoch, answer.endOffset);
        }
      }
      if (fenced) {
        await this.pause(this.settings.backoffMs);
        return;
      }
    }
  }

  private applyEpochAnswer(followed: FollowedPartition, leaderEpoch: number, leaderEndOffset: number): void {
    const log = followed.log;
    const asked = log.latestEpoch();
    let target: number;
    let done = true;
    if (asked < 0 || leaderEndOffset < 0) {
      // No epoch history to compare: keep only what is known committed.
      target = Math.min(log.highWatermark, log.logEndOffset);
    } else if (leaderEpoch === asked) {
      target = Math.min(leaderEndOffset, log.logEndOffset);
    } else {
      // The leader's history diverges below our latest epoch: cut to our end of the largest epoch it
      // knows, then ask again with our new latest epoch (KIP-279).
      const ours = log.endOffsetForEpoch(leaderEpoch);
      target = Math.min(
        ours.leaderEpoch === leaderEpoch ? Math.min(ours.endOffset, leaderEndOffset) : ours.endOffset,
        log.logEndOffset,
      );
      done = ours.leaderEpoch === leaderEpoch || target <= 0;
      if (target < 0) target = 0;
    }
    target = Math.max(target, log.logStartOffset);
    if (target < log.logEndOffset) {
      this.logger.info(
        {
          topic: followed.topic,
          partition: followed.partition,
          from: log.logEndOffset,
          to: target,
          leaderEpoch,
        },
        'truncating follower log to the leader epoch boundary',
      );
      log.truncateTo(target);
      this.metrics.truncations.inc();
    }
    followed.truncated = done;
  }

  private async fetch(partitions: FollowedPartition[]): Promise<void> {
    const byTopic = groupByTopic(partitions);
    const response = await this.channel.request(
      Fetch,
      FETCH_VERSION,
      {
        clusterId: null,
        replicaId: this.settings.brokerId,
        replicaState: { replicaId: this.settings.brokerId, replicaEpoch: -1 },
        maxWaitMs: this.settings.fetchMaxWaitMs,
        minBytes: 1,
        maxBytes: this.settings.fetchMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, list]) => ({
          topic,
          topicId: Buffer.alloc(16),
          partitions: list.map((p) => ({
            partition: p.partition,
            currentLeaderEpoch: p.leaderEpoch,
            fetchOffset: p.log.logEndOffset,
            lastFetchedEpoch: -1,
            logStartOffset: p.log.logStartOffset,
            partitionMaxBytes: this.settings.partitionMaxBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      },
      this.settings.fetchMaxWaitMs + this.settings.requestTimeoutMs,
    );
    const durable: Promise<void>[] = [];
    let backoff = false;
    for (const topic of response.responses) {
      for (const answer of topic.partitions) {
        const followed = partitions.find(
          (p) => p.topic === topic.topic && p.partition === answer.partitionIndex,
        );
        if (!followed || this.partitions.get(keyOf(followed)) !== followed) continue;
        if (answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          // Below the leader's start (retention or DeleteRecords removed what this replica lacks): start
          // again there, as Kafka's follower does; otherwise the end diverged and truncation decides.
          if (answer.logStartOffset > followed.log.logEndOffset) {
            followed.log.truncateFullyAndStartAt(answer.logStartOffset);
          } else followed.truncated = false;
          continue;
        }
        if (answer.errorCode !== ErrorCode.NONE) {
          this.metrics.replicaFetchErrors.inc({ error: String(answer.errorCode) });
          backoff = true;
          continue;
        }
        const log = followed.log;
        if (answer.records && answer.records.length > 0) {
          // The leader's log start may fall inside a batch (DeleteRecords): an empty log started there starts
          // again at the batch's base so the whole batch fits, as Kafka's follower does; the leader's start
          // is applied below.
          const { baseOffset } = readBatchHeader(answer.records);
          if (baseOffset < log.logEndOffset && log.logStartOffset === log.logEndOffset)
            log.truncateFullyAndStartAt(baseOffset);
          log.appendAsFollower(answer.records);
          durable.push(log.durable());
        }
        // A leader that has not learnt its high watermark yet answers -1: keep ours until it has.
        if (answer.highWatermark >= 0)
          log.setReplicationHighWatermark(Math.min(answer.highWatermark, log.logEndOffset));
        // The leader's log start moved (DeleteRecords): records below it go here too, up to what we have.
        if (answer.logStartOffset > log.logStartOffset)
          log.advanceLogStartOffset(Math.min(answer.logStartOffset, log.logEndOffset));
      }
    }
    await Promise.all(durable);
    if (backoff) await this.pause(this.settings.backoffMs);
  }
}

function keyOf(p: { topic: string; partition: number }): string {
  return partitionKey(p.topic, p.partition);
}

function groupByTopic(partitions: FollowedPartition[]): Map<string, FollowedPartition[]> {
  const byTopic = new Map<string, FollowedPartition[]>();
  for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
  return byTopic;
}
