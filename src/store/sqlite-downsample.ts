import type Database from 'better-sqlite3';
import { bucketStart, mergeValues, type RollupRules, type RollupSource } from './rollup.js';
import type { DownsampleTier } from './types.js';

/** Rows merged per transaction: long enough to amortise the commit, short enough not to stall writers. */
const ROWS_PER_TRANSACTION = 10_000;

interface OldRow {
  seriesId: number;
  baseSizeMs: number;
  startMs: number;
  sizeMs: number;
  coveredMs: number;
  final: number;
  valuesJson: string;
}

interface Watermark {
  rolledBeforeMs: number;
  doneBeforeMs: number;
}

interface Bucket {
  seriesId: number;
  baseSizeMs: number;
  startMs: number;
  sources: RollupSource[];
}

export interface RollupResult {
  rowsRolledUp: number;
  bucketsWritten: number;
  hoppingRowsDropped: number;
  pending: boolean;
}

/** Downsampling tiers and retention over the aggregate table. */
export class SqliteDownsampler {
  private readonly watermarks = new Map<number, Watermark>();
  private readonly statements;

  constructor(
    private readonly db: Database.Database,
    private readonly tiers: readonly DownsampleTier[],
    private readonly rules: RollupRules,
  ) {
    this.statements = {
      watermarks: db.prepare<[], { bucketMs: number; rolledBeforeMs: number; doneBeforeMs: number }>(
        'SELECT bucket_ms AS bucketMs, rolled_before_ms AS rolledBeforeMs, done_before_ms AS doneBeforeMs ' +
          'FROM downsample_watermark',
      ),
      saveWatermark: db.prepare<[number, number, number]>(
        'INSERT OR REPLACE INTO downsample_watermark (bucket_ms, rolled_before_ms, done_before_ms) VALUES (?, ?, ?)',
      ),
      oldRows: db.prepare<{ fromMs: number; cutoffMs: number; bucketMs: number; limit: number }, OldRow>(`
        SELECT series_id AS seriesId, base_size_ms AS baseSizeMs, window_start_ms AS startMs,
          window_size_ms AS sizeMs, covered_ms AS coveredMs, final, values_json AS valuesJson
        FROM aggregate
        WHERE window_start_ms >= @fromMs AND window_start_ms < @cutoffMs AND window_size_ms < @bucketMs
        ORDER BY window_start_ms
        LIMIT @limit`),
      existingBucket: db.prepare<
        [number, number, number, number],
        { coveredMs: number; valuesJson: string }
      >(`
        SELECT covered_ms AS coveredMs, values_json AS valuesJson FROM aggregate
        WHERE series_id = ? AND base_size_ms = ? AND window_start_ms = ? AND window_size_ms = ?`),
      writeBucket: db.prepare<[number, number, number, number, number, string]>(`
        INSERT OR REPLACE INTO aggregate
          (series_id, base_size_ms, window_start_ms, window_size_ms, covered_ms, final, values_json)
        VALUES (?, ?, ?, ?, ?, 1, ?)`),
      deleteRow: db.prepare<[number, number, number, number]>(`
        DELETE FROM aggregate
        WHERE series_id = ? AND base_size_ms = ? AND window_start_ms = ? AND window_size_ms = ?`),
      deleteOld: db.prepare<[number, number]>(`
        DELETE FROM aggregate WHERE (series_id, base_size_ms, window_start_ms, window_size_ms) IN (
          SELECT series_id, base_size_ms, window_start_ms, window_size_ms FROM aggregate
          WHERE window_start_ms < ? ORDER BY window_start_ms LIMIT ?)`),
    };
    for (const row of this.statements.watermarks.all()) {
      this.watermarks.set(row.bucketMs, {
        rolledBeforeMs: row.rolledBeforeMs,
        doneBeforeMs: row.doneBeforeMs,
      });
    }
  }

  /** True when a window of this size and start would land in a range some tier has already merged. */
  alreadyRolledUp(startMs: number, sizeMs: number): boolean {
    for (const tier of this.tiers) {
      if (sizeMs >= tier.bucketMs) continue;
      const watermark = this.watermarks.get(tier.bucketMs);
      if (watermark !== undefined && startMs < watermark.rolledBeforeMs) return true;
    }
    return false;
  }

  /** Tiers fine to coarse: a coarse tier runs only once the finer one has caught up. */
  rollUp(nowMs: number, budgetRows: number): RollupResult {
    const result: RollupResult = {
      rowsRolledUp: 0,
      bucketsWritten: 0,
      hoppingRowsDropped: 0,
      pending: false,
    };
    for (const tier of this.tiers) {
      const cutoffMs = bucketStart(nowMs - tier.olderThanMs, tier.bucketMs);
      const watermark = this.watermarks.get(tier.bucketMs) ?? { rolledBeforeMs: 0, doneBeforeMs: 0 };
      if (cutoffMs > watermark.rolledBeforeMs) {
        // Raised before merging, so no write can slip a fine row into a bucket while it is being merged.
        watermark.rolledBeforeMs = cutoffMs;
        this.saveWatermark(tier.bucketMs, watermark);
      }
      while (true) {
        const budgetLeft = budgetRows - result.rowsRolledUp - result.hoppingRowsDropped;
        if (budgetLeft <= 0) {
          result.pending = true;
          return result;
        }
        const limit = Math.min(ROWS_PER_TRANSACTION, budgetLeft);
        const merged = this.db.transaction(() => this.rollUpChunk(tier, watermark, limit))();
        result.rowsRolledUp += merged.rowsRolledUp;
        result.bucketsWritten += merged.bucketsWritten;
        result.hoppingRowsDropped += merged.hoppingRowsDropped;
        if (merged.rowsRolledUp + merged.hoppingRowsDropped < limit) break;
      }
    }
    return result;
  }

  private rollUpChunk(tier: DownsampleTier, watermark: Watermark, limit: number): RollupResult {
    const rows = this.statements.oldRows.all({
      fromMs: watermark.doneBeforeMs,
      cutoffMs: watermark.rolledBeforeMs,
      bucketMs: tier.bucketMs,
      limit,
    });
    const result: RollupResult = {
      rowsRolledUp: 0,
      bucketsWritten: 0,
      hoppingRowsDropped: 0,
      pending: false,
    };
    const buckets = new Map<string, Bucket>();
    for (const row of rows) {
      this.statements.deleteRow.run(row.seriesId, row.baseSizeMs, row.startMs, row.sizeMs);
      if (row.startMs % row.sizeMs !== 0) {
        result.hoppingRowsDropped++;
        continue;
      }
      result.rowsRolledUp++;
      const startMs = bucketStart(row.startMs, tier.bucketMs);
      const key = `${row.seriesId}:${row.baseSizeMs}:${startMs}`;
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        bucket = { seriesId: row.seriesId, baseSizeMs: row.baseSizeMs, startMs, sources: [] };
        buckets.set(key, bucket);
      }
      const values = JSON.parse(row.valuesJson) as Record<string, number>;
      bucket.sources.push({ windowStartMs: row.startMs, coveredMs: row.coveredMs, values });
    }
    for (const bucket of buckets.values()) this.writeBucket(bucket, tier.bucketMs);
    result.bucketsWritten = buckets.size;
    // Rows are taken in start order, so when a chunk comes back short everything before the cutoff is done.
    const last = rows.at(-1);
    watermark.doneBeforeMs =
      rows.length < limit || last === undefined ? watermark.rolledBeforeMs : last.startMs;
    this.saveWatermark(tier.bucketMs, watermark);
    return result;
  }

  /** A bucket split across chunks (or runs) merges with what an earlier chunk wrote for it. */
  private writeBucket(bucket: Bucket, bucketMs: number): void {
    const existing = this.statements.existingBucket.get(
      bucket.seriesId,
      bucket.baseSizeMs,
      bucket.startMs,
      bucketMs,
    );
    const sources =
      existing === undefined
        ? bucket.sources
        : [
            {
              windowStartMs: bucket.startMs,
              coveredMs: existing.coveredMs,
              values: JSON.parse(existing.valuesJson) as Record<string, number>,
            },
            ...bucket.sources,
          ];
    const coveredMs = sources.reduce((total, source) => total + source.coveredMs, 0);
    const values = JSON.stringify(mergeValues(sources, this.rules));
    this.statements.writeBucket.run(
      bucket.seriesId,
      bucket.baseSizeMs,
      bucket.startMs,
      bucketMs,
      coveredMs,
      values,
    );
  }

  private saveWatermark(bucketMs: number, watermark: Watermark): void {
    this.watermarks.set(bucketMs, watermark);
    this.statements.saveWatermark.run(bucketMs, watermark.rolledBeforeMs, watermark.doneBeforeMs);
  }

  /** Deletes rows whose window started before cutoffMs, at most budgetRows of them. */
  deleteOlderThan(cutoffMs: number, budgetRows: number): { deleted: number; pending: boolean } {
    let deleted = 0;
    while (deleted < budgetRows) {
      const limit = Math.min(ROWS_PER_TRANSACTION, budgetRows - deleted);
      const changes = this.statements.deleteOld.run(cutoffMs, limit).changes;
      deleted += changes;
      if (changes < limit) return { deleted, pending: false };
    }
    return { deleted, pending: true };
  }
}
