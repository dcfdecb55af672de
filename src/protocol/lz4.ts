import { BoundedOutput, malformed } from './bounded-output.js';

/**
 * LZ4 frame decompression (the LZ4 frame format, what Kafka carries), the output never growing past
 * `maxDecompressedBytes`. The frame descriptor's header checksum is not verified: Kafka 0.8-0.9 clients wrote
 * it over the wrong bytes in magic 0 messages (KAFKA-3160), and Kafka accepts those; the message or batch
 * CRC around the frame already covers every byte of it. Block and content checksums are skipped likewise.
 */
const FRAME_MAGIC = 0x184d2204;
const CODEC = 'lz4';
const FLAG_VERSION_MASK = 0xc0;
const FLAG_VERSION_01 = 0x40;
const FLAG_BLOCK_CHECKSUM = 0x10;
const FLAG_CONTENT_SIZE = 0x08;
const FLAG_CONTENT_CHECKSUM = 0x04;
const FLAG_DICTIONARY_ID = 0x01;
const UNCOMPRESSED_BLOCK_BIT = 0x8000_0000;
const MIN_MATCH_BYTES = 4;

export function lz4Decompress(input: Buffer, maxDecompressedBytes: number): Buffer {
  if (input.length < 7 || input.readUInt32LE(0) !== FRAME_MAGIC) malformed(CODEC, 'no LZ4 frame magic');
  const flags = input[4]!;
  if ((flags & FLAG_VERSION_MASK) !== FLAG_VERSION_01) malformed(CODEC, `frame version bits ${flags >>> 6}`);
  if ((flags & FLAG_DICTIONARY_ID) !== 0) malformed(CODEC, 'frames with a dictionary are not supported');
  // FLG, BD, the optional content size, then the header checksum byte.
  let at = 6 + ((flags & FLAG_CONTENT_SIZE) !== 0 ? 8 : 0) + 1;
  const blockChecksumBytes = (flags & FLAG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
  const out = new BoundedOutput(maxDecompressedBytes, CODEC);
  for (;;) {
    if (at + 4 > input.length) malformed(CODEC, 'the frame ends without its end mark');
    const word = input.readUInt32LE(at);
    at += 4;
    if (word === 0) break;
    const size = word & ~UNCOMPRESSED_BLOCK_BIT;
    if (at + size + blockChecksumBytes > input.length)
      malformed(CODEC, `a block of ${size} bytes is cut short`);
    if ((word & UNCOMPRESSED_BLOCK_BIT) !== 0) out.literal(input, at, size);
    else decodeBlock(input, at, at + size, out);
    at += size + blockChecksumBytes;
  }
  if ((flags & FLAG_CONTENT_CHECKSUM) !== 0) at += 4;
  if (at > input.length) malformed(CODEC, 'the content checksum is cut short');
  return out.bytes();
}

/** One LZ4 block; matches may reach into earlier blocks (linked blocks), which sit before it in `out`. */
function decodeBlock(input: Buffer, start: number, end: number, out: BoundedOutput): void {
  let at = start;
  for (;;) {
    if (at >= end) malformed(CODEC, 'a block ends inside a sequence');
    const token = input[at++]!;
    let literalBytes = token >>> 4;
    if (literalBytes === 15) [literalBytes, at] = extendedLength(input, at, end, literalBytes);
    if (at + literalBytes > end) malformed(CODEC, 'a literal runs past the end of its block');
    out.literal(input, at, literalBytes);
    at += literalBytes;
    // The last sequence of a block is literals only.
    if (at === end) return;
    if (at + 2 > end) malformed(CODEC, 'a match offset is cut short');
    const distance = input.readUInt16LE(at);
    at += 2;
    let matchBytes = token & 0x0f;
    if (matchBytes === 15) [matchBytes, at] = extendedLength(input, at, end, matchBytes);
    out.match(distance, matchBytes + MIN_MATCH_BYTES);
  }
}

/** A length of 15 continues in following bytes, each added, until one below 255. */
function extendedLength(input: Buffer, at: number, end: number, length: number): [number, number] {
  for (;;) {
    if (at >= end) malformed(CODEC, 'a length is cut short');
    const byte = input[at++]!;
    length += byte;
    if (byte !== 255) return [length, at];
  }
}
