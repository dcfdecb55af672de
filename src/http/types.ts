/**
 * What the HTTP API reads from the rest of the process. The server depends on these narrow read-only views,
 * not on the broker's classes, so it can serve a remote cluster or a test double the same way.
 */

/**
 * One partition's offsets as this process's replica has them; on a cluster they are null for a partition
 * with no replica here (other brokers hold it).
 */
export interface PartitionView {
  partition: number;
  /** First offset still in the log (retention moves it forward). */
  logStartOffset: number | null;
  /** Offset the next appended record gets. */
  logEndOffset: number | null;
  /** Last offset consumers may read up to (exclusive): records made durable (on a cluster: on the ISR). */
  highWatermark: number | null;
}

export interface TopicView {
  name: string;
  partitions: PartitionView[];
}

export interface GroupMemberView {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
}

export interface CommittedOffsetView {
  topic: string;
  partition: number;
  /** Null for a partition an in-process group runs but has not checkpointed yet. */
  committedOffset: number | null;
  /**
   * The next offset an in-process group's thread reported for the partition (a heartbeat ago at most); null
   * for a Kafka-protocol consumer, whose position only its commits tell.
   */
  processedOffset: number | null;
  /** The partition's high watermark now; null when the topic no longer exists. */
  highWatermark: number | null;
  /**
   * highWatermark - processedOffset, or - committedOffset where nothing processed is known; never negative;
   * null when the topic no longer exists.
   */
  lag: number | null;
}

export interface GroupView {
  groupId: string;
  /** Kafka's group states: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead. */
  state: string;
  protocolType: string;
  members: GroupMemberView[];
  offsets: CommittedOffsetView[];
}

/**
 * A consumer group run by threads of this process rather than by Kafka-protocol members (the monitoring
 * pipelines on worker threads): on a single node it commits offsets only at its checkpoints, so its members
 * and how far it has processed are read from the threads themselves.
 */
export interface InProcessGroup {
  /** The group its checkpoints commit offsets to. */
  groupId: string;
  threads: InProcessThreads;
}

export interface InProcessThreads {
  /** One per thread. */
  members(): ReadonlyArray<{ memberId: string }>;
  /** Each running task's next offset as its thread last reported it. */
  positions(): ReadonlyArray<{ topic: string; partition: number; nextOffset: number }>;
}

export interface GroupListing {
  groups: GroupView[];
  /** On a cluster: live brokers that did not answer in time, whose groups are missing. */
  unreachableBrokers: number[];
}

export interface ClusterView {
  /** Topics ordered by name. */
  topics(): TopicView[];
  /**
   * Consumer groups ordered by id: those with members and those with committed offsets. On a cluster, the
   * groups every live broker coordinates.
   */
  groups(): Promise<GroupListing>;
  /** The replicated cluster's brokers, partitions and replication health; `clustered: false` on a single node. */
  replication(partitionLimit: number): Promise<ReplicationView>;
  /** This broker's link to the cluster's coordination service (ZooKeeper); null on a single node. */
  coordination(): CoordinationView | null;
}

/** What a clustered broker knows of its coordination service, read when asked (for /health). */
export interface CoordinationView {
  /** ZooKeeper answers: topic, ISR and controller changes can be made. */
  connected: boolean;
  /** When the current outage was noticed (ms since the epoch); null while connected. */
  unreachableSinceMs: number | null;
  /**
   * False from a pause or a session expiry until ZooKeeper confirms this broker's roles; meanwhile it refuses
   * produce and fetch for the partitions it would lead.
   */
  leadershipConfirmed: boolean;
  /** Partitions this broker leads (and goes on leading through an outage). */
  leaderPartitions: number;
}

export interface ClusterBrokerView {
  id: number;
  /** The advertised host and port; null for a broker that is down (only its id is known, from assignments). */
  host: string | null;
  port: number | null;
  rack: string | null;
  /** Registered with the coordination service now. */
  alive: boolean;
  controller: boolean;
}

export interface ReplicaPartitionView {
  topic: string;
  partition: number;
  /** -1 when the partition has no leader; null before the controller has written its first state. */
  leader: number | null;
  leaderEpoch: number | null;
  /** The preferred leader first. */
  replicas: number[];
  isr: number[];
  /** Replicas on brokers that are down. */
  offlineReplicas: number[];
  /** The ISR is smaller than the replica set. */
  underReplicated: boolean;
  /** No live leader: no leader elected, or its broker is down and not yet replaced. */
  offline: boolean;
}

export interface FollowerLagView {
  topic: string;
  partition: number;
  follower: number;
  /** The leader's log end offset minus the follower's last fetch offset. */
  lagOffsets: number;
}

/** This broker's counters since it started (Prometheus has the same values at /metrics). */
export interface ReplicationCountersView {
  /** ISRs this broker shrank, as leader and as controller: isrShrinksBy.leader + isrShrinksBy.controller. */
  isrShrinks: number;
  isrShrinksBy: {
    /** Followers that fell behind replica.lag.time.max.ms, out of an ISR this broker leads. */
    leader: number;
    /** Brokers lost or shutting down, out of any ISR, decided as controller (one per partition). */
    controller: number;
  };
  isrExpands: number;
  /** Leader changes this broker decided as controller, all reasons. */
  leaderElections: number;
  leaderElectionsByReason: Record<string, number>;
  controllerElections: number;
  /** Requests refused for an old leader epoch or because this broker no longer leads, all APIs. */
  fencedRequests: number;
}

export type ReplicationView =
  | { clustered: false; message: string }
  | {
      clustered: true;
      clusterId: string;
      /** The broker answering: the counters and follower lags are its own. */
      nodeId: number;
      controller: {
        /** -1 while no controller is elected. */
        id: number;
        /** The epoch of the newest controller election (`/controller_epoch`); null before the first. */
        epoch: number | null;
      };
      /** False while the view may be stale: the session with the coordination service is unconfirmed. */
      coordinationConnected: boolean;
      brokers: ClusterBrokerView[];
      /** Every partition of every topic, ordered by topic then partition; at most `limit`. */
      partitions: ReplicaPartitionView[];
      partitionCount: number;
      truncated: boolean;
      /** Over all partitions of the cluster, not only those listed. */
      underReplicatedPartitions: number;
      offlinePartitions: number;
      /** Partitions this broker leads. */
      leaderPartitions: number;
      counters: ReplicationCountersView;
      /** Per follower of each partition this broker leads. */
      followerLags: FollowerLagView[];
    };

export type LiveEventType = 'window' | 'alert';

/** One message for the dashboard's live stream: a window update or an alert transition. */
export interface LiveEvent {
  type: LiveEventType;
  data: unknown;
}
