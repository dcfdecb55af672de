import { StoreError } from './errors.js';
import type { DownsampleTier, FieldRollup, FieldValues } from './types.js';

const SUM: FieldRollup = { kind: 'sum' };
const MAX: FieldRollup = { kind: 'max' };

/**
 * Rules for common field names; callers add their own (e.g. `retransmits: {kind: 'sum'}`) through the
 * store's fieldRollups option. Percentiles roll up as max (see FieldRollup).
 */
export const DEFAULT_FIELD_ROLLUPS: Readonly<Record<string, FieldRollup>> = {
  count: SUM,
  sum: SUM,
  total: SUM,
  min: { kind: 'min' },
  max: MAX,
  p50: MAX,
  p75: MAX,
  p90: MAX,
  p95: MAX,
  p99: MAX,
  p999: MAX,
  avg: { kind: 'mean', weightField: 'count' },
  mean: { kind: 'mean', weightField: 'count' },
};

/** Fields nobody named are treated as gauges over time: the duration-weighted mean is never out of range. */
export const DEFAULT_FALLBACK_ROLLUP: FieldRollup = { kind: 'mean' };

/** Raw 10 s windows become 1 min buckets after an hour and 10 min buckets after a day. */
export const DEFAULT_DOWNSAMPLE_TIERS: readonly DownsampleTier[] = [
  { olderThanMs: 60 * 60_000, bucketMs: 60_000 },
  { olderThanMs: 24 * 60 * 60_000, bucketMs: 10 * 60_000 },
];

/** One window being merged; rows must be passed in window start order so `last` sees the latest. */
export interface RollupSource {
  windowStartMs: number;
  coveredMs: number;
  values: FieldValues;
}

export type RollupRules = (field: string) => FieldRollup;

export function rollupRules(
  overrides: Readonly<Record<string, FieldRollup>>,
  fallback: FieldRollup,
): RollupRules {
  const rules = new Map<string, FieldRollup>(Object.entries({ ...DEFAULT_FIELD_ROLLUPS, ...overrides }));
  return (field) => rules.get(field) ?? fallback;
}

/** Merges the values of several windows field by field; a field absent from a row is skipped for it. */
export function mergeValues(rows: readonly RollupSource[], rules: RollupRules): Record<string, number> {
  const fields = new Set<string>();
  for (const row of rows) for (const field of Object.keys(row.values)) fields.add(field);
  const merged: Record<string, number> = {};
  for (const field of fields) merged[field] = mergeField(rows, field, rules(field));
  return merged;
}

function mergeField(rows: readonly RollupSource[], field: string, rule: FieldRollup): number {
  let result: number | undefined;
  let weightedSum = 0;
  let weightTotal = 0;
  let plainSum = 0;
  let present = 0;
  for (const row of rows) {
    const value = row.values[field];
    if (value === undefined) continue;
    present++;
    switch (rule.kind) {
      case 'sum':
        result = (result ?? 0) + value;
        break;
      case 'min':
        result = result === undefined ? value : Math.min(result, value);
        break;
      case 'max':
        result = result === undefined ? value : Math.max(result, value);
        break;
      case 'last':
        result = value;
        break;
      case 'mean': {
        const weight = meanWeight(row, rule.weightField);
        weightedSum += value * weight;
        weightTotal += weight;
        plainSum += value;
        break;
      }
    }
  }
  if (rule.kind !== 'mean') return result ?? 0;
  // All weights zero (e.g. avg of windows with count 0): every part is equally (un)informative.
  return weightTotal > 0 ? weightedSum / weightTotal : plainSum / present;
}

function meanWeight(row: RollupSource, weightField: string | undefined): number {
  if (weightField === undefined) return row.coveredMs;
  const weight = row.values[weightField];
  return weight !== undefined && weight >= 0 ? weight : row.coveredMs;
}

export function bucketStart(timeMs: number, bucketMs: number): number {
  return Math.floor(timeMs / bucketMs) * bucketMs;
}

/**
 * Tiers must get older and coarser together, each bucket a multiple of the previous one so a coarse
 * bucket is a whole number of finer ones, and retention must outlive the oldest tier.
 */
export function validateTiers(tiers: readonly DownsampleTier[], retentionMs: number): void {
  let previous: DownsampleTier | undefined;
  for (const [index, tier] of tiers.entries()) {
    const where = `downsampleTiers[${index}]`;
    if (!Number.isSafeInteger(tier.olderThanMs) || tier.olderThanMs <= 0) {
      throw new StoreError('INVALID_ARGUMENT', `${where}.olderThanMs must be a positive integer of ms`);
    }
    if (!Number.isSafeInteger(tier.bucketMs) || tier.bucketMs <= 0) {
      throw new StoreError('INVALID_ARGUMENT', `${where}.bucketMs must be a positive integer of ms`);
    }
    if (previous !== undefined) {
      if (tier.olderThanMs <= previous.olderThanMs || tier.bucketMs <= previous.bucketMs) {
        throw new StoreError('INVALID_ARGUMENT', `${where} must be older and coarser than the tier before`);
      }
      if (tier.bucketMs % previous.bucketMs !== 0) {
        throw new StoreError(
          'INVALID_ARGUMENT',
          `${where}.bucketMs (${tier.bucketMs}) must be a multiple of ${previous.bucketMs}`,
        );
      }
    }
    previous = tier;
  }
  if (previous !== undefined && retentionMs <= previous.olderThanMs) {
    throw new StoreError(
      'INVALID_ARGUMENT',
      `aggregateRetentionMs (${retentionMs}) must exceed the oldest tier's olderThanMs (${previous.olderThanMs})`,
    );
  }
}
