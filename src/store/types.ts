/**
 * The aggregate store's contract. Pipelines and the alert engine see only this interface; SQLite is the
 * embedded default and a server database can implement the same methods. Every method returns a promise
 * even though SQLite answers synchronously, because a networked implementation cannot.
 */

/** Labels of a series, e.g. {edge: 'edge-17', site: 'par1'}. Names match [A-Za-z_][A-Za-z0-9_]*. */
export type Dimensions = Readonly<Record<string, string>>;

/** Named numbers of one window, e.g. {count, retransmits, p95}. Names match [A-Za-z_][A-Za-z0-9_]*. */
export type FieldValues = Readonly<Record<string, number>>;

/** One window of one series. Upserted by (metric, dimensions, windowStartMs, window size). */
export interface AggregateWrite {
  metric: string;
  dimensions: Dimensions;
  windowStartMs: number;
  /** Exclusive; the window size is windowEndMs - windowStartMs. */
  windowEndMs: number;
  values: FieldValues;
  /** False for early updates of an open window; a final row is never replaced by a later early update. */
  final: boolean;
}

export interface WriteResult {
  /** Rows inserted or replaced. */
  written: number;
  /** Early updates that arrived after the window's final row and were ignored. */
  ignoredAfterFinal: number;
  /** Rows for windows already downsampled; merging them into the coarse bucket again would double count. */
  ignoredTooOld: number;
}

export interface AggregatePoint {
  dimensions: Dimensions;
  windowStartMs: number;
  windowEndMs: number;
  values: FieldValues;
  final: boolean;
  /** Milliseconds of raw windows merged into this point: equals the window size unless data was missing. */
  coveredMs: number;
}

export interface RangeQuery {
  metric: string;
  /** Every given dimension must match exactly; dimensions not named are unconstrained. */
  dimensions?: Dimensions;
  /** Windows starting at or after fromMs and before toMs. */
  fromMs: number;
  toMs: number;
  /**
   * The window size the series was written at (10 s tumbling, 60 s hopping...). Together with metric and
   * dimensions it names one lineage: raw rows and the coarser buckets downsampling made from them.
   */
  windowSizeMs: number;
  /**
   * Downsampled read: rows no larger than stepMs are merged into stepMs buckets with the store's field
   * rollup rules; rows already coarser than stepMs (old data) are returned at their own resolution.
   */
  stepMs?: number;
  /** At most this many points (default and maximum in the store's limits). */
  limit?: number;
}

export interface RangeResult {
  /** Ordered by windowStartMs, then by dimensions. */
  points: AggregatePoint[];
  /** True when more points matched than the limit allowed; the points returned are the earliest. */
  truncated: boolean;
}

export interface LatestQuery {
  metric: string;
  dimensions?: Dimensions;
  /** The window size the series was written at. */
  windowSizeMs: number;
  /** Field to rank series by, highest first ("worst offenders"). Series without the field come last. */
  orderByField: string;
  /** Lowest first instead, for fields where small is bad (e.g. bitrate). */
  ascending?: boolean;
  /** Ignore series whose latest window started before this (edges that went silent long ago). */
  notBeforeMs?: number;
  limit: number;
}

export interface LatestResult {
  points: AggregatePoint[];
  truncated: boolean;
}

export type AlertState = 'pending' | 'firing' | 'resolved';

/** One lifecycle transition of one alert instance. */
export interface AlertEvent {
  /** Stable identity of the alert instance: rule + labels. */
  fingerprint: string;
  rule: string;
  state: AlertState;
  atMs: number;
  /** The value that caused the transition; null for "no data" alerts. */
  value: number | null;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

export interface StoredAlertEvent extends AlertEvent {
  /** Monotonic sequence number in the store. */
  id: number;
}

export interface AlertEventQuery {
  fromMs: number;
  toMs: number;
  states?: readonly AlertState[];
  /** Every given label must match exactly. */
  labels?: Readonly<Record<string, string>>;
  fingerprint?: string;
  rule?: string;
  limit?: number;
}

export interface AlertEventResult {
  /** Ordered by atMs, then by the order they were appended. */
  events: StoredAlertEvent[];
  truncated: boolean;
}

/** Alertmanager-style label matcher: equal, not equal, regex match, regex non-match. */
export interface LabelMatcher {
  name: string;
  value: string;
  op: '=' | '!=' | '=~' | '!~';
}

export interface NewSilence {
  matchers: readonly LabelMatcher[];
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
  createdAtMs: number;
}

export interface Silence extends NewSilence {
  id: string;
}

export type SilenceStatus = 'pending' | 'active' | 'expired';

export interface SilenceQuery {
  /** pending: starts later; active: started and not ended; expired: ended. All when omitted. */
  status?: SilenceStatus;
  nowMs: number;
  limit?: number;
}

export interface SilenceResult {
  /** Ordered by startsAtMs. */
  silences: Silence[];
  truncated: boolean;
}

/**
 * How one field merges when windows are combined (downsampling, or a read with stepMs).
 * - sum: counts and totals add.
 * - min / max: extremes. Percentiles roll up as max: percentiles of parts cannot be merged exactly, and the
 *   largest p95 of the parts is an upper bound of the merged p95 that never hides a bad minute.
 * - last: gauges sampled at the end (the latest window's value).
 * - mean: weighted by another field of the same rows (e.g. an average weighted by its `count`), or by the
 *   covered duration when weightField is omitted or missing (rates per second, ratios over time).
 */
export type FieldRollup =
  | { kind: 'sum' }
  | { kind: 'min' }
  | { kind: 'max' }
  | { kind: 'last' }
  | { kind: 'mean'; weightField?: string };

/**
 * Rows smaller than bucketMs whose window ended more than olderThanMs ago are merged into bucketMs rows.
 * Windows are expected to start at multiples of their size (as src/streams' windows do); the windows of
 * a hopping series that do not are deleted at rollup, because the aligned ones tile time on their own.
 */
export interface DownsampleTier {
  olderThanMs: number;
  bucketMs: number;
}

export interface MaintenanceResult {
  /** Raw or finer rows merged into coarser buckets (and deleted). */
  rowsRolledUp: number;
  /** Coarser bucket rows written. */
  bucketsWritten: number;
  /** Intermediate hops of hopping windows deleted at rollup (the aligned windows tile time without them). */
  hoppingRowsDropped: number;
  aggregatesDeleted: number;
  alertEventsDeleted: number;
  silencesDeleted: number;
  /** True when the per-call row budget ran out; call maintain again to finish. */
  pending: boolean;
}

export interface AggregateStore {
  writeAggregates(rows: readonly AggregateWrite[]): Promise<WriteResult>;
  queryRange(query: RangeQuery): Promise<RangeResult>;
  latest(query: LatestQuery): Promise<LatestResult>;
  appendAlertEvents(events: readonly AlertEvent[]): Promise<void>;
  queryAlertEvents(query: AlertEventQuery): Promise<AlertEventResult>;
  createSilence(silence: NewSilence): Promise<Silence>;
  /** Stores a silence another node created, under its id; one already stored can only end earlier. */
  putSilence(silence: Silence): Promise<void>;
  listSilences(query: SilenceQuery): Promise<SilenceResult>;
  /** Ends the silence at nowMs; false when it is unknown or already expired. */
  expireSilence(id: string, nowMs: number): Promise<boolean>;
  /** Downsampling and retention up to nowMs. */
  maintain(nowMs: number): Promise<MaintenanceResult>;
  close(): Promise<void>;
}
