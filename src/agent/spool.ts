import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { AgentError } from './errors.js';

/**
 * The agent's store-and-forward spool: every event goes through it, so the brokers being away changes only how
 * long events wait. Append-only segment files of CRC-checked frames, one frame per append (one per sampling
 * interval); every record gets the next sequence number of this spool, which never repeats (the spool's id
 * changes if its directory is wiped). Bounded: past spoolBytesMax, the oldest segment is dropped, sent or not,
 * and what it held unsent is counted.
 *
 * Frame: u32 payload bytes, u32 CRC-32C of the payload, payload = JSON {first, meta, records}. `meta` is the
 * caller's own state saved with the records in one write (the access-log position), so the two cannot disagree
 * after a crash.
 */

export interface SpoolRecord {
  topic: string;
  /** Record timestamp, ms since the epoch. */
  ts: number;
  /** The record value (JSON text). */
  value: string;
}

export interface SequencedRecord extends SpoolRecord {
  seq: number;
}

export interface SpoolStats {
  /** Records appended but not yet acknowledged by the brokers. */
  pendingRecords: number;
  bytes: number;
  segments: number;
  /** Unsent records dropped because the spool was full, since the agent started. */
  droppedRecords: number;
  /** Frames found damaged at start and cut off (a crash in the middle of a write). */
  damagedFrames: number;
}

/** Where a frame sits, so reading pending records reads only their frames. */
interface FrameIndex {
  first: number;
  records: number;
  byteOffset: number;
  bytes: number;
}

interface Segment {
  file: string;
  firstSeq: number;
  /** The sequence after this segment's last record. */
  endSeq: number;
  bytes: number;
  frames: FrameIndex[];
}

interface Frame {
  first: number;
  meta: unknown;
  records: SpoolRecord[];
}

interface DecodedFrame extends Frame {
  /** Where the frame sits in the bytes it was decoded from. */
  at: { byteOffset: number; bytes: number };
}

const FRAME_HEADER_BYTES = 8;
const SEGMENT_PREFIX = 'segment-';
const SEGMENT_SUFFIX = '.spool';
const ACKED_FILE = 'acked.json';
const ID_FILE = 'spool-id';
/** Segments per spool bound: dropping one drops at most this fraction of the spool. */
const SEGMENTS_PER_BOUND = 8;
const SEGMENT_BYTES_MIN = 64 * 1024;
/** Small enough that dropping one loses little, large enough that files stay few. */
const SEGMENT_BYTES_MAX = 4 * 1024 * 1024;
export const SPOOL_BYTES_MIN = 1024 * 1024;

export class Spool {
  private readonly segments: Segment[] = [];
  private active: FileHandle | null = null;
  private nextSeq = 0;
  private ackedSeq = -1;
  /** The frame appended last (at start: the last one found), kept to send it without reading it back. */
  private newestFrame: Frame | null = null;
  private droppedRecords = 0;
  private damagedFrames = 0;
  private readonly segmentBytesMax: number;

  private constructor(
    private readonly dir: string,
    private readonly spoolBytesMax: number,
    /** Random, made when the directory was: sequence numbers are unique per id. */
    readonly id: string,
  ) {
    this.segmentBytesMax = Math.min(
      SEGMENT_BYTES_MAX,
      Math.max(SEGMENT_BYTES_MIN, Math.floor(spoolBytesMax / SEGMENTS_PER_BOUND)),
    );
  }

  /** Opens (or creates) the spool in `dir`, checking every frame and cutting off a torn last write. */
  static async open(dir: string, spoolBytesMax: number): Promise<Spool> {
    if (!Number.isSafeInteger(spoolBytesMax) || spoolBytesMax < SPOOL_BYTES_MIN) {
      throw new AgentError('AGENT_CONFIG', `spool bound ${spoolBytesMax} bytes is below ${SPOOL_BYTES_MIN}`);
    }
    await mkdir(dir, { recursive: true });
    const spool = new Spool(dir, spoolBytesMax, await spoolId(dir));
    await spool.recover();
    return spool;
  }

  /** The sequence of the last record the brokers acknowledged; -1 before any. */
  get acked(): number {
    return this.ackedSeq;
  }

  /** The meta of the newest frame: what the caller saved with the last records it appended. */
  get meta(): unknown {
    return this.newestFrame?.meta ?? null;
  }

  stats(): SpoolStats {
    return {
      pendingRecords: this.nextSeq - 1 - this.ackedSeq,
      bytes: this.bytes(),
      segments: this.segments.length,
      droppedRecords: this.droppedRecords,
      damagedFrames: this.damagedFrames,
    };
  }

  /**
   * Appends the records (and the caller's meta) as one frame and fsyncs it before resolving: once this resolves
   * the records survive a crash. Returns the sequence of the first record.
   */
  async append(records: SpoolRecord[], meta: unknown): Promise<number> {
    const first = this.nextSeq;
    const payload = Buffer.from(JSON.stringify({ first, meta, records } satisfies Frame), 'utf8');
    if (payload.length + FRAME_HEADER_BYTES > this.spoolBytesMax / 2) {
      throw new AgentError(
        'SPOOL_RECORD_TOO_LARGE',
        `an interval's ${records.length} events take ${payload.length} bytes, more than half the spool bound`,
      );
    }
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    frame.writeUInt32BE(crc32c(payload), 4);
    payload.copy(frame, FRAME_HEADER_BYTES);
    let segment = this.segments.at(-1);
    if (!segment || !this.active || segment.bytes >= this.segmentBytesMax) segment = await this.roll(first);
    await this.active!.write(frame, 0, frame.length, segment.bytes);
    // One fsync per interval: a crash loses at most the interval being sampled, never one already appended.
    await this.active!.datasync();
    segment.frames.push({ first, records: records.length, byteOffset: segment.bytes, bytes: frame.length });
    segment.bytes += frame.length;
    segment.endSeq = first + records.length;
    this.nextSeq = segment.endSeq;
    this.newestFrame = { first, meta, records };
    await this.enforceBound();
    return first;
  }

  /** Records after `afterSeq`, in order, as many as fit in recordsMax and about bytesMax. */
  async read(afterSeq: number, recordsMax: number, bytesMax: number): Promise<SequencedRecord[]> {
    const out: SequencedRecord[] = [];
    let bytes = 0;
    const newest = this.newestFrame;
    if (newest && afterSeq + 1 >= newest.first) {
      // The usual case while the brokers keep up: only the frame just appended is pending; no file read.
      for (let seq = afterSeq + 1; seq < newest.first + newest.records.length; seq++) {
        const record = newest.records[seq - newest.first]!;
        if (out.length >= recordsMax || (out.length > 0 && bytes + record.value.length > bytesMax)) break;
        out.push({ ...record, seq });
        bytes += record.value.length;
      }
      return out;
    }
    for (const segment of this.segments) {
      if (segment.endSeq <= afterSeq + 1) continue;
      const wanted = segment.frames.filter((frame) => frame.first + frame.records > afterSeq + 1);
      if (wanted.length === 0) continue;
      const from = wanted[0]!.byteOffset;
      const data = await readRange(path.join(this.dir, segment.file), from, segment.bytes - from);
      for (const frame of decodeFrames(data).frames) {
        for (const [i, record] of frame.records.entries()) {
          const seq = frame.first + i;
          if (seq <= afterSeq) continue;
          if (out.length >= recordsMax || (out.length > 0 && bytes + record.value.length > bytesMax))
            return out;
          out.push({ ...record, seq });
          bytes += record.value.length;
        }
      }
    }
    return out;
  }

  /**
   * The brokers have every record up to `seq`: remembered (a hint that saves reading sent records again; what is
   * truly written is read back from the brokers) and whole segments before it deleted.
   */
  async ack(seq: number): Promise<void> {
    if (seq <= this.ackedSeq) return;
    this.ackedSeq = seq;
    const file = path.join(this.dir, ACKED_FILE);
    await writeFile(`${file}.tmp`, JSON.stringify({ id: this.id, seq }));
    await rename(`${file}.tmp`, file);
    while (this.segments.length > 1 && this.segments[0]!.endSeq <= seq + 1) await this.dropOldest();
  }

  async close(): Promise<void> {
    await this.active?.close();
    this.active = null;
  }

  private bytes(): number {
    let bytes = 0;
    for (const segment of this.segments) bytes += segment.bytes;
    return bytes;
  }

  /** Past the bound, the oldest segments go, unsent or not; the active one (the newest) always stays. */
  private async enforceBound(): Promise<void> {
    while (this.segments.length > 1 && this.bytes() > this.spoolBytesMax) {
      const oldest = this.segments[0]!;
      this.droppedRecords += Math.max(0, oldest.endSeq - Math.max(oldest.firstSeq, this.ackedSeq + 1));
      if (oldest.endSeq - 1 > this.ackedSeq) this.ackedSeq = oldest.endSeq - 1;
      await this.dropOldest();
    }
  }

  private async dropOldest(): Promise<void> {
    const oldest = this.segments.shift()!;
    await rm(path.join(this.dir, oldest.file), { force: true });
  }

  private async roll(firstSeq: number): Promise<Segment> {
    await this.active?.close();
    const file = `${SEGMENT_PREFIX}${String(firstSeq).padStart(20, '0')}${SEGMENT_SUFFIX}`;
    this.active = await open(path.join(this.dir, file), 'a+');
    const segment: Segment = { file, firstSeq, endSeq: firstSeq, bytes: 0, frames: [] };
    this.segments.push(segment);
    return segment;
  }

  /** Reads every segment, checks every frame, cuts a damaged tail off, and reopens the newest for appends. */
  private async recover(): Promise<void> {
    this.ackedSeq = await readAcked(this.dir, this.id);
    const files = (await readdir(this.dir))
      .filter((file) => file.startsWith(SEGMENT_PREFIX) && file.endsWith(SEGMENT_SUFFIX))
      .sort();
    for (const file of files) {
      const firstSeq = Number(file.slice(SEGMENT_PREFIX.length, -SEGMENT_SUFFIX.length));
      const { frames, goodBytes, damaged } = decodeFrames(await readFile(path.join(this.dir, file)));
      if (damaged) {
        this.damagedFrames += 1;
        const handle = await open(path.join(this.dir, file), 'r+');
        await handle.truncate(goodBytes);
        await handle.close();
      }
      const index = frames.map((frame) => ({
        first: frame.first,
        records: frame.records.length,
        ...frame.at,
      }));
      const last = frames.at(-1);
      const endSeq = last ? last.first + last.records.length : firstSeq;
      if (last) this.newestFrame = { first: last.first, meta: last.meta, records: last.records };
      this.segments.push({ file, firstSeq, endSeq, bytes: goodBytes, frames: index });
    }
    const newest = this.segments.at(-1);
    this.nextSeq = Math.max(newest?.endSeq ?? 0, this.ackedSeq + 1);
    if (newest) this.active = await open(path.join(this.dir, newest.file), 'a+');
  }
}

/** The frames of a segment up to the first damaged one (torn write, bad CRC, bad JSON). */
function decodeFrames(data: Buffer): { frames: DecodedFrame[]; goodBytes: number; damaged: boolean } {
  const frames: DecodedFrame[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + FRAME_HEADER_BYTES > data.length) break;
    const length = data.readUInt32BE(at);
    const end = at + FRAME_HEADER_BYTES + length;
    if (end > data.length) break;
    const payload = data.subarray(at + FRAME_HEADER_BYTES, end);
    if (crc32c(payload) !== data.readUInt32BE(at + 4)) break;
    const frame = frameOf(payload);
    if (!frame) break;
    frames.push({ ...frame, at: { byteOffset: at, bytes: end - at } });
    at = end;
  }
  return { frames, goodBytes: at, damaged: at < data.length };
}

/** The payload checked for shape: the CRC says the bytes are the ones written, this that we wrote them. */
function frameOf(payload: Buffer): Frame | null {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const first: unknown = Reflect.get(value, 'first');
  const records: unknown = Reflect.get(value, 'records');
  if (!Number.isSafeInteger(first) || !Array.isArray(records)) return null;
  const checked: SpoolRecord[] = [];
  for (const record of records) {
    if (typeof record !== 'object' || record === null) return null;
    const { topic, ts, value: text } = record;
    if (typeof topic !== 'string' || typeof ts !== 'number' || typeof text !== 'string') return null;
    checked.push({ topic, ts, value: text });
  }
  return { first: Number(first), meta: Reflect.get(value, 'meta') ?? null, records: checked };
}

async function spoolId(dir: string): Promise<string> {
  const file = path.join(dir, ID_FILE);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const id = randomBytes(6).toString('hex');
  await writeFile(file, `${id}\n`, { flag: 'wx' });
  return id;
}

async function readAcked(dir: string, id: string): Promise<number> {
  try {
    const value: unknown = JSON.parse(await readFile(path.join(dir, ACKED_FILE), 'utf8'));
    if (typeof value !== 'object' || value === null || Reflect.get(value, 'id') !== id) return -1;
    const seq: unknown = Reflect.get(value, 'seq');
    return typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : -1;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw error;
  }
}

async function readRange(file: string, from: number, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const data = Buffer.allocUnsafe(bytes);
    const { bytesRead } = await handle.read(data, 0, bytes, from);
    return data.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
