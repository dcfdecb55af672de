import { performance } from 'node:perf_hooks';
import {
  type Consumer,
  type GroupAssignment,
  type GroupOptions,
  heartbeatV4,
  offsetCommitV8,
  offsetCommitV9,
} from '@platformatic/kafka';
import type { ErrorCodeName } from '../protocol/index.js';
import { checkCommitEntries, partitionKey } from './client-checks.js';
import { LogClientError } from './client-errors.js';
import { commitRequestTopics, usableApi } from './remote-apis.js';
import type { ResolvedOptions } from './remote-common.js';
import { kafkaError, kafkaErrorWhere, NETWORK_ERROR_CODE } from './remote-errors.js';
import type {
  AssignmentListener,
  CommitEntry,
  GroupMembership,
  HeldPartition,
  TopicPartition,
} from './types.js';

const OFFSET_COMMIT_APIS = [offsetCommitV9.api, offsetCommitV8.api];
/** Heartbeat answers meaning the group has moved on without this member. */
const FENCED_ERRORS: readonly ErrorCodeName[] = [
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
];
/** OffsetCommit answers meaning the group is rebalancing and the partitions may have moved. */
const COMMIT_REFUSALS: readonly ErrorCodeName[] = [
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
];
/** How often confirmAssignment() looks again while a rejoin it must wait for is under way. */
const REJOIN_POLL_MS = 50;

/** One member of a consumer group joined through @platformatic/kafka, telling its listener what moves. */
export class RemoteMembership implements GroupMembership {
  /** The assignment the library last reported, which the listener has been (or is being) told. */
  private current: HeldPartition[] = [];
  /** The group generation `current` was assigned in, and to which member id. */
  private currentGeneration = -1;
  private currentMemberId: string | null = null;
  private notifications: Promise<void> = Promise.resolve();
  private listenerFailure: unknown = null;
  private rejoinTimer: NodeJS.Timeout | null = null;
  /** Why the library gave up rejoining, until a join succeeds again. */
  private membershipError: Error | null = null;
  private leaving: Promise<void> | null = null;
  private left = false;

  private consumer: Consumer;

  /**
   * `createConsumer` makes the library consumer that joins: a new one each time the group has to be joined
   * afresh, because the library never forgets a group coordinator it found (see coordinatorLost).
   */
  constructor(
    private readonly createConsumer: () => Consumer,
    private readonly groupId: string,
    private readonly topics: string[],
    private readonly listener: AssignmentListener,
    private readonly options: ResolvedOptions,
    private readonly onLeft: () => void,
  ) {
    this.consumer = createConsumer();
  }

  get memberId(): string {
    return this.consumer.memberId ?? '';
  }

  /**
   * Resolves once the first assignment is known and assigned() has finished with it.
   *
   * The library rejoins on its own when a heartbeat learns of a rebalance and only reports the outcome
   * ('consumer:group:join' with the new assignment); it offers no hook that could hold the rejoin until
   * revoked() has finished. So revoked() is called as soon as the new assignment shows which partitions were
   * lost, which is also when their new owner learns of them.
   */
  async join(): Promise<void> {
    this.attach(this.consumer);
    await this.consumer.joinGroup(this.groupOptions());
    await this.notifications;
    if (this.listenerFailure !== null) throw this.listenerFailure;
  }

  private attach(consumer: Consumer): void {
    consumer.topics.trackAll(...this.topics);
    consumer.on('consumer:group:join', (payload) => {
      if (consumer !== this.consumer) return;
      this.membershipError = null;
      const generation = payload.generationId ?? consumer.generationId;
      // Holding a partition without a break means taking part in every generation under the same member id;
      // after a gap another member may have held it (we were frozen past our session, say), so it is lost.
      if (generation !== this.currentGeneration + 1 || consumer.memberId !== this.currentMemberId) {
        this.assignmentChanged([], generation);
      }
      this.currentGeneration = generation;
      this.currentMemberId = consumer.memberId;
      this.assignmentChanged(payload.assignments ?? [], generation);
    });
    consumer.on('error', (error) => {
      if (consumer === this.consumer) this.membershipLost(error);
    });
    consumer.on('consumer:heartbeat:error', ({ error }: { error: Error }) => {
      if (consumer === this.consumer && coordinatorGone(error)) this.membershipLost(error);
    });
  }

  /** The consumer in use, closed (it may still be waiting on a dead coordinator) and replaced by a new one. */
  private replaceConsumer(): void {
    const old = this.consumer;
    this.consumer = this.createConsumer();
    this.attach(this.consumer);
    old.close(true, () => undefined);
  }

  assignment(): TopicPartition[] {
    return this.current.map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /**
   * Sends a Heartbeat with the generation of the assignment we hold. The coordinator answers NONE (still a
   * member of that generation) or REBALANCE_IN_PROGRESS (still a member, the next generation is forming: as in
   * Kafka, a member may still write and commit for its partitions until the new assignment is made); anything
   * group-related else means the group moved on without us, and every partition is revoked here. While the
   * library is rejoining (its generation is ahead of our assignment's) the answer waits for the outcome.
   */
  async confirmAssignment(): Promise<HeldPartition[]> {
    const deadline = Date.now() + this.options.group.rebalanceTimeoutMs;
    while (!this.left && this.membershipError === null && this.current.length > 0) {
      const generation = this.currentGeneration;
      const memberId = this.consumer.memberId;
      if (memberId !== null && this.consumer.generationId === generation) {
        const held = this.current;
        const askedAtMs = performance.now();
        const verdict = await this.heartbeat(generation, memberId);
        const unchanged = this.currentGeneration === generation && this.consumer.generationId === generation;
        // An answer that waited long to be read (the process was frozen or starved meanwhile) may be out of date.
        const fresh = performance.now() - askedAtMs <= this.answerFreshMs;
        if (verdict === 'member' && unchanged && fresh) return held.map((p) => ({ ...p }));
        if (verdict === 'fenced' && unchanged) break;
      }
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, REJOIN_POLL_MS));
    }
    // Whatever we held is gone: tell the listener, so a later assignment of the same partitions is news to it.
    this.assignmentChanged([], this.currentGeneration);
    return [];
  }

  /**
   * How long a "still a member" answer stays good for, counted from when it was asked: the coordinator cannot
   * drop us sooner than a session timeout after that heartbeat, nor finish a rebalance without us sooner than a
   * rebalance timeout, so acting on it within a third of the shorter leaves a wide margin.
   */
  private get answerFreshMs(): number {
    const { sessionTimeoutMs, rebalanceTimeoutMs } = this.options.group;
    return Math.min(sessionTimeoutMs, rebalanceTimeoutMs) / 3;
  }

  private async heartbeat(generation: number, memberId: string): Promise<'member' | 'fenced'> {
    try {
      const connection = await this.coordinatorConnection();
      await heartbeatV4.api.async(connection, this.groupId, generation, memberId, null);
      return 'member';
    } catch (error) {
      if (kafkaError(error, 'REBALANCE_IN_PROGRESS')) return 'member';
      if (FENCED_ERRORS.some((id) => kafkaError(error, id))) return 'fenced';
      if (error instanceof Error && coordinatorGone(error)) {
        this.membershipLost(error);
        return 'fenced';
      }
      throw error;
    }
  }

  /**
   * Commits with this member's generation, so the coordinator refuses a commit from a member that lost its
   * partitions. The library's own commit drops the metadata string, so this sends OffsetCommit itself.
   */
  async commit(offsets: CommitEntry[]): Promise<void> {
    if (this.left) {
      throw new LogClientError('NOT_A_MEMBER', `this member has left group '${this.groupId}'`);
    }
    if (this.listenerFailure !== null) throw this.listenerFailure;
    checkCommitEntries(offsets);
    if (offsets.length === 0) return;
    await this.sendCommit(offsets);
  }

  /** After a failed join: stops trying and closes the consumer, telling the listener nothing more. */
  async discard(): Promise<void> {
    this.leaving ??= Promise.resolve();
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    await new Promise<void>((resolve) => this.consumer.close(true, () => resolve()));
  }

  /** revoked() runs while this is still a member, so it can commit its final offsets. */
  leave(): Promise<void> {
    this.leaving ??= this.revokeAllAndLeave();
    return this.leaving;
  }

  private groupOptions(): GroupOptions {
    const { group } = this.options;
    return {
      sessionTimeout: group.sessionTimeoutMs,
      heartbeatInterval: group.heartbeatIntervalMs,
      rebalanceTimeout: group.rebalanceTimeoutMs,
      protocols: [{ name: 'roundrobin', version: 1 }],
    };
  }

  private assignmentChanged(assignments: GroupAssignment[], generation: number): void {
    if (this.leaving) return;
    const kept = new Map(this.current.map((p) => [partitionKey(p.topic, p.partition), p.heldSince]));
    const next = assignments
      .filter((a) => this.topics.includes(a.topic))
      .flatMap((a) =>
        a.partitions.map((partition) => ({
          topic: a.topic,
          partition,
          heldSince: kept.get(partitionKey(a.topic, partition)) ?? generation,
        })),
      )
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    const lost = difference(this.current, next);
    const gained = difference(next, this.current);
    this.current = next;
    if (lost.length > 0) this.notify(() => this.listener.revoked(lost));
    if (gained.length > 0) this.notify(() => this.listener.assigned(gained));
  }

  /** Listener calls run one at a time in the order the changes happened. */
  private notify(call: () => Promise<void>): void {
    this.notifications = this.notifications.then(call).catch((error: unknown) => {
      this.listenerFailure ??= error;
    });
  }

  /**
   * The library gave up rejoining, or its group coordinator is gone (a heartbeat could not reach it, or it
   * no longer coordinates the group): this process no longer owns its partitions. It joins again with a new
   * consumer after rejoinDelayMs, until it gets back in or leaves. A new consumer, because @platformatic/kafka
   * 1.x keeps the coordinator it first found for good: it would heartbeat a dead broker forever, and fail
   * with a TypeError in a timer once the metadata no longer lists that broker.
   */
  private membershipLost(error: Error): void {
    if (this.leaving || this.rejoinTimer !== null) return;
    this.membershipError = error;
    this.assignmentChanged([], this.currentGeneration);
    this.replaceConsumer();
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = null;
      if (this.leaving) return;
      this.consumer.joinGroup(this.groupOptions()).catch((error: Error) => this.membershipLost(error));
    }, this.options.group.rejoinDelayMs);
  }

  private async revokeAllAndLeave(): Promise<void> {
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    try {
      await this.notifications;
      // Revoked while still holding them, so the listener's final writes pass confirmAssignment().
      if (this.current.length > 0) await this.listener.revoked(this.current);
      this.current = [];
    } finally {
      this.left = true;
      this.onLeft();
      // Closing a consumer that is a member sends LeaveGroup, so the others rebalance at once.
      await this.consumer.close();
    }
  }

  private async coordinatorConnection(
    coordinatorId?: number,
  ): Promise<Awaited<ReturnType<Consumer['connections']['get']>>> {
    const { consumer } = this;
    const id = coordinatorId ?? (await consumer.findGroupCoordinator());
    const broker = (await consumer.metadata({ topics: [] })).brokers.get(id);
    if (!broker) throw new Error(`group coordinator ${id} is not in the cluster metadata`);
    return consumer.connections.get(broker);
  }

  private async sendCommit(offsets: CommitEntry[]): Promise<void> {
    const { consumer } = this;
    const memberId = consumer.memberId;
    if (memberId === null || this.membershipError !== null) {
      throw new LogClientError(
        'COMMIT_FAILED',
        `this process is rejoining group '${this.groupId}'; its partitions may have moved`,
        { cause: this.membershipError },
      );
    }
    const [coordinatorId, apis] = await Promise.all([consumer.findGroupCoordinator(), consumer.listApis()]);
    const commitApi = usableApi(apis, 'OffsetCommit', OFFSET_COMMIT_APIS);
    const connection = await this.coordinatorConnection(coordinatorId);
    try {
      await commitApi.async(
        connection,
        this.groupId,
        consumer.generationId,
        memberId,
        null,
        commitRequestTopics(offsets),
      );
    } catch (error) {
      const refused = COMMIT_REFUSALS.find((id) => kafkaError(error, id));
      if (!refused) throw error;
      throw new LogClientError(
        'COMMIT_FAILED',
        `group '${this.groupId}' refused the commit with ${refused}: the group is rebalancing and these ` +
          'partitions may have moved to another member',
        { cause: error },
      );
    }
  }
}

/** A heartbeat failure that means the coordinator this consumer knows will not answer again. */
function coordinatorGone(error: Error): boolean {
  return (
    kafkaErrorWhere(error, 'code', NETWORK_ERROR_CODE) ||
    kafkaError(error, 'NOT_COORDINATOR') ||
    kafkaError(error, 'COORDINATOR_NOT_AVAILABLE')
  );
}

function difference<P extends TopicPartition>(from: P[], without: TopicPartition[]): P[] {
  const excluded = new Set(without.map((p) => partitionKey(p.topic, p.partition)));
  return from.filter((p) => !excluded.has(partitionKey(p.topic, p.partition)));
}
