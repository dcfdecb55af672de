import type { Registry } from 'prom-client';
import type { WindowUpdate } from '../alerts/series.js';
import type { ThreadLogSpec } from '../client/thread-log.js';
import type { ExactlyOnceMode } from '../streams/streams-app.js';
import type { MonitorWindowSpec } from './pipeline.js';

/** What a pipeline worker is started with (its workerData). */
export interface PipelineWorkerData {
  slot: number;
  applicationId: string;
  tcpTopic: string;
  qoeTopic: string;
  aggregatesTopic: string;
  windows: readonly MonitorWindowSpec[];
  maxOutOfOrdernessMs: number;
  /** See MonitorPipelineOptions.preAggregate (default true). */
  preAggregate?: boolean;
  commitIntervalMs?: number;
  exactlyOnce?: ExactlyOnceMode;
  fetchMaxBytes: number;
  /** pino level name of the process's logger. */
  logLevel: string;
  /** How often the worker says it is alive (and how far it got). */
  heartbeatIntervalMs: number;
  /** The log: through the port of the thread that owns the broker, or a remote cluster of its own. */
  log: ThreadLogSpec;
}

/** How far a worker's tasks got: what the broker page shows as the group's members and lag. */
export interface WorkerProgress {
  /** Records processed since the worker started, per input topic. */
  recordsProcessed: Record<string, number>;
  /** The next offset of each task's input partition. */
  positions: Array<{ topic: string; partition: number; nextOffset: number }>;
}

/** A registry's metrics as JSON, to be summed over the workers. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export type WorkerToMain =
  | { kind: 'started' }
  | { kind: 'windows'; updates: WindowUpdate[] }
  | { kind: 'heartbeat'; progress: WorkerProgress }
  | { kind: 'log'; line: string }
  | { kind: 'metrics'; id: number; metrics: MetricsSnapshot }
  | { kind: 'closed' };

/** A fault a worker brings on itself when told to, for tests and drills of the supervision. */
export type WorkerFault = 'exit' | 'hang';

export type MainToWorker =
  | { kind: 'close' }
  | { kind: 'metrics'; id: number }
  | { kind: 'fault'; fault: WorkerFault };
