const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration as people write it in code and config ('500ms', '10s', '1m', '2h', '1d') or as milliseconds. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

export function toMillis(duration: Duration): number {
  if (typeof duration === 'number') {
    if (!Number.isFinite(duration) || duration < 0)
      throw new RangeError(`duration ${duration} must be a non-negative number of ms`);
    return duration;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration);
  if (!match)
    throw new RangeError(`duration '${duration}' is invalid: expected a number followed by ms, s, m, h or d`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}
