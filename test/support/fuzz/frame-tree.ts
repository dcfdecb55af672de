import { unsignedVarintSize, writeUnsignedVarint } from '../../../src/protocol/index.js';

/**
 * A request frame as the fields it was built from, so a mutation can aim at one field (a string, an array
 * count, a varint, the records of a partition) and every length around it is recomputed when the frame is
 * serialized, unless the mutation means a length to lie.
 */
export type FrameNode =
  /** int8..int64, bool, uuid: bytes as they go on the wire. */
  | { kind: 'fixed'; path: string; bytes: Buffer }
  /** int16 length (classic) or uvarint length + 1 (compact), then the bytes; null is -1 / 0. */
  | { kind: 'string'; path: string; compact: boolean; value: Buffer | null }
  /** int32 length (classic) or uvarint length + 1 (compact), then the bytes; `records` marks RecordBatch data. */
  | { kind: 'bytes'; path: string; compact: boolean; value: Buffer | null; records: boolean }
  /** An array's element count: int32 (classic) or uvarint count + 1 (compact); null is a null array. */
  | { kind: 'count'; path: string; compact: boolean; count: number | null }
  /** Tagged-field counts and tags. */
  | { kind: 'uvarint'; path: string; value: number }
  /** A tagged field's value: its size as a uvarint, then the children. */
  | { kind: 'sized'; path: string; children: FrameNode[] }
  /** Bytes a mutation put in place of a field. */
  | { kind: 'raw'; path: string; bytes: Buffer };

/** A node, and the place it occupies: `parent[index]`. */
export interface NodeSlot {
  node: FrameNode;
  parent: FrameNode[];
  index: number;
}

/** Every node in wire order, nested ones included. */
export function slotsOf(nodes: FrameNode[]): NodeSlot[] {
  const slots: NodeSlot[] = [];
  const walk = (list: FrameNode[]) => {
    list.forEach((node, index) => {
      slots.push({ node, parent: list, index });
      if (node.kind === 'sized') walk(node.children);
    });
  };
  walk(nodes);
  return slots;
}

function int16(value: number): Buffer {
  const out = Buffer.allocUnsafe(2);
  out.writeInt16BE(value, 0);
  return out;
}

function int32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeInt32BE(value, 0);
  return out;
}

export function uvarint(value: number): Buffer {
  const out = Buffer.allocUnsafe(unsignedVarintSize(value));
  writeUnsignedVarint(out, 0, value);
  return out;
}

/** Classic lengths that do not fit their int16/int32 field wrap as they would in a careless client. */
function lengthPrefix(length: number | null, compact: boolean, classic: (n: number) => Buffer): Buffer {
  if (compact) return uvarint(length === null ? 0 : length + 1);
  return classic(length === null ? -1 : length);
}

/** The node's bytes, nested sizes included; a sized node's prefix is computed from its children. */
function encodeNode(node: FrameNode, out: Buffer[]): void {
  switch (node.kind) {
    case 'fixed':
    case 'raw':
      out.push(node.bytes);
      return;
    case 'string':
      out.push(lengthPrefix(node.value?.length ?? null, node.compact, (n) => int16((n << 16) >> 16)));
      if (node.value) out.push(node.value);
      return;
    case 'bytes':
      out.push(lengthPrefix(node.value?.length ?? null, node.compact, int32));
      if (node.value) out.push(node.value);
      return;
    case 'count':
      out.push(lengthPrefix(node.count, node.compact, (n) => int32(n | 0)));
      return;
    case 'uvarint':
      out.push(uvarint(node.value));
      return;
    case 'sized': {
      const inner: Buffer[] = [];
      for (const child of node.children) encodeNode(child, inner);
      out.push(uvarint(inner.reduce((sum, chunk) => sum + chunk.length, 0)), ...inner);
      return;
    }
  }
}

export interface SerializedFrame {
  /** The whole frame, int32 size prefix included. */
  bytes: Buffer;
  /** Where each node starts in `bytes`. */
  starts: Map<FrameNode, number>;
  /** Offsets in `bytes` where a field starts or ends: the places a frame can be cut between fields. */
  boundaries: number[];
}

/** Writes the nodes after an int32 size prefix that tells the truth. */
export function serialize(nodes: FrameNode[]): SerializedFrame {
  const chunks: Buffer[] = [Buffer.alloc(4)];
  const starts = new Map<FrameNode, number>();
  const boundaries = new Set<number>();
  let at = 4;
  const write = (list: FrameNode[]) => {
    for (const node of list) {
      starts.set(node, at);
      boundaries.add(at);
      if (node.kind === 'sized') {
        const inner: Buffer[] = [];
        for (const child of node.children) encodeNode(child, inner);
        const prefix = uvarint(inner.reduce((sum, chunk) => sum + chunk.length, 0));
        chunks.push(prefix);
        at += prefix.length;
        write(node.children);
      } else {
        const before = chunks.length;
        encodeNode(node, chunks);
        for (let i = before; i < chunks.length; i++) at += chunks[i]!.length;
      }
      boundaries.add(at);
    }
  };
  write(nodes);
  const bytes = Buffer.concat(chunks, at);
  bytes.writeInt32BE(at - 4, 0);
  return { bytes, starts, boundaries: [...boundaries].sort((a, b) => a - b) };
}
