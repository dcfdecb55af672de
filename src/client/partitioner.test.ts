import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { murmur2, partitionForKey } from './partitioner.js';

describe('default partitioner', () => {
  it('matches the Java client murmur2 on its published test vectors', () => {
    // Values from Kafka's UtilsTest.testMurmur2 (org.apache.kafka.common.utils).
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [input, expected] of vectors) assert.equal(murmur2(Buffer.from(input)), expected, input);
  });

  it('spreads keys over every partition and always maps a key to the same one', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const key = Buffer.from(`edge-${i}`);
      const partition = partitionForKey(key, 8);
      assert.equal(partitionForKey(key, 8), partition);
      seen.add(partition);
    }
    assert.equal(seen.size, 8);
  });
});
