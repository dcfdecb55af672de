import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import type { WindowUpdate } from '../alerts/series.js';
import type { LogPortServer } from '../client/log-port-server.js';
import { openThreadLog, type ThreadLog } from '../client/thread-log.js';
import type {
  MainToWorker,
  MetricsSnapshot,
  PipelineWorkerData,
  WorkerFault,
  WorkerProgress,
  WorkerToMain,
} from './pipeline-worker-messages.js';

export interface PipelineWorkersOptions {
  workers: number;
  worker: Omit<PipelineWorkerData, 'slot' | 'log' | 'heartbeatIntervalMs'>;
  log: ThreadLog;
  logger: Logger;
  /** Every window result, in the order each worker produced them. */
  onWindows: (updates: readonly WindowUpdate[]) => void;
  /** A worker silent this long is taken for hung: it is stopped and started again. */
  hangTimeoutMs: number;
  /** Each worker's young generation, MB; default DEFAULT_YOUNG_GENERATION_MB. */
  youngGenerationMb?: number;
}

/** Between a worker's heartbeats; the hang timeout is several of them. */
const HEARTBEAT_INTERVAL_MS = 500;
/** A worker that exits is started again after this, doubling on each failure in a row up to the maximum. */
const RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that lived this long counts as healthy again: its next restart is quick. */
const HEALTHY_LIFE_MS = 60_000;
/** How long a closing worker may take to checkpoint and leave before it is stopped. */
const CLOSE_TIMEOUT_MS = 60_000;
/** How long a scrape waits for a worker's metrics. */
const METRICS_TIMEOUT_MS = 2_000;
/**
 * A worker's young generation by default, MB (on Node 20, V8 makes each of its two semi-spaces half of it).
 * The pipelines' garbage is records and window updates, but a fetch's records and the outputs waiting for
 * their append live for tens of ms: at 16 MB there were ~570 scavenges per million events, promoting ~1 KB per
 * event, with 2-5 us of pauses per event. 32 MB halves the scavenges and the pauses and promotes a third to
 * half as much (bench/worker-bench.ts) for 11-17 MB more RSS in the demo at 5,000 events/s; 64 MB promotes
 * next to nothing but costs another 24 MB, all of it resident once the scavenger has cycled through it. A
 * process that knows its rate is low may ask for less (the demo at up to 5,000 events/s takes 16 MB).
 */
export const DEFAULT_YOUNG_GENERATION_MB = 32;

const WORKER_SCRIPT = new URL('./pipeline-worker.js', import.meta.url);

type RestartReason = 'exit' | 'hang';

/**
 * The monitoring pipelines on worker threads beside the broker's event loop: `workers` threads, each running
 * the tasks of a fixed share of the partitions (LogPortServer.share). A worker that exits or stops sending
 * heartbeats is stopped, every write it had sent is waited for, and a new worker takes its share from the
 * tasks' checkpoints, so what it had done counts exactly once (docs/architecture.md, "Threads").
 */
export class PipelineWorkers {
  private readonly registry = new Registry();
  private readonly restartsTotal: Counter<'reason'>;
  private readonly slots: WorkerSlot[];

  private constructor(options: PipelineWorkersOptions) {
    this.restartsTotal = new Counter({
      name: 'edgestream_pipeline_worker_restarts_total',
      help: 'Pipeline worker threads started again after they exited or stopped answering',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.slots = Array.from(
      { length: options.workers },
      (_, slot) => new WorkerSlot(slot, options, (reason) => this.restartsTotal.inc({ reason })),
    );
  }

  static async start(options: PipelineWorkersOptions): Promise<PipelineWorkers> {
    if (!Number.isSafeInteger(options.workers) || options.workers < 1)
      throw new Error(`pipeline workers must be a positive integer, got ${options.workers}`);
    const workers = new PipelineWorkers(options);
    try {
      await Promise.all(workers.slots.map((slot) => slot.start()));
    } catch (error) {
      await workers.close();
      throw error;
    }
    return workers;
  }

  /** Records of `topic` processed since start, over every worker and every life of each. */
  recordsProcessed(topic: string): number {
    return this.slots.reduce((sum, slot) => sum + slot.recordsProcessed(topic), 0);
  }

  /** Each task's next offset, as its worker last reported it. */
  positions(): WorkerProgress['positions'] {
    return this.slots.flatMap((slot) => slot.positions());
  }

  /** Worker thread ids and the partitions each runs: the members the broker page shows for the group. */
  members(): Array<{ memberId: string; partitions: Array<{ topic: string; partition: number }> }> {
    return this.slots.map((slot) => ({
      memberId: slot.memberId(),
      partitions: slot.positions().map(({ topic, partition }) => ({ topic, partition })),
    }));
  }

  restarts(): number {
    return this.slots.reduce((sum, slot) => sum + slot.restarts, 0);
  }

  /** Has worker `slot` crash or hang, to drill (and test) that it is noticed and its tasks resumed. */
  injectFault(slot: number, fault: WorkerFault): void {
    const target = this.slots[slot];
    if (!target) throw new Error(`there is no pipeline worker ${slot}; there are ${this.slots.length}`);
    target.send({ kind: 'fault', fault });
  }

  /** The workers' streams metrics summed over them, and the restarts: Prometheus text. */
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  async metrics(): Promise<string> {
    const snapshots = await Promise.all(this.slots.map((slot) => slot.metrics()));
    const own = await this.registry.getMetricsAsJSON();
    return AggregatorRegistry.aggregate([...snapshots.filter((s) => s.length > 0), own]).metrics();
  }

  /** Each worker checkpoints its tasks and leaves; one that does not within the timeout is stopped. */
  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.close()));
  }
}

/** One worker's place: its current thread, its connection to the log, and what its earlier lives did. */
class WorkerSlot {
  restarts = 0;
  private worker: Worker | null = null;
  private server: LogPortServer | null = null;
  private progress: WorkerProgress = { recordsProcessed: {}, positions: [] };
  /** Records processed by the earlier lives of this slot. */
  private readonly carried = new Map<string, number>();
  private lastHeartbeatMs = 0;
  private startedAtMs = 0;
  private restartDelayMs = RESTART_DELAY_MS;
  private watchdog: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private closing = false;
  /** The watchdog stopped the current worker. */
  private hung = false;
  private exited: Promise<void> = Promise.resolve();
  private nextMetricsId = 0;
  private readonly metricsWaiting = new Map<number, (metrics: MetricsSnapshot) => void>();

  constructor(
    private readonly slot: number,
    private readonly options: PipelineWorkersOptions,
    private readonly countRestart: (reason: RestartReason) => void,
  ) {}

  /** Starts a worker; resolves once its pipelines run, rejects with the error that kept them from it. */
  start(): Promise<void> {
    const { options } = this;
    const log = openThreadLog(
      options.log,
      { slot: this.slot, slots: options.workers },
      `pipelines-${this.slot}`,
    );
    this.server = log.server;
    const data: PipelineWorkerData = {
      ...options.worker,
      slot: this.slot,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      log: log.spec,
    };
    const worker = new Worker(WORKER_SCRIPT, {
      workerData: data,
      transferList: log.transfer,
      name: `edgestream-pipelines-${this.slot}`,
      resourceLimits: {
        maxYoungGenerationSizeMb: options.youngGenerationMb ?? DEFAULT_YOUNG_GENERATION_MB,
      },
    });
    this.worker = worker;
    this.startedAtMs = Date.now();
    this.lastHeartbeatMs = Date.now();
    this.progress = { recordsProcessed: {}, positions: [] };
    let started = false;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      let failure: Error | null = null;
      worker.on('message', (message: WorkerToMain) => {
        if (message.kind === 'started') {
          started = true;
          this.watch();
          resolve();
        } else this.receive(message);
      });
      worker.on('error', (error) => {
        failure = error;
        options.logger.error({ err: error, worker: this.slot }, 'pipeline worker failed');
      });
      worker.once('exit', (code) => {
        if (!started)
          reject(failure ?? new Error(`the pipeline worker exited with code ${code} before it started`));
        // The first start's failure is the caller's; a restart that fails is tried again.
        if (started || this.restarts > 0) void this.ended(code);
        else void this.server?.close();
      });
    });
  }

  recordsProcessed(topic: string): number {
    return (this.carried.get(topic) ?? 0) + (this.progress.recordsProcessed[topic] ?? 0);
  }

  positions(): WorkerProgress['positions'] {
    return this.progress.positions;
  }

  memberId(): string {
    return `edgestream-pipelines-${this.slot}${this.worker ? `-thread-${this.worker.threadId}` : ''}`;
  }

  /** The worker's metrics; none from a worker that is restarting or does not answer in time. */
  metrics(): Promise<MetricsSnapshot> {
    const { worker } = this;
    if (!worker) return Promise.resolve([]);
    const id = this.nextMetricsId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.metricsWaiting.delete(id);
        resolve([]);
      }, METRICS_TIMEOUT_MS);
      this.metricsWaiting.set(id, (metrics) => {
        clearTimeout(timer);
        resolve(metrics);
      });
      worker.postMessage({ kind: 'metrics', id } satisfies MainToWorker);
    });
  }

  send(message: MainToWorker): void {
    this.worker?.postMessage(message);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    const { worker } = this;
    if (worker) {
      worker.postMessage({ kind: 'close' } satisfies MainToWorker);
      const stopper = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await this.exited;
      clearTimeout(stopper);
    }
    await this.server?.close();
  }

  private receive(message: WorkerToMain): void {
    switch (message.kind) {
      case 'windows':
        this.options.onWindows(message.updates);
        return;
      case 'heartbeat':
        this.lastHeartbeatMs = Date.now();
        this.progress = message.progress;
        return;
      case 'log':
        relayLog(this.options.logger, message.line);
        return;
      case 'metrics':
        this.metricsWaiting.get(message.id)?.(message.metrics);
        this.metricsWaiting.delete(message.id);
        return;
      case 'started':
      case 'closed':
        return;
    }
  }

  /** Stops a worker whose event loop has been stuck past the hang timeout; its exit restarts it. */
  private watch(): void {
    this.watchdog = setInterval(() => {
      const silentMs = Date.now() - this.lastHeartbeatMs;
      if (silentMs < this.options.hangTimeoutMs || !this.worker) return;
      this.options.logger.error(
        { worker: this.slot, silentMs },
        'pipeline worker stopped answering; stopping it to start it again',
      );
      this.hung = true;
      if (this.watchdog) clearInterval(this.watchdog);
      void this.worker.terminate();
    }, HEARTBEAT_INTERVAL_MS);
  }

  private async ended(code: number): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    for (const [topic, count] of Object.entries(this.progress.recordsProcessed))
      this.carried.set(topic, (this.carried.get(topic) ?? 0) + count);
    this.progress = { recordsProcessed: {}, positions: [] };
    this.worker = null;
    for (const resolve of this.metricsWaiting.values()) resolve([]);
    this.metricsWaiting.clear();
    // Every write the old worker sent is done before a new one reads the checkpoints.
    await this.server?.close();
    this.server = null;
    if (this.closing) return;
    const reason: RestartReason = this.hung ? 'hang' : 'exit';
    this.hung = false;
    if (Date.now() - this.startedAtMs >= HEALTHY_LIFE_MS) this.restartDelayMs = RESTART_DELAY_MS;
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, MAX_RESTART_DELAY_MS);
    this.options.logger.warn(
      { worker: this.slot, code, reason, restartInMs: delayMs },
      'pipeline worker ended; starting it again',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.closing) return;
      this.restarts++;
      this.countRestart(reason);
      this.start().catch((error: unknown) => {
        this.options.logger.error({ err: error, worker: this.slot }, 'pipeline worker did not start again');
      });
    }, delayMs);
  }
}

/** Writes a worker's log line through the process's logger, at its level. */
function relayLog(logger: Logger, line: string): void {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    logger.warn({ line }, 'pipeline worker wrote a log line that is not JSON');
    return;
  }
  if (typeof entry !== 'object' || entry === null) return;
  const fields = Object.fromEntries(
    Object.entries(entry).filter(([key]) => key !== 'level' && key !== 'msg' && key !== 'time'),
  );
  const text = 'msg' in entry && typeof entry.msg === 'string' ? entry.msg : '';
  const levelNumber = 'level' in entry && typeof entry.level === 'number' ? entry.level : 30;
  if (levelNumber >= 50) logger.error(fields, text);
  else if (levelNumber >= 40) logger.warn(fields, text);
  else if (levelNumber >= 30) logger.info(fields, text);
  else logger.debug(fields, text);
}
