import { badParameter } from './errors.js';

/** Largest result a query may ask for; the store has its own limit and refuses beyond it too. */
export const MAX_RESULT_LIMIT = 100_000;
/** Dimension filters (`dim.<name>=`) per request, as many as a series may have in the store. */
export const MAX_DIMENSION_FILTERS = 16;
const MAX_NAME_LENGTH = 128;
const MAX_VALUE_LENGTH = 256;
/** Ten years: an upper bound on durations that catches unit mistakes (seconds typed as ms...). */
const MAX_DURATION_MS = 10 * 365 * 86_400_000;

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METRIC_PATTERN = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** An ISO 8601 date or date-time, as Date.parse reads it. */
const ISO_PATTERN = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Typed reads of one request's query string; every failure is a 400 naming the parameter. */
export class QueryParams {
  constructor(private readonly params: URLSearchParams) {}

  /** The raw value, or undefined when absent; an empty value counts as absent. */
  optionalString(name: string): string | undefined {
    const values = this.params.getAll(name);
    if (values.length > 1) throw badParameter(name, values.join(','), 'at most one value');
    const value = values[0];
    return value === undefined || value === '' ? undefined : value;
  }

  requiredString(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw badParameter(name, '', 'a value (the parameter is required)');
    return value;
  }

  metric(name = 'metric'): string {
    const value = this.requiredString(name);
    if (value.length > MAX_NAME_LENGTH || !METRIC_PATTERN.test(value)) {
      throw badParameter(
        name,
        value,
        `a metric name matching ${METRIC_PATTERN} of at most ${MAX_NAME_LENGTH} chars`,
      );
    }
    return value;
  }

  /** A label or field name: [A-Za-z_][A-Za-z0-9_]*. */
  name(name: string): string {
    const value = this.requiredString(name);
    checkName(name, value);
    return value;
  }

  optionalName(name: string): string | undefined {
    const value = this.optionalString(name);
    if (value !== undefined) checkName(name, value);
    return value;
  }

  /** '10s', '500ms', '5m', '1h', '1d' or a number of milliseconds; above zero. */
  optionalDurationMs(name: string): number | undefined {
    const value = this.optionalString(name);
    return value === undefined ? undefined : parseDurationMs(name, value);
  }

  requiredDurationMs(name: string): number {
    return parseDurationMs(name, this.requiredString(name));
  }

  /** Milliseconds since the epoch or an ISO 8601 date-time. */
  optionalTimeMs(name: string): number | undefined {
    const value = this.optionalString(name);
    return value === undefined ? undefined : parseTimeMs(name, value);
  }

  /** An integer in [min, max]; `fallback` when absent. */
  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.optionalString(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) throw badParameter(name, value, `an integer from ${min} to ${max}`);
    const parsed = Number(value);
    if (parsed < min || parsed > max) throw badParameter(name, value, `an integer from ${min} to ${max}`);
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.optionalString(name);
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw badParameter(name, value, 'true, false, 1 or 0');
  }

  /** A comma-separated list whose items all come from `allowed`; undefined when absent. */
  /** A comma-separated list of metric names, each checked as metric() checks one. */
  metricList(name: string, max: number): string[] {
    const value = this.requiredString(name);
    const items = [...new Set(value.split(',').map((item) => item.trim()))];
    if (items.length > max) throw badParameter(name, value, `at most ${max} comma-separated metric names`);
    for (const item of items) {
      if (item.length > MAX_NAME_LENGTH || !METRIC_PATTERN.test(item)) {
        throw badParameter(name, value, `comma-separated metric names matching ${METRIC_PATTERN}`);
      }
    }
    return items;
  }

  optionalList<T extends string>(name: string, allowed: readonly T[]): T[] | undefined {
    const value = this.optionalString(name);
    if (value === undefined) return undefined;
    const items = value.split(',').map((item) => item.trim());
    for (const item of items) {
      if (!(allowed as readonly string[]).includes(item)) {
        throw badParameter(name, value, `a comma-separated list of ${allowed.join(', ')}`);
      }
    }
    return [...new Set(items)] as T[];
  }

  /** One of `allowed`, or undefined when absent. */
  optionalChoice<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.optionalString(name);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value))
      throw badParameter(name, value, `one of ${allowed.join(', ')}`);
    return value as T;
  }

  /** Every `<prefix><name>=<value>` parameter as {name: value}, e.g. dim.edge=edge-001; undefined when none. */
  prefixed(prefix: string): Record<string, string> | undefined {
    const found: Record<string, string> = {};
    let count = 0;
    for (const key of new Set(this.params.keys())) {
      if (!key.startsWith(prefix)) continue;
      const name = key.slice(prefix.length);
      checkName(key, name);
      const value = this.requiredString(key);
      if (value.length > MAX_VALUE_LENGTH)
        throw badParameter(key, value, `at most ${MAX_VALUE_LENGTH} chars`);
      count++;
      if (count > MAX_DIMENSION_FILTERS) {
        throw badParameter(key, value, `at most ${MAX_DIMENSION_FILTERS} '${prefix}' parameters`);
      }
      found[name] = value;
    }
    return count === 0 ? undefined : found;
  }

  /**
   * A [fromMs, toMs) range from `from` and `to`: `to` defaults to now and `from` to `to - defaultSpanMs`.
   */
  timeRange(nowMs: number, defaultSpanMs: number): { fromMs: number; toMs: number } {
    const toMs = this.optionalTimeMs('to') ?? nowMs;
    const fromMs = this.optionalTimeMs('from') ?? toMs - defaultSpanMs;
    if (fromMs >= toMs) {
      throw badParameter(
        'from',
        this.optionalString('from') ?? String(fromMs),
        `a time before 'to' (${toMs})`,
      );
    }
    return { fromMs: Math.max(0, fromMs), toMs };
  }
}

function checkName(parameter: string, value: string): void {
  if (value.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(value)) {
    throw badParameter(
      parameter,
      value,
      `a name matching ${NAME_PATTERN} of at most ${MAX_NAME_LENGTH} chars`,
    );
  }
}

export function parseDurationMs(name: string, value: string): number {
  const match = DURATION_PATTERN.exec(value);
  const expected = "a duration above 0 such as '500ms', '10s', '5m', '1h', '1d' or milliseconds";
  if (!match) throw badParameter(name, value, expected);
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!);
  if (ms <= 0 || ms > MAX_DURATION_MS) throw badParameter(name, value, expected);
  return ms;
}

export function parseTimeMs(name: string, value: string): number {
  const expected = 'milliseconds since the epoch or an ISO 8601 time such as 2024-05-01T12:00:00Z';
  if (/^\d{1,15}$/.test(value)) return Number(value);
  if (!ISO_PATTERN.test(value)) throw badParameter(name, value, expected);
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || ms < 0) throw badParameter(name, value, expected);
  return ms;
}
