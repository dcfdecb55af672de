/** Why a byte stream cannot be cut into MQTT packets. */
export type FramingProblem = 'malformed' | 'packet_too_large';

/** Bytes of a remaining-length field at most (MQTT section 2.2.3: a fifth continuation byte is malformed). */
const MAX_LENGTH_BYTES = 4;

/**
 * Cuts a connection's byte stream into whole MQTT packets before they are parsed, so that a packet's size is
 * checked from its fixed header alone: a client announcing a packet over maxPacketBytes is refused before any
 * of it is kept (mqtt-packet's parser would buffer it whole). A packet spread over several reads is kept as
 * its chunks and joined once, when complete.
 */
export class MqttFramer {
  /** Chunks of a packet not yet complete. */
  private partial: Buffer[] = [];
  private partialBytes = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /**
   * Hands each whole packet in `chunk` (with what was kept from earlier reads) to `onPacket`, which returns
   * false to stop (the connection is closing). Returns why the stream is not MQTT, or null.
   */
  push(chunk: Buffer, onPacket: (packet: Buffer) => boolean): FramingProblem | null {
    let data = chunk;
    if (this.partialBytes > 0) {
      this.partial.push(chunk);
      this.partialBytes += chunk.length;
      const needed = packetLength(this.partial[0]!.length >= 5 ? this.partial[0]! : this.joined());
      if (typeof needed === 'string') return needed;
      if (needed !== null && needed > this.maxPacketBytes) return 'packet_too_large';
      if (needed === null || this.partialBytes < needed) return null;
      data = this.joined();
      this.partial = [];
      this.partialBytes = 0;
    }
    let offset = 0;
    while (offset < data.length) {
      const needed = packetLength(offset === 0 ? data : data.subarray(offset));
      if (typeof needed === 'string') return needed;
      if (needed !== null && needed > this.maxPacketBytes) return 'packet_too_large';
      if (needed === null || offset + needed > data.length) {
        this.partial = [data.subarray(offset)];
        this.partialBytes = data.length - offset;
        return null;
      }
      if (!onPacket(data.subarray(offset, offset + needed))) return null;
      offset += needed;
    }
    return null;
  }

  private joined(): Buffer {
    const joined = Buffer.concat(this.partial, this.partialBytes);
    this.partial = [joined];
    return joined;
  }
}

/**
 * The whole length of the packet at the start of `data` (fixed header included), null when its header is
 * not all there yet, 'malformed' when the remaining length runs over four bytes.
 */
function packetLength(data: Buffer): number | null | 'malformed' {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i <= MAX_LENGTH_BYTES; i++) {
    if (i >= data.length) return null;
    const byte = data[i]!;
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return 1 + i + remaining;
    multiplier *= 128;
  }
  return 'malformed';
}
