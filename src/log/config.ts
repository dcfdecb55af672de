import { LogError } from './errors.js';

/** Per-topic log settings. Keys on disk and on the wire use Kafka's names (see TOPIC_CONFIG_KEYS). */
export interface TopicConfig {
  retentionMs: number;
  retentionBytes: number;
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  maxMessageBytes: number;
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
  /** 'durable': an append resolves after its bytes are fsynced (group commit). 'interval': fsync every flushMs. */
  flushPolicy: 'durable' | 'interval';
  flushMs: number;
  /** 'delete' drops old segments, 'compact' keeps the latest record per key, 'compact,delete' does both. */
  cleanupPolicy: CleanupPolicy;
  /** Records younger than this are never compacted away, so consumers that keep up see every update. */
  minCompactionLagMs: number;
  /** How long compaction keeps a tombstone (null value), so consumers that lag less see the delete. */
  deleteRetentionMs: number;
  /** Compaction runs once dirty bytes / (clean + dirty bytes) of the cleanable segments reach this. */
  minCleanableDirtyRatio: number;
}

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

interface KeySpec {
  field: keyof TopicConfig;
  doc: string;
  parse(raw: string): TopicConfig[keyof TopicConfig] | undefined;
  expected: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function integer(min: number, max: number): (raw: string) => number | undefined {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) return undefined;
    const value = Number(raw);
    return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
  };
}

function oneOf<T extends string>(...values: T[]): (raw: string) => T | undefined {
  return (raw) => values.find((value) => value === raw);
}

/** A decimal fraction between 0 and 1, both included. */
function ratio(raw: string): number | undefined {
  if (!/^\s*(?:\d+(?:\.\d*)?|\.\d+)\s*$/.test(raw)) return undefined;
  const value = Number(raw);
  return value >= 0 && value <= 1 ? value : undefined;
}

/** Kafka's list syntax: compact and/or delete, in either order, each at most once. */
function cleanupPolicy(raw: string): CleanupPolicy | undefined {
  const items = raw.split(',').map((item) => item.trim());
  const unique = new Set(items);
  if (unique.size !== items.length || ![...unique].every((item) => item === 'compact' || item === 'delete')) {
    return undefined;
  }
  if (unique.size === 2) return 'compact,delete';
  return unique.has('compact') ? 'compact' : 'delete';
}

const INT32_MAX = 2 ** 31 - 1;

export const TOPIC_CONFIG_KEYS: Record<string, KeySpec> = {
  'retention.ms': {
    field: 'retentionMs',
    doc: 'delete a segment once its newest record is older than this; -1 keeps data forever',
    parse: integer(-1, Number.MAX_SAFE_INTEGER),
    expected: 'an integer >= -1',
  },
  'retention.bytes': {
    field: 'retentionBytes',
    doc: 'delete the oldest segments while a partition is larger than this; -1 means no size limit',
    parse: integer(-1, Number.MAX_SAFE_INTEGER),
    expected: 'an integer >= -1',
  },
  'segment.bytes': {
    field: 'segmentBytes',
    doc: 'roll to a new segment file when the active one would grow past this size',
    parse: integer(1024, INT32_MAX),
    expected: `an integer between 1024 and ${INT32_MAX}`,
  },
  'segment.ms': {
    field: 'segmentMs',
    doc: 'roll to a new segment once the active one is this old, so retention can delete it',
    parse: integer(1, Number.MAX_SAFE_INTEGER),
    expected: 'an integer >= 1',
  },
  'index.interval.bytes': {
    field: 'indexIntervalBytes',
    doc: 'bytes of log between two entries of the sparse offset and time indexes',
    parse: integer(0, INT32_MAX),
    expected: 'an integer >= 0',
  },
  'max.message.bytes': {
    field: 'maxMessageBytes',
    doc: 'largest record batch accepted, in bytes',
    parse: integer(61, INT32_MAX),
    expected: `an integer between 61 and ${INT32_MAX}`,
  },
  'message.timestamp.type': {
    field: 'messageTimestampType',
    doc: 'CreateTime keeps producer timestamps; LogAppendTime stamps batches with the broker clock',
    parse: oneOf('CreateTime', 'LogAppendTime'),
    expected: 'CreateTime or LogAppendTime',
  },
  'flush.policy': {
    field: 'flushPolicy',
    doc: 'durable: acknowledge appends after fsync (group commit); interval: fsync every flush.ms',
    parse: oneOf('durable', 'interval'),
    expected: 'durable or interval',
  },
  'flush.ms': {
    field: 'flushMs',
    doc: 'fsync interval for flush.policy=interval',
    parse: integer(1, Number.MAX_SAFE_INTEGER),
    expected: 'an integer >= 1',
  },
  'cleanup.policy': {
    field: 'cleanupPolicy',
    doc: 'delete: drop segments past retention; compact: keep the latest record per key; compact,delete: both',
    parse: cleanupPolicy,
    expected: 'delete, compact, or compact,delete',
  },
  'min.compaction.lag.ms': {
    field: 'minCompactionLagMs',
    doc: 'records younger than this stay uncompacted',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
    expected: 'an integer >= 0',
  },
  'delete.retention.ms': {
    field: 'deleteRetentionMs',
    doc: 'how long compaction keeps tombstones (records with a null value)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
    expected: 'an integer >= 0',
  },
  'min.cleanable.dirty.ratio': {
    field: 'minCleanableDirtyRatio',
    doc: 'compact once this fraction of the cleanable log has not been compacted yet',
    parse: ratio,
    expected: 'a number between 0 and 1',
  },
};

export const DEFAULT_TOPIC_CONFIG: Readonly<TopicConfig> = Object.freeze({
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  indexIntervalBytes: 4096,
  maxMessageBytes: 1024 * 1024 + 12,
  messageTimestampType: 'CreateTime',
  flushPolicy: 'durable',
  flushMs: 1000,
  cleanupPolicy: 'delete',
  minCompactionLagMs: 0,
  deleteRetentionMs: DAY_MS,
  minCleanableDirtyRatio: 0.5,
});

export function compactionEnabled(config: Readonly<TopicConfig>): boolean {
  return config.cleanupPolicy !== 'delete';
}

export function deletionEnabled(config: Readonly<TopicConfig>): boolean {
  return config.cleanupPolicy !== 'compact';
}

/** Config overrides as Kafka expresses them: key -> string value. */
export type TopicConfigOverrides = Record<string, string>;

/** Validates overrides, naming the key, the value and what was expected on the first bad one. */
export function parseTopicConfig(overrides: TopicConfigOverrides, base: Readonly<TopicConfig>): TopicConfig {
  const config: TopicConfig = { ...base };
  for (const [key, raw] of Object.entries(overrides)) {
    const spec = TOPIC_CONFIG_KEYS[key];
    if (!spec) {
      throw new LogError('INVALID_CONFIG', `unknown topic config key '${key}'`);
    }
    const value = spec.parse(String(raw));
    if (value === undefined) {
      throw new LogError(
        'INVALID_CONFIG',
        `${key}=${JSON.stringify(raw)} is invalid: expected ${spec.expected}`,
      );
    }
    Object.assign(config, { [spec.field]: value });
  }
  return config;
}

/** The Kafka key/value view of a config, for describing it to clients. */
export function describeTopicConfig(
  config: Readonly<TopicConfig>,
): Array<{ key: string; value: string; doc: string }> {
  return Object.entries(TOPIC_CONFIG_KEYS).map(([key, spec]) => ({
    key,
    value: String(config[spec.field]),
    doc: spec.doc,
  }));
}
