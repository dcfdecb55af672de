import Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import {
  DEFAULT_DOWNSAMPLE_TIERS,
  DEFAULT_FALLBACK_ROLLUP,
  type RollupRules,
  rollupRules,
  validateTiers,
} from './rollup.js';
import { SqliteAlertHistory } from './sqlite-alerts.js';
import { SqliteDownsampler } from './sqlite-downsample.js';
import { openDatabase, storeErrorFrom } from './sqlite-schema.js';
import { mergeStepBuckets, type StoredRow } from './step-read.js';
import type {
  AggregatePoint,
  AggregateStore,
  AggregateWrite,
  AlertEvent,
  AlertEventQuery,
  AlertEventResult,
  Dimensions,
  DownsampleTier,
  FieldRollup,
  LatestQuery,
  LatestResult,
  MaintenanceResult,
  NewSilence,
  RangeQuery,
  RangeResult,
  Silence,
  SilenceQuery,
  SilenceResult,
  WriteResult,
} from './types.js';
import {
  checkAggregateWrite,
  checkLabels,
  checkMetric,
  checkName,
  checkResultSize,
  checkTime,
  checkWindowSize,
  DEFAULT_STORE_LIMITS,
  dimensionsKey,
  type StoreLimits,
} from './validation.js';

export interface SqliteStoreOptions {
  /** The database file; its directory must exist. */
  path: string;
  downsampleTiers?: readonly DownsampleTier[];
  /** Aggregates whose window started longer ago are deleted by maintain(). Default 30 days. */
  aggregateRetentionMs?: number;
  /** Alert events and silences that ended longer ago are deleted by maintain(). Default 90 days. */
  alertRetentionMs?: number;
  /** Rollup rule per field name, over DEFAULT_FIELD_ROLLUPS. */
  fieldRollups?: Readonly<Record<string, FieldRollup>>;
  /** Rule for fields named nowhere; default: duration-weighted mean. */
  fallbackFieldRollup?: FieldRollup;
  limits?: Partial<StoreLimits>;
}

const DAY_MS = 24 * 60 * 60_000;

interface SeriesRow {
  id: number;
  dimsKey: string;
}

const SERIES_MATCHING = `
  SELECT s.id AS id, s.dims_key AS dimsKey FROM series s
  WHERE s.metric = @metric AND NOT EXISTS (
    SELECT 1 FROM json_each(@filters) f WHERE NOT EXISTS (
      SELECT 1 FROM series_dimension d WHERE d.series_id = s.id AND d.name = f.key AND d.value = f.value))`;

const ROW_COLUMNS = `a.series_id AS seriesId, s.dims_key AS dimsKey, a.window_start_ms AS startMs,
  a.window_size_ms AS sizeMs, a.covered_ms AS coveredMs, a.final AS final, a.values_json AS valuesJson`;

/** Latest row of each matching series, ranked by one field; series lacking the field rank last. */
function latestSql(direction: 'ASC' | 'DESC'): string {
  return `
    SELECT ${ROW_COLUMNS} FROM series s JOIN aggregate a
      ON a.series_id = s.id AND a.base_size_ms = @baseSizeMs AND a.window_start_ms = (
        SELECT max(a2.window_start_ms) FROM aggregate a2
        WHERE a2.series_id = s.id AND a2.base_size_ms = @baseSizeMs)
    WHERE s.id IN (SELECT value FROM json_each(@seriesIds)) AND a.window_start_ms >= @notBeforeMs
    ORDER BY json_extract(a.values_json, @fieldPath) IS NULL,
      json_extract(a.values_json, @fieldPath) ${direction}, s.dims_key
    LIMIT @limit`;
}

/** The embedded default store: one SQLite file in WAL mode, written by one process. */
export class SqliteAggregateStore implements AggregateStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly limits: StoreLimits;
  private readonly rules: RollupRules;
  private readonly tiers: readonly DownsampleTier[];
  private readonly aggregateRetentionMs: number;
  private readonly alertRetentionMs: number;
  private readonly downsampler: SqliteDownsampler;
  private readonly alerts: SqliteAlertHistory;
  /** `${metric}\n${dimsKey}` -> series id; holds at most maxSeries entries, like the table. */
  private readonly seriesIds = new Map<string, number>();
  /** Parsed dimensions per series id, filled by reads; bounded by maxSeries like seriesIds. */
  private readonly seriesDimensions = new Map<number, Dimensions>();
  private seriesCount: number;
  private closed = false;
  private readonly statements: ReturnType<SqliteAggregateStore['prepare']>;

  static open(options: SqliteStoreOptions): SqliteAggregateStore {
    return new SqliteAggregateStore(options);
  }

  private constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    this.limits = { ...DEFAULT_STORE_LIMITS, ...options.limits };
    this.tiers = options.downsampleTiers ?? DEFAULT_DOWNSAMPLE_TIERS;
    this.aggregateRetentionMs = options.aggregateRetentionMs ?? 30 * DAY_MS;
    this.alertRetentionMs = options.alertRetentionMs ?? 90 * DAY_MS;
    checkTime('aggregateRetentionMs', this.aggregateRetentionMs);
    checkTime('alertRetentionMs', this.alertRetentionMs);
    validateTiers(this.tiers, this.aggregateRetentionMs);
    this.rules = rollupRules(
      options.fieldRollups ?? {},
      options.fallbackFieldRollup ?? DEFAULT_FALLBACK_ROLLUP,
    );
    this.db = openDatabase(this.path);
    try {
      this.statements = this.prepare();
      this.seriesCount = (this.db.prepare('SELECT count(*) AS n FROM series').get() as { n: number }).n;
      this.downsampler = new SqliteDownsampler(this.db, this.tiers, this.rules);
      this.alerts = new SqliteAlertHistory(this.db, this.limits);
    } catch (error) {
      this.db.close();
      throw storeErrorFrom(error, this.path, 'preparing statements');
    }
  }

  private prepare() {
    const db = this.db;
    return {
      findSeries: db.prepare<[string, string], { id: number }>(
        'SELECT id FROM series WHERE metric = ? AND dims_key = ?',
      ),
      insertSeries: db.prepare<[string, string]>('INSERT INTO series (metric, dims_key) VALUES (?, ?)'),
      insertDimension: db.prepare<[number, string, string]>(
        'INSERT INTO series_dimension (series_id, name, value) VALUES (?, ?, ?)',
      ),
      // A final row is never replaced by an early update that arrives after it (changes() is then 0).
      upsertAggregate: db.prepare<[number, number, number, number, number, number, string]>(`
        INSERT INTO aggregate
          (series_id, base_size_ms, window_start_ms, window_size_ms, covered_ms, final, values_json)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (series_id, base_size_ms, window_start_ms, window_size_ms) DO UPDATE SET
          covered_ms = excluded.covered_ms, final = excluded.final, values_json = excluded.values_json
        WHERE excluded.final >= aggregate.final`),
      seriesMatching: db.prepare<{ metric: string; filters: string }, SeriesRow>(SERIES_MATCHING),
      range: db.prepare<
        { seriesIds: string; baseSizeMs: number; fromMs: number; toMs: number; limit: number },
        StoredRow
      >(`
        SELECT ${ROW_COLUMNS} FROM aggregate a JOIN series s ON s.id = a.series_id
        WHERE a.series_id IN (SELECT value FROM json_each(@seriesIds)) AND a.base_size_ms = @baseSizeMs
          AND a.window_start_ms >= @fromMs AND a.window_start_ms < @toMs
        ORDER BY a.window_start_ms, s.dims_key, a.window_size_ms
        LIMIT @limit`),
      latestDescending: db.prepare(latestSql('DESC')),
      latestAscending: db.prepare(latestSql('ASC')),
    };
  }

  async writeAggregates(rows: readonly AggregateWrite[]): Promise<WriteResult> {
    this.checkOpen();
    if (rows.length > this.limits.maxRowsPerWrite) {
      throw new StoreError(
        'LIMIT_EXCEEDED',
        `${rows.length} rows in one write, at most ${this.limits.maxRowsPerWrite}: split the batch`,
      );
    }
    for (const row of rows) checkAggregateWrite(row, this.limits);
    const createdSeries: string[] = [];
    try {
      return this.db.transaction(() => this.upsertRows(rows, createdSeries))();
    } catch (error) {
      // The transaction rolled back, so series it created no longer exist.
      for (const key of createdSeries) this.seriesIds.delete(key);
      this.seriesCount -= createdSeries.length;
      throw this.mapError(error, 'writing aggregates');
    }
  }

  private upsertRows(rows: readonly AggregateWrite[], createdSeries: string[]): WriteResult {
    const result: WriteResult = { written: 0, ignoredAfterFinal: 0, ignoredTooOld: 0 };
    for (const row of rows) {
      const sizeMs = row.windowEndMs - row.windowStartMs;
      if (this.downsampler.alreadyRolledUp(row.windowStartMs, sizeMs)) {
        result.ignoredTooOld++;
        continue;
      }
      const seriesId = this.seriesIdFor(row.metric, row.dimensions, createdSeries);
      const changes = this.statements.upsertAggregate.run(
        seriesId,
        sizeMs,
        row.windowStartMs,
        sizeMs,
        sizeMs,
        row.final ? 1 : 0,
        JSON.stringify(row.values),
      ).changes;
      if (changes === 0) result.ignoredAfterFinal++;
      else result.written++;
    }
    return result;
  }

  private seriesIdFor(metric: string, dimensions: Dimensions, createdSeries: string[]): number {
    const dimsKey = dimensionsKey(dimensions);
    const cacheKey = `${metric}\n${dimsKey}`;
    const cached = this.seriesIds.get(cacheKey);
    if (cached !== undefined) return cached;
    let id = this.statements.findSeries.get(metric, dimsKey)?.id;
    if (id === undefined) {
      if (this.seriesCount >= this.limits.maxSeries) {
        throw new StoreError(
          'LIMIT_EXCEEDED',
          `series ${metric}${dimsKey} would exceed maxSeries ${this.limits.maxSeries}: ` +
            'a dimension probably has unbounded values (session ids?)',
        );
      }
      id = Number(this.statements.insertSeries.run(metric, dimsKey).lastInsertRowid);
      for (const [name, value] of Object.entries(dimensions))
        this.statements.insertDimension.run(id, name, value);
      this.seriesCount++;
      createdSeries.push(cacheKey);
    }
    this.seriesIds.set(cacheKey, id);
    return id;
  }

  async queryRange(query: RangeQuery): Promise<RangeResult> {
    this.checkOpen();
    checkMetric(query.metric, this.limits);
    checkLabels('dimension', query.dimensions ?? {}, this.limits.maxDimensionsPerSeries, this.limits);
    checkTime('fromMs', query.fromMs);
    checkTime('toMs', query.toMs);
    checkWindowSize(query.windowSizeMs, this.limits);
    const limit = checkResultSize(query.limit, this.limits);
    if (query.stepMs !== undefined && (!Number.isSafeInteger(query.stepMs) || query.stepMs <= 0)) {
      throw new StoreError('INVALID_ARGUMENT', `stepMs must be a positive integer of ms, is ${query.stepMs}`);
    }
    try {
      const seriesIds = this.matchingSeries(query.metric, query.dimensions);
      const parameters = {
        seriesIds,
        baseSizeMs: query.windowSizeMs,
        fromMs: query.fromMs,
        toMs: query.toMs,
      };
      if (query.stepMs === undefined) {
        const rows = this.statements.range.all({ ...parameters, limit: limit + 1 });
        const truncated = rows.length > limit;
        return { points: rows.slice(0, limit).map((row) => this.pointOf(row)), truncated };
      }
      const scanLimit = this.limits.maxRowsScannedPerQuery;
      const rows = this.statements.range.all({ ...parameters, limit: scanLimit + 1 });
      const merged = mergeStepBuckets(rows, query.stepMs, scanLimit, this.rules);
      const points = merged.points.slice(0, limit).map((row) => this.pointOf(row));
      return { points, truncated: merged.truncated || merged.points.length > limit };
    } catch (error) {
      throw this.mapError(error, `querying ${query.metric}`);
    }
  }

  async latest(query: LatestQuery): Promise<LatestResult> {
    this.checkOpen();
    checkMetric(query.metric, this.limits);
    checkLabels('dimension', query.dimensions ?? {}, this.limits.maxDimensionsPerSeries, this.limits);
    checkWindowSize(query.windowSizeMs, this.limits);
    checkName('field', query.orderByField, this.limits);
    if (query.notBeforeMs !== undefined) checkTime('notBeforeMs', query.notBeforeMs);
    const limit = checkResultSize(query.limit, this.limits);
    try {
      const statement = query.ascending ? this.statements.latestAscending : this.statements.latestDescending;
      const rows = statement.all({
        seriesIds: this.matchingSeries(query.metric, query.dimensions),
        baseSizeMs: query.windowSizeMs,
        notBeforeMs: query.notBeforeMs ?? 0,
        fieldPath: `$.${query.orderByField}`,
        limit: limit + 1,
      }) as StoredRow[];
      return { points: rows.slice(0, limit).map((row) => this.pointOf(row)), truncated: rows.length > limit };
    } catch (error) {
      throw this.mapError(error, `reading latest ${query.metric}`);
    }
  }

  /** JSON array of the ids of the metric's series matching every given dimension. */
  private matchingSeries(metric: string, dimensions: Dimensions | undefined): string {
    const rows = this.statements.seriesMatching.all({ metric, filters: JSON.stringify(dimensions ?? {}) });
    for (const row of rows) this.rememberDimensions(row.id, row.dimsKey);
    return JSON.stringify(rows.map((row) => row.id));
  }

  private rememberDimensions(seriesId: number, dimsKey: string): Dimensions {
    let dimensions = this.seriesDimensions.get(seriesId);
    if (dimensions === undefined) {
      dimensions = JSON.parse(dimsKey) as Dimensions;
      this.seriesDimensions.set(seriesId, dimensions);
    }
    return dimensions;
  }

  private pointOf(row: StoredRow): AggregatePoint {
    return {
      dimensions: this.rememberDimensions(row.seriesId, row.dimsKey),
      windowStartMs: row.startMs,
      windowEndMs: row.startMs + row.sizeMs,
      values: row.values ?? (JSON.parse(row.valuesJson) as Record<string, number>),
      final: row.final === 1,
      coveredMs: row.coveredMs,
    };
  }

  async appendAlertEvents(events: readonly AlertEvent[]): Promise<void> {
    this.checkOpen();
    try {
      this.alerts.append(events);
    } catch (error) {
      throw this.mapError(error, 'appending alert events');
    }
  }

  async queryAlertEvents(query: AlertEventQuery): Promise<AlertEventResult> {
    this.checkOpen();
    try {
      return this.alerts.query(query);
    } catch (error) {
      throw this.mapError(error, 'querying alert events');
    }
  }

  async createSilence(silence: NewSilence): Promise<Silence> {
    this.checkOpen();
    try {
      return this.alerts.createSilence(silence);
    } catch (error) {
      throw this.mapError(error, 'creating a silence');
    }
  }

  async putSilence(silence: Silence): Promise<void> {
    this.checkOpen();
    try {
      this.alerts.putSilence(silence);
    } catch (error) {
      throw this.mapError(error, 'storing a silence');
    }
  }

  async listSilences(query: SilenceQuery): Promise<SilenceResult> {
    this.checkOpen();
    try {
      return this.alerts.listSilences(query);
    } catch (error) {
      throw this.mapError(error, 'listing silences');
    }
  }

  async expireSilence(id: string, nowMs: number): Promise<boolean> {
    this.checkOpen();
    try {
      return this.alerts.expireSilence(id, nowMs);
    } catch (error) {
      throw this.mapError(error, 'expiring a silence');
    }
  }

  async maintain(nowMs: number): Promise<MaintenanceResult> {
    this.checkOpen();
    checkTime('nowMs', nowMs);
    try {
      const rollup = this.downsampler.rollUp(nowMs, this.limits.maxRowsPerMaintain);
      const budgetLeft = Math.max(0, this.limits.maxRowsPerMaintain - rollup.rowsRolledUp);
      const retention = this.downsampler.deleteOlderThan(nowMs - this.aggregateRetentionMs, budgetLeft);
      const alertCutoffMs = nowMs - this.alertRetentionMs;
      const { alertEventsDeleted, silencesDeleted } = this.alerts.deleteOlderThan(alertCutoffMs);
      return {
        rowsRolledUp: rollup.rowsRolledUp,
        bucketsWritten: rollup.bucketsWritten,
        hoppingRowsDropped: rollup.hoppingRowsDropped,
        aggregatesDeleted: retention.deleted,
        alertEventsDeleted,
        silencesDeleted,
        pending: rollup.pending || retention.pending,
      };
    } catch (error) {
      throw this.mapError(error, 'maintaining');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', `store ${this.path} is closed`);
  }

  /** SQLite failures become store errors naming the file; anything else is a bug and passes unchanged. */
  private mapError(error: unknown, doing: string): unknown {
    return error instanceof Database.SqliteError ? storeErrorFrom(error, this.path, doing) : error;
  }
}
