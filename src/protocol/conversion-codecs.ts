import { lz4Decompress } from './lz4.js';
import { decompress } from './record-batch.js';
import { Compression } from './record-batch-header.js';
import { snappyDecompress } from './snappy.js';

/**
 * Inflates `body` for a conversion between message formats, bounded by `maxDecompressedBytes`: gzip as
 * `decompress` does, and snappy and LZ4, which a conversion cannot pass through compressed as the log passes
 * v2 batches. zstd still raises UnsupportedCompressionError (no magic 0/1 message carries it, KIP-110).
 */
export function decompressForConversion(
  compression: Compression,
  body: Buffer,
  maxDecompressedBytes: number,
): Buffer {
  if (compression === Compression.Snappy) return snappyDecompress(body, maxDecompressedBytes);
  if (compression === Compression.Lz4) return lz4Decompress(body, maxDecompressedBytes);
  return decompress(compression, body, maxDecompressedBytes);
}
