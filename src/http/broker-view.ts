import type { Broker } from '../broker/broker.js';
import { byGroupId, byPartition, offsetView, withInProcessGroup } from './group-view.js';
import { remoteGroups } from './remote-groups.js';
import { clusterTopics, replicationView } from './replication-view.js';
import type {
  ClusterView,
  CommittedOffsetView,
  CoordinationView,
  GroupListing,
  GroupView,
  InProcessGroup,
  PartitionView,
  TopicView,
} from './types.js';

/** What /api/cluster answers for a broker started without a `cluster:` section (or --zookeeper). */
const SINGLE_NODE_MESSAGE =
  'this broker runs as a single node: it is not part of a replicated cluster (no cluster: section or --zookeeper)';

/** How long the other brokers of a cluster get to list their consumer groups. */
const REMOTE_GROUPS_TIMEOUT_MS = 2_000;

/**
 * The broker's topics and consumer groups as the HTTP API shows them, read when asked. Topics and this
 * broker's groups are read synchronously, so a listing cannot interleave with a topic being deleted. On a
 * cluster the topics are the whole cluster's (the shared state every broker watches), and the groups other
 * brokers coordinate are asked of them over the Kafka protocol. `inProcess`, a group this process runs on
 * threads of its own (the monitoring pipelines), is listed with its threads and how far they have processed.
 */
export function brokerClusterView(broker: Broker, inProcess: InProcessGroup | null = null): ClusterView {
  const highWatermarkOf = (topic: string, partition: number): number | null => {
    if (!broker.logs.hasTopic(topic) || partition >= broker.logs.describeTopic(topic).partitions) return null;
    return broker.logs.partition(topic, partition).highWatermark;
  };
  return {
    topics(): TopicView[] {
      if (broker.cluster) return clusterTopics(broker.cluster);
      const topics: TopicView[] = [];
      for (const name of broker.logs.topicNames()) {
        const { partitions } = broker.logs.describeTopic(name);
        const views: PartitionView[] = [];
        for (let partition = 0; partition < partitions; partition++) {
          const log = broker.logs.partition(name, partition);
          views.push({
            partition,
            logStartOffset: log.logStartOffset,
            logEndOffset: log.logEndOffset,
            highWatermark: log.highWatermark,
          });
        }
        topics.push({ name, partitions: views });
      }
      return topics;
    },
    async groups(): Promise<GroupListing> {
      const listing = await protocolGroups();
      if (!inProcess) return listing;
      return {
        groups: withInProcessGroup(listing.groups, inProcess, !broker.cluster, highWatermarkOf),
        unreachableBrokers: listing.unreachableBrokers,
      };
    },
    async replication(partitionLimit) {
      if (!broker.cluster) return { clustered: false, message: SINGLE_NODE_MESSAGE };
      return replicationView(broker.cluster, partitionLimit);
    },
    coordination(): CoordinationView | null {
      if (!broker.cluster) return null;
      const status = broker.cluster.coordinationStatus();
      return {
        connected: status.connected,
        unreachableSinceMs: status.unreachableSinceMs,
        leadershipConfirmed: status.leadershipConfirmed,
        leaderPartitions: status.leaderPartitions,
      };
    },
  };

  /** The groups the coordinators know: this broker's, and on a cluster every live broker's. */
  async function protocolGroups(): Promise<GroupListing> {
    const local = localGroups();
    if (!broker.cluster) return { groups: local, unreachableBrokers: [] };
    const remote = await remoteGroups(broker.cluster, highWatermarkOf, REMOTE_GROUPS_TIMEOUT_MS);
    // A group moving between coordinators may be listed by two of them for a moment: this broker's copy wins.
    const byId = new Map(remote.groups.map((group) => [group.groupId, group]));
    for (const group of local) byId.set(group.groupId, group);
    return { groups: [...byId.values()].sort(byGroupId), unreachableBrokers: remote.unreachable };
  }

  function localGroups(): GroupView[] {
    return broker.groups
      .all()
      .flatMap((coordinator) => coordinator.list().map((listed) => ({ coordinator, listed })))
      .sort((a, b) => byGroupId(a.listed, b.listed))
      .map(({ coordinator, listed }): GroupView => {
        const described = coordinator.describe(listed.groupId);
        const offsets = coordinator
          .fetchOffsets(listed.groupId, null)
          .map(
            (committed): CommittedOffsetView =>
              offsetView(
                committed.topic,
                committed.partition,
                committed.offset,
                null,
                highWatermarkOf(committed.topic, committed.partition),
              ),
          )
          .sort(byPartition);
        return {
          groupId: listed.groupId,
          state: described.state,
          protocolType: described.protocolType,
          members: described.members.map((member) => ({
            memberId: member.memberId,
            groupInstanceId: member.groupInstanceId,
            clientId: member.clientId,
            clientHost: member.clientHost,
          })),
          offsets,
        };
      });
  }
}
