import { RE2JS } from 're2js';
import { StoreError } from './errors.js';
import type { AggregateWrite, AlertEvent, Dimensions, NewSilence } from './types.js';

/** Bounds on everything a caller can make the store hold or return. */
export interface StoreLimits {
  maxRowsPerWrite: number;
  /** Distinct (metric, dimensions) pairs: a cardinality bound, like Prometheus' series limits. */
  maxSeries: number;
  maxDimensionsPerSeries: number;
  maxFieldsPerRow: number;
  maxNameLength: number;
  maxLabelValueLength: number;
  maxWindowSizeMs: number;
  defaultResultSize: number;
  maxResultSize: number;
  /** Rows a downsampled read may merge before it stops and reports truncation. */
  maxRowsScannedPerQuery: number;
  maxAlertEventsPerAppend: number;
  maxLabelsPerAlert: number;
  maxAnnotationLength: number;
  /**
   * Rows one maintain() call rolls up or deletes (about 1 s of work), so a backlog cannot stall the event
   * loop; the call reports pending and the caller runs it again on a later turn.
   */
  maxRowsPerMaintain: number;
  maxMatchersPerSilence: number;
  maxCommentLength: number;
}

export const DEFAULT_STORE_LIMITS: Readonly<StoreLimits> = {
  maxRowsPerWrite: 50_000,
  maxSeries: 200_000,
  maxDimensionsPerSeries: 16,
  maxFieldsPerRow: 32,
  maxNameLength: 128,
  maxLabelValueLength: 256,
  maxWindowSizeMs: 7 * 24 * 60 * 60_000,
  defaultResultSize: 10_000,
  maxResultSize: 100_000,
  maxRowsScannedPerQuery: 1_000_000,
  maxAlertEventsPerAppend: 10_000,
  maxLabelsPerAlert: 32,
  maxAnnotationLength: 4096,
  maxRowsPerMaintain: 50_000,
  maxMatchersPerSilence: 32,
  maxCommentLength: 1024,
};

/** Label-style names also appear in JSON paths, so they are restricted to identifier characters. */
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Metric names may use dots and dashes (cdn.edge.tcp). */
const METRIC_PATTERN = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

function invalid(message: string): StoreError {
  return new StoreError('INVALID_ARGUMENT', message);
}

export function checkName(kind: string, name: string, limits: StoreLimits): void {
  if (name.length > limits.maxNameLength || !NAME_PATTERN.test(name)) {
    throw invalid(
      `${kind} '${name}' must match ${NAME_PATTERN} and be at most ${limits.maxNameLength} chars`,
    );
  }
}

export function checkMetric(metric: string, limits: StoreLimits): void {
  if (metric.length > limits.maxNameLength || !METRIC_PATTERN.test(metric)) {
    throw invalid(
      `metric '${metric}' must match ${METRIC_PATTERN} and be at most ${limits.maxNameLength} chars`,
    );
  }
}

export function checkLabels(
  kind: string,
  labels: Readonly<Record<string, string>>,
  maxCount: number,
  limits: StoreLimits,
): void {
  const entries = Object.entries(labels);
  if (entries.length > maxCount) throw invalid(`${entries.length} ${kind}s, at most ${maxCount} allowed`);
  for (const [name, value] of entries) {
    checkName(kind, name, limits);
    if (typeof value !== 'string' || value.length > limits.maxLabelValueLength) {
      throw invalid(`${kind} '${name}' must be a string of at most ${limits.maxLabelValueLength} chars`);
    }
  }
}

export function checkTime(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalid(`${name} must be a non-negative integer of ms`);
}

export function checkWindowSize(windowSizeMs: number, limits: StoreLimits): void {
  if (!Number.isSafeInteger(windowSizeMs) || windowSizeMs <= 0 || windowSizeMs > limits.maxWindowSizeMs) {
    throw invalid(`windowSizeMs must be 1..${limits.maxWindowSizeMs}, is ${windowSizeMs}`);
  }
}

export function checkResultSize(limit: number | undefined, limits: StoreLimits): number {
  if (limit === undefined) return limits.defaultResultSize;
  if (!Number.isSafeInteger(limit) || limit <= 0 || limit > limits.maxResultSize) {
    throw new StoreError('LIMIT_EXCEEDED', `limit ${limit} must be between 1 and ${limits.maxResultSize}`);
  }
  return limit;
}

export function checkAggregateWrite(row: AggregateWrite, limits: StoreLimits): void {
  checkMetric(row.metric, limits);
  checkLabels('dimension', row.dimensions, limits.maxDimensionsPerSeries, limits);
  checkTime('windowStartMs', row.windowStartMs);
  checkTime('windowEndMs', row.windowEndMs);
  const sizeMs = row.windowEndMs - row.windowStartMs;
  if (sizeMs <= 0 || sizeMs > limits.maxWindowSizeMs) {
    throw invalid(`window of ${row.metric} must be 1..${limits.maxWindowSizeMs} ms long, is ${sizeMs}`);
  }
  const fields = Object.entries(row.values);
  if (fields.length > limits.maxFieldsPerRow) {
    throw invalid(
      `${fields.length} fields in a ${row.metric} row, at most ${limits.maxFieldsPerRow} allowed`,
    );
  }
  for (const [field, value] of fields) {
    checkName('field', field, limits);
    // JSON has no NaN or Infinity; an empty window's percentile is left out rather than stored as NaN.
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(`field '${field}' of ${row.metric} must be a finite number, is ${value}`);
    }
  }
}

export function checkAlertEvent(event: AlertEvent, limits: StoreLimits): void {
  if (event.fingerprint.length === 0 || event.fingerprint.length > limits.maxLabelValueLength) {
    throw invalid(`alert fingerprint must be 1..${limits.maxLabelValueLength} chars`);
  }
  if (event.rule.length === 0 || event.rule.length > limits.maxNameLength) {
    throw invalid(`alert rule name must be 1..${limits.maxNameLength} chars`);
  }
  if (event.state !== 'pending' && event.state !== 'firing' && event.state !== 'resolved') {
    throw invalid(`alert state '${event.state}' must be pending, firing or resolved`);
  }
  checkTime('atMs', event.atMs);
  if (event.value !== null && !Number.isFinite(event.value)) {
    throw invalid(`alert value must be a finite number or null, is ${event.value}`);
  }
  checkLabels('label', event.labels, limits.maxLabelsPerAlert, limits);
  for (const [name, text] of Object.entries(event.annotations)) {
    checkName('annotation', name, limits);
    if (typeof text !== 'string' || text.length > limits.maxAnnotationLength) {
      throw invalid(`annotation '${name}' must be a string of at most ${limits.maxAnnotationLength} chars`);
    }
  }
}

export function checkSilence(silence: NewSilence, limits: StoreLimits): void {
  const count = silence.matchers.length;
  if (count === 0 || count > limits.maxMatchersPerSilence) {
    throw invalid(`a silence needs 1..${limits.maxMatchersPerSilence} matchers, has ${count}`);
  }
  for (const matcher of silence.matchers) {
    checkName('matcher label', matcher.name, limits);
    if (!['=', '!=', '=~', '!~'].includes(matcher.op)) {
      throw invalid(`matcher op '${matcher.op}' must be one of = != =~ !~`);
    }
    if (matcher.value.length > limits.maxLabelValueLength) {
      throw invalid(`matcher value for '${matcher.name}' exceeds ${limits.maxLabelValueLength} chars`);
    }
    if (matcher.op === '=~' || matcher.op === '!~') checkRegex(matcher.value);
  }
  checkTime('startsAtMs', silence.startsAtMs);
  checkTime('endsAtMs', silence.endsAtMs);
  checkTime('createdAtMs', silence.createdAtMs);
  if (silence.endsAtMs <= silence.startsAtMs) throw invalid('silence endsAtMs must be after startsAtMs');
  if (silence.createdBy.length === 0 || silence.createdBy.length > limits.maxNameLength) {
    throw invalid(`silence createdBy must be 1..${limits.maxNameLength} chars`);
  }
  if (silence.comment.length > limits.maxCommentLength) {
    throw invalid(`silence comment exceeds ${limits.maxCommentLength} chars`);
  }
}

/** RE2 syntax, as the alert engine matches silences (src/alerts/label-pattern.ts): linear time, no lookaround. */
function checkRegex(pattern: string): void {
  try {
    RE2JS.compile(pattern);
  } catch (error) {
    throw new StoreError('INVALID_ARGUMENT', `matcher regex '${pattern}' does not compile`, { cause: error });
  }
}

/** Canonical key of a dimension set: JSON with names sorted, so equal sets have equal keys. */
export function dimensionsKey(dimensions: Dimensions): string {
  const names = Object.keys(dimensions).sort();
  const sorted: Record<string, string> = {};
  for (const name of names) sorted[name] = dimensions[name]!;
  return JSON.stringify(sorted);
}
