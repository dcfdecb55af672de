import type { Logger } from 'pino';
import { type ClusterAnswer, type ClusterNode, endpointOf, type LeaderPartition } from '../cluster/index.js';
import { ErrorCode, errorCodeName } from '../protocol/index.js';
import { type CoordinatorOptions, GroupCoordinator } from './group-coordinator.js';
import { type CoordinatorLocation, type GroupRouter, offsetsPartitionOf } from './group-router.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG, OffsetCommitError, OffsetStore } from './offset-store.js';

export interface ClusterGroupsOptions {
  /** offsets.topic.num.partitions */
  offsetsPartitions: number;
  /** offsets.commit.timeout.ms: how long a commit waits for the ISR. */
  offsetsCommitTimeoutMs: number;
  coordinator: Omit<CoordinatorOptions, 'logger'>;
  logger: Logger;
}

/**
 * Consumer groups on a cluster, as Kafka runs them: committed offsets live in the replicated offsets topic,
 * a group belongs to one of its partitions, and the leader of that partition coordinates the group. When
 * this broker becomes such a leader it loads the partition's offsets and takes the groups over; when it
 * stops leading, its members are told NOT_COORDINATOR and find the new coordinator.
 */
export class ClusterGroups implements GroupRouter {
  private readonly coordinators = new Map<number, GroupCoordinator>();
  private creating: Promise<ClusterAnswer> | null = null;

  constructor(
    private readonly cluster: ClusterNode,
    private readonly options: ClusterGroupsOptions,
  ) {}

  /** The replica manager's hook: this broker leads an offsets partition from now on. */
  becameLeader(leader: LeaderPartition): void {
    if (leader.topic !== OFFSETS_TOPIC) return;
    const partition = leader.partition;
    this.coordinators.get(partition)?.close();
    const store = OffsetStore.over(leader.log, {
      write: (payload) => {
        const current = this.currentLeader(partition);
        return current.log.write(payload, { leaderEpoch: current.leaderEpoch });
      },
      acknowledged: async (endOffset) => {
        const current = this.currentLeader(partition);
        await current.log.durable();
        current.updateHighWatermark();
        const errorCode = await current.waitForCommit(endOffset, this.options.offsetsCommitTimeoutMs);
        if (errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
          throw new OffsetCommitError(ErrorCode.NOT_COORDINATOR, 'this broker no longer leads the group');
        }
        if (errorCode !== ErrorCode.NONE) {
          throw new OffsetCommitError(
            errorCode,
            `offsets not replicated: ${errorCodeName(errorCode) ?? errorCode}`,
          );
        }
      },
    });
    this.coordinators.set(
      partition,
      new GroupCoordinator(store, { ...this.options.coordinator, logger: this.options.logger }),
    );
    this.options.logger.info(
      { partition, groups: store.groups().length, ...store.replayed },
      'coordinating the groups of an offsets partition',
    );
    // A partition written by an older version holds the former JSON records: rewritten in Kafka's format.
    store
      .migrate()
      .catch((error: unknown) =>
        this.options.logger.warn(
          { err: error, partition },
          'offsets partition not rewritten in Kafka format yet',
        ),
      );
  }

  /** The replica manager's hook: another broker leads the offsets partition now. */
  stoppedLeading(topic: string, partition: number): void {
    if (topic !== OFFSETS_TOPIC) return;
    this.coordinators.get(partition)?.close();
    this.coordinators.delete(partition);
  }

  coordinatorOf(groupId: string): GroupCoordinator | null {
    return this.coordinators.get(offsetsPartitionOf(groupId, this.partitions())) ?? null;
  }

  all(): GroupCoordinator[] {
    return [...this.coordinators.values()];
  }

  async locate(groupId: string, listener: string): Promise<CoordinatorLocation> {
    const view = this.cluster.view;
    if (!view.topics.has(OFFSETS_TOPIC)) {
      const created = await this.createOffsetsTopic();
      if (!view.topics.has(OFFSETS_TOPIC)) {
        return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: offsetsTopicMissing(created) };
      }
    }
    const partition = offsetsPartitionOf(groupId, this.partitions());
    const leader = view.state(OFFSETS_TOPIC, partition)?.state.leader ?? -1;
    const broker = view.brokers.get(leader);
    if (!broker) {
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        message: `offsets partition ${partition} has no leader`,
      };
    }
    const endpoint = endpointOf(broker, listener);
    if (!endpoint) {
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        message: `the coordinator (broker ${leader}) has no ${listener} listener`,
      };
    }
    return { errorCode: ErrorCode.NONE, nodeId: leader, ...endpoint };
  }

  close(): void {
    for (const coordinator of this.coordinators.values()) coordinator.close();
    this.coordinators.clear();
  }

  /** The partition count the topic has (it may predate a change of the setting). */
  private partitions(): number {
    return this.cluster.view.topics.get(OFFSETS_TOPIC)?.replicas.length ?? this.options.offsetsPartitions;
  }

  private currentLeader(partition: number): LeaderPartition {
    const found = this.cluster.replicas.lookupLeader(OFFSETS_TOPIC, partition, -1);
    if ('errorCode' in found) throw new OffsetCommitError(ErrorCode.NOT_COORDINATOR, found.message);
    return found.leader;
  }

  /** Created on first use, as Kafka does, by whichever broker is asked first; one creation at a time here. */
  private createOffsetsTopic(): Promise<ClusterAnswer> {
    this.creating ??= this.cluster
      .createTopic(
        {
          name: OFFSETS_TOPIC,
          partitions: this.options.offsetsPartitions,
          replicationFactor: -1,
          assignments: [],
          config: OFFSETS_TOPIC_CONFIG,
        },
        this.options.offsetsCommitTimeoutMs,
      )
      .finally(() => {
        this.creating = null;
      });
    return this.creating;
  }
}

/**
 * Why FindCoordinator finds no offsets topic after asking for it. A creation that was refused (ZooKeeper out
 * of reach, too few brokers) says why, so a client's log names the cause; one that was accepted, or that met
 * the topic already created by another broker, is waiting for the shared view to show it.
 */
function offsetsTopicMissing(created: ClusterAnswer): string {
  if (created.errorCode === ErrorCode.NONE || created.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS)
    return 'the offsets topic is being created';
  const reason = created.message ?? errorCodeName(created.errorCode) ?? `error ${created.errorCode}`;
  return `the offsets topic does not exist yet and cannot be created now: ${reason}`;
}
