import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { createNotifiers } from '../alerts/notifier-config.js';
import type { Notifier } from '../alerts/notifiers/notifier.js';
import { Broker } from '../broker/broker.js';
import { parseBrokerConfig, splitHostPort } from '../broker/config.js';
import { EmbeddedLogClient } from '../client/embedded-client.js';
import { brokerClusterView } from '../http/broker-view.js';
import { LiveFeed } from '../http/live-feed.js';
import { HttpApi } from '../http/server.js';
import { Mirror, MirrorMetrics, mirrorOptionsFromConfig } from '../mirror/index.js';
import { CDN_FIELD_ROLLUPS } from '../monitor/cdn-stats.js';
import { Monitor } from '../monitor/monitor.js';
import { buildFleet } from '../simulate/generator.js';
import { type ScenarioName, scenarioFaults } from '../simulate/scenarios.js';
import { Simulator } from '../simulate/simulator.js';
import { SqliteAggregateStore } from '../store/sqlite-store.js';
import type { EdgestreamConfig } from './config.js';

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
    readonly client: EmbeddedLogClient,
    readonly store: SqliteAggregateStore,
    readonly live: LiveFeed,
    readonly monitor: Monitor | null,
    readonly http: HttpApi | null,
    readonly simulator: Simulator | null,
    readonly mirror: Mirror | null,
    private readonly logger: Logger,
  ) {}

  /** `extraNotifiers` receive notifications beside the configured ones (the demo's detection report). */
  static async start(
    config: EdgestreamConfig,
    logger: Logger,
    extraNotifiers: readonly Notifier[] = [],
  ): Promise<EdgestreamRuntime> {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const broker = await Broker.start(
      parseBrokerConfig({
        dataDir: path.join(config.dataDir, 'broker'),
        listen: config.broker.listen,
        ...(config.broker.advertised === undefined ? {} : { advertised: config.broker.advertised }),
        defaultPartitions: config.broker.defaultPartitions,
        autoCreateTopics: config.broker.autoCreateTopics,
        topicDefaults: config.broker.topicDefaults,
        ...config.broker.limits,
      }),
      logger.child({ component: 'broker' }),
    );
    const closers: Array<() => Promise<void>> = [() => broker.close()];
    const undo = async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    };
    try {
      const client = new EmbeddedLogClient(broker.embeddedLog());
      closers.push(() => client.close());
      const store = SqliteAggregateStore.open({
        path: config.store.path ?? path.join(config.dataDir, 'aggregates.db'),
        aggregateRetentionMs: config.store.retention,
        fieldRollups: CDN_FIELD_ROLLUPS,
      });
      closers.push(() => store.close());
      const live = new LiveFeed();
      const monitor = config.monitor.enabled
        ? await startMonitor(config, client, store, live, logger, extraNotifiers)
        : null;
      if (monitor) {
        closers.push(() => monitor.close());
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
      // After the monitor, so the topics it writes exist when the mirror first matches its pattern.
      const mirrorMetrics = new MirrorMetrics();
      const mirror = config.mirror
        ? new Mirror(
            mirrorOptionsFromConfig(
              config.mirror,
              { client, listTopics: async () => broker.embeddedLog().logs.topicNames() },
              logger.child({ component: 'mirror' }),
              mirrorMetrics,
            ),
          )
        : null;
      if (mirror) {
        await mirror.start();
        closers.push(() => mirror.close());
      }
      let http: HttpApi | null = null;
      if (monitor) {
        const { host, port } = splitHostPort(config.http.listen);
        http = await HttpApi.start({
          host,
          port,
          store,
          alerts: monitor.engine,
          cluster: brokerClusterView(broker),
          registries: [
            broker.metrics.registry,
            monitor.app.metrics.registry,
            monitor.engine.metrics.registry,
          ],
          live,
          logger,
          staticDir: fs.existsSync(path.join(WEB_DIST, 'index.html')) ? WEB_DIST : null,
        });
        const started = http;
        closers.push(() => started.close());
      }
      const simulator = config.simulator.enabled ? await startSimulator(config, client) : null;
      const runtime = new EdgestreamRuntime(
        config,
        broker,
        client,
        store,
        live,
        monitor,
        http,
        simulator,
        mirror,
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

  /** Stops producing first, then processing (which checkpoints), then serving, then the log. */
  async close(): Promise<void> {
    if (this.maintenance) clearInterval(this.maintenance);
    this.maintenance = null;
    await this.simulator?.close();
    await this.monitor?.close();
    await this.http?.close();
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

async function startMonitor(
  config: EdgestreamConfig,
  client: EmbeddedLogClient,
  store: SqliteAggregateStore,
  live: LiveFeed,
  logger: Logger,
  extraNotifiers: readonly Notifier[],
): Promise<Monitor> {
  const { monitor } = config;
  return Monitor.start({
    client,
    store,
    logger: logger.child({ component: 'monitor' }),
    applicationId: monitor.applicationId,
    topics: monitor.topics,
    windows: monitor.windows,
    maxOutOfOrderness: monitor.maxOutOfOrderness,
    commitIntervalMs: monitor.commitInterval,
    alerting: config.alerting,
    notifiers: [
      ...createNotifiers(config.notifiers, { logger: logger.child({ component: 'alerts' }), client }),
      ...extraNotifiers,
    ],
    onWindow: (update) => live.publish({ type: 'window', data: update }),
  });
}

async function startSimulator(config: EdgestreamConfig, client: EmbeddedLogClient): Promise<Simulator> {
  const { simulator } = config;
  const fleet = buildFleet(simulator.edges, simulator.sites, simulator.seed);
  const simulation = new Simulator({
    client,
    ratePerSec: simulator.rate,
    edges: simulator.edges,
    sites: simulator.sites,
    seed: simulator.seed,
    partitions: config.monitor.topics.partitions,
    faults: scenarioFaults(simulator.scenario as ScenarioName, fleet, {
      startOffsetMs: simulator.faultStart,
      durationMs: simulator.faultDuration,
      staggerMs: simulator.faultStagger,
    }),
  });
  await simulation.start();
  return simulation;
}
