import { writeInt64 } from '../../../src/protocol/index.js';
import { type FrameNode, type NodeSlot, type SerializedFrame, slotsOf, uvarint } from './frame-tree.js';
import { fuzzedRecords, type RecordFuzzOptions } from './record-batches.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * Structure-aware mutations. Tree mutations aim at one field of a valid request and leave every length
 * around it true, unless the lie is the point; byte mutations work on the serialized frame (cuts at field
 * boundaries, varints that never end, flips). Each returns a description for the failure report, or null
 * when the frame has nothing to aim at.
 */

/** Invalid UTF-8: 0xFF/0xFE, lone continuation bytes, overlong forms, surrogates, > U+10FFFF, cut sequences. */
export const INVALID_UTF8: readonly Buffer[] = [
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xbf, 0x80, 0xbf],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf],
  [0xf0, 0x80, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xed, 0xa0, 0xbd, 0xed, 0xb2, 0xa9],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x61, 0x00, 0x62],
].map((bytes) => Buffer.from(bytes));

const INT16_MAX = 0x7fff;
/** 0xFF read as U+FFFD is re-encoded as 3 bytes: this many of them no longer fit an int16 length. */
const FFFD_OVER_INT16 = Math.ceil((INT16_MAX + 1) / 3);
/** Over-long strings: at and over the int16 limit of classic strings, and past it in compact ones. */
const LONG_STRINGS: ReadonlyArray<{ fill: number; length: number }> = [
  { fill: 0x61, length: INT16_MAX },
  { fill: 0xff, length: FFFD_OVER_INT16 },
  { fill: 0xff, length: INT16_MAX },
  { fill: 0x61, length: INT16_MAX + 1 },
  { fill: 0x61, length: 3 * INT16_MAX },
];
/** Array counts that lie: null where not nullable, negative, huge, one more than sent. */
const LYING_COUNTS = [-1, -2, 0x7fff_ffff, -0x8000_0000, 1_000_000, 0xffff_fffe];
/** A uvarint no longer than the reader allows (5 bytes) but larger than any int32. */
const HUGE_UVARINT = 2 ** 35 - 1;

export function invalidUtf8(rng: SeededRandom, prefix: Buffer | null): { value: Buffer; what: string } {
  if (rng.chance(0.15)) {
    const length = rng.between(1, FFFD_OVER_INT16 + 100);
    return { value: Buffer.alloc(length, 0xff), what: `${length} x 0xff` };
  }
  const pattern = rng.pick(INVALID_UTF8);
  const repeat = 1 + rng.below(8);
  const kept = prefix && rng.chance(0.5) ? prefix : Buffer.alloc(0);
  const parts = [kept, ...new Array<Buffer>(repeat).fill(pattern)];
  return {
    value: Buffer.concat(parts),
    what: `${kept.length} valid bytes + ${repeat} x ${pattern.toString('hex')}`,
  };
}

export function longString(index: number): { value: Buffer; what: string } {
  const { fill, length } = LONG_STRINGS[index % LONG_STRINGS.length]!;
  return { value: Buffer.alloc(length, fill), what: `${length} x 0x${fill.toString(16)}` };
}

export function lyingCount(node: Extract<FrameNode, { kind: 'count' }>, index: number): string {
  const sent = node.count ?? 0;
  const values = [...LYING_COUNTS, sent + 1];
  const value = values[index % values.length]!;
  // Classic counts are int32: 0xfffffffe there is -2; compact ones carry it as a 5-byte uvarint.
  node.count = value === -1 && node.compact ? null : node.compact ? Math.max(value, 0) : value | 0;
  return `count ${node.count === null ? 'null' : node.count} for ${sent} elements`;
}

export interface MutationContext {
  nodes: FrameNode[];
  rng: SeededRandom;
  records: RecordFuzzOptions;
}

type TreeMutation = (context: MutationContext, slots: NodeSlot[]) => string | null;

function aim<K extends FrameNode['kind']>(
  slots: NodeSlot[],
  rng: SeededRandom,
  kind: K,
  where: (node: Extract<FrameNode, { kind: K }>) => boolean = () => true,
): { slot: NodeSlot; node: Extract<FrameNode, { kind: K }> } | null {
  const matches = slots.filter(
    (s): s is NodeSlot & { node: Extract<FrameNode, { kind: K }> } =>
      s.node.kind === kind && where(s.node as Extract<FrameNode, { kind: K }>),
  );
  if (matches.length === 0) return null;
  const slot = rng.pick(matches);
  return { slot, node: slot.node };
}

const isRecords = (node: Extract<FrameNode, { kind: 'bytes' }>) => node.records;

export const TREE_MUTATIONS: Record<string, TreeMutation> = {
  'invalid-utf8': ({ rng }, slots) => {
    const target = aim(slots, rng, 'string');
    if (!target) return null;
    const { value, what } = invalidUtf8(rng, target.node.value);
    target.node.value = value;
    return `${target.node.path}: ${what}`;
  },
  'long-string': ({ rng }, slots) => {
    const target = aim(slots, rng, 'string');
    if (!target) return null;
    const { value, what } = longString(rng.below(LONG_STRINGS.length));
    target.node.value = value;
    return `${target.node.path}: ${what}`;
  },
  'lying-string-length': ({ rng }, slots) => {
    const target = aim(slots, rng, 'string');
    if (!target) return null;
    const { node, slot } = target;
    const value = node.value ?? Buffer.alloc(0);
    // Classic: negative, one too many, the int16 maximum. Compact: null, one too many, past int32, 5-byte maximum.
    const claimed = node.compact
      ? rng.pick([-1, value.length + 1, INT16_MAX + 1, 2 ** 31, HUGE_UVARINT - 1])
      : rng.pick([-2, -0x8000, value.length + 1, INT16_MAX, -1]);
    const prefix = node.compact ? uvarint(claimed + 1) : Buffer.alloc(2);
    if (!node.compact) prefix.writeInt16BE(claimed, 0);
    slot.parent[slot.index] = { kind: 'raw', path: node.path, bytes: Buffer.concat([prefix, value]) };
    return `${node.path}: length ${claimed} for ${value.length} bytes`;
  },
  'array-count': ({ rng }, slots) => {
    const target = aim(slots, rng, 'count');
    if (!target) return null;
    return `${target.node.path}: ${lyingCount(target.node, rng.below(LYING_COUNTS.length + 1))}`;
  },
  'int-extremes': ({ rng }, slots) => {
    const target = aim(slots, rng, 'fixed', (node) => !node.path.startsWith('header.'));
    if (!target) return null;
    const { bytes, path } = target.node;
    const extremes: Record<number, () => void> = {
      1: () => bytes.writeUInt8(rng.pick([0x7f, 0x80, 0xff, 2]), 0),
      2: () => bytes.writeUInt16BE(rng.pick([0x7fff, 0x8000, 0xffff]), 0),
      4: () => bytes.writeUInt32BE(rng.pick([0x7fff_ffff, 0x8000_0000, 0xffff_ffff]), 0),
      8: () =>
        writeInt64(bytes, 0, rng.pick([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 63, -1])),
      16: () => rng.bytes(16).copy(bytes),
    };
    extremes[bytes.length]?.();
    return `${path} = 0x${bytes.toString('hex')}`;
  },
  'tagged-fields': ({ rng }, slots) => {
    const target = aim(slots, rng, 'uvarint', (node) => node.path.endsWith('#tags'));
    if (!target) return null;
    const { node, slot } = target;
    switch (rng.below(3)) {
      case 0:
        node.value = rng.pick([node.value + 1, node.value + 3, 0xffff_ffff]);
        return `${node.path}: count ${node.value}`;
      case 1: {
        const size = rng.pick([0x7fff_ffff, HUGE_UVARINT, 1000]);
        const entry = Buffer.concat([uvarint(rng.pick([0, 1, 0xffff_ffff])), uvarint(size), rng.bytes(4)]);
        node.value += 1;
        slot.parent.splice(slot.index + 1, 0, { kind: 'raw', path: `${node.path}+`, bytes: entry });
        return `${node.path}: extra field of claimed size ${size}`;
      }
      default: {
        // A known tag (0 or 1: clusterId, replicaState in Fetch) whose value is garbage.
        const entry = Buffer.concat([uvarint(rng.below(2)), uvarint(8), rng.bytes(8)]);
        node.value += 1;
        slot.parent.splice(slot.index + 1, 0, { kind: 'raw', path: `${node.path}+`, bytes: entry });
        return `${node.path}: garbage in a known tag`;
      }
    }
  },
  records: ({ rng, records }, slots) => {
    const target = aim(slots, rng, 'bytes', isRecords);
    if (!target) return null;
    const fuzzed = fuzzedRecords(rng, records);
    target.node.value = fuzzed.bytes;
    return `${target.node.path}: ${fuzzed.what}`;
  },
  header: ({ rng }, slots) => {
    const field = rng.pick(['header.apiKey', 'header.apiVersion', 'header.clientId']);
    const slot = slots.find((s) => s.node.path === field)!;
    if (slot.node.kind === 'string') {
      slot.node.value = null;
      return 'header.clientId = null';
    }
    if (slot.node.kind !== 'fixed') return null;
    const value = rng.pick([-1, 0x7fff, rng.below(80), rng.below(20)]);
    slot.node.bytes.writeInt16BE(value, 0);
    return `${field} = ${value}`;
  },
};

export interface MutatedBytes {
  bytes: Buffer;
  what: string;
  /** The frame's size prefix lies, so whatever follows on the connection would be read as part of it. */
  endsConnection: boolean;
}

type ByteMutation = (frame: SerializedFrame, rng: SeededRandom, nodes: FrameNode[]) => MutatedBytes | null;

/** A complete frame whose body stops after `length` bytes of the original. */
export function cutAt(frame: Buffer, length: number): Buffer {
  const cut = Buffer.from(frame.subarray(0, length));
  cut.writeInt32BE(length - 4, 0);
  return cut;
}

/** Nodes whose encoding starts with a uvarint in this frame. */
export function startsWithUvarint(node: FrameNode): boolean {
  switch (node.kind) {
    case 'uvarint':
    case 'sized':
      return true;
    case 'string':
    case 'bytes':
    case 'count':
      return node.compact;
    default:
      return false;
  }
}

/** The frame up to `node`, then continuation bytes (high bit set) to the end of the frame. */
export function endlessVarintAt(frame: SerializedFrame, node: FrameNode, rng: SeededRandom): Buffer {
  const at = frame.starts.get(node)!;
  const length = Math.max(1, frame.bytes.length - at, rng.below(64));
  const tail = Buffer.alloc(length);
  for (let i = 0; i < length; i++) tail[i] = 0x80 | rng.below(0x80);
  const out = Buffer.concat([frame.bytes.subarray(0, at), tail]);
  out.writeInt32BE(out.length - 4, 0);
  return out;
}

const HEADER_BYTES = 4 + 8;

export const BYTE_MUTATIONS: Record<string, ByteMutation> = {
  truncate: (frame, rng) => {
    const cuts = frame.boundaries.filter((b) => b > 4 && b < frame.bytes.length);
    if (cuts.length === 0) return null;
    const at = rng.pick(cuts);
    return {
      bytes: cutAt(frame.bytes, at),
      what: `cut at byte ${at} of ${frame.bytes.length}`,
      endsConnection: false,
    };
  },
  'endless-varint': (frame, rng, nodes) => {
    const targets = slotsOf(nodes).filter((s) => startsWithUvarint(s.node));
    if (targets.length === 0) return null;
    const { node } = rng.pick(targets);
    return {
      bytes: endlessVarintAt(frame, node, rng),
      what: `${node.path}: varint never ends`,
      endsConnection: false,
    };
  },
  'byte-flips': (frame, rng) => {
    const bytes = Buffer.from(frame.bytes);
    const flips = 1 + rng.below(4);
    for (let i = 0; i < flips; i++) bytes[4 + rng.below(bytes.length - 4)] = rng.below(256);
    return { bytes, what: `${flips} random bytes`, endsConnection: false };
  },
  'frame-size': (frame, rng) => {
    const bytes = Buffer.from(frame.bytes);
    const size = rng.pick([bytes.length, bytes.length + 100, 0x7fff_ffff, -1, -0x8000_0000, 0]);
    bytes.writeInt32BE(size, 0);
    return { bytes, what: `size prefix ${size} for ${bytes.length - 4} bytes`, endsConnection: true };
  },
  noise: (_frame, rng) => {
    const length = HEADER_BYTES + rng.below(200);
    const bytes = rng.bytes(length);
    bytes.writeInt32BE(length - 4, 0);
    return { bytes, what: `${length} random bytes`, endsConnection: false };
  },
};
