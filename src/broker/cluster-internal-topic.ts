import { type ClusterAnswer, type ClusterNode, endpointOf, type LeaderPartition } from '../cluster/index.js';
import { ErrorCode, errorCodeName } from '../protocol/index.js';
import type { CoordinatorLocation } from './group-router.js';
import { OffsetCommitError, type OffsetLogWriter } from './offset-store.js';

export interface InternalTopicSpec {
  name: string;
  /** How FindCoordinator's messages name it. */
  label: string;
  /** The partition count it is created with. */
  partitions: number;
  config: Record<string, string>;
  createTimeoutMs: number;
  /** The partition of a key among `partitions`. */
  partitionOf(key: string, partitions: number): number;
}

/**
 * A coordinators' internal topic on a cluster (`__consumer_offsets`, `__transaction_state`): created on first
 * use, as Kafka does, by whichever broker is asked first; each key belongs to one partition, whose leader
 * coordinates it.
 */
export class ClusterInternalTopic {
  private creating: Promise<ClusterAnswer> | null = null;

  constructor(
    private readonly cluster: ClusterNode,
    private readonly topic: InternalTopicSpec,
  ) {}

  get name(): string {
    return this.topic.name;
  }

  /** The partition count the topic has (it may predate a change of the setting). */
  partitions(): number {
    return this.cluster.view.topics.get(this.name)?.replicas.length ?? this.topic.partitions;
  }

  partitionOfKey(key: string): number {
    return this.topic.partitionOf(key, this.partitions());
  }

  /** The leader of `key`'s partition at its address on `listener`, creating the topic first if need be. */
  async locate(key: string, listener: string): Promise<CoordinatorLocation> {
    const view = this.cluster.view;
    if (!view.topics.has(this.name)) {
      const created = await this.create();
      if (!view.topics.has(this.name)) {
        return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: this.missing(created) };
      }
    }
    const partition = this.partitionOfKey(key);
    const leader = view.state(this.name, partition)?.state.leader ?? -1;
    const broker = view.brokers.get(leader);
    if (!broker) {
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        message: `${this.name} partition ${partition} has no leader`,
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

  /** One creation at a time here. */
  private create(): Promise<ClusterAnswer> {
    this.creating ??= this.cluster
      .createTopic(
        {
          name: this.name,
          partitions: this.topic.partitions,
          replicationFactor: -1,
          assignments: [],
          config: this.topic.config,
        },
        this.topic.createTimeoutMs,
      )
      .finally(() => {
        this.creating = null;
      });
    return this.creating;
  }

  /**
   * Why FindCoordinator finds no topic after asking for it. A creation that was refused (ZooKeeper out of
   * reach, too few brokers) says why, so a client's log names the cause; one that was accepted, or that met
   * the topic already created by another broker, is waiting for the shared view to show it.
   */
  private missing(created: ClusterAnswer): string {
    if (created.errorCode === ErrorCode.NONE || created.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS)
      return `${this.topic.label} is being created`;
    const reason = created.message ?? errorCodeName(created.errorCode) ?? `error ${created.errorCode}`;
    return `${this.topic.label} does not exist yet and cannot be created now: ${reason}`;
  }
}

/**
 * How a coordinator writes an internal partition this broker leads: at the leader's current epoch, and
 * acknowledged once committed on the ISR; a lost leadership is NOT_COORDINATOR, so the client looks again.
 */
export function replicatedLogWriter(
  cluster: ClusterNode,
  topic: string,
  partition: number,
  timeoutMs: number,
): OffsetLogWriter {
  const currentLeader = (): LeaderPartition => {
    const found = cluster.replicas.lookupLeader(topic, partition, -1);
    if ('errorCode' in found) throw new OffsetCommitError(ErrorCode.NOT_COORDINATOR, found.message);
    return found.leader;
  };
  return {
    write: (payload) => {
      const current = currentLeader();
      return current.log.write(payload, { leaderEpoch: current.leaderEpoch });
    },
    acknowledged: async (endOffset) => {
      const current = currentLeader();
      await current.log.durable();
      current.updateHighWatermark();
      const errorCode = await current.waitForCommit(endOffset, timeoutMs);
      if (errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
        throw new OffsetCommitError(
          ErrorCode.NOT_COORDINATOR,
          `this broker no longer leads ${topic}-${partition}`,
        );
      }
      if (errorCode !== ErrorCode.NONE) {
        throw new OffsetCommitError(
          errorCode,
          `${topic}-${partition} not replicated: ${errorCodeName(errorCode) ?? errorCode}`,
        );
      }
    },
  };
}
