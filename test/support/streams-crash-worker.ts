// A broker with a streams pipeline in one process, for the exactly-once test: `seed DIR RECORDS` writes the
// input, `run DIR OUT` processes until caught up and writes every output value (sorted) to OUT. The test
// SIGKILLs `run` at random moments and compares the final output with an uninterrupted run's.
import fs from 'node:fs';
import pino from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import { EmbeddedLogClient } from '../../src/client/embedded-client.js';
import type { ConsumedRecord, LogClient } from '../../src/client/types.js';
import { combine, count, max, sum } from '../../src/streams/aggregations.js';
import { json } from '../../src/streams/serdes.js';
import { StreamsApp } from '../../src/streams/streams-app.js';
import { tumbling } from '../../src/streams/windows.js';

interface Reading {
  edge: string;
  retransmits: number;
  t: number;
}

const PARTITIONS = 4;
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

/** Deterministic input: event times advance 1 ms per record per partition, up to 400 ms out of order. */
async function seed(records: number): Promise<void> {
  await client.ensureTopic({ name: 'input', partitions: PARTITIONS });
  let state = 42;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const perPartition = Math.ceil(records / PARTITIONS);
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (let from = 0; from < perPartition; from += 5000) {
      const batch = [];
      for (let i = from; i < Math.min(from + 5000, perPartition); i++) {
        const reading: Reading = {
          edge: `edge-${Math.floor(random() * 50)}`,
          retransmits: Math.floor(random() * 20),
          t: 1_000_000 + i - Math.floor(random() * 400),
        };
        batch.push({
          topic: 'input',
          partition,
          key: null,
          value: Buffer.from(JSON.stringify(reading)),
          timestamp: reading.t,
        });
      }
      await client.produce(batch);
    }
    // Far in the future: closes every window once all partitions reach it.
    const last: Reading = { edge: 'flush', retransmits: 0, t: 10_000_000 };
    await client.produce([
      { topic: 'input', partition, key: null, value: Buffer.from(JSON.stringify(last)), timestamp: last.t },
    ]);
  }
}

async function runUntilCaughtUp(outFile: string): Promise<void> {
  const app = new StreamsApp({ applicationId: 'crash', client, logger, commitIntervalMs: 100 });
  const readings = app.stream('input', {
    value: json<Reading>(),
    timestamp: (r) => r.t,
    maxOutOfOrderness: '500ms',
  });
  const byEdge = readings.filter((r) => r.edge !== 'flush').groupBy((r) => r.edge, { name: 'by-edge' });
  byEdge
    .windowedBy(tumbling('1s').grace('100ms'))
    .aggregate(
      combine({
        count: count<Reading>(),
        retransmits: sum<Reading>((r) => r.retransmits),
        peak: max<Reading>((r) => r.retransmits),
      }),
      { name: 'edge-1s', emit: 'final' },
    )
    .to('windows', { value: json() });
  byEdge.aggregate(count<Reading>(), { name: 'edge-count' }).to('totals', { value: json<number>() });
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

async function readAll(log: LogClient, topic: string): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  const partitions = await log.partitionCount(topic);
  for (let partition = 0; partition < partitions; partition++) {
    const { latest } = await log.offsets({ topic, partition });
    let offset = 0;
    while (offset < latest) {
      const batch = await log.fetch([{ topic, partition, offset }], {
        maxBytes: 4 * 1024 * 1024,
        maxWaitMs: 0,
      });
      for (const record of batch) {
        records.push(record);
        offset = record.offset + 1;
      }
    }
  }
  return records;
}
