import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { createNotifiers } from '../alerts/notifier-config.js';
import type { Notifier } from '../alerts/notifiers/notifier.js';
import { Broker } from '../broker/broker.js';
import { advertisedOf, parseBrokerConfig, splitHostPort } from '../broker/config.js';
import { EmbeddedLogClient } from '../client/embedded-client.js';
import type { RemoteLogClientOptions } from '../client/remote-common.js';
import type { ThreadLog } from '../client/thread-log.js';
import type { LogClient } from '../client/types.js';
import { brokerClusterView } from '../http/broker-view.js';
import { LiveFeed } from '../http/live-feed.js';
import { HttpApi } from '../http/server.js';
import type { MqttListener } from '../ingest/mqtt-listener.js';
import type { Mirror } from '../mirror/index.js';
import { CDN_FIELD_ROLLUPS } from '../monitor/cdn-stats.js';
import { Monitor, type MonitorOutput } from '../monitor/monitor.js';
import { SitePublisher } from '../monitor/site-publisher.js';
import { DEFAULT_SITE_TOPICS, siteTopicSpecs } from '../monitor/site-topics.js';
import { buildFleet } from '../simulate/generator.js';
import { type ScenarioName, scenarioFaults } from '../simulate/scenarios.js';
import { sliceMsForRate } from '../simulate/simulator.js';
import { type HostedSimulator, InThreadSimulator, SimulatorThread } from '../simulate/simulator-thread.js';
import { SqliteAggregateStore } from '../store/sqlite-store.js';
import { ClusterSite, SITE_REPLICATION_FACTOR, waitForBrokers } from './cluster-site.js';
import { brokerTransactionSettings, type EdgestreamConfig } from './config.js';
import { httpSecurityOptions } from './http-config.js';
import { ingestWiring } from './ingest-wiring.js';

/**
 * Up to this rate a simulator producing to the broker's own log runs on the broker's thread: there it costs a
 * few percent of a core (about 0.04 cores at 5,000 events/s), less than a thread of its own, which adds an
 * isolate (tens of MB) and moves every batch across a port. Above it, generating and encoding would take a
 * good part of the broker's thread.
 */
const MAX_IN_THREAD_SIMULATOR_RATE_PER_SEC = 10_000;

/** Between a cluster node's client's attempts at a request that failed with a retriable error. */
const CLUSTER_RETRY_DELAY_MS = 500;

/** Kafka Streams' default is 45 s; an edge site wants a dead node's series back sooner. */
const CLUSTER_GROUP_SESSION_TIMEOUT_MS = 10_000;

/** Default pipeline workers at most, however many cores: beyond it the broker's thread is the limit. */
const MAX_DEFAULT_PIPELINE_WORKERS = 4;

/** Downsampling and retention run this often. */
const STORE_MAINTENANCE_INTERVAL_MS = 60_000;

/** Where the dashboard's built assets are, when they have been built. */
const WEB_DIST = path.resolve(import.meta.dirname, '..', '..', 'web');

/**
 * One Edgestream process as a config describes it: the broker, the monitoring pipelines with alerting, the
 * aggregate store, the HTTP API, and optionally the edge-to-cloud mirror and the simulator. Started in dependency order, closed in reverse.
 */
export class EdgestreamRuntime {
  private maintenance: NodeJS.Timeout | null = null;

  private constructor(
    readonly config: EdgestreamConfig,
    readonly broker: Broker,
    readonly client: LogClient,
    readonly store: SqliteAggregateStore,
    readonly live: LiveFeed,
    readonly monitor: Monitor | null,
    /** On a cluster: how this node shows the whole site. */
    readonly site: ClusterSite | null,
    readonly http: HttpApi | null,
    readonly simulator: HostedSimulator | null,
    readonly mirror: Mirror | null,
    /** The MQTT door into the log, when the config has an `mqtt:` section. */
    readonly mqtt: MqttListener | null,
    private readonly logger: Logger,
  ) {}

  /** `extraNotifiers` receive notifications beside the configured ones (the demo's detection report). */
  static async start(
    config: EdgestreamConfig,
    logger: Logger,
    extraNotifiers: readonly Notifier[] = [],
  ): Promise<EdgestreamRuntime> {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const { cluster } = config;
    const broker = await Broker.start(
      parseBrokerConfig({
        dataDir: path.join(config.dataDir, 'broker'),
        listen: config.broker.listen,
        ...(config.broker.advertised === undefined ? {} : { advertised: config.broker.advertised }),
        defaultPartitions: config.broker.defaultPartitions,
        autoCreateTopics: config.broker.autoCreateTopics,
        topicDefaults: config.broker.topicDefaults,
        ...config.broker.limits,
        ...brokerTransactionSettings(config.broker.transactions),
        ...(config.broker.listeners === undefined ? {} : { listeners: config.broker.listeners }),
        advertisedListeners: config.broker.advertisedListeners,
        tls: config.broker.tls,
        sasl: config.broker.sasl,
        superUsers: config.broker.superUsers,
        authorizer: config.broker.authorizer,
        allowEveryoneIfNoAclFound: config.broker.allowEveryoneIfNoAclFound,
        ...(cluster === undefined ? {} : clusterBrokerConfig(cluster)),
      }),
      logger.child({ component: 'broker' }),
    );
    const closers: Array<() => Promise<void>> = [() => broker.close()];
    const undo = async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    };
    try {
      // On a cluster this node's pipelines are members of one consumer group with every other node's, and
      // reach partitions led elsewhere: they go through a Kafka client to the cluster, starting at this broker.
      const replicationFactor = cluster?.defaultReplicationFactor ?? SITE_REPLICATION_FACTOR;
      if (broker.cluster) await waitForBrokers(broker.cluster.view, replicationFactor, logger);
      const remote: RemoteLogClientOptions | null =
        cluster === undefined
          ? null
          : {
              bootstrapBrokers: [plaintextAddress(broker)],
              clientId: `edgestream-node-${cluster.nodeId}`,
              replicationFactor,
              // Long enough to ride out a leader election (a ZooKeeper session timeout and a little more)
              // and a topic just created by another node whose leaders are still being chosen.
              retries: Math.ceil((2 * cluster.zookeeperSessionTimeoutMs) / CLUSTER_RETRY_DELAY_MS) + 10,
              retryDelayMs: CLUSTER_RETRY_DELAY_MS,
              // A node that dies hands its tasks over once its group session times out: the site's alerts
              // for its series wait that long.
              group: { sessionTimeoutMs: CLUSTER_GROUP_SESSION_TIMEOUT_MS, heartbeatIntervalMs: 1_000 },
            };
      const { client, pipelineLog } = await logClients(broker, remote);
      closers.push(() => client.close());
      const store = SqliteAggregateStore.open({
        path: config.store.path ?? path.join(config.dataDir, 'aggregates.db'),
        aggregateRetentionMs: config.store.retention,
        fieldRollups: CDN_FIELD_ROLLUPS,
      });
      closers.push(() => store.close());
      const live = new LiveFeed();
      const publisher =
        cluster === undefined ? null : new SitePublisher(client, DEFAULT_SITE_TOPICS, cluster.nodeId);
      if (publisher) {
        for (const spec of siteTopicSpecs(DEFAULT_SITE_TOPICS)) await client.ensureTopic(spec);
        await publisher.announceAlertEngineStart();
      }
      const monitor = config.monitor.enabled
        ? await startMonitor(
            config,
            client,
            pipelineLog,
            publisher ?? store,
            publisher ? null : live,
            logger,
            extraNotifiers,
          )
        : null;
      if (monitor) {
        closers.push(() => monitor.close());
        if (!publisher)
          monitor.engine.onTransition((transition) => live.publish({ type: 'alert', data: transition }));
        const { silences } = await store.listSilences({ status: 'active', nowMs: Date.now() });
        for (const { id, matchers, startsAtMs, endsAtMs, comment, createdBy } of silences) {
          try {
            monitor.engine.addSilence({
              id,
              matchers: matchers.map(({ name, op, value }) => ({ label: name, op, value })),
              startsAtMs,
              endsAtMs,
              comment,
              createdBy,
            });
          } catch (error) {
            // A silence stored by an older version may use regex syntax RE2 refuses (lookaround,
            // backreferences): it stays in the store, inactive, rather than keeping the site from starting.
            logger.warn(
              { err: error, silence: id },
              'stored silence not restored: its matchers do not compile',
            );
          }
        }
      }
      const site =
        publisher && monitor && cluster && broker.cluster
          ? await ClusterSite.start({
              client,
              store,
              live,
              engine: monitor.engine,
              publisher,
              clusterView: broker.cluster.view,
              positionsFile: path.join(config.dataDir, 'site-feed-positions.json'),
              logger: logger.child({ component: 'site' }),
            })
          : null;
      if (site) closers.push(() => site.close());
      // After the monitor, so the topics it writes exist when the mirror first matches its pattern.
      const mirror = config.mirror
        ? await startMirror(config.mirror, client, broker, logger.child({ component: 'mirror' }))
        : null;
      if (mirror) closers.push(() => mirror.close());
      // After the log client (it writes through it), before the HTTP API (which serves its metrics).
      const mqtt = config.mqtt ? await startMqtt(config.mqtt, config, client, broker, logger) : null;
      if (mqtt) closers.push(() => mqtt.close());
      let http: HttpApi | null = null;
      if (monitor) {
        const { host, port } = splitHostPort(config.http.listen);
        // The pipelines commit only at checkpoints: the broker page asks their threads how far they are.
        const clusterView = brokerClusterView(broker, {
          groupId: config.monitor.applicationId,
          threads: monitor.pipelines,
        });
        const ingest = ingestWiring(config.ingest, {
          client,
          broker,
          cluster: clusterView,
          autoCreatePartitions: config.broker.autoCreateTopics ? config.broker.defaultPartitions : null,
          qoeTopic: config.monitor.topics.qoe,
        });
        if (ingest.beaconTopic !== null)
          await client.ensureTopic({
            name: ingest.beaconTopic,
            partitions: config.monitor.topics.partitions,
          });
        http = await HttpApi.start({
          host,
          port,
          store,
          alerts: site?.alerts ?? monitor.engine,
          cluster: clusterView,
          registries: [
            broker.metrics.registry,
            monitor.pipelines,
            monitor.engine.metrics.registry,
            ingest.metrics.registry,
            ...(mqtt ? [mqtt.metrics.registry] : []),
          ],
          ingest: ingest.routes,
          live,
          logger,
          staticDir: fs.existsSync(path.join(WEB_DIST, 'index.html')) ? WEB_DIST : null,
          ...httpSecurityOptions(config.http),
        });
        const started = http;
        closers.push(() => started.close());
      }
      const simulator = config.simulator.enabled ? await startSimulator(config, pipelineLog) : null;
      const runtime = new EdgestreamRuntime(
        config,
        broker,
        client,
        store,
        live,
        monitor,
        site,
        http,
        simulator,
        mirror,
        mqtt,
        logger,
      );
      runtime.maintenance = setInterval(() => void runtime.maintainStore(), STORE_MAINTENANCE_INTERVAL_MS);
      runtime.maintenance.unref();
      return runtime;
    } catch (error) {
      await undo();
      throw error;
    }
  }

  /**
   * Stops producing first (devices, then the simulator), then processing (which checkpoints), then serving,
   * then the log.
   */
  async close(): Promise<void> {
    if (this.maintenance) clearInterval(this.maintenance);
    this.maintenance = null;
    await this.mqtt?.close();
    await this.simulator?.close();
    await this.monitor?.close();
    await this.http?.close();
    await this.site?.close();
    await this.mirror?.close();
    await this.client.close();
    await this.store.close();
    await this.broker.close();
  }

  private async maintainStore(): Promise<void> {
    try {
      await this.store.maintain(Date.now());
    } catch (error) {
      this.logger.error({ err: error }, 'store maintenance failed');
    }
  }
}

/** `live` receives every window result at once on a single node; on a cluster it is fed from the site topics. */
async function startMonitor(
  config: EdgestreamConfig,
  client: LogClient,
  pipelineLog: ThreadLog,
  output: MonitorOutput,
  live: LiveFeed | null,
  logger: Logger,
  extraNotifiers: readonly Notifier[],
): Promise<Monitor> {
  const { monitor } = config;
  return Monitor.start({
    client,
    pipelineLog,
    workers: monitor.workers ?? defaultPipelineWorkers(),
    workerHangTimeoutMs: monitor.workerHangTimeout,
    ...(monitor.workerYoungGenerationMb === undefined
      ? {}
      : { workerYoungGenerationMb: monitor.workerYoungGenerationMb }),
    store: output,
    logger: logger.child({ component: 'monitor' }),
    applicationId: monitor.applicationId,
    topics: monitor.topics,
    windows: monitor.windows,
    maxOutOfOrderness: monitor.maxOutOfOrderness,
    commitIntervalMs: monitor.commitInterval,
    exactlyOnce: monitor.exactlyOnce,
    alerting: config.alerting,
    notifiers: [
      ...createNotifiers(config.notifiers, { logger: logger.child({ component: 'alerts' }), client }),
      ...extraNotifiers,
    ],
    ...(live === null ? {} : { onWindow: (update) => live.publish({ type: 'window', data: update }) }),
  });
}

/**
 * The MQTT listener of the `mqtt:` section, writing through the process's client (the embedded log, or on a
 * cluster the cluster) with the broker's users and ACLs.
 */
async function startMqtt(
  section: NonNullable<EdgestreamConfig['mqtt']>,
  config: EdgestreamConfig,
  client: LogClient,
  broker: Broker,
  logger: Logger,
): Promise<MqttListener> {
  const { listen, ...settings } = section;
  const { host, port } = splitHostPort(listen);
  // The MQTT listener's modules (and its packet library) load only in a process that has the section.
  const { MqttListener } = await import('../ingest/mqtt-listener.js');
  return MqttListener.start({
    host,
    port,
    settings,
    client,
    doors: broker.doors,
    newTopicPartitions: config.broker.defaultPartitions,
    logger: logger.child({ component: 'mqtt' }),
  });
}

/**
 * Producing to the broker's log (or, on a cluster, to the cluster): on this thread at a low rate on a single
 * node, else on a thread of its own.
 */
async function startSimulator(config: EdgestreamConfig, log: ThreadLog): Promise<HostedSimulator> {
  const { simulator } = config;
  const fleet = buildFleet(simulator.edges, simulator.sites, simulator.seed);
  const options = {
    ratePerSec: simulator.rate,
    sliceMs: sliceMsForRate(simulator.rate),
    edges: simulator.edges,
    sites: simulator.sites,
    seed: simulator.seed,
    partitions: config.monitor.topics.partitions,
    faults: scenarioFaults(simulator.scenario as ScenarioName, fleet, {
      startOffsetMs: simulator.faultStart,
      durationMs: simulator.faultDuration,
      staggerMs: simulator.faultStagger,
    }),
  };
  if (log.kind === 'embedded' && simulator.rate <= MAX_IN_THREAD_SIMULATOR_RATE_PER_SEC)
    return InThreadSimulator.start(options, log.client);
  return SimulatorThread.start(options, log);
}

/** The edge-to-cloud mirror of the `mirror:` section; its module (and the Kafka client library) load only then. */
async function startMirror(
  config: NonNullable<EdgestreamConfig['mirror']>,
  client: LogClient,
  broker: Broker,
  logger: Logger,
): Promise<Mirror> {
  const { Mirror, MirrorMetrics, mirrorOptionsFromConfig } = await import('../mirror/index.js');
  const mirror = new Mirror(
    mirrorOptionsFromConfig(
      config,
      { client, listTopics: async () => broker.embeddedLog().logs.topicNames() },
      logger,
      new MirrorMetrics(),
    ),
  );
  await mirror.start();
  return mirror;
}

/**
 * The process's client, and the log its pipeline workers use: the broker's own log served to them through
 * ports on a single node; on a cluster, where this node's pipelines are members of one consumer group with
 * every other node's and reach partitions led elsewhere, a Kafka client to the cluster for each.
 */
async function logClients(
  broker: Broker,
  remote: RemoteLogClientOptions | null,
): Promise<{ client: LogClient; pipelineLog: ThreadLog }> {
  if (remote) {
    // The Kafka client library (tens of MB) is loaded only by a process that needs it.
    const { RemoteLogClient } = await import('../client/remote-client.js');
    return { client: new RemoteLogClient(remote), pipelineLog: { kind: 'remote', options: remote } };
  }
  const log = broker.embeddedLog();
  const client = new EmbeddedLogClient(log);
  return {
    client,
    pipelineLog: {
      kind: 'embedded',
      client,
      served: (topic, bytes, records) => log.served(topic, bytes, records),
    },
  };
}

/**
 * One pipeline worker per core beside the one the broker's thread uses, at least one: on two cores the
 * broker keeps a core and the pipelines get the other.
 */
function defaultPipelineWorkers(): number {
  return Math.max(1, Math.min(MAX_DEFAULT_PIPELINE_WORKERS, os.availableParallelism() - 1));
}

/** The broker config keys of a node's `cluster:` section. */
function clusterBrokerConfig({ nodeId, ...cluster }: NonNullable<EdgestreamConfig['cluster']>) {
  return { nodeId, cluster };
}

/**
 * Where this node's own clients reach its broker: the advertised address of the PLAINTEXT listener a clustered
 * broker must have (its bound address when none is advertised).
 */
function plaintextAddress(broker: Broker): string {
  const endpoint = advertisedOf(broker.config, 'PLAINTEXT') ?? broker.listenerAddresses.get('PLAINTEXT');
  if (!endpoint) throw new Error('a clustered edge runtime needs a PLAINTEXT listener for its own pipelines');
  return `${endpoint.host}:${endpoint.port}`;
}
