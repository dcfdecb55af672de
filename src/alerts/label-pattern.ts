import { RE2JS, RE2JSException } from 're2js';

/**
 * Most instructions a label pattern may compile to. Matching costs up to this many steps per character of
 * the label value, so it bounds the cost of one match. A 1024-char pattern without counted repetition
 * compiles to about 1100 instructions; only repeats like `.{0,999}` come near the limit.
 */
export const MAX_LABEL_PATTERN_INSTRUCTIONS = 2_000;

/** A label-value regex that matches the whole value, in time linear in the value's length. */
export type LabelPattern = (value: string) => boolean;

export class LabelPatternError extends Error {
  readonly code = 'LABEL_PATTERN_INVALID';
  constructor(reason: string) {
    super(reason);
    this.name = 'LabelPatternError';
  }
}

/**
 * Compiles a matcher regex with RE2 syntax and semantics (as Prometheus and Alertmanager do), never with
 * JavaScript's backtracking RegExp: a pattern like `(.|.|.|.)*X` would otherwise stall the event loop that
 * the broker, the pipelines and the HTTP API share. RE2 refuses what it cannot match in linear time
 * (backreferences, lookaround). The match is anchored at both ends like Alertmanager's, so `edge-1` does
 * not also match `edge-17`. Throws LabelPatternError with RE2's reason.
 */
export function compileLabelPattern(source: string): LabelPattern {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source);
  } catch (error) {
    if (error instanceof RE2JSException)
      throw new LabelPatternError(`expected an RE2 regex: ${error.message}`);
    throw error;
  }
  const instructions = compiled.programSize();
  if (instructions > MAX_LABEL_PATTERN_INSTRUCTIONS) {
    throw new LabelPatternError(
      `expected a smaller regex: it compiles to ${instructions} instructions, the limit is ${MAX_LABEL_PATTERN_INSTRUCTIONS}`,
    );
  }
  // testExact is a full match (both ends anchored) without capture groups, on RE2's DFA where it can.
  return (value) => compiled.testExact(value);
}
