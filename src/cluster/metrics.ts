import { Counter, Gauge, type Registry } from 'prom-client';

/** What an operator watches on a replicated cluster, registered in the broker's registry. */
export class ClusterMetrics {
  readonly controllerElections: Counter;
  readonly leaderElections: Counter<'reason'>;
  readonly isrShrinks: Counter;
  readonly isrExpands: Counter;
  readonly fencedRequests: Counter<'api'>;
  readonly truncations: Counter;
  readonly replicaFetchErrors: Counter<'error'>;
  readonly coordinationOutages: Counter;
  readonly corruptReplicas: Counter;
  /** Set by the replica manager: its replicas found corrupt and not yet back in their ISR. */
  readonly offlineReplicas: Gauge;
  readonly controllerIsrShrinks: Counter<'reason'>;

  constructor(registry: Registry, collect: () => ClusterGauges) {
    const registers = [registry];
    this.controllerElections = new Counter({
      name: 'edgestream_cluster_controller_elections_total',
      help: 'Times this broker was elected controller',
      registers,
    });
    this.leaderElections = new Counter({
      name: 'edgestream_cluster_leader_elections_total',
      help: 'Leader changes decided by this broker as controller, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.isrShrinks = new Counter({
      name: 'edgestream_cluster_isr_shrinks_total',
      help: 'Followers this broker removed from an ISR it leads (fell behind replica.lag.time.max.ms)',
      registers,
    });
    this.isrExpands = new Counter({
      name: 'edgestream_cluster_isr_expands_total',
      help: 'Followers this broker added back to an ISR it leads (caught up)',
      registers,
    });
    this.fencedRequests = new Counter({
      name: 'edgestream_cluster_fenced_requests_total',
      help: 'Requests refused because they named an old leader epoch or this broker no longer leads',
      labelNames: ['api'],
      registers,
    });
    this.truncations = new Counter({
      name: 'edgestream_cluster_log_truncations_total',
      help: 'Follower logs cut back to the leader epoch boundary the leader reported',
      registers,
    });
    this.replicaFetchErrors = new Counter({
      name: 'edgestream_cluster_replica_fetch_errors_total',
      help: 'Failed follower fetches, by error',
      labelNames: ['error'],
      registers,
    });
    this.coordinationOutages = new Counter({
      name: 'edgestream_cluster_coordination_outages_total',
      help: 'Times ZooKeeper went out of reach of this broker for longer than its lease (90% of the session timeout)',
      registers,
    });
    this.controllerIsrShrinks = new Counter({
      name: 'edgestream_cluster_controller_isr_shrinks_total',
      help: 'ISRs this broker shrank as controller (lost or shutting-down brokers taken out), one per partition, by reason; shrinks decided by leaders are edgestream_cluster_isr_shrinks_total',
      labelNames: ['reason'],
      registers,
    });
    this.corruptReplicas = new Counter({
      name: 'edgestream_cluster_corrupt_replicas_total',
      help: 'Times a replica on this broker was found with a damaged or unreadable log segment',
      registers,
    });
    this.offlineReplicas = new Gauge({
      name: 'edgestream_cluster_offline_replicas',
      help: 'Replicas on this broker whose log was found corrupt and that are not back in their ISR yet (out of it, truncated, fetching again)',
      registers,
    });
    const gauge = (name: string, help: string, pick: (g: ClusterGauges) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick(collect()));
        },
      });
    gauge('edgestream_cluster_brokers', 'Live brokers registered in the cluster', (g) => g.liveBrokers);
    gauge('edgestream_cluster_controller_id', 'The elected controller, -1 when none', (g) => g.controllerId);
    gauge('edgestream_cluster_is_controller', '1 when this broker is the controller', (g) =>
      g.isController ? 1 : 0,
    );
    gauge('edgestream_cluster_leader_partitions', 'Partitions this broker leads', (g) => g.leaderPartitions);
    gauge(
      'edgestream_cluster_under_replicated_partitions',
      'Partitions this broker leads whose ISR is smaller than their replica set',
      (g) => g.underReplicated,
    );
    gauge(
      'edgestream_cluster_offline_partitions',
      'Partitions of the cluster with no leader (seen by every broker)',
      (g) => g.offlinePartitions,
    );
    gauge(
      'edgestream_cluster_coordination_connected',
      '1 while ZooKeeper answers this broker (0 in an outage: leaderships go on, topic and ISR changes wait)',
      (g) => (g.coordinationConnected ? 1 : 0),
    );
    gauge(
      'edgestream_cluster_leadership_confirmed',
      '0 after this broker was paused or its session expired, until ZooKeeper confirms its roles: it then leads nothing',
      (g) => (g.leadershipConfirmed ? 1 : 0),
    );
    new Gauge({
      name: 'edgestream_cluster_replica_lag_offsets',
      help: 'Per follower of a partition this broker leads: leader log end offset minus the follower fetch offset',
      labelNames: ['topic', 'partition', 'follower'],
      registers,
      collect() {
        this.reset();
        for (const lag of collect().followerLags) {
          this.set(
            { topic: lag.topic, partition: String(lag.partition), follower: String(lag.follower) },
            lag.lagOffsets,
          );
        }
      },
    });
  }
}

export interface ClusterGauges {
  liveBrokers: number;
  controllerId: number;
  isController: boolean;
  leaderPartitions: number;
  underReplicated: number;
  offlinePartitions: number;
  coordinationConnected: boolean;
  leadershipConfirmed: boolean;
  followerLags: Array<{ topic: string; partition: number; follower: number; lagOffsets: number }>;
}
