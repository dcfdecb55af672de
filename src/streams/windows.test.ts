import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toMillis } from './duration.js';
import { WatermarkTracker } from './watermark.js';
import { hopping, isClosed, tumbling } from './windows.js';

describe('durations', () => {
  it('parses the units people write', () => {
    assert.deepEqual(
      ['500ms', '10s', '1m', '2h', '1d', '1.5s'].map((d) => toMillis(d as '1s')),
      [500, 10_000, 60_000, 7_200_000, 86_400_000, 1500],
    );
    assert.equal(toMillis(250), 250);
    assert.throws(() => toMillis('10 seconds' as '1s'), /expected a number followed by ms, s, m, h or d/);
    assert.throws(() => toMillis(-1), RangeError);
  });
});

describe('windows', () => {
  it('puts each record in exactly one tumbling window aligned to the epoch', () => {
    const windows = tumbling('10s');
    assert.deepEqual(windows.windowsFor(25_000), [{ start: 20_000, end: 30_000 }]);
    assert.deepEqual(windows.windowsFor(30_000), [{ start: 30_000, end: 40_000 }]);
    assert.deepEqual(windows.windowsFor(29_999), [{ start: 20_000, end: 30_000 }]);
  });

  it('puts each record in size/advance hopping windows, oldest first', () => {
    const windows = hopping('1m', '20s');
    assert.deepEqual(windows.windowsFor(65_000), [
      { start: 20_000, end: 80_000 },
      { start: 40_000, end: 100_000 },
      { start: 60_000, end: 120_000 },
    ]);
    assert.throws(() => hopping('10s', '20s'), /advance/);
  });

  it('closes a window once the watermark passes its end plus grace', () => {
    const windows = tumbling('10s').grace('2s');
    const [window] = windows.windowsFor(5_000);
    assert.equal(isClosed(window!, windows.graceMs, 11_999), false);
    assert.equal(isClosed(window!, windows.graceMs, 12_000), true);
  });
});

describe('WatermarkTracker', () => {
  it('trails the largest event time by the allowed out-of-orderness and takes the minimum over partitions', () => {
    const watermarks = new WatermarkTracker(2_000);
    assert.equal(watermarks.current(), Number.NEGATIVE_INFINITY);
    assert.equal(watermarks.observe(0, 10_000), 8_000);
    assert.equal(watermarks.observe(1, 5_000), 3_000, 'the slower partition holds the watermark back');
    assert.equal(watermarks.observe(0, 9_000), 3_000, 'an out-of-order record never moves it back');
    assert.equal(watermarks.isLate(2_999), true);
    assert.equal(watermarks.isLate(3_000), false);
    watermarks.markIdle(1);
    assert.equal(watermarks.current(), 8_000, 'an idle partition stops holding it back');
    assert.equal(watermarks.observe(1, 20_000), 8_000);
    watermarks.remove(0);
    assert.equal(watermarks.current(), 18_000);
  });
});
