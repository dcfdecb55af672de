import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { PauseDetector } from './pause-detector.js';

const THRESHOLD_MS = 1_000;

function detector(): { detector: PauseDetector; pauses: number[] } {
  const pauses: number[] = [];
  return {
    detector: new PauseDetector(
      () => THRESHOLD_MS,
      (pausedMs) => pauses.push(pausedMs),
    ),
    pauses,
  };
}

describe('PauseDetector', () => {
  it('finds a gap longer than the threshold between two observations, once, on the observation after it', () => {
    const { detector: d, pauses } = detector();
    // A whole number of milliseconds, so the gaps below are exact (with fractions, the gap meant to be exactly
    // the threshold can come out a hair above it).
    const startMs = Math.ceil(performance.now());
    assert.equal(d.observe(startMs + 100), Number.NEGATIVE_INFINITY);
    assert.equal(
      d.observe(startMs + 100 + THRESHOLD_MS),
      Number.NEGATIVE_INFINITY,
      'exactly the threshold is no pause',
    );
    const resumedMs = startMs + 100 + THRESHOLD_MS + 5_000;
    assert.equal(d.observe(resumedMs), resumedMs, 'the first observation after the gap reports it');
    assert.deepEqual(pauses, [5_000]);
    assert.equal(d.observe(resumedMs + 10), resumedMs, 'the pause stays the latest one');
    assert.deepEqual(pauses, [5_000], 'reported once');
  });

  it('observed by a caller, finds a pause before its own timer has run again', async () => {
    const { detector: d, pauses } = detector();
    d.start();
    try {
      // Blocks the whole thread, as SIGSTOP would: the detector's timer cannot run meanwhile.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, THRESHOLD_MS * 2);
      const endMs = d.observe();
      assert.ok(endMs > Number.NEGATIVE_INFINITY, 'the pause is found by the first observation after it');
      assert.equal(pauses.length, 1);
      assert.ok(pauses[0]! >= THRESHOLD_MS * 2 - 50, `paused ${pauses[0]} ms`);
      // The running timer finds no pause of its own afterwards.
      await new Promise((resolve) => setTimeout(resolve, THRESHOLD_MS));
      assert.equal(pauses.length, 1);
    } finally {
      d.stop();
    }
  });

  it('a running process with its timer going shows no pause', async () => {
    const { detector: d, pauses } = detector();
    d.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, THRESHOLD_MS * 3));
      assert.equal(d.observe(), Number.NEGATIVE_INFINITY);
      assert.deepEqual(pauses, []);
    } finally {
      d.stop();
    }
  });
});
