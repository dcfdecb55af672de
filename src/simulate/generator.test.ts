import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type GeneratedEvent, type GeneratorOptions, TelemetryGenerator } from './generator.js';
import type { SegmentEvent, TcpStatsEvent } from './telemetry.js';

const START_MS = 1_700_000_000_000;

function generate(overrides: Partial<GeneratorOptions> = {}, slices = 200): GeneratedEvent[] {
  const generator = new TelemetryGenerator({
    seed: 42,
    startMs: START_MS,
    ratePerSec: 5_000,
    edges: 12,
    sites: 3,
    sliceMs: 50,
    faults: [],
    sessionsPerEdge: 50,
    ...overrides,
  });
  const events: GeneratedEvent[] = [];
  for (let i = 0; i < slices; i++) events.push(...generator.nextSlice().events);
  return events;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

describe('TelemetryGenerator', () => {
  it('gives identical events for the same seed and different events for another seed', () => {
    const first = JSON.stringify(generate());
    assert.equal(JSON.stringify(generate()), first);
    assert.notEqual(JSON.stringify(generate({ seed: 43 })), first);
  });

  it('emits exactly the target rate per second of event time', () => {
    const events = generate({ ratePerSec: 3_333 }, 20 * 3);
    assert.equal(events.length, 3 * 3_333);
  });

  it('spreads events over every edge, site and both topics', () => {
    const events = generate();
    assert.equal(new Set(events.map((e) => e.edge)).size, 12);
    assert.deepEqual([...new Set(events.map((e) => e.event.site))].sort(), ['ams1', 'fra1', 'lhr1']);
    const tcpShare = events.filter((e) => e.topic === 'cdn.tcp').length / events.length;
    assert.ok(tcpShare > 0.37 && tcpShare < 0.43, `tcp share ${tcpShare}`);
    for (const { edge, event } of events) assert.equal(event.edge, edge);
    const types = new Set(events.map((e) => e.event.type));
    for (const type of [
      'tcp_stats',
      'session_start',
      'segment',
      'bitrate_switch',
      'rebuffer_start',
      'rebuffer_end',
    ]) {
      assert.ok(types.has(type as never), `no ${type} event`);
    }
  });

  it('draws TCP and QoE values from sane distributions', () => {
    const events = generate({}, 400);
    const tcp = events.filter((e) => e.event.type === 'tcp_stats').map((e) => e.event as TcpStatsEvent);
    const rtts = tcp.map((e) => e.rttMs);
    assert.ok(quantile(rtts, 0.5) > 10 && quantile(rtts, 0.5) < 50, `median RTT ${quantile(rtts, 0.5)}`);
    // Log-normal: a long right tail, nothing below a millisecond.
    assert.ok(quantile(rtts, 0.99) > 1.8 * quantile(rtts, 0.5));
    assert.ok(Math.min(...rtts) >= 1);
    const retransmitRate =
      tcp.reduce((n, e) => n + e.retransmits, 0) / tcp.reduce((n, e) => n + e.segmentsOut, 0);
    assert.ok(retransmitRate > 0.001 && retransmitRate < 0.004, `retransmit rate ${retransmitRate}`);
    for (const e of tcp) {
      assert.ok(e.retransmits <= e.segmentsOut && e.cwnd >= 2 && e.bytesSent > 0);
    }
    const segments = events.filter((e) => e.event.type === 'segment').map((e) => e.event as SegmentEvent);
    const downloads = segments.map((e) => e.downloadMs);
    assert.ok(
      quantile(downloads, 0.5) > 50 && quantile(downloads, 0.5) < 1_000,
      `p50 ${quantile(downloads, 0.5)}`,
    );
    assert.ok(quantile(downloads, 0.99) < 4_000, `p99 ${quantile(downloads, 0.99)}`);
    const errorRate = segments.filter((e) => e.httpStatus >= 500).length / segments.length;
    assert.ok(errorRate < 0.005, `error rate ${errorRate}`);
    for (const e of segments) {
      assert.equal(e.cmcd.sid, e.session);
      assert.equal(e.cmcd.cid, `live/${e.stream}`);
      assert.ok(['v', 'a'].includes(e.cmcd.ot) && e.cmcd.br > 0 && e.cmcd.mtp > 0 && e.cmcd.bl >= 0);
    }
  });

  it('stamps a small fraction of events late, never more than maxLatenessMs behind the newest before them', () => {
    const maxLatenessMs = 1_500;
    const events = generate({ lateFraction: 0.02, maxLatenessMs }, 400);
    let newest = 0;
    let outOfOrder = 0;
    let worstMs = 0;
    for (const { event, late } of events) {
      if (event.ts < newest) {
        assert.ok(late, 'only events marked late are out of order');
        outOfOrder++;
        worstMs = Math.max(worstMs, newest - event.ts);
      }
      newest = Math.max(newest, event.ts);
    }
    const fraction = outOfOrder / events.length;
    assert.ok(fraction > 0.01 && fraction < 0.03, `out-of-order fraction ${fraction}`);
    assert.ok(worstMs <= maxLatenessMs, `lateness ${worstMs} ms`);
    assert.ok(worstMs > maxLatenessMs / 2, 'lateness spans its bound');
    assert.ok(events.every((e) => e.event.ts >= START_MS));
  });

  it('emits events in order when lateFraction is 0', () => {
    const events = generate({ lateFraction: 0 });
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.event.ts >= events[i - 1]!.event.ts);
  });

  it('rejects options beyond their limits', () => {
    assert.throws(() => generate({ ratePerSec: 0 }), /ratePerSec must be an integer in \[1, 2000000\]/);
    assert.throws(() => generate({ sites: 13 }), /sites must be an integer in \[1, 12\]/);
    assert.throws(() => generate({ sliceMs: 5_000 }), /sliceMs/);
    assert.throws(() => generate({ lateFraction: 2 }), /lateFraction must be in \[0, 1\]/);
  });
});
