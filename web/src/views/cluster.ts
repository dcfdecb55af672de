import type { ClusterBroker, ClusterReplication, ReplicaPartition } from '../api.js';
import { h } from '../dom.js';
import { count } from '../format.js';
import { plural, table } from '../table.js';

type Clustered = Extract<ClusterReplication, { clustered: true }>;

/** Folds content under a summary and remembers whether the user opened it (the broker page's helper). */
export type Details = (
  key: string,
  openByDefault: boolean,
  summary: string,
  ...content: HTMLElement[]
) => HTMLElement;

/**
 * The replicated cluster on the broker page: brokers, controller, replication health, every partition's
 * leader, replicas and ISR, this broker's counters and its followers' lag. The shared state is the same on
 * every broker, so the dashboard of any broker shows the whole site.
 */
export function clusterSection(cluster: Clustered, details: Details): HTMLElement {
  const alive = cluster.brokers.filter((broker) => broker.alive).length;
  const controller = cluster.brokers.find((broker) => broker.controller);
  const { counters } = cluster;
  return h(
    'section',
    { class: 'cluster-section', 'data-cluster-id': cluster.clusterId },
    h('h2', {}, 'Cluster'),
    h(
      'p',
      { class: 'meta' },
      `Seen from broker ${cluster.nodeId} · cluster ${cluster.clusterId} · counters and follower lag are broker ${cluster.nodeId}'s`,
      cluster.coordinationConnected ? '' : ' · ',
      cluster.coordinationConnected
        ? ''
        : h('strong', { class: 'lag' }, 'ZooKeeper session unconfirmed: this view may be stale'),
    ),
    h(
      'div',
      { class: 'summary cluster-summary' },
      summaryCard(
        'brokers',
        'brokers alive',
        `${alive}/${cluster.brokers.length}`,
        alive < cluster.brokers.length ? 'firing' : 'healthy',
      ),
      summaryCard(
        'controller',
        cluster.controller.epoch === null ? 'controller' : `controller · epoch ${cluster.controller.epoch}`,
        controller ? String(controller.id) : 'none',
        controller ? null : 'firing',
      ),
      summaryCard(
        'under-replicated',
        'under-replicated',
        count(cluster.underReplicatedPartitions),
        cluster.underReplicatedPartitions > 0 ? 'pending' : 'healthy',
      ),
      summaryCard(
        'offline',
        'offline partitions',
        count(cluster.offlinePartitions),
        cluster.offlinePartitions > 0 ? 'firing' : 'healthy',
      ),
      summaryCard('isr-shrinks', 'ISR shrinks', count(counters.isrShrinks), null),
      summaryCard('isr-expands', 'ISR expands', count(counters.isrExpands), null),
      summaryCard('leader-elections', 'leader elections', count(counters.leaderElections), null),
      summaryCard('fenced-requests', 'fenced requests', count(counters.fencedRequests), null),
    ),
    h(
      'div',
      { class: 'broker-columns cluster-columns' },
      h(
        'div',
        {},
        h('h3', {}, 'Brokers'),
        brokerTable(cluster.brokers),
        h('h3', {}, `Follower lag (partitions broker ${cluster.nodeId} leads)`),
        cluster.followerLags.length > 0
          ? table(
              ['topic', 'partition', 'follower', 'lag'],
              cluster.followerLags.map((lag) => ({
                attributes: {
                  'data-topic': lag.topic,
                  'data-partition': lag.partition,
                  'data-follower': lag.follower,
                  'data-lag': lag.lagOffsets,
                },
                cells: [lag.topic, String(lag.partition), String(lag.follower), count(lag.lagOffsets)],
              })),
            )
          : h('p', { class: 'muted' }, `Broker ${cluster.nodeId} leads no replicated partition`),
      ),
      h(
        'div',
        {},
        h('h3', {}, 'Partitions'),
        details(
          'cluster-partitions',
          true,
          `${plural(cluster.partitionCount, 'partition')} · ${count(cluster.underReplicatedPartitions)} under-replicated · ${count(cluster.offlinePartitions)} offline` +
            (cluster.truncated ? ` · showing the first ${cluster.partitions.length}` : ''),
          partitionTable(cluster.partitions),
        ),
      ),
    ),
  );
}

function summaryCard(
  key: string,
  label: string,
  value: string,
  tone: 'firing' | 'pending' | 'healthy' | null,
): HTMLElement {
  return h(
    'div',
    { class: `summary-card${tone ? ` tone-${tone}` : ''}`, 'data-summary': key },
    h('span', { class: 'value' }, value),
    h('span', { class: 'label' }, label),
  );
}

function brokerTable(brokers: readonly ClusterBroker[]): HTMLElement {
  return table(
    ['broker', 'address', 'rack', 'role', 'state'],
    brokers.map((broker) => ({
      attributes: { 'data-broker': broker.id, 'data-alive': String(broker.alive) },
      cells: [
        String(broker.id),
        broker.host === null ? '–' : `${broker.host}:${broker.port}`,
        broker.rack ?? '–',
        broker.controller ? h('strong', { class: 'controller-mark' }, 'controller') : '',
        h(
          'span',
          { class: 'state', 'data-state': broker.alive ? 'healthy' : 'firing' },
          broker.alive ? 'ALIVE' : 'DOWN',
        ),
      ],
    })),
  );
}

function partitionTable(partitions: readonly ReplicaPartition[]): HTMLElement {
  return table(
    ['topic', 'partition', 'leader', 'epoch', 'replicas', 'ISR', 'offline replicas'],
    partitions.map((p) => ({
      attributes: {
        'data-topic': p.topic,
        'data-partition': p.partition,
        'data-health': p.offline ? 'offline' : p.underReplicated ? 'under-replicated' : 'healthy',
      },
      cells: [
        p.topic,
        String(p.partition),
        p.leader === null || p.leader < 0 ? 'none' : String(p.leader),
        p.leaderEpoch === null ? '–' : String(p.leaderEpoch),
        p.replicas.join(', '),
        p.isr.join(', ') || '–',
        p.offlineReplicas.join(', ') || '–',
      ],
    })),
  );
}
