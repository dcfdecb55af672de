import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { WindowUpdate } from '../alerts/series.js';
import type { AggregateStore, AggregateWrite, WriteResult } from '../store/types.js';
import { SerdeError } from '../streams/serdes.js';
import { AggregateSink } from './aggregate-sink.js';
import { cdnStats, MIN_SAMPLES } from './cdn-stats.js';
import { type Measurement, measurementOf, telemetrySerde } from './measurement.js';

const tcp = (retransmits: number, segmentsOut: number, rttMs = 20): Measurement =>
  measurementOf({
    type: 'tcp_stats',
    ts: 1,
    site: 'fra1',
    edge: 'edge-001',
    stream: 's',
    conn: 'c',
    intervalMs: 1000,
    segmentsOut,
    retransmits,
    bytesSent: 1,
    rttMs,
    rttVarMs: 1,
    cwnd: 10,
    deliveryRateKbps: 1,
  });

const segment = (downloadMs: number, httpStatus: number, session: string): Measurement =>
  measurementOf({
    type: 'segment',
    ts: 1,
    site: 'fra1',
    edge: 'edge-001',
    stream: 's',
    session,
    downloadMs,
    httpStatus,
    bytes: 1,
    cmcd: { br: 3500, bl: 1, mtp: 1, ot: 'v', sid: session, cid: 's', su: false, d: 2000 },
  });

describe('CDN window statistics', () => {
  it('computes shares, percentiles and distinct sessions, and holds back ratios until enough samples', () => {
    const stats = cdnStats(10_000);
    let acc = stats.init();
    acc = stats.add(acc, tcp(10, 500));
    assert.equal(stats.result(acc).values.retransmit_pct, null, 'below the minimum segments sent');
    acc = stats.add(acc, tcp(20, MIN_SAMPLES.segmentsOut));
    for (let i = 0; i < 100; i++) acc = stats.add(acc, segment(100 + i, i < 10 ? 503 : 200, `s${i % 7}`));
    const { site, values } = stats.result(acc);
    assert.equal(site, 'fra1');
    assert.equal(values.retransmits, 30);
    assert.equal(values.retransmits_per_sec, 3);
    assert.equal(values.retransmit_pct, (100 * 30) / 1500);
    assert.equal(values.rtt_avg_ms, 20);
    assert.equal(values.error_pct, 10);
    assert.equal(values.segments, 100);
    assert.equal(values.active_sessions, 7);
    assert.ok(Math.abs(values.download_p50_ms! - 149) <= 2, `p50 ${values.download_p50_ms}`);
    assert.ok(Math.abs(values.download_p99_ms! - 198) <= 3, `p99 ${values.download_p99_ms}`);
    assert.equal(values.rebuffer_pct, 0);
  });

  it('merges accumulators into the same result as adding everything to one', () => {
    const stats = cdnStats(1_000);
    const all = [tcp(5, 800), tcp(7, 900), segment(300, 200, 'a'), segment(400, 502, 'b')];
    const one = all.reduce((acc, m) => stats.add(acc, m), stats.init());
    const left = all.slice(0, 2).reduce((acc, m) => stats.add(acc, m), stats.init());
    const right = all.slice(2).reduce((acc, m) => stats.add(acc, m), stats.init());
    assert.deepEqual(stats.result(stats.merge(left, right)), stats.result(one));
  });
});

describe('telemetry decoding', () => {
  it('turns a record that is not telemetry into a SerdeError (dead letter), naming the field', () => {
    assert.throws(
      () => telemetrySerde.deserialize(Buffer.from('{"type":"tcp_stats","ts":"x"}')),
      (error) => {
        assert.ok(error instanceof SerdeError);
        assert.match(error.message, /'ts' must be a finite number/);
        return true;
      },
    );
    assert.throws(() => telemetrySerde.deserialize(Buffer.from('not json')), SerdeError);
  });

  it('keeps presence of unknown event types without inventing numbers', () => {
    const m = measurementOf({ type: 'future_event', ts: 5, site: 'a', edge: 'e', session: 'x' });
    assert.deepEqual([m.segmentsOut, m.downloadMs, m.session], [0, null, 'x']);
  });
});

class FakeStore {
  readonly writes: AggregateWrite[][] = [];
  async writeAggregates(rows: readonly AggregateWrite[]): Promise<WriteResult> {
    this.writes.push([...rows]);
    return { written: rows.length, ignoredAfterFinal: 0, ignoredTooOld: 0 };
  }
}

const update = (windowStart: number, retransmits: number, final: boolean): WindowUpdate => ({
  metric: 'edge_10s',
  dimensions: { site: 'fra1', edge: 'edge-001' },
  windowStart,
  windowEnd: windowStart + 10_000,
  values: { retransmits, retransmit_pct: null },
  final,
  eventTime: windowStart,
});

describe('aggregate sink', () => {
  it('writes the latest result per window, keeps a final over later early ones, and leaves out nulls', async () => {
    const store = new FakeStore();
    const sink = new AggregateSink({
      store: store as unknown as AggregateStore,
      logger: pino({ level: 'silent' }),
    });
    sink.accept(update(0, 1, false));
    sink.accept(update(0, 2, false));
    sink.accept(update(0, 3, true));
    sink.accept(update(0, 4, false));
    sink.accept(update(10_000, 5, false));
    await sink.close();
    assert.deepEqual(
      store.writes.flat().map((row) => [row.windowStartMs, row.values, row.final]),
      [
        [0, { retransmits: 3 }, true],
        [10_000, { retransmits: 5 }, false],
      ],
    );
  });

  it('counts a failing store and keeps accepting', async () => {
    const failing = {
      writeAggregates: async () => {
        throw new Error('disk full');
      },
    };
    const sink = new AggregateSink({
      store: failing as unknown as AggregateStore,
      logger: pino({ level: 'silent' }),
    });
    sink.accept(update(0, 1, false));
    await sink.flush();
    sink.accept(update(10_000, 1, false));
    await sink.close();
    assert.equal(sink.stats().writeFailures, 2);
  });
});
