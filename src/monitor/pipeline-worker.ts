import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import type { WindowUpdate } from '../alerts/series.js';
import { threadLogClient } from '../client/thread-log.js';
import { StreamsApp } from '../streams/streams-app.js';
import { buildMonitorTopology } from './pipeline.js';
import type {
  MainToWorker,
  PipelineWorkerData,
  WorkerFault,
  WorkerToMain,
} from './pipeline-worker-messages.js';

/**
 * A pipeline worker thread (started by PipelineWorkers): runs the monitoring pipelines' tasks for its share of
 * the partitions and hands every window result to the main thread, where alerting, the store and the live
 * views are. It says it is alive every heartbeat interval; a worker that stops saying so is restarted.
 */

/** Window results handed over at once; more are sent in the next message. */
const MAX_UPDATES_PER_MESSAGE = 10_000;

if (!parentPort) throw new Error('the pipeline worker runs only in a worker thread');
const port = parentPort;
const data: PipelineWorkerData = workerData;
const post = (message: WorkerToMain) => port.postMessage(message);

// Log lines go to the main thread's logger, which knows where the process logs.
const logger = pino(
  { level: data.logLevel, base: { worker: data.slot } },
  { write: (line: string) => post({ kind: 'log', line }) },
);
const client = await threadLogClient(data.log);
const app = new StreamsApp({
  applicationId: data.applicationId,
  client,
  logger,
  fetchMaxBytes: data.fetchMaxBytes,
  ...(data.commitIntervalMs === undefined ? {} : { commitIntervalMs: data.commitIntervalMs }),
  ...(data.exactlyOnce === undefined ? {} : { exactlyOnce: data.exactlyOnce }),
});

let updates: WindowUpdate[] = [];
const sendUpdates = () => {
  if (updates.length === 0) return;
  post({ kind: 'windows', updates });
  updates = [];
};
buildMonitorTopology(app.builder, {
  tcpTopic: data.tcpTopic,
  qoeTopic: data.qoeTopic,
  aggregatesTopic: data.aggregatesTopic,
  windows: data.windows,
  maxOutOfOrderness: data.maxOutOfOrdernessMs,
  ...(data.preAggregate === undefined ? {} : { preAggregate: data.preAggregate }),
  // One message per fetch, sent as soon as its processing is over: the results of a fetch travel together, in
  // the order they were produced. A microtask, not setImmediate: replies arriving back to back on the port
  // (fetches, appends) keep the event loop in its message phase, and an immediate waited 0.1-1.3 s for it.
  onWindow: (update) => {
    if (updates.length === 0) queueMicrotask(sendUpdates);
    updates.push(update);
    if (updates.length >= MAX_UPDATES_PER_MESSAGE) sendUpdates();
  },
});

const heartbeat = setInterval(() => {
  post({
    kind: 'heartbeat',
    progress: {
      recordsProcessed: {
        [data.tcpTopic]: app.metrics.recordsProcessed(data.tcpTopic),
        [data.qoeTopic]: app.metrics.recordsProcessed(data.qoeTopic),
      },
      positions: app.positions(),
    },
  });
}, data.heartbeatIntervalMs);

void app.stopped.then((error) => {
  // The main thread sees the exit and starts a new worker, which resumes the tasks from their checkpoints.
  logger.fatal({ err: error }, 'pipelines stopped; the worker exits to be restarted');
  process.exit(1);
});

port.on('message', (message: MainToWorker) => {
  switch (message.kind) {
    case 'metrics':
      void app.metrics.registry
        .getMetricsAsJSON()
        .then((metrics) => post({ kind: 'metrics', id: message.id, metrics }));
      return;
    case 'fault':
      bringOn(message.fault);
      return;
    case 'close':
      void close();
      return;
  }
});

/** Dies at once (as a crash would, writes in flight), or blocks this thread's event loop for good. */
function bringOn(fault: WorkerFault): void {
  logger.warn({ fault }, 'fault injected');
  if (fault === 'exit') process.exit(70);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

async function close(): Promise<void> {
  clearInterval(heartbeat);
  await app.close();
  sendUpdates();
  await client.close();
  post({ kind: 'closed' });
  port.close();
}

await app.start();
post({ kind: 'started' });
