// A broker with a streams pipeline in one process, for the exactly-once test: `seed DIR RECORDS` writes the
// input, `run DIR OUT` processes until caught up and writes every output value (sorted) to OUT. The test
// SIGKILLs `run` at random moments and compares the final output with an uninterrupted run's.
import fs from 'node:fs';
import pino from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import { EmbeddedLogClient } from '../../src/client/embedded-client.js';
import { StreamsApp } from '../../src/streams/streams-app.js';
import { buildCrashPipeline, inputRecords, PARTITIONS, readAll } from './streams-crash-pipeline.js';

const OUTPUT_TOPICS = ['windows', 'totals'];
const [mode, dataDir, arg] = process.argv.slice(2) as [string, string, string];
const logger = pino({ level: process.env.EDGESTREAM_TEST_LOG ?? 'silent' });

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
  const app = new StreamsApp({ applicationId: 'crash', client, logger, commitIntervalMs: 100 });
  buildCrashPipeline(app);
  await app.start();
  process.stdout.write('started\n');
  let caughtUpChecks = 0;
  while (caughtUpChecks < 5) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    caughtUpChecks = (await app.caughtUp()) ? caughtUpChecks + 1 : 0;
  }
  await app.close();
  const lines: string[] = [];
  for (const topic of OUTPUT_TOPICS) {
    for (const record of await readAll(client, topic)) {
      lines.push(`${topic} ${record.key?.toString()} ${record.value?.toString()}`);
    }
  }
  fs.writeFileSync(outFile, `${lines.sort().join('\n')}\n`);
}
