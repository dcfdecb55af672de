import {
  type Decoded,
  decodeVersioned,
  defineFields,
  encodeVersioned,
  ProtocolError,
  versionOf,
} from '../protocol/index.js';

/*
 * The records of __consumer_offsets in Kafka's own format (its group coordinator's OffsetCommitKey/Value and
 * GroupMetadataKey/Value), so tools that read the topic (lag monitors, Kafka's own readers) decode ours.
 * A key starts with its version, which also says what the record is: 0 and 1 an offset commit, 2 a group.
 */

const OFFSET_KEY_VERSION = 1;
const GROUP_KEY_VERSION = 2;
/** v3 carries the leader epoch; v1 (with an expire timestamp) is what Kafka writes only for v1 commits. */
const OFFSET_VALUE_VERSION = 3;
/** v3 carries each member's group instance id. */
const GROUP_VALUE_VERSION = 3;
/** KIP-915: value v4+ are flexible. */
const VALUES_FLEXIBLE_FROM = 4;
const KEYS_NEVER_FLEXIBLE = Number.POSITIVE_INFINITY;

const offsetCommitKey = defineFields([
  { name: 'group', type: 'string', versions: '0-1' },
  { name: 'topic', type: 'string', versions: '0-1' },
  { name: 'partition', type: 'int32', versions: '0-1' },
]);

const offsetCommitValue = defineFields([
  { name: 'offset', type: 'int64', versions: '0+' },
  { name: 'leaderEpoch', type: 'int32', versions: '3+', default: -1 },
  { name: 'metadata', type: 'string', versions: '0+' },
  { name: 'commitTimestamp', type: 'int64', versions: '0+' },
  { name: 'expireTimestamp', type: 'int64', versions: '1', default: -1 },
]);

const groupMetadataKey = defineFields([{ name: 'group', type: 'string', versions: '2' }]);

const groupMetadataValue = defineFields([
  { name: 'protocolType', type: 'string', versions: '0+' },
  { name: 'generation', type: 'int32', versions: '0+' },
  { name: 'protocol', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'leader', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'currentStateTimestamp', type: 'int64', versions: '2+', default: -1 },
  {
    name: 'members',
    versions: '0+',
    type: {
      array: [
        { name: 'memberId', type: 'string', versions: '0+' },
        { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
        { name: 'clientId', type: 'string', versions: '0+' },
        { name: 'clientHost', type: 'string', versions: '0+' },
        { name: 'rebalanceTimeout', type: 'int32', versions: '1+', default: -1 },
        { name: 'sessionTimeout', type: 'int32', versions: '0+' },
        { name: 'subscription', type: 'bytes', versions: '0+' },
        { name: 'assignment', type: 'bytes', versions: '0+' },
      ],
    },
  },
]);

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  /** Kafka keeps no null metadata: a commit without any stores ''. */
  metadata: string;
  commitTimestamp: number;
}

/** A group as its GroupMetadata record holds it: written when a generation completes or the group empties. */
export type StoredGroup = Decoded<typeof groupMetadataValue>;

/** One record of the offsets topic; a null value is a tombstone. */
export type OffsetsTopicRecord =
  | { kind: 'offset'; group: string; topic: string; partition: number; value: CommittedOffset | null }
  | { kind: 'group'; group: string; value: StoredGroup | null }
  /** A record this store did not write: another key version, or bytes that are not a record of ours. */
  | { kind: 'unknown'; reason: string };

export function offsetKey(group: string, topic: string, partition: number): Buffer {
  return encodeVersioned(offsetCommitKey, OFFSET_KEY_VERSION, KEYS_NEVER_FLEXIBLE, {
    group,
    topic,
    partition,
  });
}

export function offsetValue(value: CommittedOffset): Buffer {
  return encodeVersioned(offsetCommitValue, OFFSET_VALUE_VERSION, VALUES_FLEXIBLE_FROM, value);
}

export function groupKey(group: string): Buffer {
  return encodeVersioned(groupMetadataKey, GROUP_KEY_VERSION, KEYS_NEVER_FLEXIBLE, { group });
}

export function groupValue(value: StoredGroup): Buffer {
  return encodeVersioned(groupMetadataValue, GROUP_VALUE_VERSION, VALUES_FLEXIBLE_FROM, value);
}

/** First byte of the keys of the JSON format the store wrote before Kafka's ('[group, topic, partition]'). */
const LEGACY_KEY_START = 0x5b;

/**
 * The store's record at `key`/`value`. Before Kafka's format the store wrote JSON keys and values: those
 * are read too (`legacy`), so a data directory from before is migrated by rewriting what it holds.
 */
export function decodeOffsetsTopicRecord(
  key: Buffer | null,
  value: Buffer | null,
): OffsetsTopicRecord & { legacy: boolean } {
  if (key === null) return { kind: 'unknown', reason: 'a record without a key', legacy: false };
  try {
    if (key[0] === LEGACY_KEY_START) return { ...decodeLegacy(key, value), legacy: true };
    const version = versionOf(key);
    if (version === 0 || version === OFFSET_KEY_VERSION) {
      const k = decodeVersioned(offsetCommitKey, key, KEYS_NEVER_FLEXIBLE);
      const v = value === null ? null : decodeVersioned(offsetCommitValue, value, VALUES_FLEXIBLE_FROM);
      return {
        kind: 'offset',
        group: k.group,
        topic: k.topic,
        partition: k.partition,
        value: v && {
          offset: v.offset,
          leaderEpoch: v.leaderEpoch,
          metadata: v.metadata,
          commitTimestamp: v.commitTimestamp,
        },
        legacy: false,
      };
    }
    if (version === GROUP_KEY_VERSION) {
      const { group } = decodeVersioned(groupMetadataKey, key, KEYS_NEVER_FLEXIBLE);
      const v = value === null ? null : decodeVersioned(groupMetadataValue, value, VALUES_FLEXIBLE_FROM);
      return { kind: 'group', group, value: v, legacy: false };
    }
    return { kind: 'unknown', reason: `key version ${version}`, legacy: false };
  } catch (error) {
    if (!(error instanceof ProtocolError || error instanceof SyntaxError)) throw error;
    return { kind: 'unknown', reason: error.message, legacy: false };
  }
}

function decodeLegacy(key: Buffer, value: Buffer | null): OffsetsTopicRecord {
  const parsed: unknown = JSON.parse(key.toString());
  if (
    !Array.isArray(parsed) ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    typeof parsed[2] !== 'number'
  ) {
    return { kind: 'unknown', reason: 'a JSON key that is not [group, topic, partition]' };
  }
  const [group, topic, partition] = parsed;
  if (value === null) return { kind: 'offset', group, topic, partition, value: null };
  const v: unknown = JSON.parse(value.toString());
  if (typeof v !== 'object' || v === null)
    return { kind: 'unknown', reason: 'a JSON value that is not an object' };
  const field = (name: string): unknown => (name in v ? Reflect.get(v, name) : undefined);
  const offset = field('offset');
  if (typeof offset !== 'number') return { kind: 'unknown', reason: 'a JSON value without an offset' };
  const leaderEpoch = field('leaderEpoch');
  const metadata = field('metadata');
  const commitTimestamp = field('commitTimestamp');
  return {
    kind: 'offset',
    group,
    topic,
    partition,
    value: {
      offset,
      leaderEpoch: typeof leaderEpoch === 'number' ? leaderEpoch : -1,
      metadata: typeof metadata === 'string' ? metadata : '',
      commitTimestamp: typeof commitTimestamp === 'number' ? commitTimestamp : 0,
    },
  };
}
