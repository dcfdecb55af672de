import assert from 'node:assert/strict';
import { LogError, type Logger } from '../log/index.js';
import { ErrorCode } from '../protocol/index.js';
import { consumerGroupTopics } from './consumer-subscription.js';
import { errorCodeOf } from './error-codes.js';
import { GroupDirectory } from './group-directory.js';
import {
  checkedGroupLimits,
  DEFAULT_GROUP_LIMITS,
  type GroupLimits,
  groupProtocolBytesWith,
  joinRequestError,
  newMemberId,
  validGroupId,
} from './group-limits.js';
import type {
  CommitParams,
  Group,
  GroupState,
  JoinParams,
  JoinResult,
  Member,
  SyncParams,
  SyncResult,
} from './group-types.js';
import {
  type CommittedOffset,
  OffsetCommitError,
  type OffsetEntry,
  type OffsetStore,
  type TransactionProducer,
} from './offset-store.js';

export type {
  CommitParams,
  GroupState,
  JoinParams,
  JoinResult,
  SyncParams,
  SyncResult,
} from './group-types.js';

export interface CoordinatorOptions {
  initialRebalanceDelayMs: number;
  logger: Logger;
  /** As Kafka, offsets are kept only for partitions that exist: any other name would hold memory for nothing. */
  partitionExists: (topic: string, partition: number) => boolean;
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  /** offsets.retention.minutes: how long a group without members keeps its offsets (Kafka: 7 days). */
  offsetsRetentionMinutes?: number;
  /** offsets.retention.check.interval.ms (Kafka: 10 minutes). */
  offsetsRetentionCheckIntervalMs?: number;
  limits?: Partial<GroupLimits>;
  /** The clock of commit timestamps and retention; tests move it. */
  now?: () => number;
}

const MS_PER_MINUTE = 60_000;
export const DEFAULT_OFFSETS_RETENTION_MINUTES = 7 * 24 * 60;
export const DEFAULT_OFFSETS_RETENTION_CHECK_INTERVAL_MS = 10 * MS_PER_MINUTE;
/** offset.metadata.max.bytes */
const MAX_METADATA_BYTES = 4096;
const EMPTY: Buffer = Buffer.alloc(0);

/** Offsets of a commit as the store keeps them, committed at `commitTimestamp`. */
function storedEntries(offsets: CommitParams['offsets'], commitTimestamp: number): OffsetEntry[] {
  return offsets.map((o) => ({
    topic: o.topic,
    partition: o.partition,
    // As Kafka: a commit without metadata stores none ('').
    value: { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata ?? '', commitTimestamp },
  }));
}

function sameProtocols(a: Member['protocols'], b: Member['protocols']): boolean {
  return (
    a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata))
  );
}

/**
 * The classic consumer-group protocol as Kafka's coordinator runs it: members join, the group waits for every
 * known member (bounded by the rebalance timeout), the leader's assignment is handed out on sync, and
 * heartbeats, leaves and session expiry trigger the next rebalance. Which groups exist and how long they live
 * is the directory's job; what one request may carry is bounded by the group limits.
 */
export class GroupCoordinator {
  private readonly groups: GroupDirectory;
  private readonly limits: GroupLimits;
  private readonly minSessionTimeoutMs: number;
  private readonly maxSessionTimeoutMs: number;
  private readonly now: () => number;
  private readonly retentionTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly offsets: OffsetStore,
    private readonly options: CoordinatorOptions,
  ) {
    this.minSessionTimeoutMs = options.minSessionTimeoutMs ?? 1_000;
    this.maxSessionTimeoutMs = options.maxSessionTimeoutMs ?? 1_800_000;
    this.limits = checkedGroupLimits({ ...DEFAULT_GROUP_LIMITS, ...options.limits });
    this.now = options.now ?? Date.now;
    this.groups = new GroupDirectory(offsets, {
      maxGroups: this.limits.maxGroups,
      offsetsRetentionMs:
        (options.offsetsRetentionMinutes ?? DEFAULT_OFFSETS_RETENTION_MINUTES) * MS_PER_MINUTE,
      now: this.now,
      logger: options.logger,
    });
    this.retentionTimer = setInterval(
      () => void this.expireGroups(),
      options.offsetsRetentionCheckIntervalMs ?? DEFAULT_OFFSETS_RETENTION_CHECK_INTERVAL_MS,
    );
    this.retentionTimer.unref();
  }

  /** Ends groups without members whose offsets outlived the retention; the timer calls it, tests may too. */
  async expireGroups(): Promise<string[]> {
    try {
      const expired = await this.groups.expire();
      if (expired.length > 0) this.options.logger.info({ groups: expired.length }, 'expired idle groups');
      return expired;
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not expire idle groups');
      return [];
    }
  }

  join(params: JoinParams): Promise<JoinResult> {
    const refuse = (errorCode: number, memberId = params.memberId): Promise<JoinResult> =>
      Promise.resolve({
        errorCode,
        generationId: -1,
        protocolType: null,
        protocolName: null,
        leader: '',
        memberId,
        members: [],
      });
    if (this.closed) return refuse(ErrorCode.NOT_COORDINATOR);
    const invalid = joinRequestError(params, this.limits);
    if (invalid !== ErrorCode.NONE) return refuse(invalid);
    if (
      params.sessionTimeoutMs < this.minSessionTimeoutMs ||
      params.sessionTimeoutMs > this.maxSessionTimeoutMs
    ) {
      return refuse(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const group = this.groups.admit(params.groupId);
    // Every group slot is taken by a group with members: retriable, as a slot frees when a group empties.
    if (!group) return refuse(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (params.protocols.length === 0 || !this.protocolsCompatible(group, params)) {
      return refuse(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    let memberId = params.memberId;
    if (memberId === '') {
      memberId = newMemberId(params.clientId, this.limits);
      if (params.requireKnownMemberId) {
        if (group.pendingMemberIds.size >= this.limits.groupMaxSize) {
          return refuse(ErrorCode.GROUP_MAX_SIZE_REACHED, '');
        }
        this.addPendingMember(group, memberId, params.sessionTimeoutMs);
        return refuse(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
    } else if (!group.members.has(memberId) && !this.takePendingMember(group, memberId)) {
      return refuse(ErrorCode.UNKNOWN_MEMBER_ID);
    }
    let member = group.members.get(memberId);
    if (!member && group.members.size >= this.limits.groupMaxSize) {
      return refuse(ErrorCode.GROUP_MAX_SIZE_REACHED, memberId);
    }
    if (groupProtocolBytesWith(group, memberId, params.protocols) > this.limits.maxGroupProtocolBytes) {
      // The group is full in bytes: the leader's JoinGroup response would carry every member's metadata.
      return refuse(ErrorCode.GROUP_MAX_SIZE_REACHED, memberId);
    }
    if (!member) {
      member = {
        memberId,
        groupInstanceId: params.groupInstanceId,
        clientId: params.clientId,
        clientHost: params.clientHost,
        sessionTimeoutMs: params.sessionTimeoutMs,
        rebalanceTimeoutMs: params.rebalanceTimeoutMs,
        protocols: params.protocols,
        assignment: EMPTY,
        joinWaiter: null,
        syncWaiter: null,
        sessionTimer: null,
      };
      group.members.set(memberId, member);
    } else if (
      group.state === 'Stable' &&
      memberId !== group.leaderId &&
      sameProtocols(member.protocols, params.protocols)
    ) {
      // A follower rejoining with unchanged metadata gets the current generation without a rebalance.
      this.touch(group, member);
      return Promise.resolve(this.joinResult(group, member, false));
    }
    member.sessionTimeoutMs = params.sessionTimeoutMs;
    member.rebalanceTimeoutMs = params.rebalanceTimeoutMs;
    member.protocols = params.protocols;
    group.protocolType ??= params.protocolType;
    const joined = new Promise<JoinResult>((resolve) => {
      member.joinWaiter = resolve;
    });
    // While it waits in a join a member cannot heartbeat; the rebalance timeout bounds that wait instead.
    this.stopSession(member);
    this.prepareRebalance(group);
    this.maybeCompleteJoin(group);
    return joined;
  }

  sync(params: SyncParams): Promise<SyncResult> {
    const answer = (errorCode: number, assignment = EMPTY, group?: Group): Promise<SyncResult> =>
      Promise.resolve({
        errorCode,
        protocolType: group?.protocolType ?? null,
        protocolName: group?.protocolName ?? null,
        assignment,
      });
    if (this.closed) return answer(ErrorCode.NOT_COORDINATOR);
    const group = this.groups.get(params.groupId);
    const member = group?.members.get(params.memberId);
    if (!group || !member) return answer(ErrorCode.UNKNOWN_MEMBER_ID);
    if (params.generationId !== group.generationId) return answer(ErrorCode.ILLEGAL_GENERATION);
    const assignmentBytes = params.assignments.reduce((sum, a) => sum + a.assignment.length, 0);
    if (assignmentBytes > this.limits.maxGroupAssignmentBytes) return answer(ErrorCode.INVALID_REQUEST);
    if (group.state === 'PreparingRebalance') return answer(ErrorCode.REBALANCE_IN_PROGRESS);
    if (params.protocolType !== null && params.protocolType !== group.protocolType) {
      return answer(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    if (params.protocolName !== null && params.protocolName !== group.protocolName) {
      return answer(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    this.touch(group, member);
    if (group.state === 'Stable') return answer(ErrorCode.NONE, member.assignment, group);
    const synced = new Promise<SyncResult>((resolve) => {
      member.syncWaiter = resolve;
    });
    if (member.memberId === group.leaderId) void this.storeAssignment(group, params.assignments);
    return synced;
  }

  /**
   * As Kafka: the leader's assignment is written in the group's GroupMetadata record, and only once that is
   * acknowledged (fsynced; on a cluster committed on the ISR) does the group become Stable and its members
   * get their assignments, so a coordinator that takes the group over after a failover knows the generation
   * its members run. The group stays CompletingRebalance meanwhile; a rebalance or a close in between has
   * answered the members already. A record that is not acknowledged is answered to every member waiting in
   * SyncGroup with Kafka's error (COORDINATOR_NOT_AVAILABLE, or NOT_COORDINATOR when this broker lost the
   * partition or its disk failed), and the group rebalances.
   */
  private async storeAssignment(group: Group, assignments: SyncParams['assignments']): Promise<void> {
    const generationId = group.generationId;
    const assignmentOf = (memberId: string) =>
      assignments.find((a) => a.memberId === memberId)?.assignment ?? EMPTY;
    const errorCode = await this.writeGroupRecord(group, assignmentOf).then(
      () => ErrorCode.NONE,
      (error: unknown) => groupStoreErrorCode(error, group.groupId, this.options.logger),
    );
    if (this.closed || group.state !== 'CompletingRebalance' || group.generationId !== generationId) return;
    for (const m of group.members.values())
      m.assignment = errorCode === ErrorCode.NONE ? assignmentOf(m.memberId) : EMPTY;
    if (errorCode === ErrorCode.NONE) group.state = 'Stable';
    for (const m of group.members.values()) {
      const waiter = m.syncWaiter;
      m.syncWaiter = null;
      waiter?.({
        errorCode,
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        assignment: m.assignment,
      });
    }
    if (errorCode !== ErrorCode.NONE) this.prepareRebalance(group);
  }

  heartbeat(params: {
    groupId: string;
    generationId: number;
    memberId: string;
    groupInstanceId: string | null;
  }): {
    errorCode: number;
  } {
    if (this.closed) return { errorCode: ErrorCode.NOT_COORDINATOR };
    const group = this.groups.get(params.groupId);
    const member = group?.members.get(params.memberId);
    if (!group || !member) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
    if (params.generationId !== group.generationId) return { errorCode: ErrorCode.ILLEGAL_GENERATION };
    this.touch(group, member);
    return {
      errorCode: group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE,
    };
  }

  leave(params: { groupId: string; members: Array<{ memberId: string; groupInstanceId: string | null }> }): {
    errorCode: number;
    members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
  } {
    const group = this.groups.get(params.groupId);
    if (!group) {
      return {
        errorCode: ErrorCode.NONE,
        members: params.members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    }
    const members = params.members.map((identity) => {
      const member = group.members.get(identity.memberId);
      if (!member) return { ...identity, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID);
      return { ...identity, errorCode: ErrorCode.NONE };
    });
    if (members.some((m) => m.errorCode === ErrorCode.NONE)) this.afterMembershipLoss(group);
    return { errorCode: ErrorCode.NONE, members };
  }

  async commitOffsets(
    params: CommitParams,
  ): Promise<Array<{ topic: string; partition: number; errorCode: number }>> {
    const all = (errorCode: number) =>
      params.offsets.map((o) => ({ topic: o.topic, partition: o.partition, errorCode }));
    if (this.closed) return all(ErrorCode.NOT_COORDINATOR);
    if (!validGroupId(params.groupId, this.limits)) return all(ErrorCode.INVALID_GROUP_ID);
    const group = this.groups.admit(params.groupId);
    if (!group) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (params.generationId < 0 && params.memberId === '') {
      // A standalone consumer commits outside any generation, which only an idle group allows.
      if (group.members.size > 0) return all(ErrorCode.ILLEGAL_GENERATION);
    } else {
      const member = group.members.get(params.memberId);
      if (!member) return all(ErrorCode.UNKNOWN_MEMBER_ID);
      if (params.generationId !== group.generationId) return all(ErrorCode.ILLEGAL_GENERATION);
      if (group.state === 'CompletingRebalance') return all(ErrorCode.REBALANCE_IN_PROGRESS);
      this.touch(group, member);
    }
    const results = params.offsets.map((o) => ({
      topic: o.topic,
      partition: o.partition,
      errorCode: this.offsetError(o),
    }));
    const accepted = params.offsets.filter((_, i) => results[i]!.errorCode === ErrorCode.NONE);
    try {
      await this.offsets.commit(params.groupId, storedEntries(accepted, this.now()));
    } catch (error) {
      // Not acknowledged (a replicated store lost its leadership or its ISR): the client retries elsewhere.
      if (!(error instanceof OffsetCommitError)) throw error;
      return all(error.errorCode);
    }
    return results;
  }

  /**
   * TxnOffsetCommit v3+ from a member: its id and generation must be the group's current ones, as for an
   * OffsetCommit (KIP-447); a producer that names no member (generation -1, empty id) is not checked.
   */
  transactionalMemberError(groupId: string, memberId: string, generationId: number): number {
    if (memberId === '' && generationId < 0) return ErrorCode.NONE;
    const group = this.groups.get(groupId);
    if (!group?.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    return generationId === group.generationId ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
  }

  /**
   * TxnOffsetCommit's offsets (already checked: member, partitions, metadata) written in the producer's
   * transaction to this group's offsets partition; they reach the group when the transaction's commit marker
   * does (transactionEnded). Answers NONE once acknowledged, or the error code of the write.
   */
  async commitTransactionalOffsets(
    groupId: string,
    producer: TransactionProducer,
    offsets: CommitParams['offsets'],
  ): Promise<number> {
    if (this.closed) return ErrorCode.NOT_COORDINATOR;
    if (!validGroupId(groupId, this.limits)) return ErrorCode.INVALID_GROUP_ID;
    try {
      await this.offsets.commitTransactional(groupId, producer, storedEntries(offsets, this.now()));
    } catch (error) {
      if (error instanceof OffsetCommitError) return error.errorCode;
      // A newer epoch of the producer wrote to the partition: this one is fenced.
      if (error instanceof LogError) return errorCodeOf(error);
      throw error;
    }
    return ErrorCode.NONE;
  }

  /** A transaction's marker is acknowledged in this coordinator's offsets partition. */
  transactionEnded(producerId: number, committed: boolean): void {
    // Its offsets are applied at once; only the snapshot that may follow can fail, to be tried again later.
    this.offsets
      .endTransaction(producerId, committed)
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'offsets snapshot after a transaction not written'),
      );
  }

  /**
   * Committed offsets of the group. With `requireStable` (OffsetFetch v7+), a partition a transaction not
   * yet ended holds an offset of answers UNSTABLE_OFFSET_COMMIT and no offset, as Kafka: the client retries.
   */
  fetchOffsets(
    groupId: string,
    topics: Array<{ topic: string; partitions: number[] }> | null,
    requireStable = false,
  ): Array<{
    topic: string;
    partition: number;
    offset: number;
    leaderEpoch: number;
    metadata: string | null;
    errorCode: number;
  }> {
    const unstable = (topic: string, partition: number) =>
      requireStable && this.offsets.hasPending(groupId, topic, partition);
    const row = (topic: string, partition: number, committed: CommittedOffset | undefined) =>
      unstable(topic, partition)
        ? {
            topic,
            partition,
            offset: -1,
            leaderEpoch: -1,
            metadata: '',
            errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT,
          }
        : {
            topic,
            partition,
            offset: committed?.offset ?? -1,
            leaderEpoch: committed?.leaderEpoch ?? -1,
            metadata: committed ? committed.metadata : '',
            errorCode: ErrorCode.NONE,
          };
    if (topics === null) return this.offsets.entries(groupId).map((e) => row(e.topic, e.partition, e.value));
    return topics.flatMap((t) =>
      t.partitions.map((partition) => row(t.topic, partition, this.offsets.get(groupId, t.topic, partition))),
    );
  }

  describe(groupId: string): {
    errorCode: number;
    state: GroupState;
    protocolType: string;
    protocolData: string;
    members: Array<{
      memberId: string;
      groupInstanceId: string | null;
      clientId: string;
      clientHost: string;
      memberMetadata: Buffer;
      memberAssignment: Buffer;
    }>;
  } {
    const group = this.groups.get(groupId);
    if (!group) {
      // Known only from the offsets topic (its offsets or group record): a group without members.
      const known = this.groups.has(groupId);
      return {
        errorCode: ErrorCode.NONE,
        state: known ? 'Empty' : 'Dead',
        protocolType: known ? this.offsets.storedGroup(groupId)?.protocolType || 'consumer' : '',
        protocolData: '',
        members: [],
      };
    }
    const stable = group.state === 'Stable';
    return {
      errorCode: ErrorCode.NONE,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: stable ? (group.protocolName ?? '') : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable
          ? (m.protocols.find((p) => p.name === group.protocolName)?.metadata ?? EMPTY)
          : EMPTY,
        memberAssignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  /** Groups with members or committed offsets (which survive restarts as Empty groups). */
  list(states?: string[]): Array<{ groupId: string; protocolType: string; state: GroupState }> {
    return this.groups
      .ids()
      .map((groupId) => {
        const described = this.describe(groupId);
        return { groupId, protocolType: described.protocolType, state: described.state };
      })
      .filter((g) => !states || states.some((s) => s.toLowerCase() === g.state.toLowerCase()));
  }

  /** High watermark minus committed offset for every committed partition; for metrics and the CLI. */
  lag(
    highWatermarkOf: (topic: string, partition: number) => number,
  ): Array<{ group: string; topic: string; partition: number; lag: number }> {
    const rows: Array<{ group: string; topic: string; partition: number; lag: number }> = [];
    for (const group of this.offsets.groups()) {
      for (const e of this.offsets.entries(group)) {
        try {
          rows.push({
            group,
            topic: e.topic,
            partition: e.partition,
            lag: Math.max(0, highWatermarkOf(e.topic, e.partition) - e.value.offset),
          });
        } catch {
          // The topic was deleted after the commit: no lag to report.
        }
      }
    }
    return rows;
  }

  /**
   * DeleteGroups for one group: only a group without members (NON_EMPTY_GROUP otherwise), with its offsets
   * and group record (tombstones); GROUP_ID_NOT_FOUND for a group this coordinator does not know.
   */
  async deleteGroup(groupId: string): Promise<number> {
    if (this.closed) return ErrorCode.NOT_COORDINATOR;
    if (!validGroupId(groupId, this.limits)) return ErrorCode.INVALID_GROUP_ID;
    if (!this.groups.has(groupId)) return ErrorCode.GROUP_ID_NOT_FOUND;
    const group = this.groups.get(groupId);
    if (group && (group.members.size > 0 || group.state !== 'Empty')) return ErrorCode.NON_EMPTY_GROUP;
    try {
      await this.groups.delete(groupId);
    } catch (error) {
      if (!(error instanceof OffsetCommitError)) throw error;
      return error.errorCode;
    }
    return ErrorCode.NONE;
  }

  /**
   * OffsetDelete: forgets the group's committed offsets of these partitions, except those of topics a member
   * of the group subscribes to (GROUP_SUBSCRIBED_TO_TOPIC), as Kafka. A group with members whose
   * subscriptions cannot be read (not the consumer protocol) is refused whole: NON_EMPTY_GROUP.
   */
  async deleteOffsets(
    groupId: string,
    partitions: Array<{ topic: string; partition: number }>,
  ): Promise<{
    errorCode: number;
    partitions: Array<{ topic: string; partition: number; errorCode: number }>;
  }> {
    const refuse = (errorCode: number) => ({ errorCode, partitions: [] });
    if (this.closed) return refuse(ErrorCode.NOT_COORDINATOR);
    if (!validGroupId(groupId, this.limits)) return refuse(ErrorCode.INVALID_GROUP_ID);
    if (!this.groups.has(groupId)) return refuse(ErrorCode.GROUP_ID_NOT_FOUND);
    const group = this.groups.get(groupId);
    const subscribed = group && group.members.size > 0 ? consumerGroupTopics(group) : new Set<string>();
    if (subscribed === null) return refuse(ErrorCode.NON_EMPTY_GROUP);
    const results = partitions.map((p) => ({ ...p, errorCode: this.offsetDeleteError(p, subscribed) }));
    try {
      await this.offsets.deleteOffsets(
        groupId,
        results.filter((r) => r.errorCode === ErrorCode.NONE),
      );
    } catch (error) {
      if (!(error instanceof OffsetCommitError)) throw error;
      return refuse(error.errorCode);
    }
    return { errorCode: ErrorCode.NONE, partitions: results };
  }

  /** Stops timers and answers waiting members so their clients look for the coordinator again. */
  close(): void {
    this.closed = true;
    clearInterval(this.retentionTimer);
    for (const groupId of this.groups.ids()) {
      const group = this.groups.get(groupId);
      if (!group) continue;
      for (const member of group.members.values())
        this.removeMember(group, member, ErrorCode.NOT_COORDINATOR);
    }
    this.groups.close();
  }

  /** Why an offset cannot be committed (unknown partition, metadata too large), or NONE. */
  offsetError(offset: CommitParams['offsets'][number]): number {
    if (!this.options.partitionExists(offset.topic, offset.partition))
      return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (offset.metadata !== null && Buffer.byteLength(offset.metadata) > MAX_METADATA_BYTES) {
      return ErrorCode.OFFSET_METADATA_TOO_LARGE;
    }
    return ErrorCode.NONE;
  }

  private offsetDeleteError(
    p: { topic: string; partition: number },
    subscribed: ReadonlySet<string>,
  ): number {
    if (!this.options.partitionExists(p.topic, p.partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return subscribed.has(p.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE;
  }

  /** KIP-394: an id handed out with MEMBER_ID_REQUIRED is good for one session timeout, as in Kafka. */
  private addPendingMember(group: Group, memberId: string, sessionTimeoutMs: number): void {
    const timer = setTimeout(() => group.pendingMemberIds.delete(memberId), sessionTimeoutMs);
    timer.unref();
    group.pendingMemberIds.set(memberId, timer);
  }

  private takePendingMember(group: Group, memberId: string): boolean {
    const timer = group.pendingMemberIds.get(memberId);
    if (!timer) return false;
    clearTimeout(timer);
    return group.pendingMemberIds.delete(memberId);
  }

  private protocolsCompatible(group: Group, params: JoinParams): boolean {
    if (group.members.size === 0) return true;
    if (group.protocolType !== null && group.protocolType !== params.protocolType) return false;
    const others = [...group.members.values()].filter((m) => m.memberId !== params.memberId);
    return params.protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  private prepareRebalance(group: Group): void {
    if (group.state === 'CompletingRebalance') {
      for (const member of group.members.values()) {
        const waiter = member.syncWaiter;
        member.syncWaiter = null;
        waiter?.({
          errorCode: ErrorCode.REBALANCE_IN_PROGRESS,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: EMPTY,
        });
      }
    }
    if (group.state === 'PreparingRebalance') return;
    const wasEmpty = group.state === 'Empty';
    group.state = 'PreparingRebalance';
    const rebalanceTimeoutMs = Math.max(...[...group.members.values()].map((m) => m.rebalanceTimeoutMs));
    if (wasEmpty && this.options.initialRebalanceDelayMs > 0) {
      // Like group.initial.rebalance.delay.ms: give a starting fleet of consumers a moment to join together.
      group.initialDelayPending = true;
      group.rebalanceTimer = setTimeout(
        () => {
          group.initialDelayPending = false;
          group.rebalanceTimer = setTimeout(() => this.completeJoin(group), rebalanceTimeoutMs);
          this.maybeCompleteJoin(group);
        },
        Math.min(this.options.initialRebalanceDelayMs, rebalanceTimeoutMs),
      );
      return;
    }
    group.rebalanceTimer = setTimeout(() => this.completeJoin(group), rebalanceTimeoutMs);
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance' || group.initialDelayPending) return;
    if ([...group.members.values()].every((m) => m.joinWaiter !== null)) this.completeJoin(group);
  }

  /** Ends the join phase: members that did not rejoin are dropped and the next generation starts. */
  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    if (group.rebalanceTimer) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = null;
    group.initialDelayPending = false;
    for (const member of [...group.members.values()]) {
      if (!member.joinWaiter) this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    group.generationId++;
    if (group.members.size === 0) {
      this.becomeEmpty(group);
      return;
    }
    group.protocolName = this.chooseProtocol(group);
    if (!group.leaderId || !group.members.has(group.leaderId))
      group.leaderId = group.members.keys().next().value!;
    group.state = 'CompletingRebalance';
    for (const member of group.members.values()) {
      const waiter = member.joinWaiter!;
      member.joinWaiter = null;
      this.touch(group, member);
      waiter(this.joinResult(group, member, member.memberId === group.leaderId));
    }
  }

  private joinResult(group: Group, member: Member, withMembers: boolean): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: withMembers
        ? [...group.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            metadata: m.protocols.find((p) => p.name === group.protocolName)?.metadata ?? EMPTY,
          }))
        : [],
    };
  }

  /** Every member votes for its most preferred protocol that all members support. */
  private chooseProtocol(group: Group): string {
    const members = [...group.members.values()];
    const common = members[0]!.protocols
      .map((p) => p.name)
      .filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
    const votes = new Map<string, number>();
    for (const member of members) {
      const choice = member.protocols.find((p) => common.includes(p.name))?.name;
      if (choice) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? common[0]!;
  }

  private touch(group: Group, member: Member): void {
    this.groups.markActive(group.groupId);
    this.stopSession(member);
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null;
      if (group.members.get(member.memberId) !== member) return;
      this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID);
      this.afterMembershipLoss(group);
    }, member.sessionTimeoutMs);
    member.sessionTimer.unref();
  }

  private stopSession(member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
  }

  private removeMember(group: Group, member: Member, errorCode: number): void {
    this.stopSession(member);
    group.members.delete(member.memberId);
    const join = member.joinWaiter;
    const sync = member.syncWaiter;
    member.joinWaiter = null;
    member.syncWaiter = null;
    join?.({
      errorCode,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: '',
      memberId: member.memberId,
      members: [],
    });
    sync?.({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
  }

  private afterMembershipLoss(group: Group): void {
    if (group.members.size === 0 && group.state !== 'PreparingRebalance') {
      if (group.rebalanceTimer) clearTimeout(group.rebalanceTimer);
      group.rebalanceTimer = null;
      group.generationId++;
      this.becomeEmpty(group);
      return;
    }
    this.prepareRebalance(group);
    this.maybeCompleteJoin(group);
  }

  /** The offsets retention of a group without members counts from here (KIP-211). */
  private becomeEmpty(group: Group): void {
    Object.assign(group, { state: 'Empty', protocolName: null, leaderId: null });
    this.groups.markActive(group.groupId);
    this.persistEmptyGroup(group);
  }

  /**
   * Writes the GroupMetadata record of a group that emptied, as Kafka does, for readers of
   * __consumer_offsets; nobody waits for it: a record that does not make it is logged, and the next
   * generation writes a newer one.
   */
  private persistEmptyGroup(group: Group): void {
    assert.equal(group.members.size, 0, `group ${group.groupId} is not empty`);
    void this.writeGroupRecord(group, () => EMPTY).catch((error: unknown) =>
      groupStoreErrorCode(error, group.groupId, this.options.logger),
    );
  }

  /** The group's GroupMetadata record with each member's assignment as `assignmentOf` gives it. */
  private writeGroupRecord(group: Group, assignmentOf: (memberId: string) => Buffer): Promise<void> {
    const protocolName = group.protocolName;
    return this.offsets.storeGroup(group.groupId, {
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol: protocolName,
      leader: group.leaderId,
      currentStateTimestamp: this.now(),
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs,
        sessionTimeout: m.sessionTimeoutMs,
        subscription: m.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY,
        assignment: assignmentOf(m.memberId),
      })),
    });
  }
}

/**
 * The error a group record that was not acknowledged is answered with, as Kafka maps its append errors:
 * a lost leadership or a failed disk is NOT_COORDINATOR (the client looks the coordinator up again), any
 * other failure to replicate or write in time COORDINATOR_NOT_AVAILABLE (it retries).
 */
function groupStoreErrorCode(error: unknown, groupId: string, logger: Logger): number {
  if (error instanceof OffsetCommitError) {
    logger.warn({ groupId, err: error }, 'group metadata record not written');
    return error.errorCode === ErrorCode.NOT_COORDINATOR ||
      error.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
      error.errorCode === ErrorCode.KAFKA_STORAGE_ERROR
      ? ErrorCode.NOT_COORDINATOR
      : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
  if (error instanceof LogError) {
    logger.warn({ groupId, err: error }, 'group metadata record not written: the log refused it');
    return ErrorCode.NOT_COORDINATOR;
  }
  logger.error({ groupId, err: error }, 'could not write the group metadata');
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}
