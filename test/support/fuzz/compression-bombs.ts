import { gzipSync } from 'node:zlib';
import { Compression, writeUnsignedVarint, writeVarint } from '../../../src/protocol/index.js';

/**
 * Small, valid compressed bodies that inflate to one record whose value is `valueBytes` zero bytes, for every
 * codec a RecordBatch can name. Each is built by hand from its format so no codec library is needed:
 * zstd RLE blocks (4 bytes -> 128 KiB), LZ4 frame blocks of one long match (~260 bytes -> 64 KiB), xerial-framed
 * snappy of 64-byte copies (~3 KiB -> 64 KiB); gzip comes from zlib. Built once per codec and size.
 */

/** LZ4 and snappy blocks, and the rounding of every bomb's size. */
const BLOCK_BYTES = 64 * 1024;
/** zstd's largest block (Block_Maximum_Size with a 128 KiB window). */
const ZSTD_BLOCK_BYTES = 128 * 1024;

export type Codec =
  | typeof Compression.Gzip
  | typeof Compression.Snappy
  | typeof Compression.Lz4
  | typeof Compression.Zstd;

/** The bytes of the inflated records before and after the value's zeros. */
function recordFraming(valueBytes: number): { before: Buffer; after: Buffer } {
  const inner = Buffer.alloc(16);
  // attributes, timestampDelta 0, offsetDelta 0, key null (-1), value length
  let at = inner.writeInt8(0, 0);
  at = writeVarint(inner, at, 0);
  at = writeVarint(inner, at, 0);
  at = writeVarint(inner, at, -1);
  at = writeVarint(inner, at, valueBytes);
  const recordLength = at + valueBytes + 1;
  const before = Buffer.alloc(10 + at);
  const lengthEnd = writeVarint(before, 0, recordLength);
  inner.copy(before, lengthEnd, 0, at);
  // zero headers
  return { before: before.subarray(0, lengthEnd + at), after: Buffer.from([0]) };
}

function zstd(before: Buffer, zeros: number, after: Buffer): Buffer {
  const blockHeader = (size: number, type: number, last: boolean) => {
    const header = Buffer.alloc(3);
    header.writeUIntLE((size << 3) | (type << 1) | (last ? 1 : 0), 0, 3);
    return header;
  };
  const RAW = 0;
  const RLE = 1;
  // Magic, frame header descriptor (no content size, no checksum), window descriptor 2^(10+7) = 128 KiB.
  const chunks = [
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]),
    blockHeader(before.length, RAW, false),
    before,
  ];
  for (let left = zeros; left > 0; left -= ZSTD_BLOCK_BYTES) {
    chunks.push(blockHeader(Math.min(left, ZSTD_BLOCK_BYTES), RLE, false), Buffer.from([0]));
  }
  chunks.push(blockHeader(after.length, RAW, true), after);
  return Buffer.concat(chunks);
}

/** One LZ4 block inflating to BLOCK_BYTES zeros: a zero literal, one long match at offset 1, five literals. */
function lz4ZeroBlock(): Buffer {
  const matchLength = BLOCK_BYTES - 1 - 5;
  // The token's match nibble holds 15 (meaning 15 + 4); the rest follows as 255s and a final byte < 255.
  const extra = matchLength - 4 - 15;
  const sequence = [
    0x1f,
    0x00,
    0x01,
    0x00,
    ...new Array<number>(Math.floor(extra / 255)).fill(255),
    extra % 255,
  ];
  return Buffer.from([...sequence, 0x50, 0, 0, 0, 0, 0]);
}

function lz4(before: Buffer, zeros: number, after: Buffer): Buffer {
  const UNCOMPRESSED = 0x8000_0000;
  const sized = (block: Buffer, flag: number) => {
    const size = Buffer.alloc(4);
    size.writeUInt32LE((block.length | flag) >>> 0, 0);
    return [size, block];
  };
  // Magic; FLG 0x60 (version 1, independent blocks, no checksums); BD 0x40 (64 KiB blocks); HC of FLG+BD.
  const chunks = [Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]), ...sized(before, UNCOMPRESSED)];
  const block = lz4ZeroBlock();
  for (let left = zeros; left > 0; left -= BLOCK_BYTES) chunks.push(...sized(block, 0));
  chunks.push(...sized(after, UNCOMPRESSED), Buffer.alloc(4));
  return Buffer.concat(chunks);
}

function snappyBlock(uncompressedBytes: number, elements: number[]): Buffer {
  const length = Buffer.alloc(5);
  return Buffer.concat([
    length.subarray(0, writeUnsignedVarint(length, 0, uncompressedBytes)),
    Buffer.from(elements),
  ]);
}

function snappyLiteral(bytes: Buffer): Buffer {
  // Literals up to 60 bytes carry their length in the tag.
  return snappyBlock(bytes.length, [(bytes.length - 1) << 2, ...bytes]);
}

/** A zero literal, then copies of 64 (and one of 63) bytes at offset 1. */
function snappyZeroBlock(): Buffer {
  const copy = (length: number) => [((length - 1) << 2) | 2, 0x01, 0x00];
  const copies = Math.floor((BLOCK_BYTES - 1) / 64);
  const rest = BLOCK_BYTES - 1 - copies * 64;
  const elements = [0x00, 0x00];
  for (let i = 0; i < copies; i++) elements.push(...copy(64));
  if (rest > 0) elements.push(...copy(rest));
  return snappyBlock(BLOCK_BYTES, elements);
}

function snappy(before: Buffer, zeros: number, after: Buffer): Buffer {
  const framed = (block: Buffer) => {
    const size = Buffer.alloc(4);
    size.writeInt32BE(block.length, 0);
    return [size, block];
  };
  // xerial snappy-java framing, as Kafka writes it: magic, version 1, compatible version 1, sized blocks.
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const chunks = [header, ...framed(snappyLiteral(before))];
  const block = snappyZeroBlock();
  for (let left = zeros; left > 0; left -= BLOCK_BYTES) chunks.push(...framed(block));
  chunks.push(...framed(snappyLiteral(after)));
  return Buffer.concat(chunks);
}

const built = new Map<string, Buffer>();

/** A body of `codec` inflating to a little over `inflatedBytes` (rounded up to 64 KiB) of records. */
export function compressionBomb(codec: Codec, inflatedBytes: number): Buffer {
  const valueBytes = Math.ceil(inflatedBytes / BLOCK_BYTES) * BLOCK_BYTES;
  const key = `${codec}:${valueBytes}`;
  let body = built.get(key);
  if (body) return body;
  const { before, after } = recordFraming(valueBytes);
  switch (codec) {
    case Compression.Gzip:
      body = gzipSync(Buffer.concat([before, Buffer.alloc(valueBytes), after]), { level: 9 });
      break;
    case Compression.Snappy:
      body = snappy(before, valueBytes, after);
      break;
    case Compression.Lz4:
      body = lz4(before, valueBytes, after);
      break;
    case Compression.Zstd:
      body = zstd(before, valueBytes, after);
      break;
  }
  built.set(key, body);
  return body;
}
