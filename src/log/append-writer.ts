import assert from 'node:assert/strict';
import fs from 'node:fs';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { WriteBufferPool } from './write-buffer-pool.js';

/** The file-system writes and fsyncs a segment makes, replaceable so tests can simulate a full disk. */
export interface SegmentWriter {
  write(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
  /** fdatasync(2) of `fd`. */
  sync(fd: number): void;
}

export const nodeSegmentWriter: SegmentWriter = {
  write: (fd, buf, offset, length, position) => fs.writeSync(fd, buf, offset, length, position),
  sync: (fd) => fs.fdatasyncSync(fd),
};

/**
 * Called once per submitted write, in submission order among the writes of its stream, with null or the
 * error that stopped it. A write submitted with `sync` that succeeded is also fsynced; `fsynced` is true for
 * the one write of a round whose fdatasync call covered it and the writes before it (the others shared that
 * call).
 */
export type WriteDone = (error: Error | null, fsynced: boolean) => void;

/**
 * Where appended bytes are written, off the caller's turn when they could hold it up: `write(2)` can wait on
 * writeback of the same pages for milliseconds, and on the event loop that wait stalls every connection.
 */
export interface AppendWriter {
  /**
   * Queues `data` for `position` of `fd` and returns a ticket for settle. With `sync`, `done` reports success
   * only once the bytes are fsynced too. `done` is never called from within submit. Once a write or fsync of
   * `stream` fails, that stream's later writes are not made (they would leave a hole) and fail too.
   */
  submit(stream: number, fd: number, data: Buffer, position: number, sync: boolean, done: WriteDone): number;
  /**
   * Runs `work` once this turn's I/O callbacks are done (setImmediate), together with every other log's:
   * the writes it submits reach the writer together.
   */
  atTurnEnd(work: () => void): void;
  /**
   * Blocks the calling thread until the write with `ticket` and every write before it have finished and
   * their `done` ran: for the rare synchronous file operations (roll, truncation, closing a descriptor) that
   * must not race a write in flight.
   */
  settle(ticket: number): void;
}

/**
 * Writes all of `data` at `position`; on failure cuts the file back to `position` so that a later read or
 * recovery never meets half a batch, and rethrows.
 */
export function writeFully(writer: SegmentWriter, fd: number, data: Buffer, position: number): void {
  try {
    let written = 0;
    while (written < data.length) {
      written += writer.write(fd, data, written, data.length - written, position + written);
    }
  } catch (error) {
    try {
      fs.ftruncateSync(fd, position);
    } catch {
      // Truncation only shrinks a file and needs no space; if even that fails, recovery on the next
      // start drops the partial batch because its CRC cannot match.
    }
    throw error;
  }
}

/** Why a write was not made: an earlier write of its stream failed. */
export function skippedWriteError(): Error {
  return new Error('not written: an earlier write of this log failed');
}

/** One write of a round (see writeRound). */
export interface RoundWrite {
  stream: number;
  fd: number;
  data: Buffer;
  position: number;
  sync: boolean;
}

export interface RoundResult {
  error: Error | null;
  fsynced: boolean;
}

/**
 * Makes the writes of a round in order. The fsyncs they ask for follow (fsyncsOf, fsyncEnded): writes that
 * queued while the previous round's fsyncs ran share the next ones (group commit on the writer's own
 * thread, with no hand-off between a write and its fsync).
 */
export function writeRound(
  writer: SegmentWriter,
  failedStreams: Set<number>,
  writes: readonly RoundWrite[],
): RoundResult[] {
  return writes.map((write) => ({ error: writeOnce(writer, failedStreams, write), fsynced: false }));
}

/** The descriptors a round must fsync, each with the index of its last write that asked for it. */
export function fsyncsOf(
  writes: readonly RoundWrite[],
  results: readonly RoundResult[],
): Map<number, number> {
  const lastSyncedWriteOf = new Map<number, number>();
  for (const [at, write] of writes.entries()) {
    if (write.sync && results[at]!.error === null) lastSyncedWriteOf.set(write.fd, at);
  }
  return lastSyncedWriteOf;
}

/**
 * Records how the fsync of `fd` ended. After a failed fsync the kernel may have dropped the dirty pages, so
 * every write of that descriptor in the round that asked for it fails, and so does its stream from then on.
 */
export function fsyncEnded(
  writes: readonly RoundWrite[],
  results: RoundResult[],
  failedStreams: Set<number>,
  fd: number,
  last: number,
  error: unknown,
): void {
  if (error === null) {
    results[last]!.fsynced = true;
    return;
  }
  const failure = asError(error);
  for (const [at, write] of writes.entries()) {
    if (write.fd !== fd || !write.sync || results[at]!.error !== null) continue;
    results[at]!.error = failure;
    failedStreams.add(write.stream);
  }
}

function writeOnce(writer: SegmentWriter, failedStreams: Set<number>, write: RoundWrite): Error | null {
  if (failedStreams.has(write.stream)) return skippedWriteError();
  try {
    writeFully(writer, write.fd, write.data, write.position);
    return null;
  } catch (error) {
    failedStreams.add(write.stream);
    return asError(error);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

interface Queued extends RoundWrite {
  ticket: number;
  done: WriteDone;
}

/**
 * Writes on the caller's thread, one turn later (setImmediate): for tests, which inject a SegmentWriter
 * to simulate failures and still exercise the deferred completion the thread writer has.
 */
export class DeferredAppendWriter implements AppendWriter {
  private readonly queue: Queued[] = [];
  private readonly failedStreams = new Set<number>();
  private nextTicket = 1;
  private scheduled = false;

  constructor(private readonly writer: SegmentWriter) {}

  submit(stream: number, fd: number, data: Buffer, position: number, sync: boolean, done: WriteDone): number {
    const ticket = this.nextTicket++;
    this.queue.push({ ticket, stream, fd, data, position, sync, done });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.settle(this.nextTicket - 1);
      });
    }
    return ticket;
  }

  atTurnEnd(work: () => void): void {
    setImmediate(work);
  }

  settle(ticket: number): void {
    const end = this.queue.findIndex((write) => write.ticket > ticket);
    const round = this.queue.splice(0, end < 0 ? this.queue.length : end);
    const results = writeRound(this.writer, this.failedStreams, round);
    for (const [fd, last] of fsyncsOf(round, results)) {
      let error: unknown = null;
      try {
        this.writer.sync(fd);
      } catch (thrown) {
        error = thrown;
      }
      fsyncEnded(round, results, this.failedStreams, fd, last, error);
    }
    for (const [at, write] of round.entries()) write.done(results[at]!.error, results[at]!.fsynced);
  }
}

/** A write request to the worker (append-worker.ts). */
export interface WorkerWrite {
  ticket: number;
  stream: number;
  fd: number;
  /** The writer's own copy, moved to the thread (a view of shared memory could not be). */
  data: Uint8Array<ArrayBuffer>;
  position: number;
  sync: boolean;
}

/** The worker's answer: the ticket finished, with the error's code and message when it failed. */
export interface WorkerDone {
  ticket: number;
  error: { code: string | null; message: string } | null;
  fsynced: boolean;
  /** The write's copy, moved back for reuse (WriteBufferPool). */
  buffer: ArrayBuffer;
}

/** Longest single wait in settle before looking at the port again. */
const SETTLE_WAIT_SLICE_MS = 50;
/**
 * Bytes a turn may write on the caller's thread (see submit): at 50,000 records/s a turn carries a few
 * kilobytes; the throughput cases carry megabytes, and those go to the writer thread.
 */
const INLINE_TURN_MAX_BYTES = 64 * 1024;
/**
 * A write on the caller's thread slower than this (the page cache throttling a heavy writer, writeback of
 * the same pages) sends every write to the writer thread for INLINE_PAUSE_MS.
 */
const INLINE_SLOW_WRITE_MS = 5;
const INLINE_PAUSE_MS = 1000;

interface PendingWrite {
  stream: number;
  done: WriteDone;
}

/**
 * One worker thread doing every log's writes in submission order. Completions come back as messages
 * (the asynchronous path) and as a shared counter of finished tickets, which settle blocks on.
 *
 * A small write that needs no fsync is made on the caller's thread instead when the worker has nothing in
 * flight: the round trip to the worker and back (two thread wake-ups, each waiting for a core on a busy
 * machine) was most of the time between a produce and its records becoming readable, and the write itself
 * takes tens of microseconds.
 */
export class ThreadAppendWriter implements AppendWriter {
  /** Started by the first write: an idle broker does without the thread and its memory. */
  private thread: { worker: Worker; port: MessagePort } | null = null;
  /** [0]: the highest ticket the worker has finished (its answer is posted before this moves). */
  private readonly finished = new BigInt64Array(new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT));
  /** The worker's writes not yet answered, by ticket in submission order (the worker answers in it). */
  private readonly pending = new Map<number, PendingWrite>();
  /** Writes made on this thread whose `done` is still to run (never from within submit). */
  private inlineDone: Array<() => void> = [];
  private inlineDoneScheduled = false;
  /**
   * Streams whose write failed here: every later write of theirs fails here too, so none reaches the thread
   * behind the failure. Those that failed on the thread are never written here (the thread fails them).
   */
  private readonly failedInline = new Set<number>();
  private readonly failedOnThread = new Set<number>();
  private inlineTurnBytes = 0;
  private inlinePausedUntilMs = 0;
  private nextTicket = 1;
  private turnWork: Array<() => void> = [];
  /** Writes submitted by this turn's work, posted as one message: one wake-up of the thread per turn. */
  private outbox: WorkerWrite[] | null = null;
  private readonly copies = new WriteBufferPool();

  private get port(): MessagePort {
    this.thread ??= this.start();
    return this.thread.port;
  }

  private start(): { worker: Worker; port: MessagePort } {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./append-worker.js', import.meta.url), {
      workerData: { finished: this.finished.buffer, port: port2 },
      transferList: [port2],
    });
    // Neither the thread nor the port keeps the process alive on its own: only writes in flight do.
    worker.unref();
    port1.on('message', (answers: WorkerDone[]) => this.completeAll(answers));
    port1.unref();
    return { worker, port: port1 };
  }

  submit(stream: number, fd: number, data: Buffer, position: number, sync: boolean, done: WriteDone): number {
    const ticket = this.nextTicket++;
    if (this.failedInline.has(stream)) {
      this.completeInline(done, skippedWriteError());
      return ticket;
    }
    if (this.mayWriteInline(stream, data.byteLength, sync)) {
      this.writeInline(fd, stream, data, position, done);
      return ticket;
    }
    if (this.pending.size === 0) this.port.ref();
    this.pending.set(ticket, { stream, done });
    // Cloning a view copies its whole ArrayBuffer: a produce's records are a slice of the request or of a
    // 64 KiB socket read, and the clone cost that, per write. A copy of just the bytes is moved instead.
    const owned = this.copies.take(data.byteLength);
    data.copy(owned);
    const request: WorkerWrite = { ticket, stream, fd, data: owned, position, sync };
    if (this.outbox) this.outbox.push(request);
    else this.post([request]);
    return ticket;
  }

  /** Only while the thread has nothing in flight: a write made here must not overtake one of the thread's. */
  private mayWriteInline(stream: number, bytes: number, sync: boolean): boolean {
    return (
      !sync &&
      this.pending.size === 0 &&
      !this.failedOnThread.has(stream) &&
      this.inlineTurnBytes + bytes <= INLINE_TURN_MAX_BYTES &&
      performance.now() >= this.inlinePausedUntilMs
    );
  }

  private writeInline(fd: number, stream: number, data: Buffer, position: number, done: WriteDone): void {
    this.inlineTurnBytes += data.byteLength;
    const startedMs = performance.now();
    const error = writeOnce(nodeSegmentWriter, this.failedInline, {
      stream,
      fd,
      data,
      position,
      sync: false,
    });
    const endedMs = performance.now();
    if (endedMs - startedMs > INLINE_SLOW_WRITE_MS) this.inlinePausedUntilMs = endedMs + INLINE_PAUSE_MS;
    this.completeInline(done, error);
  }

  private completeInline(done: WriteDone, error: Error | null): void {
    this.inlineDone.push(() => done(error, false));
    if (this.inlineDoneScheduled) return;
    this.inlineDoneScheduled = true;
    queueMicrotask(this.runInlineDone);
  }

  private readonly runInlineDone = (): void => {
    this.inlineDoneScheduled = false;
    const dones = this.inlineDone;
    this.inlineDone = [];
    for (const done of dones) done();
  };

  atTurnEnd(work: () => void): void {
    if (this.turnWork.length === 0) setImmediate(this.endTurn);
    this.turnWork.push(work);
  }

  private readonly endTurn = (): void => {
    const work = this.turnWork;
    this.turnWork = [];
    this.inlineTurnBytes = 0;
    const outbox: WorkerWrite[] = [];
    this.outbox = outbox;
    try {
      for (const run of work) run();
    } finally {
      this.outbox = null;
      if (outbox.length > 0) this.post(outbox);
    }
  };

  private post(writes: WorkerWrite[]): void {
    this.port.postMessage(
      writes,
      writes.map((write) => write.data.buffer),
    );
  }

  settle(ticket: number): void {
    assert.ok(ticket < this.nextTicket, `ticket ${ticket} was never handed out`);
    // Writes made here finished before any the worker has in flight: their `done` runs first.
    this.runInlineDone();
    // Called from a turn's work: what it submitted so far must reach the thread before we wait for it.
    if (this.outbox && this.outbox.length > 0) this.post(this.outbox.splice(0));
    for (let oldest = this.oldestPending(); oldest <= ticket; oldest = this.oldestPending()) {
      const received = receiveMessageOnPort(this.port);
      if (received) {
        this.completeAll(received.message);
        continue;
      }
      const finished = Atomics.load(this.finished, 0);
      // The worker posts its answer before it moves the counter: finished past us means the answer is near.
      Atomics.wait(this.finished, 0, finished, finished >= BigInt(oldest) ? 1 : SETTLE_WAIT_SLICE_MS);
    }
  }

  /** The oldest ticket the worker has not answered, or Infinity. */
  private oldestPending(): number {
    for (const ticket of this.pending.keys()) return ticket;
    return Number.POSITIVE_INFINITY;
  }

  private completeAll(answers: WorkerDone[]): void {
    for (const answer of answers) this.complete(answer);
  }

  private complete(message: WorkerDone): void {
    assert.ok(message.ticket === this.oldestPending(), `ticket ${message.ticket} finished out of order`);
    this.copies.give(message.buffer);
    const write = this.pending.get(message.ticket);
    assert.ok(write, `no write waits for ticket ${message.ticket}`);
    this.pending.delete(message.ticket);
    if (this.pending.size === 0) this.port.unref();
    const { error } = message;
    if (error) this.failedOnThread.add(write.stream);
    write.done(
      error ? Object.assign(new Error(error.message), error.code ? { code: error.code } : {}) : null,
      message.fsynced,
    );
  }
}

let shared: ThreadAppendWriter | null = null;

/** The process's one writer thread, started on first use: every log shares it. */
export function sharedAppendWriter(): AppendWriter {
  shared ??= new ThreadAppendWriter();
  return shared;
}
