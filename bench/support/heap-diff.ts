// Which constructors grew between two V8 heap snapshots (the .heapsnapshot JSON written by
// `--heapsnapshot-signal` or `v8.writeHeapSnapshot`): objects counted and their self sizes summed per
// constructor, then the two snapshots compared. Self size only: retained sizes need the dominator tree, and a
// leak shows as a constructor whose count keeps rising, which this finds.
import fs from 'node:fs';

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

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
  const tally = new Map<string, ConstructorTally>();
  for (let at = 0; at < parsed.nodes.length; at += stride) {
    const type = types[parsed.nodes[at + typeAt]!] ?? 'unknown';
    const name = parsed.strings[parsed.nodes[at + nameAt]!] ?? '';
    const key = type === 'object' ? name : type === 'closure' ? `${name}()` : `(${type})`;
    const entry = tally.get(key) ?? { count: 0, selfBytes: 0 };
    entry.count++;
    entry.selfBytes += parsed.nodes[at + sizeAt]!;
    tally.set(key, entry);
  }
  return tally;
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
