import type { Logger } from 'pino';
import { AlertEngine } from '../alerts/engine.js';
import type { Notifier } from '../alerts/notifiers/notifier.js';
import type { AlertingConfig } from '../alerts/rules.js';
import type { WindowUpdate } from '../alerts/series.js';
import type { AlertTransition } from '../alerts/types.js';
import type { ThreadLog } from '../client/thread-log.js';
import type { LogClient } from '../client/types.js';
import type { AggregateWrite } from '../store/types.js';
import { type Duration, toMillis } from '../streams/duration.js';
import type { ExactlyOnceMode } from '../streams/streams-app.js';
import { AggregateSink } from './aggregate-sink.js';
import type { MonitorWindowSpec } from './pipeline.js';
import { PipelineWorkers } from './pipeline-workers.js';

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
  /** Creates the telemetry topics. */
  client: LogClient;
  /** The log the pipelines read and write from their worker threads. */
  pipelineLog: ThreadLog;
  /** Pipeline worker threads. */
  workers: number;
  /** A worker whose event loop is stuck this long is stopped and started again. */
  workerHangTimeoutMs: number;
  /** Each pipeline worker's young generation, MB (PipelineWorkers). */
  workerYoungGenerationMb?: number;
  store: MonitorOutput;
  logger: Logger;
  applicationId: string;
  topics: MonitorTopics;
  windows: readonly MonitorWindowSpec[];
  maxOutOfOrderness: Duration;
  /** How often tasks checkpoint their state and progress. */
  commitIntervalMs?: number;
  exactlyOnce?: ExactlyOnceMode;
  alerting: AlertingConfig;
  notifiers: readonly Notifier[];
  /** Every early and final window result, after alerting has seen it (live views). */
  onWindow?: (update: WindowUpdate) => void;
}

/**
 * Bytes a worker fetches at once. The broker's thread reads them and hands them over in one step: small
 * enough that a read never holds its produce requests back long.
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
 * the aggregate store, and alert history. The pipelines run on worker threads (PipelineWorkers) over the
 * embedded broker's log or as members of a consumer group on a remote cluster; their window results come back
 * to this thread.
 */
export class Monitor {
  readonly engine: AlertEngine;
  /** Set in start(), before anything can read it. */
  pipelines!: PipelineWorkers;
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
  }

  static async start(options: MonitorOptions): Promise<Monitor> {
    const { client, topics } = options;
    for (const name of [topics.tcp, topics.qoe])
      await client.ensureTopic({ name, partitions: topics.partitions });
    const monitor = new Monitor(options);
    monitor.sink.start();
    monitor.engine.start();
    try {
      monitor.pipelines = await PipelineWorkers.start({
        workers: options.workers,
        worker: {
          applicationId: options.applicationId,
          tcpTopic: topics.tcp,
          qoeTopic: topics.qoe,
          aggregatesTopic: topics.aggregates,
          windows: options.windows,
          maxOutOfOrdernessMs: toMillis(options.maxOutOfOrderness),
          ...(options.commitIntervalMs === undefined ? {} : { commitIntervalMs: options.commitIntervalMs }),
          ...(options.exactlyOnce === undefined ? {} : { exactlyOnce: options.exactlyOnce }),
          fetchMaxBytes: FETCH_MAX_BYTES,
          logLevel: options.logger.level,
        },
        log: options.pipelineLog,
        logger: options.logger,
        onWindows: (updates) => {
          for (const update of updates) monitor.onWindow(update);
        },
        hangTimeoutMs: options.workerHangTimeoutMs,
        ...(options.workerYoungGenerationMb === undefined
          ? {}
          : { youngGenerationMb: options.workerYoungGenerationMb }),
      });
    } catch (error) {
      await monitor.engine.close();
      await monitor.sink.close();
      throw error;
    }
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
    await this.pipelines.close();
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
