/**
 * Splits a TCP byte stream into Kafka frames: int32 size, then that many bytes. Each size is offered to
 * `admit` before the frame's body is read; when it says no, the reader holds what it has and returns no more
 * frames until `admitted()` is called.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameSize = -1;
  private waiting = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly admit: (size: number) => boolean = () => true,
  ) {}

  /** Frames completed by `chunk`, without their size prefix; throws FrameSizeError on an illegal size. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    return this.waiting ? [] : this.frames();
  }

  /** The frame `admit` refused may now be read: the frames completed by what is already buffered. */
  admitted(): Buffer[] {
    this.waiting = false;
    return this.frames();
  }

  /** True while the current frame waits for `admit`'s permission. */
  get waitingForAdmission(): boolean {
    return this.waiting;
  }

  /** Bytes received and not yet returned as a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** The declared size of the frame being read (admitted or waiting), or -1 between frames. */
  get currentFrameSize(): number {
    return this.frameSize;
  }

  private frames(): Buffer[] {
    const frames: Buffer[] = [];
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) break;
        const size = this.take(4).readInt32BE(0);
        if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
        this.frameSize = size;
        if (!this.admit(size)) {
          this.waiting = true;
          break;
        }
      }
      if (this.buffered < this.frameSize) break;
      frames.push(this.take(this.frameSize));
      this.frameSize = -1;
    }
    return frames;
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
