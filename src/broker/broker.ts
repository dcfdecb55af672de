import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ClusterNode } from '../cluster/index.js';
import { DEFAULT_TOPIC_CONFIG, LogManager, parseTopicConfig, writeFileAtomic } from '../log/index.js';
import { ApiVersions } from '../protocol/apis/api-versions.js';
import { AclOperation, checkPlainPassword, type DoorSecurity, ResourceType } from '../security/index.js';
import { Access } from './access.js';
import { type ApiHandler, defineHandler } from './api-handler.js';
import { ClientQuotas } from './client-quotas.js';
import type { ClusterGroups } from './cluster-groups.js';
import type { ClusterTransactions } from './cluster-transactions.js';
import {
  advertisedOf,
  type BrokerConfig,
  listenersOf,
  type SecurityProtocol,
  splitHostPort,
} from './config.js';
import { openDynamicBrokerConfigs } from './dynamic-broker-config.js';
import { GroupCoordinator } from './group-coordinator.js';
import { type GroupRouter, LocalGroups } from './group-router.js';
import { aclHandlers } from './handlers/acls.js';
import {
  createTopicsHandler,
  deleteTopicsHandler,
  describeConfigsHandler,
  initProducerIdHandler,
} from './handlers/admin.js';
import { clientQuotaHandlers } from './handlers/client-quotas.js';
import { clusterOperationHandlers } from './handlers/cluster-operations.js';
import { fetchHandler } from './handlers/fetch.js';
import { groupAdminHandlers } from './handlers/group-admin.js';
import { groupHandlers } from './handlers/groups.js';
import { listOffsetsHandler } from './handlers/list-offsets.js';
import { metadataHandler } from './handlers/metadata.js';
import { offsetHandlers } from './handlers/offsets.js';
import { produceHandler } from './handlers/produce.js';
import { saslHandlers } from './handlers/sasl.js';
import { topicAdminHandlers } from './handlers/topic-admin.js';
import { transactionHandlers } from './handlers/transactions.js';
import { userScramHandlers } from './handlers/users.js';
import { writeTxnMarkersHandler } from './handlers/write-txn-markers.js';
import { BrokerMetrics } from './metrics.js';
import { OffsetStore } from './offset-store.js';
import { PartitionWatch } from './partition-watch.js';
import { ProducerIdAllocator } from './producer-state.js';
import { openAuthorizer, openQuotas, openSecurity } from './security-setup.js';
import { KafkaServer } from './server.js';
import { localTopicAdmin } from './topic-admin.js';
import { TopicCatalog } from './topic-catalog.js';
import { localTxnMarkerWriter } from './transaction-markers.js';
import { LocalTransactions, type TransactionRouter } from './transaction-router.js';

export interface BrokerAddress {
  host: string;
  port: number;
}

/** One Kafka-compatible broker: the log, the protocol server, groups, and /metrics. */
export class Broker {
  private metricsServer: http.Server | null = null;
  /** The first listener's bound address. */
  kafkaAddress: BrokerAddress = { host: '', port: 0 };
  /** Every listener's bound address. */
  readonly listenerAddresses = new Map<SecurityProtocol, BrokerAddress>();
  metricsAddress: BrokerAddress | null = null;

  private constructor(
    readonly config: BrokerConfig,
    readonly logs: LogManager,
    private readonly internalLogs: LogManager | null,
    private readonly server: KafkaServer,
    readonly groups: GroupRouter,
    readonly transactions: TransactionRouter,
    readonly metrics: BrokerMetrics,
    private readonly logger: Logger,
    private readonly watch: PartitionWatch,
    readonly cluster: ClusterNode | null,
    /** The users and ACLs the MQTT listener and the HTTP produce APIs apply (docs/security.md). */
    readonly doors: DoorSecurity,
  ) {}

  static async start(config: BrokerConfig, logger: Logger): Promise<Broker> {
    const topicDefaults = parseTopicConfig(config.topicDefaults, DEFAULT_TOPIC_CONFIG);
    const logs = LogManager.open({
      dataDir: config.dataDir,
      logger,
      defaults: topicDefaults,
      producerIdExpirationMs: config.producerIdExpirationMs,
    });
    let internalLogs: LogManager | null = null;
    let cluster: ClusterNode | null = null;
    let clusterGroups: ClusterGroups | null = null;
    let clusterTransactions: ClusterTransactions | null = null;
    try {
      const metrics = new BrokerMetrics();
      const listeners = listenersOf(config);
      if (config.cluster && !listeners.some((l) => l.protocol === 'PLAINTEXT')) {
        throw new Error(
          'a broker in a cluster needs a PLAINTEXT listener: replicas fetch over it (inter-broker TLS and SASL ' +
            'are not supported yet)',
        );
      }
      // In a cluster local logs exist only as replicas of topics in the shared state.
      const topics = new TopicCatalog(logs, {
        autoCreateTopics: config.autoCreateTopics && !config.cluster,
        defaultPartitions: config.defaultPartitions,
        logger,
      });
      const watch = new PartitionWatch();
      if (config.cluster) {
        // The cluster's code (ZooKeeper client, controller, replication) is loaded only by a broker that
        // runs in one: a single node never needs it.
        const { ClusterNode } = await import('../cluster/index.js');
        cluster = await ClusterNode.start({
          settings: {
            brokerId: config.nodeId,
            zookeeper: config.cluster.zookeeper,
            zookeeperSessionTimeoutMs: config.cluster.zookeeperSessionTimeoutMs,
            rack: config.cluster.rack,
            replicaLagTimeMaxMs: config.cluster.replicaLagTimeMaxMs,
            defaultReplicationFactor: config.cluster.defaultReplicationFactor,
            replication: {
              minInsyncReplicas: config.cluster.minInsyncReplicas,
              uncleanLeaderElection: config.cluster.uncleanLeaderElection,
            },
            preferredLeaderCheckIntervalMs: config.cluster.preferredLeaderCheckIntervalMs,
            controlledShutdownTimeoutMs: config.cluster.controlledShutdownTimeoutMs,
          },
          dataDir: config.dataDir,
          logs,
          logger,
          registry: metrics.registry,
          hooks: {
            // Producer state is the log's own, kept by follower appends too: nothing to rebuild here.
            becameLeader: (leader) => {
              clusterGroups?.becameLeader(leader);
              clusterTransactions?.becameLeader(leader);
            },
            stoppedLeading: (topic, partition) => {
              clusterGroups?.stoppedLeading(topic, partition);
              clusterTransactions?.stoppedLeading(topic, partition);
            },
            highWatermarkAdvanced: (topic, partition) => watch.notify(topic, partition),
          },
        });
      }
      const security = openSecurity(config, logger, cluster?.credentials ?? null);
      // ACLs and quotas are the cluster's, in ZooKeeper, once it has joined; else the data directory's.
      const authorizer = await openAuthorizer(config, cluster);
      const access = authorizer ? Access.enforced(authorizer, metrics, logger) : Access.OPEN;
      const quotas = new ClientQuotas(metrics);
      const quotaStore = await openQuotas(config, quotas, cluster);
      const partitionExists = (topic: string, partition: number) => {
        const count = cluster
          ? (cluster.view.topics.get(topic)?.replicas.length ?? 0)
          : logs.hasTopic(topic)
            ? logs.describeTopic(topic).partitions
            : 0;
        return partition >= 0 && partition < count;
      };
      const coordinatorOptions = {
        initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
        logger,
        partitionExists,
        offsetsRetentionMinutes: config.offsetsRetentionMinutes,
        offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
        limits: { groupMaxSize: config.groupMaxSize, maxGroups: config.maxGroups },
      };
      // Filled in once the listeners are bound: port 0 picks a free port, which clients must be told.
      const endpoints = new Map<string, { host: string; port: number }>();
      const identity = {
        nodeId: config.nodeId,
        endpoints,
        clusterId: cluster?.clusterId ?? clusterIdOf(config.dataDir),
      };
      const producerIds = cluster?.producerIds ?? new ProducerIdAllocator(config.dataDir);
      let groups: GroupRouter;
      let transactions: TransactionRouter;
      // Both are used once requests are served, when `groups` is set.
      const markers = localTxnMarkerWriter({
        topics,
        watch,
        cluster,
        replicationTimeoutMs: TXN_MARKER_TIMEOUT_MS,
        offsetsMarked: (partition, marker) =>
          groups.transactionEnded(partition, marker.producerId, marker.committed),
      });
      const transactionOptions = {
        producerIds,
        partitionExists,
        offsetsPartitionOf: (groupId: string) => groups.offsetsPartitionOf(groupId),
        maxTimeoutMs: config.transactionMaxTimeoutMs,
        abortCheckIntervalMs: config.transactionAbortCheckIntervalMs,
        idExpirationMs: config.transactionalIdExpirationMs,
        maxTransactionalIds: config.maxTransactionalIds,
      };
      if (cluster) {
        const [{ ClusterGroups }, { ClusterTransactions }] = await Promise.all([
          import('./cluster-groups.js'),
          import('./cluster-transactions.js'),
        ]);
        clusterGroups = new ClusterGroups(cluster, {
          offsetsPartitions: config.cluster!.offsetsTopicPartitions,
          offsetsCommitTimeoutMs: OFFSETS_COMMIT_TIMEOUT_MS,
          coordinator: coordinatorOptions,
          logger,
        });
        groups = clusterGroups;
        clusterTransactions = new ClusterTransactions(cluster, {
          statePartitions: config.cluster!.transactionStateTopicPartitions,
          writeTimeoutMs: OFFSETS_COMMIT_TIMEOUT_MS,
          markerTimeoutMs: TXN_MARKER_TIMEOUT_MS,
          localMarkers: markers,
          coordinator: transactionOptions,
          logger,
        });
        transactions = clusterTransactions;
      } else {
        internalLogs = LogManager.open({ dataDir: path.join(config.dataDir, 'internal'), logger });
        groups = new LocalGroups(
          new GroupCoordinator(await OffsetStore.open(logs, internalLogs), coordinatorOptions),
          identity,
        );
        transactions = LocalTransactions.open(internalLogs, identity, {
          ...transactionOptions,
          markers,
          coordinatorEpoch: 0,
          logger,
        });
        // Compacts __transaction_state.
        internalLogs.startRetention(config.retentionCheckIntervalMs);
      }
      const handlers = new Map<number, ApiHandler>();
      const add = (handler: ApiHandler) => handlers.set(handler.schema.apiKey, handler);
      add(produceHandler({ topics, watch, metrics, logger, cluster, access, quotas }));
      add(
        fetchHandler({
          topics,
          watch,
          metrics,
          maxFetchWaitMs: config.maxFetchWaitMs,
          cluster,
          access,
          quotas,
        }),
      );
      add(listOffsetsHandler(topics, cluster, access));
      add(writeTxnMarkersHandler(markers, access));
      if (cluster) {
        const [{ clusterMetadataHandler }, clusterAdmin] = await Promise.all([
          import('./handlers/cluster-metadata.js'),
          import('./handlers/cluster-admin.js'),
        ]);
        add(
          clusterMetadataHandler(cluster, access, {
            autoCreateTopics: config.autoCreateTopics,
            defaultPartitions: config.defaultPartitions,
            autoCreateSettleMs: AUTO_CREATE_SETTLE_MS,
          }),
        );
        add(clusterAdmin.clusterCreateTopicsHandler(cluster, config.defaultPartitions, access));
        add(clusterAdmin.clusterDeleteTopicsHandler(cluster, access));
        add(clusterAdmin.offsetForLeaderEpochHandler(cluster, access));
      } else {
        add(metadataHandler(topics, identity, access));
        add(createTopicsHandler(topics, config.defaultPartitions, access));
        add(deleteTopicsHandler(topics, access));
      }
      const topicAdmin = cluster
        ? (await import('./cluster-topic-admin.js')).clusterTopicAdmin(cluster, logs, config.dataDir)
        : localTopicAdmin(topics, config.dataDir);
      const dynamic = await openDynamicBrokerConfigs(config, logs, cluster);
      add(
        describeConfigsHandler(
          { admin: topicAdmin, dynamic, brokerName: String(config.nodeId), broker: brokerSettings(config) },
          access,
        ),
      );
      const knownBroker = (name: string) =>
        name === '' ||
        (/^\d+$/.test(name) &&
          (Number(name) === config.nodeId || cluster?.view.brokers.has(Number(name)) === true));
      for (const handler of topicAdminHandlers({ admin: topicAdmin, dynamic, knownBroker }, access))
        add(handler);
      for (const handler of clusterOperationHandlers({ topics, cluster, identity, access })) add(handler);
      add(initProducerIdHandler(producerIds, transactions, access));
      for (const handler of groupHandlers(groups, transactions, access)) add(handler);
      for (const handler of transactionHandlers(transactions, groups, access, partitionExists)) add(handler);
      for (const handler of offsetHandlers(groups, access)) add(handler);
      for (const handler of groupAdminHandlers(groups, access)) add(handler);
      for (const handler of aclHandlers(access)) add(handler);
      for (const handler of userScramHandlers({ credentials: security.credentials, access })) add(handler);
      for (const handler of clientQuotaHandlers(quotaStore, access)) add(handler);
      const server = new KafkaServer({
        handlers,
        logger,
        observer: metrics,
        maxRequestBytes: config.maxRequestBytes,
        maxRequestBufferBytesTotal: config.maxRequestBufferBytesTotal,
        maxConnections: config.maxConnections,
        maxInFlightPerConnection: config.maxInFlightPerConnection,
        connectionsMaxIdleMs: config.connectionsMaxIdleMs,
        tls: security.tls,
        sasl: security.sasl,
        quotas,
      });
      for (const handler of saslHandlers({
        failed: (listener, clientHost, error) => server.authenticationFailed(listener, clientHost, error),
        succeeded: (listener) => metrics.authenticationSucceeded(listener),
      }))
        add(handler);
      add(
        defineHandler(ApiVersions, () => ({ errorCode: 0, apiKeys: server.apiRanges(), throttleTimeMs: 0 })),
      );
      metrics.registerLag(() =>
        groups
          .all()
          .flatMap((coordinator) =>
            coordinator.lag((topic, partition) => topics.partition(topic, partition).highWatermark),
          ),
      );
      const doors: DoorSecurity = {
        loginRequired: security.sasl !== null,
        checkPassword: (user, password) => checkPlainPassword(security.credentials, user, password),
        mayWrite: (door, principal, host, topic) =>
          access.allowsSession({ principal, host }, door, AclOperation.WRITE, ResourceType.TOPIC, topic),
      };
      const broker = new Broker(
        config,
        logs,
        internalLogs,
        server,
        groups,
        transactions,
        metrics,
        logger,
        watch,
        cluster,
        doors,
      );
      for (const listener of listeners) {
        const bound = await server.listen(listener);
        broker.listenerAddresses.set(listener.protocol, { host: bound.address, port: bound.port });
        endpoints.set(
          listener.protocol,
          advertisedOf(config, listener.protocol) ?? { host: listener.host, port: bound.port },
        );
      }
      broker.kafkaAddress = broker.listenerAddresses.get(listeners[0]!.protocol)!;
      await cluster?.register(
        endpoints.get('PLAINTEXT')!,
        [...endpoints].map(([listener, address]) => ({ listener, ...address })),
      );
      if (config.metricsListen) await broker.startMetrics(config.metricsListen);
      logs.startRetention(config.retentionCheckIntervalMs);
      logger.info(
        {
          kafka: broker.kafkaAddress,
          listeners: Object.fromEntries(broker.listenerAddresses),
          metrics: broker.metricsAddress,
          dataDir: config.dataDir,
        },
        'broker started',
      );
      return broker;
    } catch (error) {
      await cluster?.close();
      await internalLogs?.close();
      await logs.close();
      throw error;
    }
  }

  private async startMetrics(address: string): Promise<void> {
    const { host, port } = splitHostPort(address);
    const server = http.createServer((request, response) => {
      if (request.url !== '/metrics') {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"NOT_FOUND"}');
        return;
      }
      this.metrics.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
        (error: unknown) => {
          this.logger.error({ err: error }, 'metrics collection failed');
          response.writeHead(500, { 'content-type': 'application/json' }).end('{"code":"METRICS_FAILED"}');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => resolve());
    });
    const bound = server.address() as { address: string; port: number };
    this.metricsServer = server;
    this.metricsAddress = { host: bound.address, port: bound.port };
  }

  /**
   * This broker as an in-process client sees it (the EmbeddedLog of src/client/embedded-client.ts, matched
   * structurally because the broker does not depend on the client): the same partition logs, the same
   * long-poll wake-ups and metrics as the Produce and Fetch handlers, and the same offset store.
   */
  embeddedLog() {
    return {
      logs: this.logs,
      createTopic: (name: string, partitions: number, config: Record<string, string>) => {
        const created = this.logs.createTopic(name, partitions, config);
        this.logger.info({ topic: name, partitions, config }, 'created topic for the embedded client');
        return created;
      },
      appended: (topic: string, _partition: number, bytes: number, records: number) => {
        this.metrics.bytesIn.inc({ topic }, bytes);
        this.metrics.recordsIn.inc({ topic }, records);
      },
      madeDurable: (topic: string, partition: number) => this.watch.notify(topic, partition),
      served: (topic: string, bytes: number, records: number) => {
        this.metrics.bytesOut.inc({ topic }, bytes);
        this.metrics.recordsOut.inc({ topic }, records);
      },
      watch: (partitions: Array<{ topic: string; partition: number }>, onData: () => void) =>
        this.watch.watch(
          partitions.map((p) => PartitionWatch.key(p.topic, p.partition)),
          onData,
        ),
      // Generation -1 with no member id is Kafka's commit for a consumer outside the group protocol; the
      // coordinator accepts it only while no member has joined over the Kafka protocol.
      commitOffsets: (
        groupId: string,
        offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }>,
      ) =>
        this.coordinatorOf(groupId).commitOffsets({
          groupId,
          generationId: -1,
          memberId: '',
          groupInstanceId: null,
          offsets: offsets.map((o) => ({
            topic: o.topic,
            partition: o.partition,
            offset: o.offset,
            leaderEpoch: -1,
            metadata: o.metadata ?? null,
          })),
        }),
      groupMemberCount: (groupId: string) => this.coordinatorOf(groupId).describe(groupId).members.length,
    };
  }

  /** The in-process client's groups are coordinated here: on a cluster, only those this broker leads. */
  private coordinatorOf(groupId: string): GroupCoordinator {
    const coordinator = this.groups.coordinatorOf(groupId);
    if (!coordinator) throw new Error(`group '${groupId}' is coordinated by another broker`);
    return coordinator;
  }

  /**
   * Stops accepting, lets in-flight requests finish, then flushes and closes the logs. In a cluster it
   * first hands its leaderships over (controlled shutdown) so clients move on without waiting for its
   * session to expire.
   */
  async close(): Promise<void> {
    await this.cluster?.controlledShutdown();
    await this.server.close();
    await this.cluster?.close();
    this.groups.close();
    this.transactions.close();
    if (this.metricsServer) await new Promise((resolve) => this.metricsServer!.close(resolve));
    await this.internalLogs?.close();
    await this.logs.close();
    this.logger.info({}, 'broker stopped');
  }
}

/** offsets.commit.timeout.ms: how long a commit on a cluster waits for the offsets partition's ISR. */
const OFFSETS_COMMIT_TIMEOUT_MS = 5_000;
/** How long a transaction marker waits for the in-sync replicas (Kafka bounds it by request.timeout.ms). */
const TXN_MARKER_TIMEOUT_MS = 30_000;

/** How long Metadata waits for an auto-created topic's leaders before answering LEADER_NOT_AVAILABLE. */
const AUTO_CREATE_SETTLE_MS = 5_000;

/** A stable cluster id per data directory, as Kafka keeps in meta.properties. */
function clusterIdOf(dataDir: string): string {
  const file = path.join(dataDir, 'cluster-id');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const id = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
  writeFileAtomic(file, id);
  return id;
}

function brokerSettings(config: BrokerConfig): Record<string, string> {
  return {
    'broker.id': String(config.nodeId),
    'num.partitions': String(config.defaultPartitions),
    'auto.create.topics.enable': String(config.autoCreateTopics),
    'socket.request.max.bytes': String(config.maxRequestBytes),
    'queued.max.request.bytes': String(config.maxRequestBufferBytesTotal),
    'max.connections': String(config.maxConnections),
    'connections.max.idle.ms': String(config.connectionsMaxIdleMs),
    'group.initial.rebalance.delay.ms': String(config.groupInitialRebalanceDelayMs),
    'group.max.size': String(config.groupMaxSize),
    'offsets.retention.minutes': String(config.offsetsRetentionMinutes),
    'offsets.retention.check.interval.ms': String(config.offsetsRetentionCheckIntervalMs),
    'log.retention.check.interval.ms': String(config.retentionCheckIntervalMs),
    'producer.id.expiration.ms': String(config.producerIdExpirationMs),
    'transaction.max.timeout.ms': String(config.transactionMaxTimeoutMs),
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': String(
      config.transactionAbortCheckIntervalMs,
    ),
    'transactional.id.expiration.ms': String(config.transactionalIdExpirationMs),
    ...(config.cluster
      ? {
          'offsets.topic.num.partitions': String(config.cluster.offsetsTopicPartitions),
          'transaction.state.log.num.partitions': String(config.cluster.transactionStateTopicPartitions),
        }
      : {}),
  };
}
