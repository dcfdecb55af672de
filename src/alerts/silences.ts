import { randomUUID } from 'node:crypto';
import { compileLabelPattern } from './label-pattern.js';
import { parseConfig, type SilenceInput, type SilenceSpec, silenceSchema } from './rules.js';

export const MAX_SILENCES = 1000;

export interface Silence extends SilenceSpec {
  id: string;
}

interface CompiledMatcher {
  label: string;
  negate: boolean;
  test(value: string): boolean;
}

interface ActiveSilence {
  silence: Silence;
  matchers: CompiledMatcher[];
}

export class SilenceLimitError extends Error {
  readonly code = 'SILENCE_LIMIT';
  constructor(readonly limit: number) {
    super(`cannot add a silence: ${limit} silences exist (the limit); expire some first`);
    this.name = 'SilenceLimitError';
  }
}

/** Silences with Alertmanager matchers (=, !=, =~, !~; regexes match the whole value) and start/end times. */
export class Silences {
  private readonly entries = new Map<string, ActiveSilence>();

  add(input: SilenceInput): Silence {
    const spec = parseConfig(silenceSchema, input, 'silence');
    const silence: Silence = { ...spec, id: spec.id ?? randomUUID() };
    if (!this.entries.has(silence.id) && this.entries.size >= MAX_SILENCES)
      throw new SilenceLimitError(MAX_SILENCES);
    this.entries.set(silence.id, { silence, matchers: silence.matchers.map(compileMatcher) });
    return silence;
  }

  /** Ends a silence now; returns whether it existed. */
  expire(id: string, nowMs: number): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.silence.endsAtMs = Math.min(entry.silence.endsAtMs, nowMs);
    return true;
  }

  list(): Silence[] {
    return [...this.entries.values()].map((entry) => entry.silence);
  }

  /** Drops silences that ended before `nowMs`; returns how many. */
  prune(nowMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.entries) {
      if (entry.silence.endsAtMs <= nowMs) {
        this.entries.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** The id of an active silence matching all of its matchers against these labels, or null. */
  silencedBy(labels: Readonly<Record<string, string>>, nowMs: number): string | null {
    for (const { silence, matchers } of this.entries.values()) {
      if (nowMs < silence.startsAtMs || nowMs >= silence.endsAtMs) continue;
      if (matchers.every((m) => m.test(labels[m.label] ?? '') !== m.negate)) return silence.id;
    }
    return null;
  }
}

function compileMatcher(matcher: SilenceSpec['matchers'][number]): CompiledMatcher {
  const negate = matcher.op === '!=' || matcher.op === '!~';
  if (matcher.op === '=' || matcher.op === '!=') {
    return { label: matcher.label, negate, test: (value) => value === matcher.value };
  }
  return { label: matcher.label, negate, test: compileLabelPattern(matcher.value) };
}
