import type { Broker } from '../broker/broker.js';
import type { ClusterView, CommittedOffsetView, GroupView, PartitionView, TopicView } from './types.js';

/**
 * The broker's topics and consumer groups as the HTTP API shows them, read when asked. Everything here is
 * synchronous, so a listing cannot interleave with a topic being deleted.
 */
export function brokerClusterView(broker: Broker): ClusterView {
  const highWatermarkOf = (topic: string, partition: number): number | null => {
    if (!broker.logs.hasTopic(topic) || partition >= broker.logs.describeTopic(topic).partitions) return null;
    return broker.logs.partition(topic, partition).highWatermark;
  };
  return {
    topics(): TopicView[] {
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
    groups(): GroupView[] {
      return broker.groups
        .all()
        .flatMap((coordinator) => coordinator.list().map((listed) => ({ coordinator, listed })))
        .sort((a, b) =>
          a.listed.groupId < b.listed.groupId ? -1 : a.listed.groupId > b.listed.groupId ? 1 : 0,
        )
        .map(({ coordinator, listed }): GroupView => {
          const described = coordinator.describe(listed.groupId);
          const offsets = coordinator
            .fetchOffsets(listed.groupId, null)
            .map((committed): CommittedOffsetView => {
              const highWatermark = highWatermarkOf(committed.topic, committed.partition);
              return {
                topic: committed.topic,
                partition: committed.partition,
                committedOffset: committed.offset,
                highWatermark,
                lag: highWatermark === null ? null : Math.max(0, highWatermark - committed.offset),
              };
            })
            .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
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
    },
  };
}
