// One instance of a streams application joining a consumer group over the Kafka protocol (RemoteLogClient):
// `streams-group-worker BOOTSTRAP [sequence|transactional]` (the exactly-once mode; sequence by default).
// Prints `tasks <json>` whenever its task set changes and `stopped` after a clean SIGTERM; the scale-out and
// transactions tests run two of these and kill or freeze one.
import pino from 'pino';
import { RemoteLogClient } from '../../src/client/remote-client.js';
import { StreamsApp } from '../../src/streams/streams-app.js';
import { buildCrashPipeline } from './streams-crash-pipeline.js';

const [bootstrap, mode = 'sequence'] = process.argv.slice(2) as [string, string | undefined];
if (mode !== 'sequence' && mode !== 'transactional') throw new Error(`unknown exactly-once mode '${mode}'`);
const logger = pino({ level: process.env.EDGESTREAM_TEST_LOG ?? 'silent' });
const client = new RemoteLogClient({
  bootstrapBrokers: [bootstrap],
  clientId: `streams-worker-${process.pid}`,
  group: {
    sessionTimeoutMs: 3_000,
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: 10_000,
    rejoinDelayMs: 200,
  },
});
// Input arrives in bursts seconds apart: no partition may count as idle, or its next records would be late.
const app = new StreamsApp({
  applicationId: 'scale',
  client,
  logger,
  commitIntervalMs: 200,
  // Purges while tasks move between instances, as well as between.
  repartitionPurgeIntervalMs: 500,
  idleTimeoutMs: 600_000,
  exactlyOnce: mode,
});
buildCrashPipeline(app);
await app.start();

let reported = '';
const report = setInterval(() => {
  const tasks = JSON.stringify(app.taskIds());
  if (tasks !== reported) {
    reported = tasks;
    process.stdout.write(`tasks ${tasks}\n`);
  }
}, 100);

process.once('SIGTERM', async () => {
  clearInterval(report);
  await app.close();
  await client.close();
  const fenced = await app.metrics.registry.getSingleMetric('edgestream_streams_tasks_fenced_total')?.get();
  process.stdout.write(`fenced ${fenced?.values[0]?.value ?? 0}\nstopped\n`);
  process.exit(0);
});
void app.stopped.then((error) => {
  process.stderr.write(`streams stopped: ${error.stack}\n`);
  process.exit(1);
});
