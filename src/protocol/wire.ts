import { readInt64, writeInt64 } from './record-batch-header.js';

/** A request or response that does not follow the protocol: answered with an error, never a crash. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * Longest string Kafka reads or writes, classic (int16 length) and compact alike: Kafka's generated code
 * refuses longer ones in both directions, so a string we accept can always be written back.
 */
export const MAX_STRING_BYTES = 0x7fff;

/**
 * Strict UTF-8: invalid bytes are an error instead of U+FFFD (which re-encodes to three bytes, so a name of
 * 11,000 0xFF bytes would come back as 33,000 and no longer fit its length field), and a leading BOM is kept,
 * so every string read re-encodes to exactly the bytes it came from.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Up to this length an ASCII scan plus a one-byte-string copy is cheaper than calling TextDecoder. */
const ASCII_SCAN_MAX_BYTES = 64;

/**
 * The first scratch buffer: a produce response or a fetch response's fields fit, and Buffer's pool serves it
 * (a 16 KiB one per message was a fresh ArrayBuffer each time, and the garbage collector's main work).
 */
const FIRST_SCRATCH_BYTES = 512;
/** Later scratch buffers grow fourfold up to this. */
const SCRATCH_BYTES = 16 * 1024;
/** Payloads at least this large are kept by reference instead of copied into the scratch buffer. */
const ZERO_COPY_THRESHOLD = 1024;

/**
 * Builds a message as a list of chunks: small fields are packed into scratch buffers, large byte payloads
 * (record batches) are referenced as they are, so a fetch response never copies the log's bytes.
 */
export class WireWriter {
  private readonly chunks: Buffer[] = [];
  private scratch = Buffer.allocUnsafe(FIRST_SCRATCH_BYTES);
  private start = 0;
  private pos = 0;
  private sealedBytes = 0;

  get length(): number {
    return this.sealedBytes + this.pos - this.start;
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.scratch.length) return;
    this.seal();
    this.scratch = Buffer.allocUnsafe(Math.max(Math.min(this.scratch.length * 4, SCRATCH_BYTES), bytes));
    this.start = 0;
    this.pos = 0;
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.scratch.subarray(this.start, this.pos));
      this.sealedBytes += this.pos - this.start;
      this.start = this.pos;
    }
  }

  int8(value: number): this {
    this.reserve(1);
    this.scratch.writeInt8(value, this.pos);
    this.pos += 1;
    return this;
  }

  bool(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }

  int16(value: number): this {
    this.reserve(2);
    this.scratch.writeInt16BE(value, this.pos);
    this.pos += 2;
    return this;
  }

  uint16(value: number): this {
    this.reserve(2);
    this.scratch.writeUInt16BE(value, this.pos);
    this.pos += 2;
    return this;
  }

  int32(value: number): this {
    this.reserve(4);
    this.scratch.writeInt32BE(value, this.pos);
    this.pos += 4;
    return this;
  }

  uint32(value: number): this {
    this.reserve(4);
    this.scratch.writeUInt32BE(value, this.pos);
    this.pos += 4;
    return this;
  }

  int64(value: number): this {
    this.reserve(8);
    writeInt64(this.scratch, this.pos, value);
    this.pos += 8;
    return this;
  }

  float64(value: number): this {
    this.reserve(8);
    this.scratch.writeDoubleBE(value, this.pos);
    this.pos += 8;
    return this;
  }

  unsignedVarint(value: number): this {
    this.reserve(10);
    while (value >= 0x80) {
      this.scratch[this.pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.scratch[this.pos++] = value;
    return this;
  }

  varint(value: number): this {
    return this.unsignedVarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  raw(bytes: Buffer): this {
    if (bytes.length >= ZERO_COPY_THRESHOLD) {
      this.seal();
      this.chunks.push(bytes);
      this.sealedBytes += bytes.length;
      return this;
    }
    this.reserve(bytes.length);
    bytes.copy(this.scratch, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /**
   * int16-length string (classic) or uvarint length+1 (compact); null is length -1 / 0. A string over
   * MAX_STRING_BYTES is a ProtocolError naming `field`, before anything is written.
   */
  string(value: string | null, compact: boolean, field = 'string'): this {
    if (value === null) return compact ? this.unsignedVarint(0) : this.int16(-1);
    const bytes = Buffer.byteLength(value);
    if (bytes > MAX_STRING_BYTES) {
      throw new ProtocolError(
        `${field} is ${bytes} bytes of UTF-8; a Kafka string holds at most ${MAX_STRING_BYTES}`,
      );
    }
    if (compact) this.unsignedVarint(bytes + 1);
    else this.int16(bytes);
    this.reserve(bytes);
    this.pos += this.scratch.write(value, this.pos, bytes, 'utf8');
    return this;
  }

  bytes(value: Buffer | null, compact: boolean): this {
    if (value === null) return compact ? this.unsignedVarint(0) : this.int32(-1);
    if (compact) this.unsignedVarint(value.length + 1);
    else this.int32(value.length);
    return this.raw(value);
  }

  arrayLength(length: number | null, compact: boolean): this {
    if (length === null) return compact ? this.unsignedVarint(0) : this.int32(-1);
    return compact ? this.unsignedVarint(length + 1) : this.int32(length);
  }

  uuid(value: Buffer): this {
    return this.raw(value.length === 16 ? value : Buffer.alloc(16));
  }

  /** The message as chunks, in order; the writer must not be used afterwards. */
  finish(): Buffer[] {
    this.seal();
    return this.chunks;
  }
}

/** Reads a message with bounds checks: running past the end is a ProtocolError, not garbage. */
export class WireReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    readonly end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(bytes: number, what: string): void {
    if (bytes < 0 || this.pos + bytes > this.end) {
      throw new ProtocolError(
        `truncated message: ${what} needs ${bytes} bytes at ${this.pos}, ${this.end - this.pos} left`,
      );
    }
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const value = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const value = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  int32(): number {
    this.need(4, 'int32');
    const value = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  int64(): number {
    this.need(8, 'int64');
    const value = readInt64(this.buf, this.pos);
    this.pos += 8;
    return value;
  }

  float64(): number {
    this.need(8, 'float64');
    const value = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return value;
  }

  unsignedVarint(): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 5; i++) {
      this.need(1, 'varint');
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return value;
      multiplier *= 128;
    }
    throw new ProtocolError(`unsigned varint longer than 5 bytes at ${this.pos}`);
  }

  varint(): number {
    const encoded = this.unsignedVarint();
    return encoded % 2 === 0 ? encoded / 2 : -(encoded + 1) / 2;
  }

  raw(length: number): Buffer {
    this.need(length, 'bytes');
    const slice = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }

  /** A string that is valid UTF-8 of at most MAX_STRING_BYTES; anything else is a ProtocolError. */
  string(compact: boolean): string | null {
    const length = compact ? this.unsignedVarint() - 1 : this.int16();
    if (length < 0) return null;
    if (length > MAX_STRING_BYTES) {
      throw new ProtocolError(`string of ${length} bytes at ${this.pos} exceeds ${MAX_STRING_BYTES}`);
    }
    this.need(length, 'string');
    const value = decodeUtf8(this.buf, this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  bytes(compact: boolean): Buffer | null {
    const length = compact ? this.unsignedVarint() - 1 : this.int32();
    if (length < 0) return null;
    return this.raw(length);
  }

  /** Array length, or null for a null array; bounded by the bytes left so a bad length cannot allocate. */
  arrayLength(compact: boolean): number | null {
    const length = compact ? this.unsignedVarint() - 1 : this.int32();
    if (length < 0) return null;
    if (length > this.remaining) {
      throw new ProtocolError(`array of ${length} elements cannot fit in the ${this.remaining} bytes left`);
    }
    return length;
  }

  uuid(): Buffer {
    return Buffer.from(this.raw(16));
  }
}

function decodeUtf8(buf: Buffer, start: number, end: number): string {
  if (end - start <= ASCII_SCAN_MAX_BYTES) {
    let at = start;
    while (at < end && buf[at]! < 0x80) at++;
    if (at === end) return buf.toString('latin1', start, end);
  }
  try {
    return UTF8.decode(buf.subarray(start, end));
  } catch {
    throw new ProtocolError(`string of ${end - start} bytes at ${start} is not valid UTF-8`);
  }
}
