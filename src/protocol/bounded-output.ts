import { DecompressionError } from './record-batch.js';

/**
 * The output of a block decompressor (snappy, LZ4) that never grows past `limitBytes`: it starts small,
 * doubles as needed, and refuses with DECOMPRESSED_TOO_LARGE the byte that would cross the limit.
 */
export class BoundedOutput {
  private buffer: Buffer;
  length = 0;

  constructor(
    private readonly limitBytes: number,
    private readonly codec: string,
    expectedBytes = 64 * 1024,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.min(limitBytes, Math.max(expectedBytes, 1)));
  }

  /** Copies `bytes` of `source` from `start`, as a literal run. */
  literal(source: Buffer, start: number, bytes: number): void {
    if (start + bytes > source.length) malformed(this.codec, 'a literal runs past the end of its input');
    this.reserve(bytes);
    this.length += source.copy(this.buffer, this.length, start, start + bytes);
  }

  /** Repeats `bytes` bytes starting `distance` back: they may overlap what is being written (run-length). */
  match(distance: number, bytes: number): void {
    if (distance <= 0 || distance > this.length) {
      malformed(this.codec, `a match reaches ${distance} bytes back, ${this.length} are written`);
    }
    this.reserve(bytes);
    const out = this.buffer;
    let from = this.length - distance;
    if (distance >= bytes) {
      this.length += out.copy(out, this.length, from, from + bytes);
      return;
    }
    for (let i = 0; i < bytes; i++) out[this.length++] = out[from++]!;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    if (needed > this.limitBytes) {
      throw new DecompressionError(
        'DECOMPRESSED_TOO_LARGE',
        `${this.codec} data inflates past the limit of ${this.limitBytes} bytes (maxDecompressedBytes)`,
      );
    }
    const grown = Buffer.allocUnsafe(Math.min(this.limitBytes, Math.max(needed, this.buffer.length * 2)));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

export function malformed(codec: string, detail: string): never {
  throw new DecompressionError('MALFORMED_COMPRESSED_DATA', `${codec} data does not inflate: ${detail}`);
}
