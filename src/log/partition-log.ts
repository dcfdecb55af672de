import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  BatchField,
  CONTROL_BIT,
  computeBatchCrc,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  isControlBatch,
  isTransactional,
  readBatchHeader,
  readInt64,
  splitBatches,
  TRANSACTIONAL_BIT,
  writeInt64,
} from '../protocol/index.js';
import { DeferredAppendWriter, sharedAppendWriter } from './append-writer.js';
import { type BatchSummary, summarizeBatch, validateBatches } from './batch-validation.js';
import {
  type CompactionStats,
  DEFAULT_MAX_KEY_MAP_BYTES,
  LogCompactor,
  readCleanerCheckpoint,
} from './compaction.js';
import { compactionEnabled, deletionEnabled, type TopicConfig } from './config.js';
import { CorruptSegmentError, ioError, LogError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import {
  type EpochEndOffset,
  type EpochEntry,
  type LeaderEpochCache,
  MAX_LEADER_EPOCH,
} from './leader-epoch-cache.js';
import { loadLeaderEpochCache } from './leader-epoch-recovery.js';
import { sharedLoadedIndexes } from './loaded-indexes.js';
import { readLogStartOffset, writeLogStartOffset } from './log-start-offset.js';
import type { Logger } from './logger.js';
import type { OpenFileLimiter } from './open-files.js';
import {
  type AbortedTransaction,
  type ActiveProducer,
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  ProducerState,
  type SequenceVerdict,
} from './producer-state.js';
import { CLEAN_SHUTDOWN_FILE, recoverSegments } from './recovery.js';
import { checkLeaderBatches } from './replica-append.js';
import {
  fsyncDirectory,
  type ScanResult,
  Segment,
  type SegmentContext,
  type SegmentWriter,
  writeFileAtomic,
} from './segment.js';
import { firstRecordAtOrAfter, type TimestampAndOffset } from './timestamp-search.js';

const LOG_APPEND_TIME_ATTRIBUTE = 0x08;
/** Relative offsets in the indexes are u32. */
const MAX_OFFSETS_PER_SEGMENT = 0xffff_ffff;
const TIMESTAMP_SCAN_BYTES = 1024 * 1024;
/** Read size of the scan that brings the producer state from its snapshot to the log end. */
const PRODUCER_SCAN_BYTES = 1024 * 1024;
/** Bound on onDurable listeners per partition: the replication layer needs one, metrics perhaps another. */
const MAX_DURABLE_LISTENERS = 16;
/** What write stamps when no leader epoch is given, as it always has. */
const UNREPLICATED_LEADER_EPOCH = 0;

export interface PartitionLogOptions {
  dir: string;
  config: TopicConfig;
  files: OpenFileLimiter;
  logger: Logger;
  /**
   * Writes appends through this on the event loop, one turn later, instead of on the shared writer thread:
   * for tests that simulate a failing disk.
   */
  writer?: SegmentWriter;
  now?: () => number;
  /**
   * producer.id.expiration.ms: a producer with no open transaction whose last batch is this much older than
   * the clock is forgotten (default DEFAULT_PRODUCER_ID_EXPIRATION_MS, a day).
   */
  producerIdExpirationMs?: number;
  /** Memory bound of compaction's key map; a pass that fills it compacts less and the next continues. */
  compactionKeyMapBytes?: number;
  /** Bound on what one batch's records may inflate to when the log decodes them (default 64 MiB). */
  maxDecompressedBytes?: number;
}

export interface WriteOptions {
  /**
   * The leader's epoch, for a leader's append in a replicated partition: stamped into every batch and
   * recorded in the leader epoch cache when it is newer than the latest epoch there.
   */
  leaderEpoch?: number;
  /** The payload is a transaction marker the partition leader writes (a control batch); clients may not. */
  marker?: boolean;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker time stamped on the batches for LogAppendTime topics, otherwise -1. */
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface ReadResult {
  /**
   * Whole RecordBatch v2 batches, back to back, exactly as stored, in memory of the reader's own: the log
   * keeps no reference to it and it is never a slice of Node's shared pool, so a reader may move it to
   * another thread.
   */
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
}

interface LandingWaiter {
  endOffset: number;
  resolve(): void;
  reject(error: LogError): void;
}

/** A read_committed read: batches below the last stable offset and the aborted transactions among them. */
export interface CommittedReadResult extends ReadResult {
  lastStableOffset: number;
  abortedTransactions: AbortedTransaction[];
}

export interface RetentionResult {
  deletedSegments: number;
  deletedBytes: number;
}

/** One topic partition: an ordered list of segments of which only the last one is written to. */
export class PartitionLog {
  private config: TopicConfig;
  private readonly context: SegmentContext;
  private readonly groupCommit: GroupCommit;
  private readonly now: () => number;
  private readonly producerIdExpirationMs: number;
  private readonly logger: Logger;
  private readonly compactor: LogCompactor;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Offsets below this are fsynced (kept by every flush policy; only the durable one acknowledges by it). */
  private syncedEndOffset: number;
  /** The replicated high watermark, when a replication layer sets one; it bounds what consumers see. */
  private replicatedHighWatermark: number | null = null;
  /**
   * Truncations so far: an fsync in flight across one synced offsets that may since hold other batches, so
   * it does not advance the synced end (the truncation fsynced what it kept itself).
   */
  private truncations = 0;
  /**
   * Offsets below this are in the file. Appends take their offsets at once (logEndOffset) and reach the
   * file later, off the event loop; readers and acknowledgements wait for this to pass them.
   */
  private writtenEndOffset: number;
  /** Appended bytes of this turn not yet handed to the writer: one write per partition per turn. */
  private unsubmitted: Buffer[] = [];
  private unsubmittedBytes = 0;
  private unsubmittedPosition = 0;
  private unsubmittedSegment: Segment | null = null;
  private submitScheduled = false;
  /** Waiting for writtenEndOffset to reach their end offset; in increasing end offset order. */
  private landingWaiters: LandingWaiter[] = [];
  /** The first failed write: appends after it had offsets that never reached the file, so writes stop. */
  private writeFailure: LogError | null = null;
  private readonly durableListeners = new Set<() => void>();
  private notifiedDurableEndOffset: number;
  private durableNotificationPending = false;
  private closed = false;
  /** The first damage found in this log (lowest segment, then position), until truncateAtCorruption. */
  private corruptionFound: CorruptSegmentError | null = null;
  /** Damage already logged, by file and position: a read retried against it is not logged again. */
  private readonly corruptionReported = new Set<string>();
  private readonly corruptionListeners = new Set<() => void>();
  /** fsyncs of the active segment so far: with group commit, far fewer than durable appends. */
  fsyncCount = 0;
  /** Bound on what one batch's records may inflate to, for the log and for in-process readers of it. */
  readonly maxDecompressedBytes: number;
  /**
   * The log start DeleteRecords moved inside the first segment (log-start-offset.ts), 0 when none: offsets
   * below it are gone for readers though their segment stays until wholly below.
   */
  private recordedStartOffset: number;
  /** Producers' recent batches, epochs, open and aborted transactions, from the batch headers of the log. */
  private producerState: ProducerState;

  private constructor(
    readonly dir: string,
    private readonly segments: Segment[],
    options: PartitionLogOptions,
    context: SegmentContext,
    compactor: LogCompactor,
    private readonly epochs: LeaderEpochCache,
    recordedStartOffset: number,
  ) {
    this.recordedStartOffset = recordedStartOffset;
    this.config = options.config;
    this.context = context;
    this.compactor = compactor;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.producerIdExpirationMs = options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
    assert.ok(
      Number.isSafeInteger(this.producerIdExpirationMs) && this.producerIdExpirationMs >= 1,
      `producer id expiration ${this.producerIdExpirationMs} ms is not an integer >= 1`,
    );
    this.maxDecompressedBytes = compactor.maxDecompressedBytes;
    this.syncedEndOffset = this.logEndOffset;
    this.writtenEndOffset = this.logEndOffset;
    this.notifiedDurableEndOffset = this.logEndOffset;
    this.groupCommit = new GroupCommit(() => this.syncActiveSegment());
    this.producerState = this.recoverProducerState();
    this.scheduleIntervalFlush();
  }

  /**
   * The producer state from the last snapshot (written at each roll and clean shutdown), brought up to the
   * log end by the headers of the batches after it: at open that is the active segment, not the log.
   */
  private recoverProducerState(): ProducerState {
    this.settleWrites();
    const state = ProducerState.load(this.dir, this.logStartOffset, this.logEndOffset, this.logger);
    let offset = Math.max(state.endOffset, this.logStartOffset);
    try {
      while (offset < this.logEndOffset) {
        const bytes = this.readForReplica(offset, PRODUCER_SCAN_BYTES).records;
        if (bytes.length === 0) break;
        for (let at = 0; at < bytes.length; ) {
          const summary = summarizeBatch(bytes, at);
          if (readInt64(bytes, at + BatchField.producerId) >= 0) state.apply(bytes, at, summary.size);
          offset = readInt64(bytes, at + BatchField.baseOffset) + summary.offsetCount;
          at += summary.size;
        }
      }
    } catch (error) {
      // Damage is recorded by the read and handled by the corruption path; the state covers what was read.
      if (!(error instanceof LogError)) throw error;
      this.logger.warn({ dir: this.dir, offset, err: error }, 'producer state scan stopped at damage');
    }
    state.endOffset = this.logEndOffset;
    // A snapshot older than an expiration, or a scan of old batches, must not bring expired producers back.
    state.removeExpired(this.now(), this.producerIdExpirationMs);
    return state;
  }

  /**
   * Forgets producers idle past producer.id.expiration.ms with no open transaction (called on a timer); the
   * next snapshot leaves them out. Returns how many were forgotten.
   */
  expireProducers(): number {
    this.ensureOpen();
    return this.producerState.removeExpired(this.now(), this.producerIdExpirationMs);
  }

  /**
   * A leader's check of a batch with the transactional or control bit (KIP-98): control batches only as the
   * leader's own markers, data batches only idempotent, and neither from a fenced producer epoch.
   */
  private checkTransactional(payload: Buffer, batch: BatchSummary, marker: boolean): void {
    const at = batch.position;
    if (isControlBatch(batch.attributes) !== marker || !isTransactional(batch.attributes)) {
      throw new LogError(
        'INVALID_RECORD',
        marker
          ? 'a transaction marker must be one transactional control batch'
          : 'control batches are written by the partition leader only',
      );
    }
    if (
      !marker &&
      (readInt64(payload, at + BatchField.producerId) < 0 ||
        payload.readInt32BE(at + BatchField.baseSequence) < 0)
    ) {
      throw new LogError('INVALID_RECORD', 'a transactional batch needs a producer id, epoch and sequence');
    }
    const fenced = this.producerState.fencing(payload, at);
    if (fenced !== null) throw new LogError('INVALID_PRODUCER_EPOCH', fenced);
  }

  /** Takes the batches of an append (offsets assigned) that carry a producer id into the producer state. */
  private trackProducers(payload: Buffer, batches: readonly BatchSummary[]): void {
    for (const batch of batches) {
      if (readInt64(payload, batch.position + BatchField.producerId) >= 0)
        this.producerState.apply(payload, batch.position, batch.size);
    }
  }

  /** The producers with state in this partition (DescribeProducers). */
  activeProducers(): ActiveProducer[] {
    return this.producerState.active();
  }

  /**
   * What an idempotent batch of the producer meets here (KIP-98): append, a duplicate of a recent batch
   * (with its offsets), or a refusal. The leader asks before it writes; the write itself records the batch.
   */
  checkSequence(
    producerId: number,
    epoch: number,
    firstSequence: number,
    lastSequence: number,
  ): SequenceVerdict {
    return this.producerState.checkSequence(producerId, epoch, firstSequence, lastSequence);
  }

  /** A snapshot lets the next open skip every sealed segment; losing one only costs a longer scan. */
  private snapshotProducers(): void {
    this.producerState.endOffset = this.logEndOffset;
    try {
      this.producerState.persist(this.dir);
    } catch (error) {
      this.logger.warn({ dir: this.dir, err: error }, 'could not write the producer state snapshot');
    }
  }

  /**
   * The last stable offset: below the first offset of any open transaction and below the high watermark.
   * read_committed consumers read up to it.
   */
  get lastStableOffset(): number {
    const hw = this.highWatermark;
    const firstUnstable = this.producerState.firstUnstableOffset();
    return firstUnstable === null ? hw : Math.min(firstUnstable, hw);
  }

  /** Like read, but below the last stable offset, with the aborted transactions the returned batches overlap. */
  readCommitted(offset: number, maxBytes: number): CommittedReadResult {
    const lastStableOffset = this.lastStableOffset;
    const read = this.readBelow(offset, maxBytes, lastStableOffset);
    let endOffset = offset;
    for (let at = 0; at < read.records.length; ) {
      const summary = summarizeBatch(read.records, at);
      endOffset = readInt64(read.records, at + BatchField.baseOffset) + summary.offsetCount;
      at += summary.size;
    }
    const abortedTransactions = endOffset > offset ? this.producerState.abortedIn(offset, endOffset) : [];
    return { ...read, lastStableOffset, abortedTransactions };
  }

  static open(options: PartitionLogOptions): PartitionLog {
    const maxDecompressedBytes = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
    if (!Number.isSafeInteger(maxDecompressedBytes) || maxDecompressedBytes < 1) {
      throw new LogError(
        'INVALID_CONFIG',
        `maxDecompressedBytes=${maxDecompressedBytes} is invalid: expected an integer >= 1`,
      );
    }
    const checkpoint = readCleanerCheckpoint(options.dir, options.logger);
    // Damage found while recovering is handed to the log once it exists.
    const foundBeforeOpen: CorruptSegmentError[] = [];
    let opened: PartitionLog | null = null;
    const context: SegmentContext = {
      files: options.files,
      indexes: sharedLoadedIndexes(),
      appendWriter: options.writer ? new DeferredAppendWriter(options.writer) : sharedAppendWriter(),
      indexIntervalBytes: options.config.indexIntervalBytes,
      compactedBelowOffset: checkpoint.compactedBelowOffset,
      onCorruption: (error) => (opened ? opened.noteCorruption(error) : foundBeforeOpen.push(error)),
    };
    const segments = recoverSegments(options.dir, context, options.logger, (options.now ?? Date.now)());
    const compactor = new LogCompactor(
      options.dir,
      context,
      options.logger,
      checkpoint,
      options.compactionKeyMapBytes ?? DEFAULT_MAX_KEY_MAP_BYTES,
      maxDecompressedBytes,
    );
    const epochs = loadLeaderEpochCache(options.dir, segments, options.logger);
    opened = new PartitionLog(
      options.dir,
      segments,
      options,
      context,
      compactor,
      epochs,
      readLogStartOffset(options.dir, options.logger),
    );
    for (const error of foundBeforeOpen) opened.noteCorruption(error);
    return opened;
  }

  /**
   * The first damage found in this log's files (at open after an unclean shutdown, by a read, or by
   * verify), or null. Reads never return a batch at or past it; truncateAtCorruption removes it.
   */
  get corruption(): CorruptSegmentError | null {
    return this.corruptionFound;
  }

  /** Calls `listener` (soon after, never during) when damage is found. Returns the function that removes it. */
  onCorruption(listener: () => void): () => void {
    assert.ok(
      this.corruptionListeners.size < MAX_DURABLE_LISTENERS,
      `more than ${MAX_DURABLE_LISTENERS} listeners`,
    );
    this.corruptionListeners.add(listener);
    return () => {
      this.corruptionListeners.delete(listener);
    };
  }

  private noteCorruption(error: CorruptSegmentError): void {
    const where = `${error.path}@${error.position}`;
    if (this.corruptionReported.has(where)) return;
    this.corruptionReported.add(where);
    reportCorruption(this.logger, error);
    const current = this.corruptionFound;
    if (current && !corruptionBefore(error, current)) return;
    this.corruptionFound = error;
    queueMicrotask(() => {
      for (const listener of [...this.corruptionListeners]) listener();
    });
  }

  /**
   * Removes the first damaged batch and everything after it, so the log ends with the last valid batch
   * before the damage (what Kafka's recovery does at the first invalid batch); returns the new log end.
   * Only for a replica that can fetch the rest again from its leader: anything after the damage is gone.
   * Later segments are deleted newest first; an unreadable segment goes whole.
   */
  truncateAtCorruption(): number {
    this.ensureWritable();
    this.settleWrites();
    const found = this.corruptionFound;
    assert.ok(found, `${this.dir} has no corruption to truncate at`);
    const at = this.segments.findIndex((segment) => segment.logPath === found.path);
    const before = this.logEndOffset;
    if (at >= 0) this.cutSegmentsAt(at);
    this.corruptionFound = null;
    this.corruptionReported.clear();
    this.logger.warn(
      {
        dir: this.dir,
        path: found.path,
        position: found.position,
        from: before,
        logEndOffset: this.logEndOffset,
      },
      'truncated log at the first damaged batch',
    );
    return this.logEndOffset;
  }

  private cutSegmentsAt(index: number): void {
    const segment = this.segments[index]!;
    let scan: ScanResult | null = null;
    try {
      scan = segment.scan();
    } catch (error) {
      if (!(error instanceof LogError) || error.code !== 'IO_ERROR') throw error;
    }
    if ((scan === null || scan.validBytes === 0) && index === 0) {
      this.truncateFullyAndStartAt(segment.baseOffset);
      return;
    }
    const keepSegments = scan === null || scan.validBytes === 0 ? index : index + 1;
    while (this.segments.length > keepSegments) this.segments.pop()!.delete();
    fsyncDirectory(this.dir);
    if (keepSegments === index + 1) this.active.cutAfterScan(scan!);
    this.afterTruncation(this.logEndOffset);
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get logStartOffset(): number {
    return Math.min(Math.max(this.segments[0]!.baseOffset, this.recordedStartOffset), this.logEndOffset);
  }

  /**
   * Moves the log start forward to `offset` (DeleteRecords, or a follower taking its leader's): reads below
   * it fail with OFFSET_OUT_OF_RANGE and ListOffsets earliest answers it. Recorded before any segment goes,
   * so a crash part way leaves the start moved; sealed segments wholly below are deleted. Returns the new
   * start, unchanged when `offset` is not past it. The caller bounds it (a leader by its high watermark).
   */
  advanceLogStartOffset(offset: number): number {
    this.ensureWritable();
    if (!Number.isSafeInteger(offset) || offset > this.logEndOffset) {
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `cannot move the log start to ${offset}: past the log end ${this.logEndOffset} of ${this.dir}`,
      );
    }
    if (offset <= this.logStartOffset) return this.logStartOffset;
    writeLogStartOffset(this.dir, offset);
    this.recordedStartOffset = offset;
    const removed = this.deleteSegmentsBefore(offset);
    // DeleteRecords may move it every few seconds (a stream app purging what it consumed, as Kafka Streams
    // does): only a move that frees segments is worth a line.
    if (removed.deletedSegments > 0) {
      this.logger.info(
        { dir: this.dir, logStartOffset: offset, deletedSegments: removed.deletedSegments },
        'moved the log start offset',
      );
    }
    return this.logStartOffset;
  }

  /** Where the segment being written starts: recent producer state can be rebuilt from there. */
  get activeSegmentBaseOffset(): number {
    return this.active.baseOffset;
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  /**
   * Offsets below this are visible to consumers: under the durable policy only what is fsynced, and when a
   * replication high watermark is set, only what enough replicas have.
   */
  get highWatermark(): number {
    const replicated = this.replicatedHighWatermark;
    if (replicated === null) return this.durableEndOffset;
    // Read at every fetch of every partition: the message is built only when the check fails.
    if (replicated > this.logEndOffset)
      assert.fail(`replication high watermark ${replicated} is past the log end`);
    return Math.min(this.durableEndOffset, replicated);
  }

  /**
   * Offsets below this survive a crash as far as the flush policy promises: fsynced under the durable
   * policy, everything in the file otherwise. onDurable tells when it changes.
   */
  get durableEndOffset(): number {
    if (this.config.flushPolicy !== 'durable') return this.writtenEndOffset;
    if (this.syncedEndOffset > this.writtenEndOffset)
      assert.fail(`synced end ${this.syncedEndOffset} is past the written end ${this.writtenEndOffset}`);
    return this.syncedEndOffset;
  }

  /** The replication high watermark last set (clamped by truncation), or null when none bounds reads. */
  get replicationHighWatermark(): number | null {
    return this.replicatedHighWatermark;
  }

  /**
   * Bounds the high watermark by the replicated one (null: no bound, as in single-node mode). Clamped to
   * [logStartOffset, logEndOffset] like Kafka's: a follower passes on its leader's, which may be ahead of it.
   */
  setReplicationHighWatermark(offset: number | null): void {
    this.ensureOpen();
    if (offset === null) {
      this.replicatedHighWatermark = null;
      return;
    }
    assert.ok(Number.isSafeInteger(offset) && offset >= 0, `high watermark ${offset} is not an offset`);
    this.replicatedHighWatermark = Math.max(this.logStartOffset, Math.min(offset, this.logEndOffset));
  }

  /**
   * Calls `listener` (soon after, never during, the change) whenever durableEndOffset changes: it grows as
   * fsyncs complete (or as writes land, under the other policies) and drops on truncation. Returns the
   * function that removes it.
   */
  onDurable(listener: () => void): () => void {
    assert.ok(
      this.durableListeners.size < MAX_DURABLE_LISTENERS,
      `more than ${MAX_DURABLE_LISTENERS} listeners`,
    );
    this.durableListeners.add(listener);
    return () => {
      this.durableListeners.delete(listener);
    };
  }

  private scheduleDurableNotification(): void {
    if (this.durableNotificationPending || this.durableListeners.size === 0) return;
    this.durableNotificationPending = true;
    queueMicrotask(() => {
      this.durableNotificationPending = false;
      const durableEndOffset = this.durableEndOffset;
      if (durableEndOffset === this.notifiedDurableEndOffset) return;
      this.notifiedDurableEndOffset = durableEndOffset;
      for (const listener of [...this.durableListeners]) {
        try {
          listener();
        } catch (error) {
          this.logger.error({ dir: this.dir, err: error }, 'durable listener failed');
        }
      }
    });
  }

  /** The newest leader epoch that wrote to this log, -1 when none did. */
  latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  /** The leader epoch cache's entries, oldest first (a copy). */
  epochEntries(): readonly EpochEntry[] {
    return this.epochs.snapshot();
  }

  /**
   * A new leader's first act (Kafka's makeLeader): `epoch` starts at the log end, so that followers asking
   * where the previous epoch ended learn this offset even before the new leader appends anything.
   */
  assignLeaderEpoch(epoch: number): void {
    this.ensureWritable();
    if (this.epochs.assign(epoch, this.logEndOffset)) this.epochs.persist();
  }

  /** The OffsetForLeaderEpoch answer for `requestedEpoch` (see LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(requestedEpoch: number): EpochEndOffset {
    this.ensureOpen();
    return this.epochs.endOffsetFor(requestedEpoch, this.logEndOffset);
  }

  get sizeBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.size, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  setConfig(config: TopicConfig): void {
    this.config = config;
    this.context.indexIntervalBytes = config.indexIntervalBytes;
    this.scheduleIntervalFlush();
    this.scheduleDurableNotification();
  }

  /**
   * Appends whole record batches and assigns their offsets by rewriting each baseOffset in place (the
   * buffer is taken over). All batches are validated first; a bad one rejects the append with nothing
   * written. Under the durable policy the promise resolves only after the bytes are fsynced.
   */
  async append(payload: Buffer): Promise<AppendResult> {
    const result = this.write(payload);
    await this.durable();
    return result;
  }

  /**
   * The synchronous half of append: validates, assigns offsets and writes to the file, so that callers can
   * act on the assigned offsets in arrival order before waiting for durability.
   */
  write(payload: Buffer, options: WriteOptions = {}): AppendResult {
    this.ensureWritable();
    const { leaderEpoch } = options;
    // The replication layer fences a stale leader before it writes: an older epoch here is its bug.
    if (leaderEpoch !== undefined) {
      assert.ok(
        Number.isInteger(leaderEpoch) && leaderEpoch >= 0 && leaderEpoch <= MAX_LEADER_EPOCH,
        `leader epoch ${leaderEpoch} is not an int32 >= 0`,
      );
      assert.ok(
        leaderEpoch >= this.epochs.latestEpoch,
        `leader epoch ${leaderEpoch} is older than the log's latest epoch ${this.epochs.latestEpoch}`,
      );
    }
    const batches = validateBatches(payload, this.config.maxMessageBytes);
    for (const batch of batches) {
      if ((batch.attributes & (TRANSACTIONAL_BIT | CONTROL_BIT)) !== 0)
        this.checkTransactional(payload, batch, options.marker === true);
    }
    const nowMs = this.now();
    const logAppendTimeMs = this.config.messageTimestampType === 'LogAppendTime' ? nowMs : -1;
    if (logAppendTimeMs >= 0) stampLogAppendTime(payload, batches, logAppendTimeMs);
    const offsetCount = batches.reduce((sum, batch) => sum + batch.offsetCount, 0);
    this.rollIfNeeded(payload.length, offsetCount, nowMs);
    const baseOffset = this.logEndOffset;
    assignOffsets(payload, batches, baseOffset, leaderEpoch ?? UNREPLICATED_LEADER_EPOCH);
    // Before the append, as in Kafka: a crash in between leaves an entry past the log end, dropped at open.
    if (leaderEpoch !== undefined && this.epochs.assign(leaderEpoch, baseOffset)) this.epochs.persist();
    this.appendToActive(payload, batches);
    this.trackProducers(payload, batches);
    this.scheduleDurableNotification();
    return {
      baseOffset,
      lastOffset: baseOffset + offsetCount - 1,
      logAppendTimeMs,
      logStartOffset: this.logStartOffset,
    };
  }

  /**
   * A follower's append of whole batches fetched from its leader: offsets, timestamps and leader epochs are
   * the leader's and are kept. Batches start at or above the log end and each at or above where the previous
   * ended: a gap is offsets the leader's cleaner removed, kept as a gap here (Kafka's followers do the same),
   * and the log end becomes the last batch's last offset + 1. Any bad batch rejects the append with nothing
   * written. The size limit is not applied: the leader accepted these batches, and a follower refusing them
   * would stop replicating for good.
   */
  appendAsFollower(payload: Buffer): AppendResult {
    this.ensureWritable();
    const batches = validateBatches(payload, Number.MAX_SAFE_INTEGER);
    const plan = checkLeaderBatches(payload, batches, this.logEndOffset, this.epochs.latestEpoch);
    // The span counts the gaps too: relative offsets in a segment's index must stay within 32 bits.
    this.rollIfNeeded(payload.length, plan.endOffset - this.logEndOffset, this.now());
    assert.ok(
      plan.endOffset - this.active.baseOffset <= MAX_OFFSETS_PER_SEGMENT,
      `batches up to ${plan.endOffset} do not fit a segment starting at ${this.active.baseOffset}`,
    );
    // Before any gap is on disk, so that recovery and reads never take one for lost data.
    if (plan.gapsEndOffset > this.context.compactedBelowOffset)
      this.compactor.allowGapsBelow(plan.gapsEndOffset);
    let epochsChanged = false;
    for (const entry of plan.newEpochs)
      epochsChanged = this.epochs.assign(entry.epoch, entry.startOffset) || epochsChanged;
    if (epochsChanged) this.epochs.persist();
    this.appendToActive(payload, batches);
    this.trackProducers(payload, batches);
    assert.ok(
      this.logEndOffset === plan.endOffset,
      `log end ${this.logEndOffset}, expected ${plan.endOffset}`,
    );
    this.scheduleDurableNotification();
    return {
      baseOffset: plan.baseOffset,
      lastOffset: plan.endOffset - 1,
      logAppendTimeMs: -1,
      logStartOffset: this.logStartOffset,
    };
  }

  /**
   * Resolves when everything written before the call is as durable as the flush policy promises
   * acknowledgements: durableEndOffset has then reached the log end offset of the moment of the call. That
   * is at least in the file (what acks=1 promises), and under the durable policy also fsynced. Rejects with
   * the write's error when the bytes could not be written.
   */
  durable(): Promise<void> {
    const endOffset = this.logEndOffset;
    const landed = this.landing(endOffset);
    if (this.config.flushPolicy !== 'durable') return landed;
    // Writes made under the durable policy land fsynced; bytes written before the policy became durable
    // need a group commit, which must start after they are in the file for it to cover them.
    return landed.then(() =>
      this.syncedEndOffset >= endOffset ? undefined : this.groupCommit.waitForDurable(),
    );
  }

  /** Resolves once offsets below `endOffset` are in the file. */
  private landing(endOffset: number): Promise<void> {
    if (this.writtenEndOffset >= endOffset) return Promise.resolve();
    if (this.writeFailure) return Promise.reject(this.writeFailure);
    return new Promise<void>((resolve, reject) => {
      this.landingWaiters.push({ endOffset, resolve, reject });
    });
  }

  /**
   * Takes the batches into the active segment and queues their bytes; the queue goes to the writer once per
   * turn, so the appends of one turn to this partition cost one write.
   */
  private appendToActive(payload: Buffer, batches: BatchSummary[]): void {
    const segment = this.active;
    const position = segment.append(payload, batches);
    if (this.unsubmitted.length === 0) {
      this.unsubmittedSegment = segment;
      this.unsubmittedPosition = position;
    }
    // A roll settles the queue before the next segment takes appends, so one write never spans two files.
    assert.ok(this.unsubmittedSegment === segment, `${this.dir}: queued bytes belong to a rolled segment`);
    assert.ok(
      position === this.unsubmittedPosition + this.unsubmittedBytes,
      `${this.dir}: append at byte ${position} leaves a gap in the queued write`,
    );
    this.unsubmitted.push(payload);
    this.unsubmittedBytes += payload.length;
    if (this.submitScheduled) return;
    this.submitScheduled = true;
    this.context.appendWriter.atTurnEnd(() => {
      this.submitScheduled = false;
      this.submitWrites();
    });
  }

  /** Hands this turn's queued bytes to the writer as one write. */
  private submitWrites(): void {
    const segment = this.unsubmittedSegment;
    if (!segment || this.unsubmitted.length === 0) return;
    const data =
      this.unsubmitted.length === 1
        ? this.unsubmitted[0]!
        : Buffer.concat(this.unsubmitted, this.unsubmittedBytes);
    const position = this.unsubmittedPosition;
    const endOffset = segment.nextOffset;
    this.unsubmitted = [];
    this.unsubmittedBytes = 0;
    this.unsubmittedSegment = null;
    if (this.writeFailure) return;
    // Under the durable policy every append is acknowledged only once fsynced: the writer thread fsyncs
    // right after writing, sparing the round trip back to this thread and out to the thread pool.
    const sync = this.config.flushPolicy === 'durable';
    try {
      segment.submitWrite(data, position, sync, (error, fsynced) =>
        this.landed(segment, endOffset, error, sync, fsynced),
      );
    } catch (error) {
      // Opening the descriptor failed (TOO_MANY_OPEN_SEGMENTS, say): the bytes never reach the file.
      this.landed(segment, endOffset, error, sync, false);
    }
  }

  /** A write ended: the readable end moves, or on failure the log stops taking writes. */
  private landed(
    segment: Segment,
    endOffset: number,
    error: unknown,
    synced: boolean,
    fsynced: boolean,
  ): void {
    if (error) {
      this.failWrites(segment, ioError(error, `append to ${segment.logPath}`));
      return;
    }
    assert.ok(endOffset >= this.writtenEndOffset, `${this.dir}: write to ${endOffset} lands out of order`);
    this.writtenEndOffset = endOffset;
    if (fsynced) this.fsyncCount++;
    // Settled before any truncation (which settles writes first), so endOffset is still in the log.
    if (synced) this.syncedEndOffset = Math.max(this.syncedEndOffset, endOffset);
    while (this.landingWaiters.length > 0 && this.landingWaiters[0]!.endOffset <= endOffset) {
      this.landingWaiters.shift()!.resolve();
    }
    this.scheduleDurableNotification();
  }

  /**
   * Every append past the written end fails with `error`, and so does every later one: their offsets were
   * handed out (idempotent producers recorded them), so taking those offsets again for other batches could
   * acknowledge a retry that was never stored. As after a failed fsync, the partition stays readable up to
   * the written end and takes writes again after a restart, whose recovery cuts any partial batch.
   */
  private failWrites(segment: Segment, error: LogError): void {
    if (!this.writeFailure) {
      this.writeFailure = error;
      this.logger.error({ dir: this.dir, err: error }, 'append write failed; partition is read-only');
    }
    this.unsubmitted = [];
    this.unsubmittedBytes = 0;
    this.unsubmittedSegment = null;
    segment.dropUnwritten(this.writtenEndOffset);
    const waiters = this.landingWaiters;
    this.landingWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  /**
   * Blocks until every append so far is in the file (or failed to get there). The rare synchronous file
   * operations (roll, truncation, verify) call it first; so do callers that must read up to the log end
   * rather than to what is written (rebuilding producer or offset state from the log's tail).
   */
  settleWrites(): void {
    this.submitWrites();
    this.active.settleWrites();
  }

  /**
   * Whole batches starting with the one that holds `offset`, up to `maxBytes` (but at least one batch),
   * never beyond the high watermark. Records are not decoded.
   */
  read(offset: number, maxBytes: number): ReadResult {
    return this.readBelow(offset, maxBytes, this.highWatermark);
  }

  /**
   * Like read, but bounded by what is in the file instead of the high watermark: a follower copies everything
   * its leader has, committed or not. Appends still on their way to the file are left out: call settleWrites
   * first to read up to logEndOffset.
   */
  readForReplica(offset: number, maxBytes: number): ReadResult {
    return this.readBelow(offset, maxBytes, this.writtenEndOffset);
  }

  private readBelow(offset: number, maxBytes: number, maxOffset: number): ReadResult {
    this.ensureOpen();
    if (offset < this.logStartOffset || offset > this.logEndOffset) {
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside [${this.logStartOffset}, ${this.logEndOffset}] of ${this.dir}`,
      );
    }
    return {
      records: offset < maxOffset ? this.readBatches(offset, maxBytes, maxOffset) : Buffer.alloc(0),
      highWatermark: this.highWatermark,
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
    };
  }

  /** Compaction may have removed `offset`: then reading starts at the next batch, in a later segment if need be. */
  private readBatches(offset: number, maxBytes: number, maxOffset: number): Buffer {
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      try {
        const position = segment.locate(Math.max(offset, segment.baseOffset));
        if (position >= 0) return segment.read(position, maxBytes, maxOffset);
      } catch (error) {
        throw this.readFailure(segment, error);
      }
    }
    return Buffer.alloc(0);
  }

  /**
   * Damage met by a read is recorded; so is a read error of a sealed segment, which marks it failed from its
   * start (Kafka takes an I/O error as a failed log). The active segment's read errors stay plain errors:
   * the group commit's failure handling owns that file.
   */
  private readFailure(segment: Segment, error: unknown): unknown {
    if (error instanceof CorruptSegmentError) {
      this.noteCorruption(error);
      return error;
    }
    if (error instanceof LogError && error.code === 'IO_ERROR' && segment !== this.active) {
      const corrupt = segment.corruption(0, segment.baseOffset, `unreadable: ${error.message}`);
      this.noteCorruption(corrupt);
      return corrupt;
    }
    return error;
  }

  private segmentIndexFor(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /**
   * The first offset whose record timestamp is >= `timestamp`, or null if every record is older. Throws
   * CORRUPT_MESSAGE when the batch that must be looked into inflates past maxDecompressedBytes.
   */
  offsetForTimestamp(timestamp: number): TimestampAndOffset | null {
    this.ensureOpen();
    const highWatermark = this.highWatermark;
    for (const segment of this.segments) {
      if (segment.offsetCount === 0 || segment.maxTimestamp < timestamp) continue;
      let offset = Math.max(segment.baseOffset + segment.timeScanStart(timestamp), this.logStartOffset);
      while (offset < Math.min(segment.nextOffset, highWatermark)) {
        const position = segment.locate(offset);
        if (position < 0) break;
        const bytes = segment.read(position, TIMESTAMP_SCAN_BYTES, highWatermark);
        if (bytes.length === 0) break;
        for (const batch of splitBatches(bytes)) {
          const found = firstRecordAtOrAfter(batch, timestamp, this.maxDecompressedBytes);
          if (found) return found;
          const header = readBatchHeader(batch);
          offset = header.baseOffset + header.lastOffsetDelta + 1;
        }
      }
    }
    return null;
  }

  /** The record with the largest timestamp (ListOffsets MAX_TIMESTAMP), or null for an empty log. */
  offsetOfMaxTimestamp(): TimestampAndOffset | null {
    const newest = this.segments.reduce(
      (max, s) => (s.offsetCount > 0 ? Math.max(max, s.maxTimestamp) : max),
      -1,
    );
    return newest < 0 ? null : this.offsetForTimestamp(newest);
  }

  /**
   * Deletes whole sealed segments past retention.ms or beyond retention.bytes; moves the log start. Does
   * nothing unless cleanup.policy includes delete.
   */
  applyRetention(): RetentionResult {
    this.ensureOpen();
    const nowMs = this.now();
    const result: RetentionResult = { deletedSegments: 0, deletedBytes: 0 };
    if (!deletionEnabled(this.config)) return result;
    const { retentionMs, retentionBytes } = this.config;
    if (retentionMs >= 0) {
      const expired = (segment: Segment) => nowMs - largestTimestamp(segment) > retentionMs;
      while (this.segments.length > 1 && expired(this.segments[0]!)) {
        if (!this.deleteOldest(result, 'retention.ms')) break;
      }
      // Like Kafka, an active segment that is entirely expired is rolled so that it can go too.
      if (this.segments.length === 1 && this.active.size > 0 && expired(this.active)) {
        this.roll(nowMs);
        this.deleteOldest(result, 'retention.ms');
      }
    }
    if (retentionBytes >= 0) {
      let excess = this.sizeBytes - retentionBytes;
      while (this.segments.length > 1 && excess >= this.segments[0]!.size) {
        const size = this.segments[0]!.size;
        if (!this.deleteOldest(result, 'retention.bytes')) break;
        excess -= size;
      }
    }
    return result;
  }

  /**
   * Compacts the sealed segments now, whatever their dirty ratio (see compaction.ts). Refused unless
   * cleanup.policy includes compact, since it drops records a delete-only topic must keep.
   */
  compact(nowMs = this.now()): CompactionStats {
    this.ensureOpen();
    if (!compactionEnabled(this.config)) {
      throw new LogError(
        'INVALID_CONFIG',
        `${this.dir} has cleanup.policy=${this.config.cleanupPolicy}: compaction needs compact in it`,
      );
    }
    return this.compactor.compact(this.segments, this.config, nowMs, this.producerState);
  }

  /** Compacts when cleanup.policy includes compact and the dirty ratio (or a tombstone's expiry) is reached. */
  compactIfDue(): CompactionStats | null {
    this.ensureOpen();
    const nowMs = this.now();
    if (
      !compactionEnabled(this.config) ||
      !this.compactor.isDue(this.segments, this.config, nowMs, this.producerState)
    ) {
      return null;
    }
    return this.compactor.compact(this.segments, this.config, nowMs, this.producerState);
  }

  /**
   * Deletes the sealed segments that hold only offsets below `offset`, for logs whose older records were
   * superseded (e.g. by a snapshot). The log start offset moves to the first remaining segment.
   */
  deleteSegmentsBefore(offset: number): RetentionResult {
    this.ensureOpen();
    const result: RetentionResult = { deletedSegments: 0, deletedBytes: 0 };
    while (this.segments.length > 1 && this.segments[0]!.nextOffset <= offset) {
      if (!this.deleteOldest(result, 'superseded')) break;
    }
    return result;
  }

  /**
   * A follower's truncation (KIP-101): removes every offset >= `offset`, cutting at a batch boundary, so the
   * new log end may be below `offset`; returns it. Later segments are deleted newest first (a crash part way
   * leaves a shorter but whole log), the segment holding `offset` is cut and fsynced, epochs starting at or
   * after the new end are dropped.
   */
  truncateTo(offset: number): number {
    this.ensureWritable();
    if (!Number.isSafeInteger(offset) || offset < this.logStartOffset || offset > this.logEndOffset) {
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `cannot truncate to ${offset}: outside [${this.logStartOffset}, ${this.logEndOffset}] of ${this.dir}`,
      );
    }
    if (offset === this.logEndOffset) return offset;
    this.settleWrites();
    const keep = this.segmentIndexFor(offset);
    const deleted = this.segments.length - 1 - keep;
    while (this.segments.length - 1 > keep) this.segments.pop()!.delete();
    if (deleted > 0) fsyncDirectory(this.dir);
    const logEndOffset = this.active.truncateToOffset(offset);
    assert.ok(logEndOffset <= offset && logEndOffset >= this.active.baseOffset, `bad cut at ${logEndOffset}`);
    this.afterTruncation(logEndOffset);
    this.logger.info({ dir: this.dir, offset, logEndOffset, deletedSegments: deleted }, 'truncated log');
    return logEndOffset;
  }

  /**
   * Empties the log and starts it again at `offset`: for a follower whose fetch offset fell below its
   * leader's log start. Segments are deleted newest first; should the process die before the new one
   * exists, the log reopens empty at 0 and the follower comes back here.
   */
  truncateFullyAndStartAt(offset: number): void {
    this.ensureWritable();
    assert.ok(Number.isSafeInteger(offset) && offset >= 0, `cannot start a log at ${offset}`);
    this.settleWrites();
    const deleted = this.segments.length;
    while (this.segments.length > 0) this.segments.pop()!.delete();
    this.segments.push(Segment.create(this.dir, offset, this.context, this.now()));
    fsyncDirectory(this.dir);
    // The new segment's base is the start now, whether the recorded start was above or below it.
    if (this.recordedStartOffset !== 0) {
      writeLogStartOffset(this.dir, 0);
      this.recordedStartOffset = 0;
    }
    // Every epoch's batches are gone; the next fetched batches bring their epochs again.
    if (this.epochs.clear()) this.epochs.persist();
    this.afterTruncation(offset);
    if (this.replicatedHighWatermark !== null) this.replicatedHighWatermark = offset;
    this.logger.info(
      { dir: this.dir, offset, deletedSegments: deleted },
      'emptied log to start at a new offset',
    );
  }

  /** Everything left is fsynced by the truncation itself; epochs and bounds past the new end go. */
  private afterTruncation(logEndOffset: number): void {
    assert.ok(this.logEndOffset === logEndOffset, `log end ${this.logEndOffset}, expected ${logEndOffset}`);
    // A sealed segment the cut made the last one is appended to again: its indexes must stay loaded.
    this.active.reactivate();
    this.truncations++;
    if (this.epochs.truncateFromEnd(logEndOffset)) this.epochs.persist();
    this.writtenEndOffset = logEndOffset;
    this.syncedEndOffset = logEndOffset;
    if (this.replicatedHighWatermark !== null && this.replicatedHighWatermark > logEndOffset) {
      this.replicatedHighWatermark = logEndOffset;
    }
    // Markers and transactional batches past the cut are gone: the state is rebuilt without them.
    this.producerState = this.recoverProducerState();
    this.scheduleDurableNotification();
  }

  private deleteOldest(result: RetentionResult, reason: string): boolean {
    const oldest = this.segments[0]!;
    if (oldest.syncsInFlight > 0) return false;
    this.segments.shift();
    oldest.delete();
    this.producerState.dropBefore(this.logStartOffset);
    result.deletedSegments++;
    result.deletedBytes += oldest.size;
    this.logger.info(
      {
        dir: this.dir,
        baseOffset: oldest.baseOffset,
        bytes: oldest.size,
        reason,
        logStartOffset: this.logStartOffset,
      },
      'deleted log segment',
    );
    return true;
  }

  /** Rolls the active segment when it is too old, so retention can reach it; called on a timer. */
  rollIfExpired(): void {
    this.ensureOpen();
    const nowMs = this.now();
    if (this.active.size > 0 && nowMs - this.active.createdAtMs >= this.config.segmentMs) this.roll(nowMs);
  }

  /** `incomingOffsets` is the span of offsets the append takes from the log end, gaps included. */
  private rollIfNeeded(incomingBytes: number, incomingOffsets: number, nowMs: number): void {
    const active = this.active;
    if (active.size === 0) return;
    if (
      active.size + incomingBytes > this.config.segmentBytes ||
      nowMs - active.createdAtMs >= this.config.segmentMs ||
      active.offsetCount + incomingOffsets > MAX_OFFSETS_PER_SEGMENT
    ) {
      this.roll(nowMs);
    }
  }

  /**
   * Seals the active segment — fsynced, indexes written — before the next one exists, so after a crash
   * only the last segment can have a torn tail.
   */
  private roll(nowMs: number): void {
    // Blocks the loop until the sealed segment's bytes are in its file; rolls are rare (segment.bytes,
    // segment.ms) and this keeps every write inside one file.
    this.settleWrites();
    const sealed = this.active;
    try {
      fs.fdatasyncSync(sealed.fileToSync());
    } catch (error) {
      throw ioError(error, `fsync ${sealed.logPath}`);
    }
    sealed.writeIndexes();
    const next = Segment.create(this.dir, this.logEndOffset, this.context, nowMs);
    this.segments.push(next);
    fsyncDirectory(this.dir);
    this.syncedEndOffset = Math.max(this.syncedEndOffset, sealed.nextOffset);
    this.scheduleDurableNotification();
    sealed.releaseIndexes();
    // After the sealed segment is fsynced: the snapshot never covers offsets a crash could lose.
    this.snapshotProducers();
  }

  private async syncActiveSegment(): Promise<void> {
    const segment = this.active;
    // Only what is in the file by now: bytes still on their way are left for the next fsync.
    const endOffset = this.writtenEndOffset;
    const fd = segment.fileToSync();
    const truncations = this.truncations;
    segment.syncsInFlight++;
    try {
      await new Promise<void>((resolve, reject) => {
        fs.fdatasync(fd, (error) => (error ? reject(ioError(error, `fsync ${segment.logPath}`)) : resolve()));
      });
    } finally {
      segment.syncEnded();
    }
    this.fsyncCount++;
    if (truncations === this.truncations) this.syncedEndOffset = Math.max(this.syncedEndOffset, endOffset);
    this.scheduleDurableNotification();
  }

  /** Makes everything appended so far durable. */
  async flush(): Promise<void> {
    await this.landing(this.logEndOffset);
    if (this.writtenEndOffset > this.syncedEndOffset || this.config.flushPolicy === 'interval') {
      await this.groupCommit.flush();
    }
  }

  private scheduleIntervalFlush(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    if (this.config.flushPolicy !== 'interval' || this.closed) return;
    this.flushTimer = setInterval(() => {
      if (this.writtenEndOffset > this.syncedEndOffset && !this.groupCommit.failed) {
        this.groupCommit.flush().catch((error: unknown) => {
          this.logger.error({ dir: this.dir, err: error }, 'interval flush failed; partition is read-only');
        });
      }
    }, this.config.flushMs);
    this.flushTimer.unref();
  }

  /** Re-reads every batch of every segment checking CRCs and offsets; returns the damage found. */
  verify(): CorruptSegmentError[] {
    this.ensureOpen();
    this.settleWrites();
    const problems: CorruptSegmentError[] = [];
    for (const segment of this.segments) {
      const scan = segment.scan();
      const disagreement = segment.scanDisagreement(scan);
      if (disagreement || scan.validBytes !== segment.size) {
        const reason = disagreement ?? `scan ended at byte ${scan.validBytes} of ${segment.size}`;
        const problem = segment.corruption(scan.validBytes, scan.nextOffset, reason);
        this.noteCorruption(problem);
        problems.push(problem);
      }
    }
    return problems;
  }

  /**
   * Flushes, then writes the indexes and a clean-shutdown marker so the next start need not scan the tail.
   * `discard` skips the flush and the marker, for a partition about to be deleted (possibly to free a full
   * disk, where writing anything would fail).
   */
  async close(options: { discard?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.submitWrites();
    // A failed write was already reported to its appends; the fsync and the marker below are skipped then.
    await this.landing(this.logEndOffset).catch(() => undefined);
    await this.groupCommit.drain();
    try {
      if (!options.discard && !this.groupCommit.failed && !this.writeFailure) {
        try {
          fs.fdatasyncSync(this.active.fileToSync());
        } catch (error) {
          throw ioError(error, `fsync ${this.active.logPath}`);
        }
        this.writeCleanShutdownState();
      }
    } finally {
      for (const segment of this.segments) segment.close();
    }
  }

  private writeCleanShutdownState(): void {
    const active = this.active;
    try {
      active.writeIndexes();
      this.snapshotProducers();
      const marker = { baseOffset: active.baseOffset, size: active.size, nextOffset: active.nextOffset };
      writeFileAtomic(path.join(this.dir, CLEAN_SHUTDOWN_FILE), JSON.stringify(marker));
      fsyncDirectory(this.dir);
    } catch (error) {
      // The data itself is fsynced; without the marker the next start rescans the last segment instead.
      this.logger.warn(
        { dir: this.dir, err: error },
        'could not record a clean shutdown; next start rescans the tail',
      );
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new LogError('LOG_CLOSED', `${this.dir} is closed`);
  }

  private ensureWritable(): void {
    this.ensureOpen();
    const failure = this.groupCommit.failed ?? this.writeFailure;
    if (failure)
      throw new LogError('IO_ERROR', `${this.dir} is read-only after a failed write or fsync`, {
        cause: failure,
      });
  }
}

function reportCorruption(logger: Logger, error: CorruptSegmentError): void {
  logger.error(
    { path: error.path, position: error.position, offset: error.offset, reason: error.message },
    'CORRUPT SEGMENT: data at rest is damaged and will not be served past this point',
  );
}

/** Whether damage `a` lies before `b`: in an earlier segment, or earlier in the same one. */
function corruptionBefore(a: CorruptSegmentError, b: CorruptSegmentError): boolean {
  const baseA = Number(path.basename(a.path).slice(0, 20));
  const baseB = Number(path.basename(b.path).slice(0, 20));
  return baseA < baseB || (baseA === baseB && a.position < b.position);
}

function largestTimestamp(segment: Segment): number {
  return segment.maxTimestamp >= 0 ? segment.maxTimestamp : segment.createdAtMs;
}

/** baseOffset and partitionLeaderEpoch lie outside the CRC, so rewriting them keeps the batch valid. */
function assignOffsets(
  payload: Buffer,
  batches: BatchSummary[],
  baseOffset: number,
  leaderEpoch: number,
): void {
  let offset = baseOffset;
  for (const batch of batches) {
    writeInt64(payload, batch.position + BatchField.baseOffset, offset);
    payload.writeInt32BE(leaderEpoch, batch.position + BatchField.partitionLeaderEpoch);
    offset += batch.offsetCount;
  }
}

/** LogAppendTime: the broker's clock replaces maxTimestamp, which changes the CRC. */
function stampLogAppendTime(payload: Buffer, batches: BatchSummary[], nowMs: number): void {
  for (const batch of batches) {
    const view = payload.subarray(batch.position, batch.position + batch.size);
    view.writeInt16BE(
      view.readInt16BE(BatchField.attributes) | LOG_APPEND_TIME_ATTRIBUTE,
      BatchField.attributes,
    );
    writeInt64(view, BatchField.maxTimestamp, nowMs);
    view.writeUInt32BE(computeBatchCrc(view), BatchField.crc);
    batch.maxTimestamp = nowMs;
  }
}
