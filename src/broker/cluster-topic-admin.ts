import type { ClusterNode } from '../cluster/index.js';
import type { LogManager } from '../log/index.js';
import type { TopicAdmin } from './topic-admin.js';

/** How often DeleteRecords looks whether the in-sync followers have moved their log start too. */
const REPLICATED_CHECK_INTERVAL_MS = 50;

/**
 * The cluster's topic admin: partitions and configs change in ZooKeeper (ClusterNode), every broker's
 * ReplicaManager applies them to its replicas; DeleteRecords moves the leader's log start and waits for
 * the in-sync followers, which take it from the leader's fetch responses.
 */
export function clusterTopicAdmin(cluster: ClusterNode, logs: LogManager, dataDir: string): TopicAdmin {
  const leaderOf = (topic: string, partition: number) => {
    const found = cluster.replicas.lookupLeader(topic, partition, -1);
    return 'errorCode' in found ? null : found.leader;
  };
  return {
    dataDir,
    overrides: (topic) =>
      cluster.view.deleting.has(topic) ? null : (cluster.view.topics.get(topic)?.config ?? null),
    addPartitions: (topic, count, assignments, validateOnly, timeoutMs) =>
      cluster.addPartitions(
        topic,
        count,
        assignments !== null && assignments.length > 0 ? assignments : null,
        validateOnly,
        timeoutMs,
      ),
    setOverrides: (topic, overrides, validateOnly, timeoutMs) =>
      cluster.setTopicConfig(topic, overrides, validateOnly, timeoutMs),
    writableLog: (topic, partition) => {
      const found = cluster.replicas.lookupLeader(topic, partition, -1);
      return 'errorCode' in found ? found.errorCode : found.leader.log;
    },
    replicated: async (topic, partition, offset, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (leaderOf(topic, partition)?.isrStartsAt(offset) === true) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, REPLICATED_CHECK_INTERVAL_MS));
      }
    },
    hosted: () =>
      [...cluster.view.topics.values()].flatMap((topic) =>
        topic.replicas.flatMap((replicas, partition) => {
          const log = replicas.includes(cluster.brokerId)
            ? logs.partitionIfExists(topic.name, partition)
            : null;
          return log ? [{ topic: topic.name, partition, log }] : [];
        }),
      ),
  };
}
