import type { Logger } from 'pino';
import { AlertEngine } from '../alerts/engine.js';
import type { Notifier } from '../alerts/notifiers/notifier.js';
import type { AlertingConfig } from '../alerts/rules.js';
import type { WindowUpdate } from '../alerts/series.js';
import type { AlertTransition } from '../alerts/types.js';
import type { LogClient } from '../client/types.js';
import type { AggregateWrite } from '../store/types.js';
import type { Duration } from '../streams/duration.js';
import { StreamsApp } from '../streams/streams-app.js';
import { AggregateSink } from './aggregate-sink.js';
import { buildMonitorTopology, type MonitorWindowSpec } from './pipeline.js';

export interface MonitorTopics {
  tcp: string;
  qoe: string;
  aggregates: string;
  /** Partitions of the telemetry topics when the monitor creates them. */
  partitions: number;
}

/**
 * Where window results and alert transitions go: the aggregate store on a single node, the site topics on a
 * cluster (SitePublisher).
 */
export interface MonitorOutput {
  writeAggregates(rows: readonly AggregateWrite[]): Promise<{ written: number }>;
  appendAlertEvents(transitions: readonly AlertTransition[]): Promise<void>;
}

export interface MonitorOptions {
  client: LogClient;
  store: MonitorOutput;
  logger: Logger;
  applicationId: string;
  topics: MonitorTopics;
  windows: readonly MonitorWindowSpec[];
  maxOutOfOrderness: Duration;
  /** How often tasks checkpoint their state and progress. */
  commitIntervalMs?: number;
  alerting: AlertingConfig;
  notifiers: readonly Notifier[];
  /** Every early and final window result, after alerting has seen it (live views). */
  onWindow?: (update: WindowUpdate) => void;
}

/**
 * Records fetched per turn of the event loop. The pipelines usually share the loop with the broker: a 16 MiB
 * fetch processed in one synchronous step would hold produce requests back for the best part of a second.
 */
const FETCH_MAX_BYTES = 1024 * 1024;

export interface MonitorStats {
  windowUpdates: number;
  windowsStored: number;
  storeWriteFailures: number;
  alertTransitions: number;
}

/**
 * The OTT monitoring application: the pipelines, the alert engine evaluated on each of their window results,
 * the aggregate store, and alert history. Runs against any LogClient, so it can sit beside the embedded broker
 * or join a consumer group on a remote cluster.
 */
export class Monitor {
  readonly engine: AlertEngine;
  readonly app: StreamsApp;
  private readonly sink: AggregateSink;
  private windowUpdates = 0;
  private alertTransitions = 0;
  private history: Promise<void> = Promise.resolve();

  private constructor(private readonly options: MonitorOptions) {
    const { logger, store } = options;
    this.engine = new AlertEngine({
      rules: options.alerting.rules,
      route: options.alerting.route,
      notifiers: options.notifiers,
    });
    for (const silence of options.alerting.silences) this.engine.addSilence(silence);
    this.engine.onTransition((transition) => this.recordTransition(transition));
    this.engine.onError((error) => logger.warn({ err: error }, 'alerting'));
    this.sink = new AggregateSink({ store, logger });
    this.app = new StreamsApp({
      applicationId: options.applicationId,
      client: options.client,
      logger,
      fetchMaxBytes: FETCH_MAX_BYTES,
      ...(options.commitIntervalMs === undefined ? {} : { commitIntervalMs: options.commitIntervalMs }),
    });
    buildMonitorTopology(this.app.builder, {
      tcpTopic: options.topics.tcp,
      qoeTopic: options.topics.qoe,
      aggregatesTopic: options.topics.aggregates,
      windows: options.windows,
      maxOutOfOrderness: options.maxOutOfOrderness,
      onWindow: (update) => this.onWindow(update),
    });
  }

  static async start(options: MonitorOptions): Promise<Monitor> {
    const { client, topics } = options;
    for (const name of [topics.tcp, topics.qoe])
      await client.ensureTopic({ name, partitions: topics.partitions });
    const monitor = new Monitor(options);
    monitor.sink.start();
    monitor.engine.start();
    await monitor.app.start();
    return monitor;
  }

  stats(): MonitorStats {
    const sink = this.sink.stats();
    return {
      windowUpdates: this.windowUpdates,
      windowsStored: sink.windowsWritten,
      storeWriteFailures: sink.writeFailures,
      alertTransitions: this.alertTransitions,
    };
  }

  /** Stops the pipelines (checkpointing them), then alerting, then writes what is pending to the store. */
  async close(): Promise<void> {
    await this.app.close();
    await this.engine.close();
    await Promise.all(this.options.notifiers.map((notifier) => notifier.close()));
    await this.sink.close();
    await this.history;
  }

  private onWindow(update: WindowUpdate): void {
    this.windowUpdates++;
    this.engine.push(update);
    this.sink.accept(update);
    this.options.onWindow?.(update);
  }

  private recordTransition(transition: AlertTransition): void {
    this.alertTransitions++;
    const { logger, store } = this.options;
    this.history = this.history
      .then(() => store.appendAlertEvents([transition]))
      .catch((error: unknown) => logger.error({ err: error }, 'writing alert history failed'));
  }
}
