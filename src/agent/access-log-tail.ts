import { type FileHandle, open, stat } from 'node:fs/promises';

/**
 * Follows an access log by inode, as `tail -F` does: appended lines are read from where the last read stopped;
 * when the name points to a new file (rename rotation), the old file is read to its end first (and once more at
 * the next poll, for a writer that had not reopened yet); when the file shrank (copytruncate), it is read
 * from the start again. The position survives restarts: the agent stores position() with what it read.
 */

/** Where the tail stands: the file (device and inode) and the byte after the last complete line read. */
export interface TailPosition {
  dev: number;
  ino: number;
  offset: number;
}

export interface TailLimits {
  /** A line longer than this is skipped and counted: a bound on memory per line. */
  lineBytesMax: number;
  /** Bytes read per file per poll; the rest waits for the next poll. */
  readBytesPerPollMax: number;
}

export interface TailRead {
  lines: string[];
  /** Lines skipped because they were longer than lineBytesMax, or cut off by a rotation. */
  skippedLines: number;
}

interface OpenFile {
  handle: FileHandle;
  dev: number;
  ino: number;
  offset: number;
  /** Inside a line longer than lineBytesMax: bytes up to the next newline are dropped. */
  skipping: boolean;
}

export class AccessLogTail {
  private current: OpenFile | null = null;
  /** The file renamed away, read to its end once more at the next poll, then closed. */
  private rotated: OpenFile | null = null;
  private readonly buffer: Buffer;

  /**
   * `saved` is the position of a previous run. Without one, a log that exists already is followed from its
   * end (its history is not this agent's to send); a log that appears later is read from its start.
   */
  constructor(
    private readonly path: string,
    private readonly limits: TailLimits,
    private saved: TailPosition | null,
    private startAtEnd = saved === null,
  ) {
    if (limits.readBytesPerPollMax <= limits.lineBytesMax) {
      throw new RangeError(
        'readBytesPerPollMax must exceed lineBytesMax, or a full-length line could never be read',
      );
    }
    this.buffer = Buffer.alloc(limits.readBytesPerPollMax);
  }

  /** The position to store with the lines poll() last returned; null before the log was ever opened. */
  position(): TailPosition | null {
    const file = this.current;
    return file ? { dev: file.dev, ino: file.ino, offset: file.offset } : this.saved;
  }

  async poll(): Promise<TailRead> {
    const read: TailRead = { lines: [], skippedLines: 0 };
    if (this.rotated) {
      await this.readToEnd(this.rotated, read);
      await this.closeFile(this.rotated, read);
      this.rotated = null;
    }
    if (!this.current) this.current = await this.openCurrent(read);
    if (!this.current) return read;
    await this.readAvailable(this.current, read);
    const named = await statOrNull(this.path);
    if (named && (named.ino !== this.current.ino || named.dev !== this.current.dev)) {
      // Rotated by rename: what the old file still gets is read at the next poll; the new one from its start.
      this.rotated = this.current;
      this.current = await this.openAt(0);
      if (this.current) await this.readAvailable(this.current, read);
    }
    return read;
  }

  async close(): Promise<void> {
    await this.rotated?.handle.close();
    await this.current?.handle.close();
    this.rotated = null;
    this.current = null;
  }

  /** Opens the log where the saved position says, finishing the rotated-away file first when it is `.1`. */
  private async openCurrent(read: TailRead): Promise<OpenFile | null> {
    const saved = this.saved;
    this.saved = null;
    const named = await statOrNull(this.path);
    if (!named) {
      // The log appears after the agent started: all of it is new.
      this.startAtEnd = false;
      return null;
    }
    if (saved && (saved.ino !== named.ino || saved.dev !== named.dev)) {
      const previous = await this.openIfSame(`${this.path}.1`, saved);
      if (previous) {
        await this.readToEnd(previous, read);
        await this.closeFile(previous, read);
      }
      return this.openAt(0);
    }
    if (saved) return this.openAt(saved.offset);
    const atEnd = this.startAtEnd;
    this.startAtEnd = false;
    return this.openAt(atEnd ? named.size : 0);
  }

  private async openIfSame(path: string, saved: TailPosition): Promise<OpenFile | null> {
    const stats = await statOrNull(path);
    if (!stats || stats.ino !== saved.ino || stats.dev !== saved.dev) return null;
    const handle = await open(path, 'r');
    return { handle, dev: stats.dev, ino: stats.ino, offset: saved.offset, skipping: false };
  }

  private async openAt(offset: number): Promise<OpenFile | null> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const stats = await handle.stat();
    // A saved offset past the end: the file was truncated while the agent was away.
    return {
      handle,
      dev: stats.dev,
      ino: stats.ino,
      offset: offset <= stats.size ? offset : 0,
      skipping: false,
    };
  }

  /** A file no longer written to is read whole: it is bounded by its size, and it will not be seen again. */
  private async readToEnd(file: OpenFile, read: TailRead): Promise<void> {
    while ((await this.readAvailable(file, read)) > 0);
  }

  /** Complete lines from the file's offset, up to readBytesPerPollMax bytes; returns the bytes consumed. */
  private async readAvailable(file: OpenFile, read: TailRead): Promise<number> {
    const { size } = await file.handle.stat();
    if (size < file.offset) file.offset = 0; // truncated in place (copytruncate)
    const { bytesRead } = await file.handle.read(this.buffer, 0, this.buffer.length, file.offset);
    let start = 0;
    for (;;) {
      const newline = this.buffer.indexOf(10, start);
      if (newline < 0 || newline >= bytesRead) break;
      if (file.skipping) {
        file.skipping = false;
        read.skippedLines += 1;
      } else if (newline - start > this.limits.lineBytesMax) {
        read.skippedLines += 1;
      } else {
        read.lines.push(this.buffer.toString('utf8', start, newline));
      }
      start = newline + 1;
    }
    const rest = bytesRead - start;
    if (rest > this.limits.lineBytesMax || (file.skipping && rest > 0)) {
      // Too long to be a line we keep: drop it up to its newline, whenever that comes.
      file.skipping = true;
      start = bytesRead;
    }
    file.offset += start;
    return start;
  }

  /** Closes a file read to its end; a last line without its newline will never be finished. */
  private async closeFile(file: OpenFile, read: TailRead): Promise<void> {
    const { size } = await file.handle.stat();
    if (size > file.offset || file.skipping) read.skippedLines += 1;
    await file.handle.close();
  }
}

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
