import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginThrottle } from './login-throttle.js';

describe('login throttle', () => {
  const options = { firstDelayMs: 100, maxDelayMs: 1_000, forgetAfterMs: 10_000, maxSources: 2 };

  it('doubles the wait with each failure up to the maximum, per source', () => {
    const throttle = new LoginThrottle(options);
    assert.equal(throttle.waitMs('10.0.0.1', 0), 0);
    const waits: number[] = [];
    let nowMs = 0;
    for (let i = 0; i < 6; i++) {
      throttle.failed('10.0.0.1', nowMs);
      waits.push(throttle.waitMs('10.0.0.1', nowMs));
      nowMs += waits.at(-1)!;
      assert.equal(throttle.waitMs('10.0.0.1', nowMs), 0, 'free to try once the wait is over');
    }
    assert.deepEqual(waits, [100, 200, 400, 800, 1_000, 1_000]);
    assert.equal(throttle.waitMs('10.0.0.2', 0), 0, 'another source is not slowed');
  });

  it('starts again after a success or a long quiet time', () => {
    const throttle = new LoginThrottle(options);
    throttle.failed('a', 0);
    throttle.failed('a', 100);
    throttle.succeeded('a');
    throttle.failed('a', 200);
    assert.equal(throttle.waitMs('a', 200), 100);
    throttle.failed('b', 0);
    throttle.failed('b', 100);
    assert.equal(throttle.waitMs('b', 10_100), 0);
    throttle.failed('b', 10_100);
    assert.equal(throttle.waitMs('b', 10_100), 100, 'counted from one again');
  });

  it('tracks at most maxSources, forgetting the one whose last failure is oldest', () => {
    const throttle = new LoginThrottle(options);
    throttle.failed('a', 0);
    throttle.failed('b', 1);
    throttle.failed('c', 2);
    assert.equal(throttle.trackedSources, 2);
    assert.equal(throttle.waitMs('a', 3), 0);
    assert.ok(throttle.waitMs('b', 3) > 0);
    assert.ok(throttle.waitMs('c', 3) > 0);
  });
});
