import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Coordinator } from '../coordination/index.js';
import { CoordinationError } from '../coordination/index.js';
import { type LogManager, type PartitionLog, writeFileAtomic } from '../log/index.js';
import { ErrorCode } from '../protocol/index.js';
import { BrokerChannel } from './broker-channel.js';
import { type ClusterView, partitionKey } from './cluster-view.js';
import { LeaderPartition } from './leader-partition.js';
import type { ClusterGauges, ClusterMetrics } from './metrics.js';
import { OfflineReplicaReporter } from './offline-replica-reporter.js';
import { type FetcherSettings, ReplicaFetcher } from './replica-fetcher.js';
import { type ReplicationConfig, splitTopicConfig } from './replication-config.js';
import { decodeNode, encodeNode, PartitionState, Paths } from './zk-layout.js';

export interface ReplicaManagerOptions {
  brokerId: number;
  replicaLagTimeMaxMs: number;
  replicationDefaults: ReplicationConfig;
  fetch: Omit<FetcherSettings, 'brokerId'>;
  /** Where the high watermarks of this broker's replicas are saved between runs. */
  highWatermarkFile: string;
  highWatermarkCheckpointIntervalMs: number;
  logger: Logger;
  metrics: ClusterMetrics;
  hooks: ReplicaHooks;
}

export interface ReplicaHooks {
  /** This broker leads the partition from now on (after another broker did: producer state must be rebuilt). */
  becameLeader(leader: LeaderPartition): void;
  /** This broker stopped leading the partition. */
  stoppedLeading(topic: string, partition: number): void;
  /** Records became visible to consumers. */
  highWatermarkAdvanced(topic: string, partition: number): void;
}

/** A replica of this broker whose log was found damaged, until it is back in its ISR. */
export interface OfflineReplica {
  topic: string;
  partition: number;
  /** The damaged segment file, the byte and the offset (of the damaged batch) where the damage starts. */
  file: string;
  position: number;
  offset: number;
  reason: string;
  sinceMs: number;
  /**
   * leaving-isr: asking to be taken out of the ISR before anything is cut; refetching: truncated to the last
   * valid batch and fetching the rest, out of the ISR until caught up; leading: damaged while it leads (reads
   * stop at the damage; the controller, told by the report, moves the leadership and the ISR membership); sole-copy: the only in-sync replica,
   * kept as it is (cutting it would lose what only it holds).
   */
  phase: 'leaving-isr' | 'refetching' | 'leading' | 'sole-copy';
}

export type LeaderLookup = { leader: LeaderPartition } | { errorCode: number; message: string };

/** Pause between reads of a partition state whose last write has an unknown outcome. */
const READ_BACK_RETRY_MS = 250;

/**
 * This broker's replicas: it turns the shared partition states into local roles. Where it leads it keeps
 * a LeaderPartition (followers, ISR, high watermark); where it follows it has a fetcher per leader.
 * Logs of topics assigned here are created with the topic's id and config; a topic deleted from the
 * cluster is deleted here too.
 */
export class ReplicaManager {
  private readonly leaders = new Map<string, LeaderPartition>();
  private readonly following = new Map<string, { leaderId: number; leaderEpoch: number }>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  /** Replicas found corrupt and not yet back in their ISR, by partition key. */
  private readonly offline = new Map<string, OfflineReplica>();
  /** Tells the controller of `offline` (`/brokers/offline_replicas/<id>`). */
  private readonly reporter: OfflineReplicaReporter;
  /** Per local log: the function that stops listening for its damage. */
  private readonly corruptionWatches = new Map<string, () => void>();
  /** ISR self-removals in flight, by partition key. */
  private readonly leavingIsr = new Set<string>();
  /** Topics seen in the shared state since start: only those can be deleted here when they vanish. */
  private readonly known = new Set<string>();
  private savedHighWatermarks: Record<string, number>;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopListening: () => void = () => undefined;
  private stopWatchingSession: () => void = () => undefined;
  /** False from a session's expiry until the roles have been applied from states read in the next one. */
  private rolesCurrent = true;
  private closed = false;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly view: ClusterView,
    private readonly logs: LogManager,
    private readonly options: ReplicaManagerOptions,
  ) {
    this.savedHighWatermarks = readHighWatermarks(options.highWatermarkFile, options.logger);
    this.reporter = new OfflineReplicaReporter(coordinator, options.brokerId, options.logger);
  }

  start(): void {
    this.reporter.start();
    this.stopWatchingSession = this.coordinator.onState((state) => {
      if (state === 'expired') this.rolesCurrent = false;
    });
    this.stopListening = this.view.onChange(() => void this.apply());
    void this.apply();
    const shrink = setInterval(
      () => this.checkLaggingFollowers(),
      Math.max(100, this.options.replicaLagTimeMaxMs / 2),
    );
    const checkpoint = setInterval(
      () => this.saveHighWatermarks(),
      this.options.highWatermarkCheckpointIntervalMs,
    );
    shrink.unref();
    checkpoint.unref();
    this.timers.push(shrink, checkpoint);
  }

  /**
   * The partition's leader state if this broker leads it at `currentLeaderEpoch` (-1: any) and nothing broke
   * its session's continuity since it learned so; otherwise the error Kafka answers.
   *
   * ZooKeeper being out of reach does not end a leadership (as in Kafka): the broker goes on with the states
   * it has. acks=all stays safe through the ISR, which changes only by a compare-and-set in ZooKeeper: the
   * ISR cannot shrink meanwhile, and a follower told of another leader stops fetching from this one, so its
   * high watermark cannot pass what a new leader lacks. A pause of the process is different: it may have
   * outlasted the session and another broker may lead now, so the coordinator's `sessionUnbroken` (which
   * reads the clock itself, right even before any timer ran after a SIGCONT) gates every answer.
   */
  lookupLeader(topic: string, partition: number, currentLeaderEpoch: number): LeaderLookup {
    const leader = this.leaders.get(partitionKey(topic, partition));
    if (!leader) {
      const known = this.view.topics.get(topic);
      if (!known || partition < 0 || partition >= known.replicas.length) {
        return {
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          message: `${topic}-${partition} does not exist`,
        };
      }
      return {
        errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        message: `broker ${this.options.brokerId} does not lead ${topic}-${partition}`,
      };
    }
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < leader.leaderEpoch) {
      return {
        errorCode: ErrorCode.FENCED_LEADER_EPOCH,
        message: `leader epoch ${currentLeaderEpoch} is older than ${leader.leaderEpoch}`,
      };
    }
    if (currentLeaderEpoch > leader.leaderEpoch) {
      return {
        errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH,
        message: `leader epoch ${currentLeaderEpoch} is newer than ${leader.leaderEpoch}`,
      };
    }
    // A broker frozen past its session may have been replaced as leader without having heard of it yet.
    if (!this.coordinator.sessionUnbroken()) {
      return {
        errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        message: `broker ${this.options.brokerId} cannot confirm its leadership: it was paused or its session expired, and ZooKeeper has not confirmed its session since`,
      };
    }
    // Nor has it always heard of it yet once a new session is up: the view is read again first.
    if (!this.rolesCurrent) {
      return {
        errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        message: `broker ${this.options.brokerId} cannot confirm its leadership: partition states not yet reloaded after its session expired`,
      };
    }
    return { leader };
  }

  /** The local replica's log, leader or follower (for leader epoch queries). */
  localLog(topic: string, partition: number): PartitionLog | null {
    return this.logs.hasTopic(topic) ? this.logs.partitionIfExists(topic, partition) : null;
  }

  /** Whether this broker may act on the roles it holds: false after a pause or an expiry until confirmed. */
  leadershipConfirmed(): boolean {
    return this.coordinator.sessionUnbroken() && this.rolesCurrent;
  }

  gauges(): Omit<
    ClusterGauges,
    'controllerId' | 'isController' | 'liveBrokers' | 'coordinationConnected' | 'leadershipConfirmed'
  > {
    let underReplicated = 0;
    const followerLags: ClusterGauges['followerLags'] = [];
    for (const leader of this.leaders.values()) {
      if (leader.isr.length < leader.replicas.length) underReplicated++;
      for (const lag of leader.followerLags())
        followerLags.push({ topic: leader.topic, partition: leader.partition, ...lag });
    }
    let offlinePartitions = 0;
    for (const { state } of this.view.states.values()) if (state.leader < 0) offlinePartitions++;
    return { leaderPartitions: this.leaders.size, underReplicated, offlinePartitions, followerLags };
  }

  /** This broker's replicas found corrupt and not back in their ISR yet (for Metadata and the HTTP API). */
  offlineReplicas(): OfflineReplica[] {
    return [...this.offline.values()].map((replica) => ({ ...replica }));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reporter.close();
    for (const stop of this.corruptionWatches.values()) stop();
    this.corruptionWatches.clear();
    this.stopListening();
    this.stopWatchingSession();
    for (const timer of this.timers) clearInterval(timer);
    for (const fetcher of this.fetchers.values()) fetcher.close();
    this.fetchers.clear();
    for (const leader of this.leaders.values()) leader.resign();
    this.leaders.clear();
    this.saveHighWatermarks();
  }

  private async apply(): Promise<void> {
    // States from before a session expired may be stale: no role changes until they are read again.
    if (this.closed || !this.view.current) return;
    const me = this.options.brokerId;
    for (const topic of this.view.topics.values()) {
      this.known.add(topic.name);
      const split = splitTopicConfig(topic.config, this.options.replicationDefaults);
      if (split instanceof Error) {
        this.options.logger.error(
          { topic: topic.name, err: split },
          'topic config is invalid; not hosting it',
        );
        continue;
      }
      for (let p = 0; p < topic.replicas.length; p++) {
        const replicas = topic.replicas[p]!;
        if (!replicas.includes(me)) {
          this.dropReplica(topic.name, p);
          continue;
        }
        const current = this.view.state(topic.name, p);
        if (!current) continue;
        const log = this.ensureLog(topic.name, topic.replicas.length, topic.topicId, split.log, p);
        if (!log) continue;
        const key = partitionKey(topic.name, p);
        const { state, version } = current;
        this.watchCorruption(key, log);
        if (log.corruption && this.setAsideCorrupt(key, topic.name, p, log, state, version)) continue;
        this.noteBackInSync(key, state.isr);
        const leading = this.leaders.get(key);
        if (state.leader === me) {
          // Replicas added or removed by a reassignment: the leader tracks the new set from now on.
          if (
            leading &&
            leading.leaderEpoch === state.leaderEpoch &&
            sameReplicas(leading.replicas, replicas)
          ) {
            leading.adoptState(state.isr, version);
            continue;
          }
          this.becomeLeader(
            key,
            topic.name,
            p,
            log,
            replicas,
            state.leaderEpoch,
            state.isr,
            version,
            split.replication,
          );
          continue;
        }
        if (leading) this.stopLeading(key, leading);
        this.follow(key, topic.name, p, log, state.leader, state.leaderEpoch);
      }
    }
    this.rolesCurrent = true;
    for (const name of [...this.known]) {
      if (this.view.topics.has(name)) continue;
      this.known.delete(name);
      await this.deleteLocal(name);
    }
  }

  /**
   * This broker is not (or no longer: a reassignment moved the partition away) a replica of the partition:
   * it takes no role, and a copy it holds is deleted (emptied), as Kafka's StopReplica with deletion does.
   */
  private dropReplica(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    this.unfollow(key);
    const leading = this.leaders.get(key);
    if (leading) this.stopLeading(key, leading);
    const log = this.localLog(topic, partition);
    if (!log || (log.logEndOffset === 0 && log.logStartOffset === 0)) return;
    try {
      const from = log.logEndOffset;
      log.truncateFullyAndStartAt(0);
      this.options.logger.info(
        { topic, partition, logEndOffset: from },
        'no longer a replica of the partition: its copy deleted',
      );
    } catch (error) {
      this.options.logger.error(
        { topic, partition, err: error },
        'cannot delete the copy of a removed replica',
      );
    }
  }

  private watchCorruption(key: string, log: PartitionLog): void {
    if (this.corruptionWatches.has(key)) return;
    this.corruptionWatches.set(
      key,
      log.onCorruption(() => void this.apply()),
    );
  }

  /**
   * A replica whose log is damaged (Kafka's offline replica): it must never be in the ISR, lead or serve
   * the damage, and nothing acknowledged may be lost, so the order matters. First out of the ISR (a
   * compare-and-set on the state node that keeps leader and epoch, as a leader's ISR change does; the
   * controller does it too on this broker's report, whichever lands first, and it alone moves a damaged
   * leadership): only then can the controller no longer elect it. Then
   * the log is cut at the first damaged batch and the replica follows again from there, out of the ISR
   * until it has caught up (the leader adds it back). Returns true while the replica must take no role.
   */
  private setAsideCorrupt(
    key: string,
    topic: string,
    partition: number,
    log: PartitionLog,
    state: PartitionState,
    version: number,
  ): boolean {
    const me = this.options.brokerId;
    const damage = log.corruption!;
    const inIsr = state.isr.includes(me);
    const phase: OfflineReplica['phase'] =
      state.leader === me
        ? 'leading'
        : !inIsr
          ? 'refetching'
          : state.isr.length > 1
            ? 'leaving-isr'
            : 'sole-copy';
    this.markOffline(key, topic, partition, log, phase);
    if (phase === 'leading' || phase === 'sole-copy') return false;
    this.unfollow(key);
    const leading = this.leaders.get(key);
    if (leading) this.stopLeading(key, leading);
    if (phase === 'leaving-isr') {
      void this.leaveIsr(key, topic, partition, state, version);
      return true;
    }
    const from = log.logEndOffset;
    try {
      const to = log.truncateAtCorruption();
      this.options.metrics.truncations.inc();
      this.options.logger.warn(
        { topic, partition, file: damage.path, offset: damage.offset, from, to, leader: state.leader },
        'corrupt replica truncated to the last valid batch before the damage; fetching the rest from the leader',
      );
    } catch (error) {
      this.options.logger.error(
        { topic, partition, file: damage.path, err: error },
        'cannot truncate the corrupt replica; it stays out of the ISR and takes no role',
      );
      return true;
    }
    return false;
  }

  private markOffline(
    key: string,
    topic: string,
    partition: number,
    log: PartitionLog,
    phase: OfflineReplica['phase'],
  ): void {
    const damage = log.corruption!;
    const known = this.offline.get(key);
    if (known && known.file === damage.path && known.position === damage.position) {
      if (known.phase === phase) return;
      this.options.logger.info({ topic, partition, from: known.phase, to: phase }, 'corrupt replica');
      known.phase = phase;
      this.offlineChanged();
      return;
    }
    const reason = damage.message;
    this.offline.set(key, {
      topic,
      partition,
      file: damage.path,
      position: damage.position,
      offset: damage.offset,
      reason,
      sinceMs: Date.now(),
      phase,
    });
    this.options.metrics.corruptReplicas.inc();
    this.offlineChanged();
    this.options.logger.error(
      {
        topic,
        partition,
        file: damage.path,
        position: damage.position,
        offset: damage.offset,
        reason,
        phase,
      },
      phase === 'leading'
        ? 'replica log is corrupt while this broker leads it: reads stop at the damage; reported to the controller to move the leadership'
        : phase === 'sole-copy'
          ? 'replica log is corrupt and it is the only in-sync replica: kept as it is, reads stop at the damage'
          : 'replica log is corrupt: replica offline, out of the ISR, to be truncated and fetched again',
    );
  }

  /**
   * Tells the metric and the controller. A replica cut at its damage is reported as refetching: it must not
   * be elected yet, but the leader may take it back into the ISR once it has caught up.
   */
  private offlineChanged(): void {
    this.options.metrics.offlineReplicas.set(this.offline.size);
    this.reporter.report(
      [...this.offline.values()].map(({ topic, partition, phase }) => ({
        topic,
        partition,
        refetching: phase === 'refetching',
      })),
    );
  }

  /** A repaired replica the leader took back into the ISR is no longer offline. */
  private noteBackInSync(key: string, isr: readonly number[]): void {
    const replica = this.offline.get(key);
    if (replica?.phase !== 'refetching' || !isr.includes(this.options.brokerId)) return;
    this.offline.delete(key);
    this.offlineChanged();
    this.options.logger.info(
      { topic: replica.topic, partition: replica.partition, offlineMs: Date.now() - replica.sinceMs },
      'repaired replica is back in the ISR',
    );
  }

  /** Takes this broker out of the ISR; the watch brings the stored state back to apply either way. */
  private async leaveIsr(
    key: string,
    topic: string,
    partition: number,
    state: PartitionState,
    version: number,
  ): Promise<void> {
    if (this.leavingIsr.has(key)) return;
    this.leavingIsr.add(key);
    const isr = state.isr.filter((id) => id !== this.options.brokerId);
    try {
      await this.coordinator.set(
        Paths.partitionState(topic, partition),
        encodeNode({ ...state, isr }),
        version,
      );
      this.options.logger.warn({ topic, partition, isr }, 'corrupt replica took itself out of the ISR');
    } catch (error) {
      if (!(error instanceof CoordinationError)) throw error;
      // A changed version means the state moved (the watch says how); otherwise ZooKeeper is away: retry.
      this.options.logger.warn(
        { topic, partition, err: error },
        'corrupt replica could not leave the ISR yet',
      );
      await new Promise((resolve) => setTimeout(resolve, READ_BACK_RETRY_MS));
    } finally {
      this.leavingIsr.delete(key);
    }
    if (!this.closed) void this.apply();
  }

  private ensureLog(
    name: string,
    partitions: number,
    topicId: string,
    config: Record<string, string>,
    partition: number,
  ): PartitionLog | null {
    try {
      if (!this.logs.hasTopic(name)) {
        this.logs.createTopic(name, partitions, config, topicId);
        this.options.logger.info({ topic: name, partitions }, 'created local replica logs');
      } else {
        // CreatePartitions and AlterConfigs change the shared topic: the local logs follow.
        const local = this.logs.describeTopic(name);
        if (local.partitions < partitions) {
          this.logs.addPartitions(name, partitions);
          this.options.logger.info({ topic: name, partitions }, 'added local replica logs');
        }
        if (!sameOverrides(local.overrides, config)) {
          this.logs.alterTopicConfig(name, config);
          this.options.logger.info({ topic: name, config }, 'applied the topic config');
        }
      }
      const log = this.logs.partition(name, partition);
      const key = partitionKey(name, partition);
      if (log.replicationHighWatermark === null) {
        log.setReplicationHighWatermark(Math.min(this.savedHighWatermarks[key] ?? 0, log.logEndOffset));
      }
      return log;
    } catch (error) {
      this.options.logger.error({ topic: name, partition, err: error }, 'cannot open the local replica log');
      return null;
    }
  }

  private becomeLeader(
    key: string,
    topic: string,
    partition: number,
    log: PartitionLog,
    replicas: number[],
    leaderEpoch: number,
    isr: number[],
    version: number,
    replication: ReplicationConfig,
  ): void {
    this.unfollow(key);
    const previous = this.leaders.get(key);
    log.assignLeaderEpoch(leaderEpoch);
    const leader = new LeaderPartition(
      topic,
      partition,
      log,
      leaderEpoch,
      replicas,
      isr,
      version,
      {
        brokerId: this.options.brokerId,
        replicaLagTimeMaxMs: this.options.replicaLagTimeMaxMs,
        minInsyncReplicas: replication.minInsyncReplicas,
      },
      {
        persistIsr: (next, stateVersion) =>
          this.persistIsr(topic, partition, leaderEpoch, next, stateVersion),
        highWatermarkAdvanced: () => this.options.hooks.highWatermarkAdvanced(topic, partition),
        isrChanged: (kind, next) => {
          (kind === 'shrink' ? this.options.metrics.isrShrinks : this.options.metrics.isrExpands).inc();
          this.options.logger.info(
            { topic, partition, isr: next, leaderEpoch },
            kind === 'shrink' ? 'ISR shrank' : 'ISR expanded',
          );
        },
      },
      Date.now(),
    );
    if (previous) leader.inherit(previous);
    this.leaders.set(key, leader);
    this.options.logger.info(
      { topic, partition, leaderEpoch, isr, logEndOffset: log.logEndOffset },
      'leading partition',
    );
    if (!previous) this.options.hooks.becameLeader(leader);
    leader.updateHighWatermark();
  }

  private stopLeading(key: string, leader: LeaderPartition): void {
    leader.resign();
    this.leaders.delete(key);
    this.options.hooks.stoppedLeading(leader.topic, leader.partition);
  }

  private follow(
    key: string,
    topic: string,
    partition: number,
    log: PartitionLog,
    leaderId: number,
    leaderEpoch: number,
  ): void {
    const current = this.following.get(key);
    if (current && current.leaderId === leaderId && current.leaderEpoch === leaderEpoch) return;
    this.unfollow(key);
    if (leaderId < 0) return;
    const fetcher = this.fetcherFor(leaderId);
    // Recorded only once fetching: a leader not registered yet (restarting beside this broker) is followed by
    // the pass its registration triggers. Recorded without a fetcher, that pass would find the partition
    // already followed and the replica would never fetch, nor rejoin the ISR.
    if (fetcher === null) return;
    this.following.set(key, { leaderId, leaderEpoch });
    fetcher.follow(key, topic, partition, log, leaderEpoch);
  }

  private unfollow(key: string): void {
    const current = this.following.get(key);
    if (!current) return;
    this.following.delete(key);
    const fetcher = this.fetchers.get(current.leaderId);
    fetcher?.unfollow(key);
    if (fetcher && fetcher.size === 0) {
      fetcher.close();
      this.fetchers.delete(current.leaderId);
    }
  }

  private fetcherFor(leaderId: number): ReplicaFetcher | null {
    const registration = this.view.brokers.get(leaderId);
    const existing = this.fetchers.get(leaderId);
    if (existing) return existing;
    if (!registration) {
      this.options.logger.warn({ leader: leaderId }, 'leader is not registered; not fetching until it is');
      return null;
    }
    const channel = new BrokerChannel(
      { host: registration.host, port: registration.port },
      `edgestream-replica-${this.options.brokerId}`,
      this.options.fetch.requestTimeoutMs,
    );
    const fetcher = new ReplicaFetcher(
      leaderId,
      channel,
      { brokerId: this.options.brokerId, ...this.options.fetch },
      this.options.logger,
      this.options.metrics,
    );
    this.fetchers.set(leaderId, fetcher);
    return fetcher;
  }

  /**
   * The leader's ISR change: compare-and-set on the state node, keeping leader and epoch as they are.
   * Resolves with the new version once stored, null once certainly not stored. A write whose answer was lost
   * may have been applied: it is read back (for as long as ZooKeeper is away, if need be) before answering,
   * so the leader never counts a narrower ISR than the one the controller may elect from.
   */
  private async persistIsr(
    topic: string,
    partition: number,
    leaderEpoch: number,
    isr: number[],
    stateVersion: number,
  ): Promise<number | null> {
    const current = this.view.state(topic, partition);
    if (
      !current ||
      current.state.leaderEpoch !== leaderEpoch ||
      current.state.leader !== this.options.brokerId
    )
      return null;
    const path = Paths.partitionState(topic, partition);
    try {
      const stored = await this.coordinator.set(path, encodeNode({ ...current.state, isr }), stateVersion);
      if (stored === null) await this.adoptStoredState(topic, partition, leaderEpoch, stateVersion);
      return stored;
    } catch (error) {
      if (!(error instanceof CoordinationError)) throw error;
      if (error.code === 'UNREACHABLE' || error.code === 'CLOSED') {
        // Never sent. The outage itself is reported once (ClusterNode); the ISR stays as it is meanwhile.
        this.options.logger.debug({ topic, partition, isr, err: error }, 'ISR change not stored');
        return null;
      }
      this.options.logger.warn(
        { topic, partition, isr, err: error },
        'ISR change outcome unknown; reading the partition state back',
      );
      return this.readBackIsr(topic, partition, leaderEpoch, isr, stateVersion);
    }
  }

  /**
   * A refused compare-and-set: the state moved on since the version this leader holds. Waiting for the watch
   * to tell would be enough if it always told; the stored state is read now so that, if it is still this
   * leader's epoch, the next ISR change is tried against the version that is really there instead of failing
   * until a watch event that may never come.
   */
  private async adoptStoredState(
    topic: string,
    partition: number,
    leaderEpoch: number,
    refusedVersion: number,
  ): Promise<void> {
    const path = Paths.partitionState(topic, partition);
    try {
      const node = await this.coordinator.get(path);
      if (!node) return;
      const state = decodeNode(PartitionState, path, node.data);
      if (
        state instanceof Error ||
        state.leaderEpoch !== leaderEpoch ||
        state.leader !== this.options.brokerId
      )
        return;
      this.options.logger.info(
        { topic, partition, refusedVersion, storedVersion: node.version, isr: state.isr },
        'ISR change refused: the partition state had moved on; continuing from the stored state',
      );
      this.leaders.get(partitionKey(topic, partition))?.adoptState(state.isr, node.version);
    } catch (error) {
      if (!(error instanceof CoordinationError)) throw error;
    }
  }

  /** The outcome of an ISR write that got no answer: the version if the state now holds it, null if not. */
  private async readBackIsr(
    topic: string,
    partition: number,
    leaderEpoch: number,
    isr: number[],
    stateVersion: number,
  ): Promise<number | null> {
    const path = Paths.partitionState(topic, partition);
    const key = partitionKey(topic, partition);
    while (!this.closed && this.leaders.get(key)?.leaderEpoch === leaderEpoch) {
      try {
        const node = await this.coordinator.get(path);
        if (!node || node.version === stateVersion) return null;
        const state = decodeNode(PartitionState, path, node.data);
        if (state instanceof Error || state.leaderEpoch !== leaderEpoch) return null;
        const stored = state.isr.length === isr.length && isr.every((id) => state.isr.includes(id));
        this.options.logger.info({ topic, partition, isr, stored }, 'ISR change outcome read back');
        return stored ? node.version : null;
      } catch (error) {
        if (!(error instanceof CoordinationError)) throw error;
        if (error.code === 'CLOSED') return null;
        await new Promise((resolve) => setTimeout(resolve, READ_BACK_RETRY_MS));
      }
    }
    return null;
  }

  private checkLaggingFollowers(): void {
    const now = Date.now();
    for (const leader of this.leaders.values()) leader.checkLaggingFollowers(now);
  }

  private async deleteLocal(name: string): Promise<void> {
    for (const key of [...this.corruptionWatches.keys()].filter((k) => k.startsWith(`${name}:`))) {
      this.corruptionWatches.get(key)!();
      this.corruptionWatches.delete(key);
    }
    for (const key of [...this.offline.keys()].filter((k) => k.startsWith(`${name}:`)))
      this.offline.delete(key);
    this.offlineChanged();
    for (const key of [...this.leaders.keys()].filter((k) => k.startsWith(`${name}:`))) {
      this.stopLeading(key, this.leaders.get(key)!);
    }
    for (const key of [...this.following.keys()].filter((k) => k.startsWith(`${name}:`))) this.unfollow(key);
    if (!this.logs.hasTopic(name)) return;
    await this.logs.deleteTopic(name);
    this.options.logger.info({ topic: name }, 'deleted local replica logs of a deleted topic');
  }

  private saveHighWatermarks(): void {
    const saved: Record<string, number> = { ...this.savedHighWatermarks };
    for (const name of this.logs.topicNames()) {
      const { partitions } = this.logs.describeTopic(name);
      for (let p = 0; p < partitions; p++) {
        const hw = this.logs.partition(name, p).replicationHighWatermark;
        if (hw !== null) saved[partitionKey(name, p)] = hw;
      }
    }
    try {
      writeFileAtomic(this.options.highWatermarkFile, JSON.stringify(saved));
      this.savedHighWatermarks = saved;
    } catch (error) {
      this.options.logger.error({ err: error }, 'cannot save the high watermark checkpoint');
    }
  }
}

function sameReplicas(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

function readHighWatermarks(file: string, logger: Logger): Record<string, number> {
  if (!fs.existsSync(file)) return {};
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    const result: Record<string, number> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) result[key] = value;
    }
    return result;
  } catch (error) {
    logger.warn({ err: error, file }, 'ignoring an unreadable high watermark checkpoint');
    return {};
  }
}

function sameOverrides(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
