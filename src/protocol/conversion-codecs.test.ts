import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { compressionsAlgorithms } from '@platformatic/kafka';
import { decompressForConversion } from './conversion-codecs.js';
import { lz4Decompress } from './lz4.js';
import { DecompressionError, UnsupportedCompressionError } from './record-batch.js';
import { Compression } from './record-batch-header.js';
import { snappyDecompress } from './snappy.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Raw snappy, by hand: preamble 19, literal "hello ", copy (2-byte offset) 12 from 6 back, literal "!". */
const SNAPPY_RAW = hex('13 14 68656c6c6f20 2e 0600 00 21');
/** Raw snappy, by hand: preamble 12, literal "abcd", copy (1-byte offset) 8 from 4 back. */
const SNAPPY_RAW_COPY1 = hex('0c 0c 61626364 11 04');
/**
 * An LZ4 frame, by hand: magic, FLG 0x60 (version 01, independent blocks), BD 0x40 (64 KiB), a header checksum
 * byte that is wrong on purpose (KAFKA-3160: magic 0 messages carry one computed over the wrong bytes), a
 * compressed block ("abcd", match 8 from 4 back, last literal "!"), an uncompressed block "xyz", the end mark.
 */
const LZ4_FRAME = hex(`
  04224d18 60 40 00
  09000000 44 61626364 0400 10 21
  03000080 78797a
  00000000`);

function expectDecompressionError(run: () => unknown, code: string): void {
  assert.throws(run, (error: unknown) => error instanceof DecompressionError && error.code === code);
}

describe('snappy and LZ4 for conversions between message formats', () => {
  it('reads the hand-written snappy blocks, raw and in xerial framing', () => {
    assert.equal(snappyDecompress(SNAPPY_RAW, 100).toString(), 'hello hello hello !');
    assert.equal(snappyDecompress(SNAPPY_RAW_COPY1, 100).toString(), 'abcdabcdabcd');
    // The xerial framing Java clients write: magic, version 1, compatible 1, then [int32 length][raw block]...
    const framed = Buffer.concat([
      hex('82534e41505059 00 00000001 00000001'),
      hex(SNAPPY_RAW_COPY1.length.toString(16).padStart(8, '0')),
      SNAPPY_RAW_COPY1,
      hex(SNAPPY_RAW.length.toString(16).padStart(8, '0')),
      SNAPPY_RAW,
    ]);
    assert.equal(snappyDecompress(framed, 100).toString(), 'abcdabcdabcdhello hello hello !');
  });

  it('reads the hand-written LZ4 frame, whatever its header checksum byte', () => {
    assert.equal(lz4Decompress(LZ4_FRAME, 100).toString(), 'abcdabcdabcd!xyz');
  });

  it('inflates what another implementation compressed (@platformatic/kafka: raw snappy, LZ4 frames)', () => {
    const text = Buffer.from(Array.from({ length: 5000 }, (_, i) => `record-${i % 97} `).join(''));
    const noise = randomBytes(200_000);
    for (const plain of [text, noise, Buffer.concat([noise, text, noise])]) {
      const snappy = compressionsAlgorithms.snappy.compressSync(plain);
      const lz4 = compressionsAlgorithms.lz4.compressSync(plain);
      assert.ok(decompressForConversion(Compression.Snappy, snappy, 1 << 20).equals(plain));
      assert.ok(decompressForConversion(Compression.Lz4, lz4, 1 << 20).equals(plain));
    }
  });

  it('never inflates past the limit, and refuses malformed input', () => {
    const zeros = Buffer.alloc(1 << 20);
    expectDecompressionError(
      () => snappyDecompress(compressionsAlgorithms.snappy.compressSync(zeros), 4096),
      'DECOMPRESSED_TOO_LARGE',
    );
    expectDecompressionError(
      () => lz4Decompress(compressionsAlgorithms.lz4.compressSync(zeros), 4096),
      'DECOMPRESSED_TOO_LARGE',
    );
    expectDecompressionError(() => snappyDecompress(hex('13 14 68656c'), 100), 'MALFORMED_COMPRESSED_DATA');
    // A copy reaching before the start of the output.
    expectDecompressionError(() => snappyDecompress(hex('0c 11 04'), 100), 'MALFORMED_COMPRESSED_DATA');
    // The preamble says 20 bytes; the block makes 19.
    expectDecompressionError(
      () => snappyDecompress(Buffer.concat([hex('14'), SNAPPY_RAW.subarray(1)]), 100),
      'MALFORMED_COMPRESSED_DATA',
    );
    expectDecompressionError(
      () => lz4Decompress(LZ4_FRAME.subarray(0, 20), 100),
      'MALFORMED_COMPRESSED_DATA',
    );
    expectDecompressionError(() => lz4Decompress(hex('00000000 60 40 00'), 100), 'MALFORMED_COMPRESSED_DATA');
  });

  it('passes gzip to the batch codec and still refuses zstd', () => {
    assert.equal(decompressForConversion(Compression.Gzip, gzipSync(Buffer.from('g')), 10).toString(), 'g');
    assert.throws(
      () => decompressForConversion(Compression.Zstd, Buffer.alloc(4), 10),
      UnsupportedCompressionError,
    );
  });
});
