import type { Socket } from 'node:net';
import { FrameReader } from '../protocol/index.js';

/**
 * Requests this small are always admitted: one is no more than a socket read, they cannot be held back by
 * large frames waiting for the budget, and they are still counted so large frames wait for them.
 */
export const SMALL_REQUEST_BYTES = 64 * 1024;

/**
 * One memory budget for request bytes over all connections (Kafka's queued.max.request.bytes). A frame reserves
 * its declared size when its size prefix arrives, so a frame once admitted can always be read to the end and
 * no set of half-read frames can deadlock; the reservation is given back when the request's response is
 * ready. A frame over SMALL_REQUEST_BYTES that does not fit waits, first come first served, and its
 * connection is not read meanwhile.
 */
export class RequestBufferBudget {
  private reservedBytes = 0;
  private readonly waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(readonly capacityBytes: number) {}

  get usedBytes(): number {
    return this.reservedBytes;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Reserves `bytes` and returns true, or returns false and calls `grant` once they are reserved. */
  reserve(bytes: number, grant: () => void): boolean {
    const fits = this.waiting.length === 0 && this.reservedBytes + bytes <= this.capacityBytes;
    if (bytes <= SMALL_REQUEST_BYTES || fits) {
      this.reservedBytes += bytes;
      return true;
    }
    this.waiting.push({ bytes, grant });
    return false;
  }

  release(bytes: number): void {
    this.reservedBytes -= bytes;
    const granted: Array<() => void> = [];
    while (this.waiting.length > 0 && this.reservedBytes + this.waiting[0]!.bytes <= this.capacityBytes) {
      const next = this.waiting.shift()!;
      this.reservedBytes += next.bytes;
      granted.push(next.grant);
    }
    // Called after the queue is settled: a grant reads frames, whose responses may release again.
    for (const grant of granted) grant();
  }

  /** Withdraws a wait that `reserve` queued (its connection closed). */
  cancel(grant: () => void): void {
    const at = this.waiting.findIndex((w) => w.grant === grant);
    if (at >= 0) this.waiting.splice(at, 1);
  }
}

/**
 * Responses leave in request order although requests are handled concurrently: pipelined produce requests
 * then share one fsync instead of waiting for each other's.
 */
export class ResponseQueue {
  private readonly pending: Array<{ done: boolean; chunks: Buffer[] | null }> = [];
  /** The socket is corked until the current tick's responses are all written: one syscall for them. */
  private corked = false;

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
        // A group commit answers every produce request it covered at once: their responses leave together.
        if (!this.corked) {
          this.corked = true;
          this.socket.cork();
          process.nextTick(() => {
            this.corked = false;
            this.socket.uncork();
          });
        }
        for (const chunk of chunks) this.socket.write(chunk);
      }
    }
    this.onIdle();
  }
}

export interface ConnectionOptions {
  maxFrameBytes: number;
  /** Requests read but not yet answered before the connection stops being read. */
  maxInFlight: number;
  /** Closed after this long with nothing read or written, unless a request is in flight or waiting. */
  idleMs: number;
  /** A complete frame; answer it exactly once through `reserveResponse`. */
  onFrame(frame: Buffer): void;
  /** The byte stream cannot be read any further (a FrameSizeError, or a bug): close the connection. */
  onReadError(error: unknown): void;
  onIdle(): void;
}

/**
 * One client connection's flow control: frames are read only while the shared budget admits them and fewer
 * than maxInFlight requests are unanswered; responses leave in request order; idle connections are closed.
 */
export class Connection {
  private readonly frames: FrameReader;
  private readonly queue: ResponseQueue;
  /** Reserved for frames not yet handed to onFrame: the one being read, and any lost to a read error. */
  private unreadReservedBytes = 0;
  private closed = false;
  /** Set while the connection is muted: a throttled client is not read until it fires. */
  private muteTimer: NodeJS.Timeout | null = null;
  private mutedUntilMs = 0;

  constructor(
    readonly socket: Socket,
    private readonly budget: RequestBufferBudget,
    private readonly options: ConnectionOptions,
  ) {
    this.frames = new FrameReader(options.maxFrameBytes, (size) => this.admit(size));
    this.queue = new ResponseQueue(socket, () => this.updateReading());
    socket.setTimeout(options.idleMs);
    socket.on('timeout', () => {
      if (this.busy) socket.setTimeout(options.idleMs);
      else options.onIdle();
    });
    socket.on('data', (chunk: Buffer) => this.read(() => this.frames.push(chunk)));
    socket.on('close', () => this.release());
  }

  /** Requests read and not yet answered. */
  get inFlight(): number {
    return this.queue.size;
  }

  /** Waiting for a request, for the budget or for a throttle to end is not idleness: only the client's silence is. */
  private get busy(): boolean {
    return this.queue.size > 0 || this.frames.waitingForAdmission || this.muteTimer !== null;
  }

  /**
   * Stops reading this connection for `ms` (a client throttled by its quota, KIP-219); responses still leave
   * and other connections are not affected. A longer mute while muted extends it; a shorter one changes
   * nothing.
   */
  mute(ms: number): void {
    if (this.closed) return;
    const untilMs = Date.now() + ms;
    if (this.muteTimer !== null) {
      if (untilMs <= this.mutedUntilMs) return;
      clearTimeout(this.muteTimer);
    }
    this.mutedUntilMs = untilMs;
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      this.updateReading();
    }, ms);
    this.socket.pause();
  }

  /**
   * The response slot of `frame`. The first call sends the response (null: none) and frees the frame's
   * budget; later calls do nothing, so an error path may answer without knowing whether another did.
   */
  reserveResponse(frame: Buffer): (chunks: Buffer[] | null) => void {
    const respond = this.queue.reserve();
    let answered = false;
    return (chunks) => {
      if (answered) return;
      answered = true;
      this.budget.release(frame.length);
      respond(chunks);
    };
  }

  private admit(size: number): boolean {
    if (!this.budget.reserve(size, this.granted)) return false;
    this.unreadReservedBytes += size;
    return true;
  }

  private readonly granted = (): void => {
    this.unreadReservedBytes += this.frames.currentFrameSize;
    if (this.closed) this.release();
    else this.read(() => this.frames.admitted());
  };

  private read(next: () => Buffer[]): void {
    let frames: Buffer[] = [];
    try {
      frames = next();
    } catch (error) {
      this.options.onReadError(error);
    }
    for (const frame of frames) {
      this.unreadReservedBytes -= frame.length;
      // A frame read behind one that closed the connection is never answered: its bytes go back now.
      if (this.socket.destroyed) this.budget.release(frame.length);
      else this.options.onFrame(frame);
    }
    this.updateReading();
  }

  private updateReading(): void {
    if (this.closed) return;
    const { maxInFlight } = this.options;
    if (this.frames.waitingForAdmission || this.queue.size >= maxInFlight || this.muteTimer !== null) {
      this.socket.pause();
    } else if (this.socket.isPaused() && this.queue.size < maxInFlight / 2) this.socket.resume();
  }

  /** Gives back what unread frames hold; requests in flight give theirs back when they are answered. */
  private release(): void {
    this.closed = true;
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    if (this.frames.waitingForAdmission) this.budget.cancel(this.granted);
    const bytes = this.unreadReservedBytes;
    this.unreadReservedBytes = 0;
    if (bytes > 0) this.budget.release(bytes);
  }
}
