import type { ConsumedRecord } from '../client/types.js';
import { MirrorError } from './errors.js';

/** What to forward of one topic. */
export interface TopicPolicy {
  /** Forward a record only when this returns true. Must be deterministic: a replay must decide the same. */
  filter?: (record: ConsumedRecord) => boolean;
  /**
   * Percent (0 < p <= 100) of records forwarded, chosen by a hash of the key, so all records of a key go or
   * all stay, and a replay after a restart chooses the same ones. Records without a key hash their value.
   */
  samplePercent?: number;
}

/** A policy for the source topics whose names match `topics`; the first matching rule applies. */
export interface PolicyRule {
  topics: RegExp;
  policy: TopicPolicy;
}

/** A filter as a config file can say it: a field of the JSON value, or a pattern on the UTF-8 key. */
export type FilterSpec =
  | { jsonField: string; equals: string | number | boolean }
  | { jsonField: string; in: Array<string | number | boolean> }
  | { keyPattern: string };

export function compileFilter(spec: FilterSpec): (record: ConsumedRecord) => boolean {
  if ('keyPattern' in spec) {
    const pattern = new RegExp(spec.keyPattern);
    return (record) => record.key !== null && pattern.test(record.key.toString('utf8'));
  }
  const accepted = new Set('in' in spec ? spec.in : [spec.equals]);
  const path = spec.jsonField.split('.');
  return (record) => {
    if (record.value === null) return false;
    let node: unknown;
    try {
      node = JSON.parse(record.value.toString('utf8'));
    } catch {
      // A value that is not JSON has no such field.
      return false;
    }
    for (const step of path) {
      if (typeof node !== 'object' || node === null) return false;
      node = (node as Record<string, unknown>)[step];
    }
    return (
      (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') &&
      accepted.has(node)
    );
  };
}

/** 32-bit FNV-1a: fast, stable across processes and versions, good enough spread for sampling. */
export function fnv1a(bytes: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i += 1) {
    hash ^= bytes[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const SAMPLE_BUCKETS = 10_000;

export function sampled(record: ConsumedRecord, samplePercent: number): boolean {
  if (samplePercent >= 100) return true;
  const bytes = record.key ?? record.value ?? Buffer.alloc(0);
  return fnv1a(bytes) % SAMPLE_BUCKETS < Math.round(samplePercent * (SAMPLE_BUCKETS / 100));
}

export function checkPolicy(policy: TopicPolicy, where: string): void {
  const { samplePercent } = policy;
  if (samplePercent !== undefined && !(samplePercent > 0 && samplePercent <= 100)) {
    throw new MirrorError(
      'INVALID_OPTIONS',
      `${where}: samplePercent=${samplePercent} is invalid: expected 0 < samplePercent <= 100`,
    );
  }
}

/** Whether the policy lets the record through. */
export function admits(policy: TopicPolicy | undefined, record: ConsumedRecord): boolean {
  if (!policy) return true;
  if (policy.samplePercent !== undefined && !sampled(record, policy.samplePercent)) return false;
  return policy.filter === undefined || policy.filter(record);
}
