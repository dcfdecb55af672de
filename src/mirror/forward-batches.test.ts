import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PartitionBatches } from '../client/batch-records.js';
import { encodedBatch } from '../client/remote-produce.js';
import {
  Compression,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  decodeRecords,
  encodeRecordBatch,
  type RecordInput,
} from '../protocol/index.js';
import { type ForwardTarget, forwardRead } from './forward-batches.js';
import { PROVENANCE_HEADER, ProvenanceWriter, provenanceOf } from './provenance.js';

const BASE_TIMESTAMP = 1_700_000_000_000;

function input(i: number): RecordInput {
  return {
    key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
    value: i % 5 === 0 ? null : Buffer.from(JSON.stringify({ i, kind: i % 2 === 0 ? 'even' : 'odd' })),
    headers:
      i % 2 === 0
        ? []
        : [
            { key: 'trace', value: Buffer.from(`t-${i}`) },
            { key: 'empty', value: null },
          ],
    timestamp: BASE_TIMESTAMP + 7 * i - (i % 4 === 0 ? 3 : 0),
  };
}

/** Source batches of `counts` records each, from offset 1000, as a read of partition 2 of `cdn.events`. */
function sourceRead(
  counts: number[],
  offset: number,
  compression: Compression = Compression.None,
): PartitionBatches {
  const batches: Buffer[] = [];
  let next = 1000;
  for (const count of counts) {
    const records = Array.from({ length: count }, (_, j) => input(next - 1000 + j));
    batches.push(
      encodeRecordBatch(records, {
        baseOffset: next,
        compression: compression === Compression.Gzip ? Compression.Gzip : Compression.None,
      }),
    );
    next += count;
  }
  return {
    topic: 'cdn.events',
    partition: 2,
    offset,
    bytes: Buffer.concat(batches),
    endOffset: next,
    maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  };
}

const target = (policy?: ForwardTarget['policy']): ForwardTarget => ({
  topic: 'site-a.cdn.events',
  partition: 2,
  sourceTopic: 'cdn.events',
  policy,
  provenance: new ProvenanceWriter(Buffer.from('cdn.events:2:', 'latin1')),
});

/** What the target would store: each forwarded batch framed by the writer, decoded back. */
function decodedTarget(batches: ReturnType<typeof forwardRead>['batches']) {
  return batches.flatMap((encoded) =>
    decodeRecords(
      encodedBatch(
        encoded,
        { producerId: 5n, producerEpoch: 0, baseSequence: 0, transactional: true },
        'none',
      ),
    ),
  );
}

describe('forwardRead', () => {
  it('copies key, value, headers and timestamp of every record from the offset on, with its provenance', () => {
    for (const compression of [Compression.None, Compression.Gzip]) {
      const read = sourceRead([10, 25, 5], 1004, compression);
      const forwarded = forwardRead(read, 1004, target(), 512 * 1024);
      const records = decodedTarget(forwarded.batches);
      assert.equal(records.length, 36);
      assert.equal(forwarded.records, 36);
      assert.equal(forwarded.nextOffset, 1040);
      for (const [j, record] of records.entries()) {
        const i = j + 4;
        const expected = input(i);
        assert.equal(record.offset, j, 'target offsets are consecutive');
        assert.deepEqual(record.key, expected.key);
        assert.deepEqual(record.value, expected.value);
        assert.equal(record.timestamp, expected.timestamp);
        assert.deepEqual(record.headers.slice(0, -1), expected.headers);
        assert.equal(record.headers.at(-1)!.key, PROVENANCE_HEADER);
        assert.deepEqual(provenanceOf({ ...record, topic: 'x', partition: 2 }), {
          topic: 'cdn.events',
          partition: 2,
          offset: 1000 + i,
        });
      }
      assert.equal(forwarded.timestamp, input(39).timestamp);
    }
  });

  it('leaves out what the policy refuses and counts it, and still moves past it', () => {
    const read = sourceRead([20], 1000);
    const forwarded = forwardRead(
      read,
      1000,
      target({ filter: (record) => record.key !== null && record.headers.length === 2 }),
      512 * 1024,
    );
    const records = decodedTarget(forwarded.batches);
    const expected = Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 3 !== 0 && i % 2 === 1);
    assert.deepEqual(
      records.map((r) => provenanceOf({ ...r, topic: 'x', partition: 2 })!.offset - 1000),
      expected,
    );
    assert.equal(forwarded.filtered, 20 - expected.length);
    assert.equal(forwarded.nextOffset, 1020);
  });

  it('cuts target batches at maxBatchBytes', () => {
    const read = sourceRead([300], 1000);
    const forwarded = forwardRead(read, 1000, target(), 4096);
    assert.ok(forwarded.batches.length > 3);
    for (const batch of forwarded.batches) assert.ok(batch.records.length <= 4096);
    assert.equal(decodedTarget(forwarded.batches).length, 300);
  });
});
