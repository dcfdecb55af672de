import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { WindowUpdate } from '../alerts/series.js';
import type { AggregateStore, AggregateWrite, WriteResult } from '../store/types.js';
import { SerdeError } from '../streams/serdes.js';
import { AggregateSink } from './aggregate-sink.js';
import { MIN_SAMPLES, qoeStats, tcpStats } from './cdn-stats.js';
import {
  type QoeMeasurement,
  qoeMeasurementOf,
  type TcpMeasurement,
  tcpMeasurementOf,
  tcpTelemetrySerde,
} from './measurement.js';

const tcp = (retransmits: number, segmentsOut: number, rttMs = 20): TcpMeasurement =>
  tcpMeasurementOf({
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

const segment = (downloadMs: number, httpStatus: number, session: string): QoeMeasurement =>
  qoeMeasurementOf({
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
  it('computes the retransmitted share and RTT, and holds the share back until enough segments were sent', () => {
    const stats = tcpStats(10_000);
    let acc = stats.add(stats.init(), tcp(10, 500, 10));
    assert.equal(stats.result(acc).values.retransmit_pct, null, 'below the minimum segments sent');
    acc = stats.add(acc, tcp(20, MIN_SAMPLES.segmentsOut, 30));
    const { site, values } = stats.result(acc);
    assert.equal(site, 'fra1');
    assert.deepEqual(values, {
      samples: 2,
      segments_out: 1500,
      retransmits: 30,
      retransmits_per_sec: 3,
      retransmit_pct: 2,
      rtt_avg_ms: 20,
    });
  });

  it('computes 5xx share, download percentiles, rebuffering and distinct sessions of player events', () => {
    const stats = qoeStats();
    let acc = stats.init();
    for (let i = 0; i < 99; i++) acc = stats.add(acc, segment(100 + i, i < 10 ? 503 : 200, `s${i % 7}`));
    assert.equal(stats.result(acc).values.download_p95_ms, null, 'below the minimum segments');
    acc = stats.add(acc, segment(199, 200, 's0'));
    acc = stats.add(
      acc,
      qoeMeasurementOf({
        type: 'rebuffer_end',
        ts: 1,
        site: 'fra1',
        edge: 'edge-001',
        session: 's1',
        durationMs: 50_000,
      }),
    );
    const { values } = stats.result(acc);
    assert.equal(values.events, 101);
    assert.equal(values.segments, 100);
    assert.equal(values.error_pct, 10);
    assert.equal(values.active_sessions, 7);
    assert.equal(values.rebuffer_pct, (100 * 50_000) / (50_000 + 100 * 2000));
    assert.ok(Math.abs(values.download_p50_ms! - 149) <= 2, `p50 ${values.download_p50_ms}`);
    assert.ok(Math.abs(values.download_p99_ms! - 198) <= 3, `p99 ${values.download_p99_ms}`);
  });

  it('merges accumulators into the same result as adding everything to one', () => {
    const stats = qoeStats();
    const all = [segment(300, 200, 'a'), segment(400, 502, 'b'), segment(500, 200, 'a')];
    const one = all.reduce((acc, m) => stats.add(acc, m), stats.init());
    const left = all.slice(0, 1).reduce((acc, m) => stats.add(acc, m), stats.init());
    const right = all.slice(1).reduce((acc, m) => stats.add(acc, m), stats.init());
    assert.deepEqual(stats.result(stats.merge(left, right)), stats.result(one));
  });
});

describe('telemetry decoding', () => {
  it('turns a record that is not telemetry into a SerdeError (dead letter), naming the field', () => {
    assert.throws(
      () => tcpTelemetrySerde.deserialize(Buffer.from('{"type":"tcp_stats","ts":"x"}')),
      (error) => {
        assert.ok(error instanceof SerdeError);
        assert.match(error.message, /'ts' must be a finite number/);
        return true;
      },
    );
    assert.throws(() => tcpTelemetrySerde.deserialize(Buffer.from('not json')), SerdeError);
    assert.throws(
      () => tcpTelemetrySerde.deserialize(Buffer.from('{"type":"segment"}')),
      /expected a tcp_stats/,
    );
  });

  it('keeps presence of unknown player event types without inventing numbers', () => {
    const m = qoeMeasurementOf({ type: 'future_event', ts: 5, site: 'a', edge: 'e', session: 'x' });
    assert.deepEqual([m.downloadMs, m.videoMs, m.session], [null, 0, 'x']);
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
