import { BoundedOutput, malformed } from './bounded-output.js';

/**
 * Snappy decompression as Kafka carries it: either one raw snappy block, or (what Java clients write) the
 * xerial stream framing, a 16-byte header then blocks of [int32 length][raw snappy block]. The output never
 * grows past `maxDecompressedBytes`.
 */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const CODEC = 'snappy';

export function snappyDecompress(input: Buffer, maxDecompressedBytes: number): Buffer {
  const out = new BoundedOutput(maxDecompressedBytes, CODEC);
  if (input.length < XERIAL_HEADER_BYTES || !input.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    decodeBlock(input, 0, input.length, out);
    return out.bytes();
  }
  for (let at = XERIAL_HEADER_BYTES; at < input.length; ) {
    if (at + 4 > input.length) malformed(CODEC, 'a xerial block length is cut short');
    const length = input.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > input.length)
      malformed(CODEC, `xerial block of ${length} bytes is cut short`);
    decodeBlock(input, at, at + length, out);
    at += length;
  }
  return out.bytes();
}

/** One raw snappy block (preamble: its uncompressed length) from `start` to `end`, appended to `out`. */
function decodeBlock(input: Buffer, start: number, end: number, out: BoundedOutput): void {
  let at = start;
  let expected = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= end || shift > 28) malformed(CODEC, 'the length preamble is cut short or too long');
    const byte = input[at++]!;
    expected += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  const blockStart = out.length;
  while (at < end) {
    const tag = input[at++]!;
    const upper = tag >>> 2;
    switch (tag & 0x03) {
      case 0: {
        let length = upper + 1;
        if (upper >= 60) {
          const extra = upper - 59;
          if (at + extra > end) malformed(CODEC, 'a literal length is cut short');
          length = input.readUIntLE(at, extra) + 1;
          at += extra;
        }
        if (at + length > end) malformed(CODEC, 'a literal runs past the end of its block');
        out.literal(input, at, length);
        at += length;
        break;
      }
      case 1:
        if (at + 1 > end) malformed(CODEC, 'a copy is cut short');
        out.match(((tag >>> 5) << 8) | input[at++]!, 4 + (upper & 0x07));
        break;
      case 2:
        if (at + 2 > end) malformed(CODEC, 'a copy is cut short');
        out.match(input.readUInt16LE(at), upper + 1);
        at += 2;
        break;
      default:
        if (at + 4 > end) malformed(CODEC, 'a copy is cut short');
        out.match(input.readUInt32LE(at), upper + 1);
        at += 4;
    }
  }
  if (out.length - blockStart !== expected) {
    malformed(CODEC, `a block inflates to ${out.length - blockStart} bytes, its preamble says ${expected}`);
  }
}
