import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { type AggregateWrite, SqliteAggregateStore } from '../src/store/index.js';

/**
 * Aggregate store throughput and latency: batched writes of 10,000 rows (rows/s), then query latency over
 * the resulting table (1 M rows at BENCH_SCALE=1: 1,000 edges x 1,000 ten-second windows), then one
 * maintain() pass that downsamples everything older than an hour.
 */

const scale = Number(process.env.BENCH_SCALE ?? 1);
const EDGES = 1000;
const SITES = 20;
const WINDOW_MS = 10_000;
const ROWS_PER_BATCH = 10_000;
const WINDOWS = Math.max(10, Math.round(1000 * scale));
const QUERY_REPEATS = 200;
const START_MS = 1_700_000_040_000;
const END_MS = START_MS + WINDOWS * WINDOW_MS;

const baseDir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'edgestream-store-bench-'));
const store = SqliteAggregateStore.open({
  path: path.join(baseDir, 'store.db'),
  fieldRollups: { retransmits: { kind: 'sum' }, rtt: { kind: 'mean' } },
});

function edgeDimensions(edge: number): { edge: string; site: string } {
  return { edge: `edge-${edge}`, site: `site-${edge % SITES}` };
}

function row(edge: number, window: number, final: boolean): AggregateWrite {
  const startMs = START_MS + window * WINDOW_MS;
  return {
    metric: 'edge.tcp',
    dimensions: edgeDimensions(edge),
    windowStartMs: startMs,
    windowEndMs: startMs + WINDOW_MS,
    values: {
      count: 500 + (edge % 7),
      retransmits: (edge * 31 + window) % 97,
      rtt: 20 + (edge % 13),
      p95: 80,
    },
    final,
  };
}

/** Batches in event-time order, as a pipeline emits them: every edge's window, then the next window. */
function* batches(final: boolean, windows: number): Generator<AggregateWrite[]> {
  let batch: AggregateWrite[] = [];
  for (let window = 0; window < windows; window++) {
    for (let edge = 0; edge < EDGES; edge++) {
      batch.push(row(edge, window, final));
      if (batch.length === ROWS_PER_BATCH) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

async function timeWrites(label: string, final: boolean, windows: number) {
  let rows = 0;
  let writeMs = 0;
  for (const batch of batches(final, windows)) {
    const started = performance.now();
    await store.writeAggregates(batch);
    writeMs += performance.now() - started;
    rows += batch.length;
  }
  return { name: label, rows, seconds: writeMs / 1000, rowsPerSecond: Math.round(rows / (writeMs / 1000)) };
}

async function latency(name: string, run: () => Promise<number>) {
  const samplesMs: number[] = [];
  let points = 0;
  for (let i = 0; i < QUERY_REPEATS; i++) {
    const started = performance.now();
    points = await run();
    samplesMs.push(performance.now() - started);
  }
  samplesMs.sort((a, b) => a - b);
  const at = (q: number) =>
    Number(samplesMs[Math.min(samplesMs.length - 1, Math.floor(q * samplesMs.length))]!.toFixed(2));
  return { name, points, latencyMsP50: at(0.5), latencyMsP99: at(0.99) };
}

/**
 * Reference measured in the same run: the same rows as bare INSERTs into one table with a primary key, no
 * series, dimensions or upsert rules, same transaction size and pragmas: SQLite's own ceiling here.
 */
function bareSqliteRowsPerSecond(): number {
  const file = path.join(baseDir, 'bare.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE rows (series INTEGER, start INTEGER, json TEXT, PRIMARY KEY (series, start))');
  const insert = db.prepare('INSERT INTO rows VALUES (?, ?, ?)');
  const insertBatch = db.transaction((rows: AggregateWrite[], offset: number) => {
    rows.forEach((r, i) => {
      insert.run((offset + i) % EDGES, r.windowStartMs, JSON.stringify(r.values));
    });
  });
  const started = performance.now();
  let written = 0;
  for (const batch of batches(true, WINDOWS)) {
    insertBatch(batch, written);
    written += batch.length;
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return written / seconds;
}

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `machine: ${cpu}, ${os.cpus().length} cores, Node ${process.version}, SQLite via better-sqlite3`,
  );
  const bareRowsPerSecond = bareSqliteRowsPerSecond();
  // Early (non-final) updates of the latest 100 windows, then every window final: inserts and replacements.
  const earlyWindows = Math.min(100, WINDOWS);
  const writes = [await timeWrites('write final', true, WINDOWS)];
  writes.push(await timeWrites('upsert early updates', false, earlyWindows));
  writes.push(await timeWrites('replay final (idempotent)', true, earlyWindows));
  const totalRows = EDGES * WINDOWS;
  console.log(`batched writes, ${ROWS_PER_BATCH} rows per call, ${EDGES} series:`);
  console.table(writes);
  console.log(
    `reference, same run: bare SQLite INSERTs of the same rows ${Math.round(bareRowsPerSecond)} rows/s; ` +
      `the store's first write is ${((writes[0]!.rowsPerSecond / bareRowsPerSecond) * 100).toFixed(0)}% of it`,
  );

  let edge = 0;
  const nextEdge = () => edgeDimensions(edge++ % EDGES);
  const queries = [
    await latency('one edge, last hour (360 pts)', async () => {
      const result = await store.queryRange({
        metric: 'edge.tcp',
        dimensions: nextEdge(),
        fromMs: END_MS - 3_600_000,
        toMs: END_MS,
        windowSizeMs: WINDOW_MS,
      });
      return result.points.length;
    }),
    await latency('one site (50 edges), last 5 min', async () => {
      const result = await store.queryRange({
        metric: 'edge.tcp',
        dimensions: { site: `site-${edge++ % SITES}` },
        fromMs: END_MS - 300_000,
        toMs: END_MS,
        windowSizeMs: WINDOW_MS,
      });
      return result.points.length;
    }),
    await latency('one edge, last hour at 1 min step', async () => {
      const result = await store.queryRange({
        metric: 'edge.tcp',
        dimensions: nextEdge(),
        fromMs: END_MS - 3_600_000,
        toMs: END_MS,
        windowSizeMs: WINDOW_MS,
        stepMs: 60_000,
      });
      return result.points.length;
    }),
    await latency('worst 10 of 1000 edges (latest)', async () => {
      const result = await store.latest({
        metric: 'edge.tcp',
        windowSizeMs: WINDOW_MS,
        orderByField: 'retransmits',
        limit: 10,
      });
      return result.points.length;
    }),
  ];
  console.log(`query latency over ${totalRows} rows (${QUERY_REPEATS} runs each):`);
  console.table(queries);

  const started = performance.now();
  let maintenance = await store.maintain(END_MS);
  let maintainCalls = 1;
  while (maintenance.pending) {
    maintenance = await store.maintain(END_MS);
    maintainCalls++;
  }
  const maintainSeconds = (performance.now() - started) / 1000;
  console.log(
    `maintain(): ${maintainCalls} call(s), ${maintainSeconds.toFixed(2)} s, last call:`,
    maintenance,
  );
  // Closing checkpoints the WAL into the main file, so its size is then the whole store.
  await store.close();
  const fileBytes = fs.statSync(path.join(baseDir, 'store.db')).size;
  fs.rmSync(baseDir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'store',
      rows: totalRows,
      bareSqliteRowsPerSecond: Math.round(bareRowsPerSecond),
      fileMiB: Number((fileBytes / 1024 / 1024).toFixed(1)),
      writes,
      queries,
      maintainSeconds: Number(maintainSeconds.toFixed(2)),
    }),
  );
}

await main();
