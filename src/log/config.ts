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
}

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
});

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
