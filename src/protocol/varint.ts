/**
 * Zig-zag varints as Kafka uses them inside records. Values are JS numbers: varlongs carry millisecond
 * timestamp deltas and offsets, which stay far below 2^53, so BigInt is never needed on the hot path.
 */

export function zigZagEncode(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

export function zigZagDecode(encoded: number): number {
  return encoded % 2 === 0 ? encoded / 2 : -(encoded + 1) / 2;
}

export function unsignedVarintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

export function varintSize(value: number): number {
  return unsignedVarintSize(zigZagEncode(value));
}

/** Writes `value` as an unsigned varint at `at`; returns the position after it. */
export function writeUnsignedVarint(buf: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    buf[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[at++] = value;
  return at;
}

export function writeVarint(buf: Buffer, at: number, value: number): number {
  return writeUnsignedVarint(buf, at, zigZagEncode(value));
}

/** A cursor for sequential decoding; throws RangeError when the bytes run out. */
export class ByteReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    readonly end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.end) {
      throw new RangeError(`need ${bytes} bytes at position ${this.pos}, only ${this.end - this.pos} left`);
    }
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  unsignedVarint(): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return value;
      multiplier *= 128;
    }
    throw new RangeError(`varint longer than 10 bytes at position ${this.pos}`);
  }

  varint(): number {
    return zigZagDecode(this.unsignedVarint());
  }

  bytes(length: number): Buffer {
    this.need(length);
    const slice = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }

  /** A varint length followed by that many bytes; length -1 means null. */
  nullableVarintBytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    return this.bytes(length);
  }

  /** nullableVarintBytes() decoded as UTF-8, without a Buffer made for the bytes. */
  nullableVarintText(): string | null {
    const length = this.varint();
    if (length < 0) return null;
    this.need(length);
    const text = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return text;
  }
}
