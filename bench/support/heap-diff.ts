// Which constructors grew between two V8 heap snapshots (the .heapsnapshot JSON written by
// `--heapsnapshot-signal` or `v8.writeHeapSnapshot`): objects counted and their self sizes summed per
// constructor, then the two snapshots compared. Self size only: retained sizes need the dominator tree, and a
// leak shows as a constructor whose count keeps rising, which this finds. The bytes of ArrayBuffers (typed
// arrays, Buffers) are native nodes of their own; they are tallied under the objects holding them
// (`[bytes] ArrayBuffer <- Uint32Array <- OffsetIndex`), else all of them would show as one `(native)` line.
import fs from 'node:fs';

interface SnapshotFile {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** How many holders up from an ArrayBuffer's bytes name their owner: ArrayBuffer <- typed array <- object. */
const OWNER_DEPTH = 3;

export interface ConstructorTally {
  count: number;
  selfBytes: number;
}

export interface ConstructorGrowth {
  name: string;
  countBefore: number;
  countAfter: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** Objects by constructor name; other node kinds as `(string)`, `(array)`, closures as `name()`. */
export function tallyConstructors(file: string): Map<string, ConstructorTally> {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as SnapshotFile;
  const fields = parsed.snapshot.meta.node_fields;
  const types = parsed.snapshot.meta.node_types[0];
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const stride = fields.length;
  const keyOf = (node: number): string => {
    const type = types[parsed.nodes[node * stride + typeAt]!] ?? 'unknown';
    const name = parsed.strings[parsed.nodes[node * stride + nameAt]!] ?? '';
    return type === 'object'
      ? name
      : type === 'closure'
        ? `${name}()`
        : type === 'native'
          ? name
          : `(${type})`;
  };
  const holders = retainersOf(parsed);
  const tally = new Map<string, ConstructorTally>();
  for (let node = 0; node * stride < parsed.nodes.length; node++) {
    let key = keyOf(node);
    if (key === 'system / JSArrayBufferData') key = `[bytes] ${ownerChain(node, holders, keyOf)}`;
    else if (types[parsed.nodes[node * stride + typeAt]!] === 'native') key = '(native)';
    const entry = tally.get(key) ?? { count: 0, selfBytes: 0 };
    entry.count++;
    entry.selfBytes += parsed.nodes[node * stride + sizeAt]!;
    tally.set(key, entry);
  }
  return tally;
}

/** For every node, the nodes holding it by a strong edge. */
function retainersOf(parsed: SnapshotFile): Map<number, number[]> {
  const { node_fields: nodeFields, edge_fields: edgeFields, edge_types: edgeTypes } = parsed.snapshot.meta;
  const nodeStride = nodeFields.length;
  const edgeStride = edgeFields.length;
  const edgeCountAt = nodeFields.indexOf('edge_count');
  const edgeTypeAt = edgeFields.indexOf('type');
  const toNodeAt = edgeFields.indexOf('to_node');
  const weak = edgeTypes[0].indexOf('weak');
  const holders = new Map<number, number[]>();
  let edge = 0;
  for (let node = 0; node * nodeStride < parsed.nodes.length; node++) {
    const end = edge + parsed.nodes[node * nodeStride + edgeCountAt]! * edgeStride;
    for (; edge < end; edge += edgeStride) {
      if (parsed.edges[edge + edgeTypeAt] === weak) continue;
      const to = parsed.edges[edge + toNodeAt]! / nodeStride;
      const list = holders.get(to);
      if (list) list.push(node);
      else holders.set(to, [node]);
    }
  }
  return holders;
}

/** `ArrayBuffer <- Uint32Array <- OffsetIndex`: the first holders up from `node`, V8's own nodes skipped. */
function ownerChain(node: number, holders: Map<number, number[]>, keyOf: (node: number) => string): string {
  const chain: string[] = [];
  let current = node;
  while (chain.length < OWNER_DEPTH) {
    const holder = (holders.get(current) ?? []).find((h) => !keyOf(h).startsWith('system /'));
    if (holder === undefined) break;
    chain.push(keyOf(holder));
    current = holder;
  }
  return chain.length === 0 ? '(unheld)' : chain.join(' <- ');
}

/** The `top` constructors whose self size grew most from `before` to `after`. */
export function compareSnapshots(before: string, after: string, top: number): ConstructorGrowth[] {
  const first = tallyConstructors(before);
  const second = tallyConstructors(after);
  const growth: ConstructorGrowth[] = [];
  for (const [name, later] of second) {
    const earlier = first.get(name) ?? { count: 0, selfBytes: 0 };
    growth.push({
      name,
      countBefore: earlier.count,
      countAfter: later.count,
      bytesBefore: earlier.selfBytes,
      bytesAfter: later.selfBytes,
    });
  }
  return growth.sort((a, b) => b.bytesAfter - b.bytesBefore - (a.bytesAfter - a.bytesBefore)).slice(0, top);
}

/** A markdown table of `compareSnapshots`' result. */
export function formatGrowth(growth: readonly ConstructorGrowth[]): string {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
  const lines = [
    '| constructor | count before -> after | self size before -> after | growth |',
    '|---|---|---|---|',
  ];
  for (const g of growth) {
    lines.push(
      `| ${g.name.slice(0, 60)} | ${g.countBefore} -> ${g.countAfter} | ${kb(g.bytesBefore)} -> ${kb(g.bytesAfter)} | ${kb(g.bytesAfter - g.bytesBefore)} |`,
    );
  }
  return lines.join('\n');
}
