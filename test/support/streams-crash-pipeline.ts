import type { LogClient, OutgoingRecord } from '../../src/client/types.js';
import { combine, count, max, sum } from '../../src/streams/aggregations.js';
import { mergingPartials, partialSerde } from '../../src/streams/pre-aggregate.js';
import { json } from '../../src/streams/serdes.js';
import type { StreamsApp } from '../../src/streams/streams-app.js';
import { tumbling } from '../../src/streams/windows.js';

export interface Reading {
  edge: string;
  retransmits: number;
  t: number;
}

const windowTotals = () =>
  combine({
    count: count<Reading>(),
    retransmits: sum<Reading>((r) => r.retransmits),
    peak: max<Reading>((r) => r.retransmits),
  });

/**
 * The pipeline of the failure tests: a repartition, final 1 s windows per edge and a running count per edge;
 * and the same windows again from partials pre-aggregated before a second repartition (`merged-windows`),
 * so kills land while partials are open, in the changelog and in flight.
 */
export function buildCrashPipeline(app: StreamsApp): void {
  const readings = app.stream('input', {
    value: json<Reading>(),
    timestamp: (r) => r.t,
    maxOutOfOrderness: '500ms',
  });
  const windows = tumbling('1s').grace('100ms');
  const edgeReadings = readings.filter((r) => r.edge !== 'flush');
  const byEdge = edgeReadings.groupBy((r) => r.edge, { name: 'by-edge' });
  byEdge
    .windowedBy(windows)
    .aggregate(windowTotals(), { name: 'edge-1s', emit: 'final' })
    .to('windows', { value: json() });
  byEdge.aggregate(count<Reading>(), { name: 'edge-count' }).to('totals', { value: json<number>() });
  edgeReadings
    .selectKey((r) => r.edge)
    .preAggregate(windowTotals(), { name: 'edge-partials', bucket: '1s' })
    .repartition({ name: 'partials-by-edge', value: partialSerde('edge-partials', null) })
    .groupByKey({ name: 'partials-by-edge' })
    .windowedBy(windows)
    .aggregate(mergingPartials(windowTotals(), windows, 1000), { name: 'edge-1s-merged', emit: 'final' })
    .to('merged-windows', { value: json() });
}

export const PARTITIONS = 4;

/**
 * Deterministic input over PARTITIONS partitions: event times advance 1 ms per record per partition, up to
 * 400 ms out of order (within the pipeline's 500 ms), so no record is ever late whatever the interleaving;
 * each partition ends with a record far in the future that closes every window.
 */
export function inputRecords(records: number): OutgoingRecord[] {
  let state = 42;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  // Recent event times, so retention never removes input or output; fixed within a day so two seeds agree.
  const base = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const perPartition = Math.ceil(records / PARTITIONS);
  const out: OutgoingRecord[] = [];
  const record = (partition: number, reading: Reading): OutgoingRecord => ({
    topic: 'input',
    partition,
    key: null,
    value: Buffer.from(JSON.stringify(reading)),
    timestamp: reading.t,
  });
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (let i = 0; i < perPartition; i++) {
      out.push(
        record(partition, {
          edge: `edge-${Math.floor(random() * 50)}`,
          retransmits: Math.floor(random() * 20),
          t: base + i - Math.floor(random() * 400),
        }),
      );
    }
    out.push(record(partition, { edge: 'flush', retransmits: 0, t: base + 3_600_000 }));
  }
  return out;
}

/**
 * The input of the failure tests in three parts: the first third of the readings is produced at once (the
 * input topic created first); the tests produce the second while they disrupt an instance, then `rest` (the
 * last third and every partition's flush).
 */
export async function seedInput(
  log: LogClient,
  records: number,
): Promise<{ readings: OutgoingRecord[]; second: OutgoingRecord[]; rest: OutgoingRecord[] }> {
  await log.ensureTopic({ name: 'input', partitions: PARTITIONS });
  const all = inputRecords(records);
  const flushes = all.filter((record) => JSON.parse(record.value!.toString()).edge === 'flush');
  const readings = all.filter((record) => !flushes.includes(record));
  const third = Math.floor(readings.length / 3);
  await log.produce(readings.slice(0, third));
  return {
    readings,
    second: readings.slice(third, 2 * third),
    rest: [...readings.slice(2 * third), ...flushes],
  };
}

function parse(record: { value: Buffer | null }): Reading {
  return JSON.parse(record.value!.toString()) as Reading;
}

/** The final 1 s window of each edge the readings make, as `edge@start count retransmits`. */
export function windowsOf(records: Array<{ value: Buffer | null }>): string[] {
  const windows = new Map<string, { count: number; retransmits: number }>();
  for (const record of records) {
    const reading = parse(record);
    const id = `${reading.edge}@${Math.floor(reading.t / 1000) * 1000}`;
    const window = windows.get(id) ?? { count: 0, retransmits: 0 };
    window.count++;
    window.retransmits += reading.retransmits;
    windows.set(id, window);
  }
  return [...windows].map(([id, w]) => `${id} ${w.count} ${w.retransmits}`).sort();
}

/** Every running count per edge the readings make, as `edge n`. */
export function runningCountsOf(records: Array<{ value: Buffer | null }>): string[] {
  const counts = new Map<string, number>();
  for (const record of records) counts.set(parse(record).edge, (counts.get(parse(record).edge) ?? 0) + 1);
  const lines: string[] = [];
  for (const [edge, total] of counts) for (let n = 1; n <= total; n++) lines.push(`${edge} ${n}`);
  return lines.sort();
}
