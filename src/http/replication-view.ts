import type { Counter } from 'prom-client';
import type { ClusterNode } from '../cluster/index.js';
import type {
  ClusterBrokerView,
  PartitionView,
  ReplicaPartitionView,
  ReplicationCountersView,
  ReplicationView,
  TopicView,
} from './types.js';

/**
 * The replicated cluster as one broker sees it. The brokers, topics and partition states come from the
 * shared state every broker watches, so any broker shows the whole site; the counters and follower lags
 * are this broker's own (each leader measures its followers).
 */
export async function replicationView(node: ClusterNode, partitionLimit: number): Promise<ReplicationView> {
  // Read the shared state synchronously first: the view may change while the counters are read.
  const view = node.view;
  const gauges = node.gauges();
  const live = view.liveBrokerIds();
  const partitions: ReplicaPartitionView[] = [];
  let underReplicatedPartitions = 0;
  let offlinePartitions = 0;
  let partitionCount = 0;
  const assigned = new Set<number>();
  for (const topic of [...view.topics.values()].sort((a, b) => compare(a.name, b.name))) {
    for (const [partition, replicas] of topic.replicas.entries()) {
      for (const id of replicas) assigned.add(id);
      const state = view.state(topic.name, partition)?.state ?? null;
      const reported = view.offlineReplicas(topic.name, partition);
      const leader = state?.leader ?? null;
      const isr = state?.isr ?? [];
      const underReplicated = isr.length < replicas.length;
      const offline = leader === null || leader < 0 || !live.has(leader);
      partitionCount++;
      if (underReplicated) underReplicatedPartitions++;
      if (offline) offlinePartitions++;
      if (partitions.length >= partitionLimit) continue;
      partitions.push({
        topic: topic.name,
        partition,
        leader,
        leaderEpoch: state?.leaderEpoch ?? null,
        replicas: [...replicas],
        isr: [...isr],
        // Down brokers' replicas and those reported damaged (`/brokers/offline_replicas`), as Metadata lists them.
        offlineReplicas: replicas.filter((id) => !live.has(id) || reported.offline.has(id)),
        underReplicated,
        offline,
      });
    }
  }
  const brokers = brokerList(node, assigned);
  const counters = await countersOf(node);
  return {
    clustered: true,
    clusterId: node.clusterId,
    nodeId: node.brokerId,
    controller: { id: view.controllerId, epoch: view.controllerEpoch },
    coordinationConnected: gauges.coordinationConnected && view.current,
    brokers,
    partitions,
    partitionCount,
    truncated: partitionCount > partitions.length,
    underReplicatedPartitions,
    offlinePartitions,
    leaderPartitions: gauges.leaderPartitions,
    counters,
    followerLags: gauges.followerLags
      .map((lag) => ({ ...lag }))
      .sort((a, b) => compare(a.topic, b.topic) || a.partition - b.partition || a.follower - b.follower),
  };
}

/**
 * Every topic of the cluster, with this broker's offsets where it holds a replica (null elsewhere): a
 * broker knows only the offsets of its own replicas without asking the others.
 */
export function clusterTopics(node: ClusterNode): TopicView[] {
  const topics: TopicView[] = [];
  for (const topic of [...node.view.topics.values()].sort((a, b) => compare(a.name, b.name))) {
    const partitions: PartitionView[] = topic.replicas.map((_, partition) => {
      const log = node.replicas.localLog(topic.name, partition);
      return {
        partition,
        logStartOffset: log?.logStartOffset ?? null,
        logEndOffset: log?.logEndOffset ?? null,
        highWatermark: log?.highWatermark ?? null,
      };
    });
    topics.push({ name: topic.name, partitions });
  }
  return topics;
}

/** Registered brokers, and those that are down but still hold replicas (known by id only). */
function brokerList(node: ClusterNode, assigned: ReadonlySet<number>): ClusterBrokerView[] {
  const { brokers, controllerId } = node.view;
  const ids = new Set([...brokers.keys(), ...assigned, node.brokerId]);
  return [...ids]
    .sort((a, b) => a - b)
    .map((id): ClusterBrokerView => {
      const registration = brokers.get(id);
      return {
        id,
        host: registration?.host ?? null,
        port: registration?.port ?? null,
        rack: registration?.rack ?? null,
        alive: registration !== undefined,
        controller: id === controllerId,
      };
    });
}

async function countersOf(node: ClusterNode): Promise<ReplicationCountersView> {
  const { metrics } = node;
  const [isrShrinks, controllerIsrShrinks, isrExpands, leaderElections, controllerElections, fencedRequests] =
    await Promise.all([
      values(metrics.isrShrinks),
      values(metrics.controllerIsrShrinks),
      values(metrics.isrExpands),
      values(metrics.leaderElections),
      values(metrics.controllerElections),
      values(metrics.fencedRequests),
    ]);
  const leaderElectionsByReason: Record<string, number> = {};
  for (const { labels, value } of leaderElections) {
    const reason = String(labels.reason ?? 'unknown');
    leaderElectionsByReason[reason] = (leaderElectionsByReason[reason] ?? 0) + value;
  }
  const isrShrinksBy = { leader: sum(isrShrinks), controller: sum(controllerIsrShrinks) };
  return {
    isrShrinks: isrShrinksBy.leader + isrShrinksBy.controller,
    isrShrinksBy,
    isrExpands: sum(isrExpands),
    leaderElections: sum(leaderElections),
    leaderElectionsByReason,
    controllerElections: sum(controllerElections),
    fencedRequests: sum(fencedRequests),
  };
}

async function values<T extends string>(
  counter: Counter<T>,
): Promise<Array<{ labels: Partial<Record<T, string | number>>; value: number }>> {
  return (await counter.get()).values;
}

function sum(list: ReadonlyArray<{ value: number }>): number {
  return list.reduce((total, { value }) => total + value, 0);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
