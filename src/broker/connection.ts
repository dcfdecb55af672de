import type { Socket } from 'node:net';

/** Splits a TCP byte stream into Kafka frames: int32 size, then that many bytes. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameSize = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Frames completed by `chunk`, without their size prefix; throws FrameSizeError on an illegal size. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) break;
        const size = this.take(4).readInt32BE(0);
        if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
        this.frameSize = size;
      }
      if (this.buffered < this.frameSize) break;
      frames.push(this.take(this.frameSize));
      this.frameSize = -1;
    }
    return frames;
  }

  /** Bytes received of a frame not yet complete; bounded by maxFrameBytes. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private take(length: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= length) {
      out = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      out = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const head = this.chunks[0]!;
        const n = Math.min(head.length, length - filled);
        head.copy(out, filled, 0, n);
        filled += n;
        if (n === head.length) this.chunks.shift();
        else this.chunks[0] = head.subarray(n);
      }
    }
    this.buffered -= length;
    return out;
  }
}

export class FrameSizeError extends Error {
  constructor(
    readonly size: number,
    readonly maxFrameBytes: number,
  ) {
    super(
      size < 0
        ? `negative request size ${size}`
        : `request of ${size} bytes exceeds socket.request.max.bytes=${maxFrameBytes}`,
    );
  }
}

/**
 * Responses leave in request order although requests are handled concurrently: pipelined produce requests
 * then share one fsync instead of waiting for each other's.
 */
export class ResponseQueue {
  private readonly pending: Array<{ done: boolean; chunks: Buffer[] | null }> = [];

  constructor(
    private readonly socket: Socket,
    private readonly onIdle: () => void,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  /** Reserves the next response slot; call the returned function with the frame (or null for no response). */
  reserve(): (chunks: Buffer[] | null) => void {
    const slot = { done: false, chunks: null as Buffer[] | null };
    this.pending.push(slot);
    return (chunks) => {
      slot.done = true;
      slot.chunks = chunks;
      this.drain();
    };
  }

  private drain(): void {
    while (this.pending.length > 0 && this.pending[0]!.done) {
      const { chunks } = this.pending.shift()!;
      if (chunks && !this.socket.destroyed) {
        this.socket.cork();
        for (const chunk of chunks) this.socket.write(chunk);
        this.socket.uncork();
      }
    }
    this.onIdle();
  }
}
