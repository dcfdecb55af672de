import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  CoordinationError,
  type Coordinator,
  Election,
  Membership,
  ZooKeeperCoordinator,
} from '../coordination/index.js';
import {
  DEFAULT_TOPIC_CONFIG,
  type LogManager,
  MAX_PARTITIONS_PER_TOPIC,
  parseTopicConfig,
} from '../log/index.js';
import type { ElectionType } from '../protocol/apis/elect-leaders.js';
import { ErrorCode } from '../protocol/index.js';
import type { AclBinding, EntityQuota } from '../security/index.js';
import { assignReplicas } from './assignment.js';
import { ClusterCredentials } from './cluster-credentials.js';
import { ClusterView } from './cluster-view.js';
import { Controller } from './controller.js';
import { adminElectionResult, adminElectionVerdict } from './leader-election.js';
import { ClusterMetrics } from './metrics.js';
import { ClusterProducerIds } from './producer-ids.js';
import { planReassignment } from './reassignment.js';
import { type ReplicaHooks, ReplicaManager } from './replica-manager.js';
import { type ReplicationConfig, splitTopicConfig } from './replication-config.js';
import { SharedList, type SharedListOptions } from './shared-list.js';
import { sharedAclStorage, sharedQuotaStorage } from './shared-security.js';
import {
  decodeNode,
  encodeNode,
  type LeaderElectionRequest,
  MAX_PARTITIONS_PER_ELECTION,
  PartitionState,
  Paths,
  TopicAssignment,
} from './zk-layout.js';

export interface ClusterSettings {
  brokerId: number;
  /** host:port,host:port,... of the ZooKeeper ensemble. */
  zookeeper: string;
  zookeeperSessionTimeoutMs: number;
  rack: string | null;
  replicaLagTimeMaxMs: number;
  defaultReplicationFactor: number | null;
  replication: ReplicationConfig;
  preferredLeaderCheckIntervalMs: number;
  controlledShutdownTimeoutMs: number;
}

export interface ClusterNodeOptions {
  settings: ClusterSettings;
  dataDir: string;
  logs: LogManager;
  logger: Logger;
  registry: Registry;
  hooks: ReplicaHooks;
}

export interface CreateTopicRequest {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Explicit replicas per partition (CreateTopics assignments); empty to let the cluster place them. */
  assignments: number[][];
  config: Record<string, string>;
}

export type ClusterAnswer = { errorCode: number; message: string | null };

/** One partition's answer to ElectLeaders. */
export type ElectionResult = { topic: string; partition: number } & ClusterAnswer;

const OK: ClusterAnswer = { errorCode: ErrorCode.NONE, message: null };

/** Compare-and-set attempts on a topic's assignment node before a reassignment gives up. */
const MAX_ASSIGNMENT_WRITES = 10;
/** Longest a stored reassignment waits for this broker's view to show it. */
const ASSIGNMENT_SETTLE_MS = 5_000;

/** How often a broker looks whether the controller has carried out an election it asked for. */
const ELECTION_POLL_MS = 100;

/** How often the reachability of ZooKeeper is looked at, to report each outage once as it starts and ends. */
const OUTAGE_CHECK_INTERVAL_MS = 250;

/** What this broker knows of its coordination service, for /health and operators. */
export interface CoordinationStatus {
  /** ZooKeeper answers (or the client is connected): topic, ISR and controller changes can be made. */
  connected: boolean;
  /** Date.now() when the current outage was noticed; null while connected. */
  unreachableSinceMs: number | null;
  /** The broker may act on its roles: false after a pause or a session expiry until ZooKeeper confirms. */
  leadershipConfirmed: boolean;
  /** Partitions this broker leads (and goes on leading through an outage). */
  leaderPartitions: number;
}

/**
 * One broker's membership in a replicated cluster: its session with the coordination service, the shared
 * view, registration, the controller election (and the controller's duties while it wins), and its
 * replicas. The broker's handlers ask it who leads what; topic changes go through the shared state.
 */
export class ClusterNode {
  readonly metrics: ClusterMetrics;
  clusterId = '';
  /** InitProducerId's ids, unique across the cluster. */
  readonly producerIds: ClusterProducerIds;
  /** The SASL users, shared by every broker of the cluster (/config/users). */
  readonly credentials: ClusterCredentials;
  /** The ACLs and the client quotas, shared by every broker of the cluster. */
  readonly acls: SharedList<AclBinding>;
  readonly clientQuotas: SharedList<EntityQuota>;
  private registration: Membership | null = null;
  /** Closes the shared lists handed out by sharedBrokerConfigs. */
  private readonly listClosers: Array<() => void> = [];
  private unreachableSinceMs: number | null = null;
  private outageTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly coordinator: Coordinator,
    readonly view: ClusterView,
    readonly replicas: ReplicaManager,
    readonly controller: Controller,
    private readonly election: Election,
    private readonly options: ClusterNodeOptions,
    metrics: ClusterMetrics,
  ) {
    this.metrics = metrics;
    this.producerIds = new ClusterProducerIds(coordinator, options.settings.brokerId);
    this.credentials = new ClusterCredentials(coordinator, options.logger);
    this.acls = sharedAclStorage(coordinator, options.logger);
    this.clientQuotas = sharedQuotaStorage(coordinator, options.logger);
  }

  get brokerId(): number {
    return this.options.settings.brokerId;
  }

  /** Connects and loads the shared state; the broker registers (and may be elected) once it listens. */
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const { settings, logger } = options;
    const coordinator = new ZooKeeperCoordinator({
      connectString: settings.zookeeper,
      sessionTimeoutMs: settings.zookeeperSessionTimeoutMs,
      connectTimeoutMs: Math.max(10_000, settings.zookeeperSessionTimeoutMs),
      requestTimeoutMs: settings.zookeeperSessionTimeoutMs,
      logger,
    });
    await coordinator.start();
    try {
      const view = new ClusterView(coordinator, logger);
      await view.start();
      let node: ClusterNode | null = null;
      const metrics = new ClusterMetrics(options.registry, () => node!.gauges());
      const replicas = new ReplicaManager(coordinator, view, options.logs, {
        brokerId: settings.brokerId,
        replicaLagTimeMaxMs: settings.replicaLagTimeMaxMs,
        replicationDefaults: settings.replication,
        fetch: {
          fetchMaxWaitMs: 500,
          fetchMaxBytes: 16 * 1024 * 1024,
          partitionMaxBytes: 4 * 1024 * 1024,
          requestTimeoutMs: Math.max(2_000, settings.replicaLagTimeMaxMs / 2),
          backoffMs: 100,
        },
        highWatermarkFile: path.join(options.dataDir, 'replication-offset-checkpoint'),
        highWatermarkCheckpointIntervalMs: 5_000,
        logger,
        metrics,
        hooks: options.hooks,
      });
      const controller = new Controller(coordinator, view, {
        preferredLeaderCheckIntervalMs: settings.preferredLeaderCheckIntervalMs,
        uncleanLeaderElection: settings.replication.uncleanLeaderElection,
        logger,
        metrics,
      });
      const election = new Election(coordinator, {
        path: Paths.controller,
        epochPath: Paths.controllerEpoch,
        candidateId: String(settings.brokerId),
        logger,
      });
      node = new ClusterNode(coordinator, view, replicas, controller, election, options, metrics);
      node.clusterId = await clusterIdOf(coordinator);
      // Before it registers as live: from then on a reassignment may name it, down or not.
      await coordinator.create(Paths.registeredBroker(settings.brokerId), Buffer.alloc(0), { parents: true });
      await node.credentials.start();
      return node;
    } catch (error) {
      await coordinator.close();
      throw error;
    }
  }

  /**
   * Takes up its replicas, announces this broker at its advertised address and joins the controller
   * election: called once the broker listens, so followers and clients can reach what it leads.
   */
  async register(
    advertised: { host: string; port: number },
    endpoints: Array<{ listener: string; host: string; port: number }>,
  ): Promise<void> {
    const { settings } = this.options;
    this.replicas.start();
    this.outageTimer = setInterval(() => this.checkOutage(), OUTAGE_CHECK_INTERVAL_MS);
    this.outageTimer.unref();
    this.registration = new Membership(this.coordinator, {
      dir: Paths.brokerIds,
      logger: this.options.logger,
    });
    await this.registration.join(
      String(settings.brokerId),
      encodeNode({
        version: 1,
        host: advertised.host,
        port: advertised.port,
        rack: settings.rack,
        timestamp: Date.now(),
        endpoints,
      }),
    );
    this.election.onLeadership((tenure) => {
      if (tenure) this.controller.activate(tenure);
      else this.controller.deactivate();
    });
    this.election.start();
  }

  gauges() {
    return {
      ...this.replicas.gauges(),
      liveBrokers: this.view.brokers.size,
      controllerId: this.view.controllerId,
      isController: this.controller.active,
      coordinationConnected: this.coordinator.reachable(),
      leadershipConfirmed: this.replicas.leadershipConfirmed(),
    };
  }

  coordinationStatus(): CoordinationStatus {
    // Looks now rather than waiting for the next check, so `connected` and `unreachableSinceMs` agree.
    this.checkOutage();
    return {
      connected: this.unreachableSinceMs === null,
      unreachableSinceMs: this.unreachableSinceMs,
      leadershipConfirmed: this.replicas.leadershipConfirmed(),
      leaderPartitions: this.replicas.gauges().leaderPartitions,
    };
  }

  /**
   * The dynamic broker configs every broker shares (one node, compare-and-set, watched); their format is
   * the broker's (src/broker/dynamic-broker-config.ts). Closed with this node.
   */
  sharedBrokerConfigs<T>(format: Pick<SharedListOptions<T>, 'format' | 'parse' | 'tooLarge'>): SharedList<T> {
    const list = new SharedList(this.coordinator, {
      ...format,
      path: Paths.brokerConfigs,
      logger: this.options.logger,
    });
    this.listClosers.push(() => list.close());
    return list;
  }

  /** Writes the topic's assignment and config; answers once every partition has a leader or the time is up. */
  async createTopic(request: CreateTopicRequest, timeoutMs: number): Promise<ClusterAnswer> {
    const { settings } = this.options;
    if (this.view.topics.has(request.name)) {
      return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `topic '${request.name}' already exists` };
    }
    const invalid = this.invalidTopicConfig(request.config);
    if (invalid) return invalid;
    const brokers = [...this.view.brokers].map(([id, b]) => ({ id, rack: b.rack }));
    let replicas: number[][];
    if (request.assignments.length > 0) {
      const unknown = request.assignments.flat().find((id) => !this.view.brokers.has(id));
      if (unknown !== undefined) {
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          message: `broker ${unknown} is not registered`,
        };
      }
      replicas = request.assignments;
    } else {
      const factor =
        request.replicationFactor > 0
          ? request.replicationFactor
          : (settings.defaultReplicationFactor ?? Math.min(3, brokers.length));
      if (factor > brokers.length) {
        return {
          errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
          message: `replication factor ${factor} is larger than the ${brokers.length} live brokers`,
        };
      }
      replicas = assignReplicas(
        brokers,
        request.partitions,
        factor,
        Math.floor(Math.random() * Math.max(1, brokers.length)),
      );
    }
    const assignment: TopicAssignment = {
      version: 1,
      topicId: randomUUID().replaceAll('-', ''),
      partitions: Object.fromEntries(replicas.map((ids, p) => [String(p), ids])),
    };
    let created: boolean;
    try {
      created = await this.coordinator.commit([
        {
          op: 'create',
          path: Paths.topicConfig(request.name),
          data: encodeNode({ version: 1, config: request.config }),
        },
        { op: 'create', path: Paths.topic(request.name), data: encodeNode(assignment) },
      ]);
    } catch (error) {
      return controllerUnreachable(error, `create topic '${request.name}'`);
    }
    if (!created)
      return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `topic '${request.name}' already exists` };
    this.options.logger.info({ topic: request.name, replicas }, 'created topic');
    await this.settle(timeoutMs, () =>
      replicas.every((_, p) => (this.view.state(request.name, p)?.state.leader ?? -1) >= 0),
    );
    return OK;
  }

  /** INVALID_CONFIG naming the first bad key of a topic's overrides (replication's and the log's), else null. */
  private invalidTopicConfig(config: Record<string, string>): ClusterAnswer | null {
    const split = splitTopicConfig(config, this.options.settings.replication);
    if (split instanceof Error) return { errorCode: ErrorCode.INVALID_CONFIG, message: split.message };
    try {
      parseTopicConfig(split.log, DEFAULT_TOPIC_CONFIG);
    } catch (error) {
      return {
        errorCode: ErrorCode.INVALID_CONFIG,
        message: error instanceof Error ? error.message : String(error),
      };
    }
    return null;
  }

  /**
   * CreatePartitions: grows the topic's assignment to `count` partitions, compare-and-set on its node; the
   * new ones are placed as at creation (or as `assignments` says) with the topic's replication factor, and
   * the controller gives them their first state as for a new topic. Answers once each has a leader or the
   * time is up.
   */
  async addPartitions(
    name: string,
    count: number,
    assignments: number[][] | null,
    validateOnly: boolean,
    timeoutMs: number,
  ): Promise<ClusterAnswer> {
    const topic = this.view.topics.get(name);
    if (!topic || this.view.deleting.has(name)) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `topic '${name}' does not exist` };
    }
    const current = topic.replicas.length;
    if (count <= current || count > MAX_PARTITIONS_PER_TOPIC) {
      return {
        errorCode: ErrorCode.INVALID_PARTITIONS,
        message: `topic '${name}' has ${current} partitions: the new count ${count} must be ${current + 1}..${MAX_PARTITIONS_PER_TOPIC}`,
      };
    }
    const factor = topic.replicas[0]?.length ?? 1;
    const brokers = [...this.view.brokers].map(([id, b]) => ({ id, rack: b.rack }));
    let added: number[][];
    if (assignments) {
      const bad =
        assignments.length !== count - current
          ? `${assignments.length} assignments for ${count - current} new partitions`
          : assignments.find((ids) => ids.length !== factor || new Set(ids).size !== ids.length)
            ? `each new partition needs ${factor} distinct brokers (the topic's replication factor)`
            : assignments.flat().find((id) => !this.view.brokers.has(id)) !== undefined
              ? 'an assignment names a broker that is not registered'
              : null;
      if (bad) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: bad };
      added = assignments;
    } else {
      if (factor > brokers.length) {
        return {
          errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
          message: `replication factor ${factor} is larger than the ${brokers.length} live brokers`,
        };
      }
      const start = Math.floor(Math.random() * Math.max(1, brokers.length));
      added = assignReplicas(brokers, count, factor, start).slice(current);
    }
    if (validateOnly) return OK;
    try {
      const node = await this.coordinator.get(Paths.topic(name));
      const stored = node ? decodeNode(TopicAssignment, Paths.topic(name), node.data) : null;
      if (!node || !stored || stored instanceof Error || Object.keys(stored.partitions).length !== current) {
        return {
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          message: `topic '${name}' changed meanwhile; try again`,
        };
      }
      const grown: TopicAssignment = {
        ...stored,
        partitions: {
          ...stored.partitions,
          ...Object.fromEntries(added.map((ids, i) => [String(current + i), ids])),
        },
      };
      if ((await this.coordinator.set(Paths.topic(name), encodeNode(grown), node.version)) === null) {
        return {
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          message: `topic '${name}' changed meanwhile; try again`,
        };
      }
    } catch (error) {
      return controllerUnreachable(error, `add partitions to '${name}'`);
    }
    this.options.logger.info({ topic: name, partitions: count, added }, 'added partitions');
    await this.settle(timeoutMs, () =>
      Array.from({ length: count }, (_, p) => p).every(
        (p) => (this.view.state(name, p)?.state.leader ?? -1) >= 0,
      ),
    );
    return OK;
  }

  /**
   * AlterConfigs on a topic: replaces its overrides in /config/topics/<topic>, validated first; every broker
   * hosting a replica applies them when its view reads the node (ReplicaManager). Answers once this
   * broker's view shows them or the time is up.
   */
  async setTopicConfig(
    name: string,
    config: Record<string, string>,
    validateOnly: boolean,
    timeoutMs: number,
  ): Promise<ClusterAnswer> {
    if (!this.view.topics.has(name) || this.view.deleting.has(name)) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `topic '${name}' does not exist` };
    }
    const invalid = this.invalidTopicConfig(config);
    if (invalid || validateOnly) return invalid ?? OK;
    try {
      const data = encodeNode({ version: 1, config });
      // A topic always has its config node (createTopic writes both); one lost by hand is written again.
      if ((await this.coordinator.set(Paths.topicConfig(name), data, -1)) === null)
        await this.coordinator.create(Paths.topicConfig(name), data, { parents: true });
    } catch (error) {
      return controllerUnreachable(error, `change the config of '${name}'`);
    }
    this.options.logger.info({ topic: name, config }, 'changed topic config');
    const wanted = JSON.stringify(Object.entries(config).sort());
    await this.settle(
      timeoutMs,
      () => JSON.stringify(Object.entries(this.view.topics.get(name)?.config ?? {}).sort()) === wanted,
    );
    return OK;
  }

  /** Asks the controller to delete the topic; answers once it is gone or the time is up. */
  async deleteTopic(name: string, timeoutMs: number): Promise<ClusterAnswer> {
    if (!this.view.topics.has(name)) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `topic '${name}' does not exist` };
    }
    try {
      await this.coordinator.create(Paths.deleteTopic(name), Buffer.alloc(0), { parents: true });
    } catch (error) {
      return controllerUnreachable(error, `delete topic '${name}'`);
    }
    const gone = await this.settle(timeoutMs, () => !this.view.topics.has(name));
    return gone
      ? OK
      : { errorCode: ErrorCode.REQUEST_TIMED_OUT, message: `topic '${name}' is being deleted` };
  }

  /**
   * ElectLeaders through the controller: partitions it may elect go to ZooKeeper as one request node
   * (`/admin/elect_leaders/<id>`), which the controller carries out with the same epoch bump and fencing as a
   * failover and then deletes; the answer is read from the states it left. The rest are answered at once
   * (ELECTION_NOT_NEEDED, ...). `partitions` null: every partition of the cluster.
   */
  async electLeaders(
    type: ElectionType,
    partitions: ReadonlyArray<{ topic: string; partition: number }> | null,
    timeoutMs: number,
  ): Promise<ElectionResult[]> {
    const brokers = { live: this.view.liveBrokerIds(), shuttingDown: this.view.shuttingDown };
    const asked =
      partitions ??
      [...this.view.topics.values()]
        .filter((t) => !this.view.deleting.has(t.name))
        .flatMap((t) => t.replicas.map((_, partition) => ({ topic: t.name, partition })));
    const results: ElectionResult[] = [];
    const toElect: Array<{ topic: string; partition: number; replicas: number[] }> = [];
    for (const { topic, partition } of asked) {
      const replicas = this.view.topics.get(topic)?.replicas[partition];
      if (!replicas || this.view.deleting.has(topic)) {
        results.push({
          topic,
          partition,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          message: `${topic}-${partition} does not exist`,
        });
        continue;
      }
      const reported = this.view.offlineReplicas(topic, partition);
      const verdict = adminElectionVerdict(type, this.view.state(topic, partition)?.state, replicas, {
        ...brokers,
        offlineReplicas: reported.offline,
        damagedReplicas: reported.damaged,
      });
      if (verdict === 'elect') toElect.push({ topic, partition, replicas });
      else results.push({ topic, partition, ...verdict });
    }
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < toElect.length; i += MAX_PARTITIONS_PER_ELECTION) {
      const chunk = toElect.slice(i, i + MAX_PARTITIONS_PER_ELECTION);
      const answers = await this.electThroughController(type, chunk, deadline);
      results.push(...chunk.map(({ topic, partition }, j) => ({ topic, partition, ...answers[j]! })));
    }
    return results;
  }

  /** Writes one election request, waits for the controller to delete it and reads the outcome back. */
  private async electThroughController(
    type: ElectionType,
    partitions: ReadonlyArray<{ topic: string; partition: number; replicas: number[] }>,
    deadline: number,
  ): Promise<ClusterAnswer[]> {
    const path = Paths.leaderElection(randomUUID());
    const request: LeaderElectionRequest = {
      version: 1,
      type,
      partitions: partitions.map(({ topic, partition }) => ({ topic, partition })),
    };
    try {
      await this.coordinator.create(path, encodeNode(request), { parents: true });
      while ((await this.coordinator.get(path)) !== null) {
        if (Date.now() >= deadline) {
          const timedOut = {
            errorCode: ErrorCode.REQUEST_TIMED_OUT,
            message: 'the controller has not carried the election out yet; it still may',
          };
          return partitions.map(() => timedOut);
        }
        await new Promise((resolve) => setTimeout(resolve, ELECTION_POLL_MS));
      }
      const answers: ClusterAnswer[] = [];
      for (const { topic, partition, replicas } of partitions) {
        const statePath = Paths.partitionState(topic, partition);
        const node = await this.coordinator.get(statePath);
        const state = node ? decodeNode(PartitionState, statePath, node.data) : null;
        answers.push(adminElectionResult(type, state instanceof Error ? null : state, replicas));
      }
      return answers;
    } catch (error) {
      const answer = controllerUnreachable(error, 'elect leaders');
      return partitions.map(() => answer);
    }
  }

  /**
   * AlterPartitionReassignments: each topic's plan (planReassignment) written to its assignment node by
   * compare-and-set, retried when another change landed first; answered once stored, as Kafka answers once
   * a reassignment has started. The controller completes it when the added replicas are in sync.
   */
  async alterReassignments(
    topic: string,
    partitions: ReadonlyArray<{ partition: number; replicas: readonly number[] | null }>,
  ): Promise<ClusterAnswer[]> {
    const path = Paths.topic(topic);
    const unknown = {
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      message: `topic '${topic}' does not exist`,
    };
    try {
      const registered = await this.registeredBrokers();
      for (let attempt = 0; attempt < MAX_ASSIGNMENT_WRITES; attempt++) {
        const node = await this.coordinator.get(path);
        const assignment = node ? decodeNode(TopicAssignment, path, node.data) : null;
        if (!node || !assignment || assignment instanceof Error || this.view.deleting.has(topic))
          return partitions.map(() => unknown);
        const answers = partitions.map(({ partition, replicas }): ClusterAnswer => {
          const p = String(partition);
          const current = assignment.partitions[p];
          if (!current) return { ...unknown, message: `${topic}-${partition} does not exist` };
          const plan = planReassignment(
            {
              replicas: current,
              adding: assignment.addingReplicas?.[p] ?? [],
              removing: assignment.removingReplicas?.[p] ?? [],
            },
            replicas,
            registered,
          );
          if ('errorCode' in plan) return plan;
          assignment.partitions[p] = plan.replicas;
          assignment.addingReplicas = { ...assignment.addingReplicas, [p]: plan.adding };
          assignment.removingReplicas = { ...assignment.removingReplicas, [p]: plan.removing };
          if (plan.adding.length === 0) delete assignment.addingReplicas[p];
          if (plan.removing.length === 0) delete assignment.removingReplicas[p];
          return OK;
        });
        if (answers.every((a) => a.errorCode !== ErrorCode.NONE)) return answers;
        if ((await this.coordinator.set(path, encodeNode(assignment), node.version)) !== null) {
          // Read-your-writes: a ListPartitionReassignments right after the answer sees it on this broker.
          const stored = assignment.partitions;
          await this.settle(ASSIGNMENT_SETTLE_MS, () =>
            partitions.every(({ partition }) => {
              const seen = this.view.topics.get(topic)?.replicas[partition];
              const wanted = stored[String(partition)];
              return seen !== undefined && wanted !== undefined && seen.join() === wanted.join();
            }),
          );
          this.options.logger.info(
            { topic, partitions: partitions.map((p) => p.partition), assignment: assignment.partitions },
            'partition reassignment stored',
          );
          return answers;
        }
      }
      const busy = {
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        message: `topic '${topic}' kept changing under the reassignment; try again`,
      };
      return partitions.map(() => busy);
    } catch (error) {
      const answer = controllerUnreachable(error, `reassign partitions of '${topic}'`);
      return partitions.map(() => answer);
    }
  }

  /**
   * The brokers that joined the cluster, running or down, read from ZooKeeper now: not the live brokers,
   * whose nodes go once a dead broker's session expires (a reassignment asked a moment after a crash was
   * refused or not depending on that). The live ones count too: a broker of an older version registers only
   * there.
   */
  private async registeredBrokers(): Promise<Set<number>> {
    const joined = (await this.coordinator.children(Paths.registeredBrokers)) ?? [];
    return new Set([...this.view.brokers.keys(), ...joined.filter((id) => /^\d+$/.test(id)).map(Number)]);
  }

  /**
   * Controlled shutdown: asks the controller to move every leadership and ISR membership away from this
   * broker, and waits (bounded) until it leads nothing that another in-sync replica could lead.
   */
  async controlledShutdown(): Promise<void> {
    const { settings, logger } = this.options;
    try {
      await this.coordinator.create(Paths.controlledShutdown(settings.brokerId), Buffer.alloc(0), {
        ephemeral: true,
        parents: true,
      });
    } catch (error) {
      logger.warn(
        { err: error },
        'controlled shutdown not announced (ZooKeeper out of reach?); stopping anyway: other brokers take its partitions over once its session expires',
      );
      return;
    }
    const moved = await this.settle(settings.controlledShutdownTimeoutMs, () =>
      [...this.view.states.values()].every(
        ({ state }) => state.leader !== settings.brokerId || state.isr.length <= 1,
      ),
    );
    logger.info(
      { moved },
      moved ? 'leadership moved away before shutdown' : 'controlled shutdown timed out; stopping anyway',
    );
  }

  async close(): Promise<void> {
    if (this.outageTimer !== null) clearInterval(this.outageTimer);
    this.outageTimer = null;
    this.controller.deactivate();
    await this.replicas.close();
    await this.election.close();
    await this.registration?.close();
    this.credentials.close();
    this.view.close();
    this.acls.close();
    this.clientQuotas.close();
    for (const close of this.listClosers) close();
    await this.coordinator.close();
  }

  /** Reports the start and the end of each ZooKeeper outage once (log and metric). */
  private checkOutage(): void {
    const reachable = this.coordinator.reachable();
    if (!reachable && this.unreachableSinceMs === null) {
      this.unreachableSinceMs = Date.now();
      this.metrics.coordinationOutages.inc();
      this.options.logger.warn(
        {
          zookeeper: this.options.settings.zookeeper,
          leaderPartitions: this.replicas.gauges().leaderPartitions,
          leadershipConfirmed: this.replicas.leadershipConfirmed(),
        },
        'ZooKeeper unreachable: this broker keeps leading and following with the partition states it has; topic creation and deletion, ISR changes, producer id blocks and controlled shutdown are refused until it returns',
      );
    } else if (reachable && this.unreachableSinceMs !== null) {
      this.options.logger.info(
        {
          outageMs: Date.now() - this.unreachableSinceMs,
          leadershipConfirmed: this.replicas.leadershipConfirmed(),
        },
        'ZooKeeper reachable again',
      );
      this.unreachableSinceMs = null;
    }
  }

  /** Resolves true once `done()` holds for the shared view (checked on each change), false after `timeoutMs`. */
  private settle(timeoutMs: number, done: () => boolean): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        clearTimeout(timer);
        stop();
        resolve(result);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const stop = this.view.onChange(() => {
        if (done()) finish(true);
      });
    });
  }
}

/**
 * The answer to a topic change ZooKeeper did not take: NOT_CONTROLLER (retriable: clients refresh their
 * metadata and try again) when it was never sent because ZooKeeper is out of reach, REQUEST_TIMED_OUT when
 * the answer was lost (the change may still be applied, as Kafka says of a timed-out CreateTopics).
 */
function controllerUnreachable(error: unknown, what: string): ClusterAnswer {
  if (!(error instanceof CoordinationError)) throw error;
  if (error.code === 'UNREACHABLE') {
    return {
      errorCode: ErrorCode.NOT_CONTROLLER,
      message: `cannot ${what}: the controller is out of reach while ZooKeeper is (${error.message}); try again once it is back`,
    };
  }
  return {
    errorCode: ErrorCode.REQUEST_TIMED_OUT,
    message: `cannot confirm that ZooKeeper took the request to ${what} (${error.message}); it may still be applied`,
  };
}

/** The cluster's id, created by the first broker to start (Kafka's /cluster/id). */
async function clusterIdOf(coordinator: Coordinator): Promise<string> {
  const fresh = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
  await coordinator.create(Paths.clusterId, Buffer.from(JSON.stringify({ version: 1, id: fresh })), {
    parents: true,
  });
  const node = await coordinator.get(Paths.clusterId);
  if (!node) throw new Error(`${Paths.clusterId} vanished`);
  const parsed: unknown = JSON.parse(node.data.toString('utf8'));
  if (typeof parsed === 'object' && parsed !== null && 'id' in parsed && typeof parsed.id === 'string')
    return parsed.id;
  throw new Error(`${Paths.clusterId} is invalid`);
}
