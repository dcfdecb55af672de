import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type IndexHolder, LoadedIndexLimiter } from './loaded-indexes.js';

class Holder implements IndexHolder {
  released = 0;
  releaseIndexes(): void {
    this.released++;
  }
}

describe('LoadedIndexLimiter', () => {
  it('releases the least recently used sealed segment beyond the bound', () => {
    const limiter = new LoadedIndexLimiter(2);
    const [a, b, c] = [new Holder(), new Holder(), new Holder()];
    limiter.touch(a);
    limiter.touch(b);
    limiter.touch(a);
    limiter.touch(c);
    assert.deepEqual([a.released, b.released, c.released], [0, 1, 0]);
    assert.equal(limiter.loadedCount, 2);
  });

  it('forgets a segment that is deleted or active again', () => {
    const limiter = new LoadedIndexLimiter(1);
    const [a, b] = [new Holder(), new Holder()];
    limiter.touch(a);
    limiter.forget(a);
    limiter.touch(b);
    assert.equal(a.released, 0);
    assert.throws(() => new LoadedIndexLimiter(0), /expected an integer >= 1/);
  });
});
