import {
  type ApiSchema,
  type FieldSpec,
  inRange,
  isFlexible,
  type Primitive,
  parseVersions,
  type VersionRange,
  writeInt64,
} from '../../../src/protocol/index.js';
import type { FrameNode } from './frame-tree.js';
import { validRecordBatch } from './record-batches.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * Walks an API's request schema (src/protocol/apis/*.ts) and builds a valid request of one version as a
 * frame tree: header v1 or v2, every field of that version, tagged fields in flexible versions. Values are
 * drawn from small pools (a few topics, groups, members) so valid frames reach the handlers' real paths and
 * the broker's state stays bounded: the fuzzer is after protocol faults, not after filling the disk.
 */

/** Topics the fuzzer produces to, fetches from, creates and deletes; a health check must use none of them. */
export const FUZZ_TOPICS: readonly string[] = ['fuzz', 'fuzz-2', 'fuzz-compact', 'fuzz-new'];
const GROUPS = ['fuzz-group', 'fuzz-group-2'];
const MEMBERS = ['', 'fuzz-member'];
const CONFIG_ENTRIES: Array<[string, string]> = [
  ['cleanup.policy', 'compact'],
  ['cleanup.policy', 'delete'],
  ['retention.ms', '60000'],
  ['max.message.bytes', '1000'],
  ['no.such.key', 'x'],
];
/** A fixed clock: timestamps must not depend on when a frame is rebuilt from its seed. */
const BASE_TIMESTAMP_MS = 1_764_000_000_000;
const MAX_ARRAY_ELEMENTS = 3;
/** Arrays a single-node broker refuses outright when they are not empty (manual replica assignment). */
const MOSTLY_EMPTY = new Set(['assignments', 'forgottenTopicsData']);

interface FieldVersions {
  versions: VersionRange;
  nullable: VersionRange;
  tagged: VersionRange;
}

const parsed = new WeakMap<FieldSpec, FieldVersions>();

function versionsOf(field: FieldSpec): FieldVersions {
  let result = parsed.get(field);
  if (!result) {
    result = {
      versions: parseVersions(field.versions),
      nullable: parseVersions(field.nullableVersions),
      tagged: parseVersions(field.taggedVersions),
    };
    parsed.set(field, result);
  }
  return result;
}

interface Walk {
  rng: SeededRandom;
  version: number;
  flexible: boolean;
}

function fixed(path: string, size: number, write: (buf: Buffer) => void): FrameNode {
  const bytes = Buffer.alloc(size);
  write(bytes);
  return { kind: 'fixed', path, bytes };
}

/** An integer for a field, chosen by its name so that valid frames mean something to the broker. */
function integerFor(name: string, rng: SeededRandom): number {
  switch (name) {
    case 'partition':
    case 'partitionIndex':
    case 'partitionIndexes':
    case 'partitions':
    case 'index':
      return rng.chance(0.1) ? -1 : rng.below(3);
    case 'acks':
      return rng.pick([1, 1, -1, 0]);
    case 'timeoutMs':
    case 'rebalanceTimeoutMs':
    case 'transactionTimeoutMs':
      return rng.below(500);
    case 'maxWaitMs':
      // A long poll holds its connection: short waits keep the fuzzer's connections busy with new frames.
      return rng.pick([0, 0, 10, 100]);
    case 'sessionTimeoutMs':
      return rng.pick([6_000, 10_000]);
    case 'maxBytes':
    case 'partitionMaxBytes':
      return rng.pick([1 << 20, 1024, 0]);
    case 'numPartitions':
      return rng.pick([-1, 1, 2]);
    case 'replicationFactor':
      return rng.pick([-1, 1]);
    case 'timestamp':
      return rng.pick([-1, -2, -3, BASE_TIMESTAMP_MS + rng.below(10_000)]);
    case 'resourceType':
      return rng.pick([2, 4]);
    case 'replicaId':
    case 'producerId':
    case 'producerEpoch':
    case 'sessionEpoch':
    case 'currentLeaderEpoch':
    case 'lastFetchedEpoch':
    case 'committedLeaderEpoch':
      return -1;
    default:
      return rng.chance(0.1) ? -1 : rng.below(4);
  }
}

function stringFor(name: string, path: string, rng: SeededRandom): string {
  // CreateTopics configs: a key and a value from a few pairs, not always matching.
  if (/configs\[\d+\]\.(name|value)$/.test(path)) return rng.pick(CONFIG_ENTRIES)[name === 'name' ? 0 : 1];
  switch (name) {
    case 'name':
    case 'topic':
    case 'topicNames':
    case 'resourceName':
      return rng.pick(FUZZ_TOPICS);
    case 'groupId':
    case 'key':
    case 'coordinatorKeys':
    case 'groups':
      return rng.pick(GROUPS);
    case 'memberId':
      return rng.pick(MEMBERS);
    case 'protocolType':
      return 'consumer';
    case 'protocolName':
      return 'range';
    default:
      return Array.from({ length: rng.below(12) }, () => String.fromCharCode(97 + rng.below(26))).join('');
  }
}

function primitive(type: Primitive, name: string, path: string, nullable: boolean, walk: Walk): FrameNode {
  const { rng, flexible } = walk;
  switch (type) {
    case 'bool':
      return fixed(path, 1, (b) => b.writeInt8(rng.below(2), 0));
    case 'int8':
      return fixed(path, 1, (b) => b.writeInt8(integerFor(name, rng), 0));
    case 'int16':
      return fixed(path, 2, (b) => b.writeInt16BE(integerFor(name, rng), 0));
    case 'uint16':
      return fixed(path, 2, (b) => b.writeUInt16BE(rng.below(4), 0));
    case 'int32':
      return fixed(path, 4, (b) => b.writeInt32BE(integerFor(name, rng), 0));
    case 'int64':
      return fixed(path, 8, (b) => writeInt64(b, 0, integerFor(name, rng)));
    case 'float64':
      return fixed(path, 8, (b) => b.writeDoubleBE(rng.next(), 0));
    case 'uuid':
      return { kind: 'fixed', path, bytes: rng.chance(0.5) ? Buffer.alloc(16) : rng.bytes(16) };
    case 'string':
      if (nullable && rng.chance(0.2)) return { kind: 'string', path, compact: flexible, value: null };
      return { kind: 'string', path, compact: flexible, value: Buffer.from(stringFor(name, path, rng)) };
    case 'bytes':
      return {
        kind: 'bytes',
        path,
        compact: flexible,
        value: nullable && rng.chance(0.2) ? null : rng.bytes(rng.below(16)),
        records: false,
      };
    case 'records':
      return { kind: 'bytes', path, compact: flexible, value: validRecordBatch(rng), records: true };
  }
}

function fieldNodes(field: FieldSpec, path: string, walk: Walk): FrameNode[] {
  const { rng, version, flexible } = walk;
  const nullable = inRange(versionsOf(field).nullable, version);
  const type = field.type;
  if (typeof type === 'string') return [primitive(type, field.name, path, nullable, walk)];
  if ('array' in type) {
    if (nullable && rng.chance(0.1)) return [{ kind: 'count', path, compact: flexible, count: null }];
    const empty = rng.chance(MOSTLY_EMPTY.has(field.name) ? 0.8 : 0.15);
    const count = empty ? 0 : 1 + rng.below(MAX_ARRAY_ELEMENTS);
    const nodes: FrameNode[] = [{ kind: 'count', path, compact: flexible, count }];
    const element = type.array;
    for (let i = 0; i < count; i++) {
      const at = `${path}[${i}]`;
      if (typeof element === 'string') nodes.push(primitive(element, field.name, at, false, walk));
      else nodes.push(...structNodes(element, at, walk));
    }
    return nodes;
  }
  if (nullable) {
    if (rng.chance(0.2)) return [fixed(`${path}?`, 1, (b) => b.writeInt8(-1, 0))];
    return [fixed(`${path}?`, 1, (b) => b.writeInt8(1, 0)), ...structNodes(type.struct, path, walk)];
  }
  return structNodes(type.struct, path, walk);
}

/** Tags no schema of ours uses: a broker must skip what it does not know. */
const UNKNOWN_TAG_BASE = 10_000;

/** The tagged section of a flexible struct: its count, then each present field's tag and sized value. */
export function taggedSection(
  path: string,
  known: Array<{ tag: number; nodes: FrameNode[] }>,
  rng: SeededRandom,
): FrameNode[] {
  const entries = [...known];
  if (rng.chance(0.1)) entries.push({ tag: UNKNOWN_TAG_BASE + rng.below(100), nodes: [] });
  entries.sort((a, b) => a.tag - b.tag);
  const nodes: FrameNode[] = [{ kind: 'uvarint', path: `${path}#tags`, value: entries.length }];
  for (const { tag, nodes: value } of entries) {
    const children: FrameNode[] =
      value.length > 0 ? value : [{ kind: 'raw', path: `${path}#${tag}`, bytes: rng.bytes(rng.below(8)) }];
    nodes.push({ kind: 'uvarint', path: `${path}#tag`, value: tag });
    nodes.push({ kind: 'sized', path: `${path}#${tag}`, children });
  }
  return nodes;
}

function structNodes(fields: FieldSpec[], path: string, walk: Walk): FrameNode[] {
  const nodes: FrameNode[] = [];
  const tagged: Array<{ tag: number; nodes: FrameNode[] }> = [];
  for (const field of fields) {
    const ranges = versionsOf(field);
    if (!inRange(ranges.versions, walk.version)) continue;
    const at = path === '' ? field.name : `${path}.${field.name}`;
    if (walk.flexible && field.tag !== undefined && inRange(ranges.tagged, walk.version)) {
      if (walk.rng.chance(0.5)) tagged.push({ tag: field.tag, nodes: fieldNodes(field, at, walk) });
      continue;
    }
    nodes.push(...fieldNodes(field, at, walk));
  }
  if (walk.flexible) nodes.push(...taggedSection(path, tagged, walk.rng));
  return nodes;
}

export const CLIENT_ID = 'edgestream-fuzz';

/** Header v1 (v2 in flexible versions: plus tagged fields) and a valid body of `version`. */
export function validRequest(
  schema: ApiSchema,
  version: number,
  correlationId: number,
  rng: SeededRandom,
): FrameNode[] {
  const flexible = isFlexible(schema, version);
  const walk: Walk = { rng, version, flexible };
  const header: FrameNode[] = [
    fixed('header.apiKey', 2, (b) => b.writeInt16BE(schema.apiKey, 0)),
    fixed('header.apiVersion', 2, (b) => b.writeInt16BE(version, 0)),
    fixed('header.correlationId', 4, (b) => b.writeInt32BE(correlationId, 0)),
    // The client id is a classic string even in header v2.
    { kind: 'string', path: 'header.clientId', compact: false, value: Buffer.from(CLIENT_ID) },
  ];
  if (flexible) header.push(...taggedSection('header', [], rng));
  return [...header, ...structNodes(schema.request, '', walk)];
}
