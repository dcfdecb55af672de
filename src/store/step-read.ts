import { bucketStart, mergeValues, type RollupRules, type RollupSource } from './rollup.js';

/** An aggregate row as read from SQLite; `values` is set once parsed or merged. */
export interface StoredRow {
  seriesId: number;
  dimsKey: string;
  startMs: number;
  sizeMs: number;
  coveredMs: number;
  final: number;
  valuesJson: string;
  values?: Record<string, number>;
}

interface StepBucket {
  seriesId: number;
  dimsKey: string;
  startMs: number;
  sources: RollupSource[];
  allFinal: boolean;
}

export interface StepMergeResult {
  points: StoredRow[];
  truncated: boolean;
}

/**
 * Merges rows (in window start order) no larger than stepMs into stepMs buckets per series; coarser rows
 * pass through. When more than scanLimit rows were read the last bucket reached may be partial, so it and
 * everything after are dropped and the result is marked truncated.
 */
export function mergeStepBuckets(
  rows: readonly StoredRow[],
  stepMs: number,
  scanLimit: number,
  rules: RollupRules,
): StepMergeResult {
  const truncated = rows.length > scanLimit;
  const scanned = truncated ? rows.slice(0, scanLimit) : rows;
  const last = scanned.at(-1);
  const endMs =
    truncated && last !== undefined ? bucketStart(last.startMs, stepMs) : Number.POSITIVE_INFINITY;
  const points: StoredRow[] = [];
  const buckets = new Map<string, StepBucket>();
  for (const row of scanned) {
    if (row.startMs >= endMs) break;
    const values = JSON.parse(row.valuesJson) as Record<string, number>;
    if (row.sizeMs > stepMs) {
      points.push({ ...row, values });
      continue;
    }
    // Intermediate hops of a hopping series overlap the aligned windows, which tile time on their own.
    if (row.startMs % row.sizeMs !== 0) continue;
    const startMs = bucketStart(row.startMs, stepMs);
    const key = `${row.seriesId}:${startMs}`;
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      bucket = { seriesId: row.seriesId, dimsKey: row.dimsKey, startMs, sources: [], allFinal: true };
      buckets.set(key, bucket);
    }
    bucket.sources.push({ windowStartMs: row.startMs, coveredMs: row.coveredMs, values });
    bucket.allFinal &&= row.final === 1;
  }
  for (const bucket of buckets.values()) {
    points.push({
      seriesId: bucket.seriesId,
      dimsKey: bucket.dimsKey,
      startMs: bucket.startMs,
      sizeMs: stepMs,
      coveredMs: bucket.sources.reduce((total, source) => total + source.coveredMs, 0),
      final: bucket.allFinal ? 1 : 0,
      valuesJson: '',
      values: mergeValues(bucket.sources, rules),
    });
  }
  points.sort(
    (a, b) =>
      a.startMs - b.startMs ||
      (a.dimsKey < b.dimsKey ? -1 : a.dimsKey > b.dimsKey ? 1 : 0) ||
      a.sizeMs - b.sizeMs,
  );
  return { points, truncated };
}
