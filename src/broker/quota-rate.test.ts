import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_THROTTLE_MS, QUOTA_SAMPLE_MS, QUOTA_WINDOW_SAMPLES, WindowedRate } from './quota-rate.js';

describe('WindowedRate', () => {
  test('a first burst is measured over (samples - 1) sample lengths, not over the ms it took', () => {
    const rate = new WindowedRate(0);
    rate.record(1100, 0);
    // 1,100 bytes over 10 s.
    assert.equal(rate.perSecond(0), 110);
    // Kafka's throttle: (110 - 100) / 100 x 10,000 ms.
    assert.equal(rate.throttleMs(100, 0), 1000);
    assert.equal(rate.throttleMs(110, 0), 0);
  });

  test('a client that waits out each throttle (KIP-219) gets about its quota', () => {
    const rate = new WindowedRate(0);
    const quota = 100_000;
    let sentSince30s = 0;
    for (let t = 0; t < 60_000; ) {
      rate.record(16_384, t);
      if (t >= 30_000) sentSince30s += 16_384;
      // The client sends its next request after its throttle, or 10 ms later.
      t += Math.max(10, rate.throttleMs(quota, t));
    }
    const achieved = sentSince30s / 30;
    // Each request is admitted before the throttle it causes (Kafka records, then throttles): a little over.
    assert.ok(achieved > quota * 0.9 && achieved < quota * 1.2, `achieved ${achieved} B/s`);
  });

  test('a steady rate under the quota is never throttled', () => {
    const rate = new WindowedRate(0);
    for (let t = 0; t < 30_000; t += 100) {
      rate.record(9, t);
      assert.equal(rate.throttleMs(100, t), 0, `throttled at ${t} ms`);
    }
    // Once the window is full it holds the last 11 samples, the current one 900 ms old.
    assert.ok(Math.abs(rate.perSecond(29_900) - 90) < 10);
  });

  test('samples older than the window are forgotten', () => {
    const rate = new WindowedRate(0);
    rate.record(5000, 0);
    const windowMs = QUOTA_WINDOW_SAMPLES * QUOTA_SAMPLE_MS;
    assert.equal(rate.idle(windowMs - 1), false);
    assert.equal(rate.idle(windowMs), true);
    assert.equal(rate.perSecond(windowMs), 0);
    rate.record(100, windowMs);
    assert.equal(rate.perSecond(windowMs), 10);
  });

  test('the throttle is at most one window; unrecord takes a value back', () => {
    const rate = new WindowedRate(0);
    rate.record(10_000_000, 0);
    assert.equal(rate.throttleMs(1, 0), MAX_THROTTLE_MS);
    rate.unrecord(10_000_000);
    assert.equal(rate.throttleMs(1, 0), 0);
  });
});
