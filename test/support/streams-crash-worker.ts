// A broker with a streams pipeline in one process, for the exactly-once test: `seed DIR RECORDS` writes the
// input, `run DIR OUT [thread]` processes until caught up and writes every output value (sorted) to OUT; with
// `thread` the pipeline runs on a worker thread through a port to the broker's thread, as the runtime's
// pipelines do. The test SIGKILLs `run` at random moments and compares the final output with an uninterrupted
// run's.
import fs from 'node:fs';
import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  parentPort,
  Worker,
  workerData,
} from 'node:worker_threads';
import pino from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import { EmbeddedLogClient } from '../../src/client/embedded-client.js';
import { LogPortServer } from '../../src/client/log-port-server.js';
import { PortLogClient } from '../../src/client/port-log-client.js';
import type { LogClient } from '../../src/client/types.js';
import { StreamsApp } from '../../src/streams/streams-app.js';
import { readTopic } from './read-partition.js';
import { buildCrashPipeline, inputRecords, PARTITIONS } from './streams-crash-pipeline.js';

const OUTPUT_TOPICS = ['windows', 'totals', 'merged-windows'];
const logger = pino({ level: process.env.EDGESTREAM_TEST_LOG ?? 'silent' });

if (!isMainThread) {
  const port: MessagePort = workerData.port;
  const threadClient = new PortLogClient(port);
  await processUntilCaughtUp(threadClient, () => parentPort?.postMessage('started'));
  await threadClient.close();
  parentPort?.postMessage('done');
} else {
  await main();
}

async function main(): Promise<void> {
  const [mode, dataDir, arg, where] = process.argv.slice(2) as [string, string, string, string | undefined];

  const broker = await Broker.start(parseBrokerConfig({ dataDir, listen: '127.0.0.1:0' }), logger);
  const client = new EmbeddedLogClient(broker.embeddedLog());

  if (mode === 'seed') {
    await seed(Number(arg));
  } else {
    await runUntilCaughtUp(arg);
  }
  await client.close();
  await broker.close();

  async function seed(records: number): Promise<void> {
    await client.ensureTopic({ name: 'input', partitions: PARTITIONS });
    const all = inputRecords(records);
    for (let from = 0; from < all.length; from += 5000) await client.produce(all.slice(from, from + 5000));
  }

  async function runUntilCaughtUp(outFile: string): Promise<void> {
    const started = () => process.stdout.write('started\n');
    if (where === 'thread') await onThread(started);
    else await processUntilCaughtUp(client, started);
    const lines: string[] = [];
    for (const topic of OUTPUT_TOPICS) {
      for (const record of await readTopic(client, topic)) {
        lines.push(`${topic} ${record.key?.toString()} ${record.value?.toString()}`);
      }
    }
    fs.writeFileSync(outFile, `${lines.sort().join('\n')}\n`);
  }

  /** Runs the pipeline on a worker thread served through a port, as PipelineWorkers does. */
  async function onThread(started: () => void): Promise<void> {
    const channel = new MessageChannel();
    const server = new LogPortServer(channel.port1, client, { slot: 0, slots: 1 }, () => undefined);
    const thread = new Worker(new URL(import.meta.url), {
      workerData: { port: channel.port2 },
      transferList: [channel.port2],
    });
    await new Promise<void>((resolve, reject) => {
      thread.on('message', (message: string) => {
        if (message === 'started') started();
        if (message === 'done') resolve();
      });
      thread.on('error', reject);
    });
    await server.close();
  }
}

async function processUntilCaughtUp(client: LogClient, started: () => void): Promise<void> {
  // Purges every few checkpoints, so kills land before, during and after them.
  const app = new StreamsApp({
    applicationId: 'crash',
    client,
    logger,
    commitIntervalMs: 100,
    repartitionPurgeIntervalMs: 300,
  });
  buildCrashPipeline(app);
  await app.start();
  started();
  let caughtUpChecks = 0;
  while (caughtUpChecks < 5) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    caughtUpChecks = (await app.caughtUp()) ? caughtUpChecks + 1 : 0;
  }
  await app.close();
}
