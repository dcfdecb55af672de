import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combine, count, sum } from './aggregations.js';
import {
  mergingPartials,
  type Partial,
  PartialStore,
  partialSerde,
  preAggregateSettings,
} from './pre-aggregate.js';
import { json } from './serdes.js';
import type { StreamRecord } from './topology.js';
import { hopping, tumbling } from './windows.js';

interface Reading {
  edge: string;
  bytes: number;
}

const totals = () => combine({ n: count<Reading>(), bytes: sum<Reading>((r) => r.bytes) });

function store(options: { maxRecords?: number; maxEntries?: number } = {}) {
  const settings = preAggregateSettings<Reading>({ name: 'partials', bucket: '1s', ...options });
  return new PartialStore<Reading, Record<string, unknown>>(
    'partials',
    totals(),
    (reading, site) => `${site}/${reading.edge}`,
    settings,
  );
}

/** What the store forwards, as `recordKey key@timestamp n bytes`. */
function collector(): { lines: string[]; forward: (record: StreamRecord<unknown>) => void } {
  const lines: string[] = [];
  return {
    lines,
    forward: (record) => {
      const { key, records, accumulator } = record.value as Partial<{ n: number; bytes: number }>;
      lines.push(`${record.key} ${key}@${record.timestamp} ${records} ${accumulator.n} ${accumulator.bytes}`);
    },
  };
}

describe('pre-aggregation', () => {
  it('sends open partials in (bucket, key) order once the watermark passes the next 100 ms after they opened', () => {
    const partials = store();
    const { lines, forward } = collector();
    partials.add('ams', { edge: 'b', bytes: 1 }, 10_050, 9_020, forward);
    partials.add('ams', { edge: 'a', bytes: 2 }, 10_070, 9_020, forward);
    partials.add('ams', { edge: 'b', bytes: 4 }, 9_990, 9_020, forward);
    partials.add('ams', { edge: 'b', bytes: 8 }, 10_060, 9_050, forward);
    partials.advance(9_099, forward);
    assert.deepEqual(lines, [], 'all opened at watermarks below 9,100');
    assert.equal(partials.size, 3);
    partials.advance(9_100, forward);
    assert.deepEqual(lines, ['ams ams/b@9990 1 1 4', 'ams ams/a@10070 1 1 2', 'ams ams/b@10060 2 2 9']);
    assert.equal(partials.size, 0);
  });

  it('sends a record whose bucket the watermark has closed at once, as a partial of one', () => {
    const partials = store();
    const { lines, forward } = collector();
    partials.add('ams', { edge: 'a', bytes: 5 }, 8_999, 9_000, forward);
    assert.deepEqual(lines, ['ams ams/a@8999 1 1 5']);
    assert.equal(partials.size, 0);
  });

  it('sends a partial at maxRecords, and all of them at maxEntries', () => {
    const partials = store({ maxRecords: 3, maxEntries: 2 });
    const { lines, forward } = collector();
    for (let i = 0; i < 3; i++) partials.add('ams', { edge: 'a', bytes: 1 }, 10_000 + i, 9_500, forward);
    assert.deepEqual(lines, ['ams ams/a@10002 3 3 3']);
    partials.add('ams', { edge: 'a', bytes: 1 }, 10_000, 9_500, forward);
    partials.add('ams', { edge: 'b', bytes: 1 }, 10_000, 9_500, forward);
    partials.add('ams', { edge: 'c', bytes: 1 }, 10_000, 9_500, forward);
    assert.deepEqual(lines.slice(1), ['ams ams/a@10000 1 1 1', 'ams ams/b@10000 1 1 1']);
    assert.equal(partials.size, 1);
  });

  it('resumes from its changelog: a restored store sends what the original sends after the checkpoint', () => {
    const input = Array.from({ length: 400 }, (_, i) => ({
      site: i % 3 === 0 ? 'fra' : 'ams',
      reading: { edge: `e${i % 4}`, bytes: i },
      eventTimeMs: 10_000 + i * 7 - (i % 5) * 40,
    }));
    const run = (partials: PartialStore<Reading, Record<string, unknown>>, from: number, to: number) => {
      const { lines, forward } = collector();
      // The task's watermark is restored with the checkpoint: the largest event time before `from`.
      let maxEventTimeMs = Math.max(...input.slice(0, from).map((record) => record.eventTimeMs));
      for (const { site, reading, eventTimeMs } of input.slice(from, to)) {
        const before = maxEventTimeMs - 200;
        partials.add(site, reading, eventTimeMs, before, forward);
        maxEventTimeMs = Math.max(maxEventTimeMs, eventTimeMs);
        if (maxEventTimeMs - 200 > before) partials.advance(maxEventTimeMs - 200, forward);
      }
      return lines;
    };
    // The changelog as a checkpoint writes it (serialised when drained), then as compaction leaves it: the
    // latest value per entry, in any order.
    const changelog = new Map<string, unknown>();
    const drain = (partials: PartialStore<Reading, Record<string, unknown>>) => {
      for (const [key, value] of partials.drainChanges())
        changelog.set(key, JSON.parse(JSON.stringify(value)));
    };
    const original = store();
    run(original, 0, 100);
    drain(original);
    run(original, 100, 150);
    drain(original);
    const after = run(original, 150, 400);

    const restored = store();
    for (const [key, value] of [...changelog].reverse()) restored.restore(key, value);
    assert.ok(restored.size > 0, 'partials were open at the checkpoint');
    assert.deepEqual(run(restored, 150, 400), after);
  });

  it('reads partials and, through the legacy decoder, records written before pre-aggregation', () => {
    const serde = partialSerde<number>('counts', (bytes) => ({
      key: bytes.toString(),
      records: 1,
      accumulator: 1,
    }));
    const partial = { key: 'ams/a', records: 4, accumulator: 4 };
    assert.deepEqual(serde.deserialize(serde.serialize(partial)), partial);
    assert.deepEqual(serde.deserialize(Buffer.from('{"edge":"a"}')), {
      key: '{"edge":"a"}',
      records: 1,
      accumulator: 1,
    });
    assert.throws(
      () => partialSerde('strict', null).deserialize(json().serialize({})),
      /unknown format byte/,
    );
  });

  it('merges partials only into windows that are whole multiples of the bucket', () => {
    const merging = mergingPartials(count<Reading>(), tumbling('10s'), 1000);
    assert.equal(
      merging.add(merging.add(merging.init(), { key: 'a', records: 3, accumulator: 3 }), {
        key: 'a',
        records: 2,
        accumulator: 2,
      }),
      5,
    );
    assert.throws(() => mergingPartials(count<Reading>(), hopping('10s', '1500ms'), 1000), /whole multiples/);
    assert.throws(() => preAggregateSettings({ name: 'p', bucket: '1s', flushEvery: '300ms' }), /divisor/);
  });
});
