import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_TOPIC_CONFIG, LogManager, parseTopicConfig, writeFileAtomic } from '../log/index.js';
import { ApiVersions } from '../protocol/apis/api-versions.js';
import { type BrokerConfig, splitHostPort } from './config.js';
import { GroupCoordinator } from './group-coordinator.js';
import {
  createTopicsHandler,
  deleteTopicsHandler,
  describeConfigsHandler,
  initProducerIdHandler,
} from './handlers/admin.js';
import { fetchHandler } from './handlers/fetch.js';
import { groupHandlers } from './handlers/groups.js';
import { listOffsetsHandler } from './handlers/list-offsets.js';
import { metadataHandler } from './handlers/metadata.js';
import { produceHandler } from './handlers/produce.js';
import { BrokerMetrics } from './metrics.js';
import { OffsetStore } from './offset-store.js';
import { PartitionWatch } from './partition-watch.js';
import { ProducerIdAllocator } from './producer-state.js';
import { type ApiHandler, KafkaServer } from './server.js';
import { TopicCatalog } from './topic-catalog.js';

export interface BrokerAddress {
  host: string;
  port: number;
}

/** One Kafka-compatible broker: the log, the protocol server, groups, and /metrics. */
export class Broker {
  private metricsServer: http.Server | null = null;
  kafkaAddress: BrokerAddress = { host: '', port: 0 };
  metricsAddress: BrokerAddress | null = null;

  private constructor(
    readonly config: BrokerConfig,
    readonly logs: LogManager,
    private readonly internalLogs: LogManager,
    private readonly server: KafkaServer,
    readonly groups: GroupCoordinator,
    readonly metrics: BrokerMetrics,
    private readonly logger: Logger,
  ) {}

  static async start(config: BrokerConfig, logger: Logger): Promise<Broker> {
    const topicDefaults = parseTopicConfig(config.topicDefaults, DEFAULT_TOPIC_CONFIG);
    const logs = LogManager.open({ dataDir: config.dataDir, logger, defaults: topicDefaults });
    let internalLogs: LogManager | null = null;
    try {
      internalLogs = LogManager.open({ dataDir: path.join(config.dataDir, 'internal'), logger });
      const offsets = await OffsetStore.open(internalLogs);
      const groups = new GroupCoordinator(offsets, {
        initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
      });
      const metrics = new BrokerMetrics();
      const listen = splitHostPort(config.listen);
      const advertised = splitHostPort(config.advertised ?? config.listen);
      const topics = new TopicCatalog(logs, {
        autoCreateTopics: config.autoCreateTopics,
        defaultPartitions: config.defaultPartitions,
        logger,
      });
      const watch = new PartitionWatch();
      const identity = {
        nodeId: config.nodeId,
        host: advertised.host,
        port: advertised.port,
        clusterId: clusterIdOf(config.dataDir),
      };
      const handlers = new Map<number, ApiHandler>();
      const add = (handler: ApiHandler) => handlers.set(handler.schema.apiKey, handler);
      add(produceHandler({ topics, watch, metrics, logger }));
      add(fetchHandler({ topics, watch, metrics, maxFetchWaitMs: config.maxFetchWaitMs }));
      add(listOffsetsHandler(topics));
      add(metadataHandler(topics, identity));
      add(createTopicsHandler(topics, config.defaultPartitions));
      add(deleteTopicsHandler(topics));
      add(describeConfigsHandler(topics, brokerSettings(config)));
      add(initProducerIdHandler(new ProducerIdAllocator(config.dataDir)));
      for (const handler of groupHandlers(groups, identity)) add(handler);
      const server = new KafkaServer({
        handlers,
        logger,
        observer: metrics,
        maxRequestBytes: config.maxRequestBytes,
        maxConnections: config.maxConnections,
        maxInFlightPerConnection: config.maxInFlightPerConnection,
      });
      add({
        schema: ApiVersions,
        handle: () => ({ errorCode: 0, apiKeys: server.apiRanges(), throttleTimeMs: 0 }),
      });
      metrics.registerLag(() =>
        groups.lag((topic, partition) => topics.partition(topic, partition).highWatermark),
      );
      const broker = new Broker(config, logs, internalLogs, server, groups, metrics, logger);
      const bound = await server.listen(listen.host, listen.port);
      broker.kafkaAddress = { host: bound.address, port: bound.port };
      // Listening on port 0 picks a free port: that is the one clients must be told.
      if (!config.advertised) identity.port = bound.port;
      if (config.metricsListen) await broker.startMetrics(config.metricsListen);
      logs.startRetention(config.retentionCheckIntervalMs);
      logger.info(
        { kafka: broker.kafkaAddress, metrics: broker.metricsAddress, dataDir: config.dataDir },
        'broker started',
      );
      return broker;
    } catch (error) {
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

  /** Stops accepting, lets in-flight requests finish, then flushes and closes the logs. */
  async close(): Promise<void> {
    await this.server.close();
    this.groups.close();
    if (this.metricsServer) await new Promise((resolve) => this.metricsServer!.close(resolve));
    await this.internalLogs.close();
    await this.logs.close();
    this.logger.info({}, 'broker stopped');
  }
}

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
    'max.connections': String(config.maxConnections),
    'group.initial.rebalance.delay.ms': String(config.groupInitialRebalanceDelayMs),
    'log.retention.check.interval.ms': String(config.retentionCheckIntervalMs),
  };
}
