import type { Logger } from 'pino';
import type { ClusterNode, LeaderPartition } from '../cluster/index.js';
import { ClusterInternalTopic, replicatedLogWriter } from './cluster-internal-topic.js';
import { type CoordinatorOptions, GroupCoordinator } from './group-coordinator.js';
import { type CoordinatorLocation, type GroupRouter, offsetsPartitionOf } from './group-router.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG, OffsetStore } from './offset-store.js';

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
  private readonly topic: ClusterInternalTopic;

  constructor(
    private readonly cluster: ClusterNode,
    private readonly options: ClusterGroupsOptions,
  ) {
    this.topic = new ClusterInternalTopic(cluster, {
      name: OFFSETS_TOPIC,
      label: 'the offsets topic',
      partitions: options.offsetsPartitions,
      config: OFFSETS_TOPIC_CONFIG,
      createTimeoutMs: options.offsetsCommitTimeoutMs,
      partitionOf: offsetsPartitionOf,
    });
  }

  /** The replica manager's hook: this broker leads an offsets partition from now on. */
  becameLeader(leader: LeaderPartition): void {
    if (leader.topic !== OFFSETS_TOPIC) return;
    const partition = leader.partition;
    this.coordinators.get(partition)?.close();
    const store = OffsetStore.over(
      leader.log,
      replicatedLogWriter(this.cluster, OFFSETS_TOPIC, partition, this.options.offsetsCommitTimeoutMs),
    );
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
    return this.coordinators.get(this.topic.partitionOfKey(groupId)) ?? null;
  }

  all(): GroupCoordinator[] {
    return [...this.coordinators.values()];
  }

  offsetsPartitionOf(groupId: string): number {
    return this.topic.partitionOfKey(groupId);
  }

  transactionEnded(offsetsPartition: number, producerId: number, committed: boolean): void {
    this.coordinators.get(offsetsPartition)?.transactionEnded(producerId, committed);
  }

  locate(groupId: string, listener: string): Promise<CoordinatorLocation> {
    return this.topic.locate(groupId, listener);
  }

  close(): void {
    for (const coordinator of this.coordinators.values()) coordinator.close();
    this.coordinators.clear();
  }
}
