import fs from 'node:fs';
import path from 'node:path';
import { CLEANED_SUFFIX, SWAP_SUFFIX } from './compaction.js';
import { ioError, isNodeError, LogError } from './errors.js';
import type { Logger } from './logger.js';
import { fsyncDirectory, type ScanResult, Segment, type SegmentContext } from './segment.js';
import { TimeIndex } from './segment-index.js';

export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
const SEGMENT_FILE = /^(\d{20})\.log$/;
const SWAP_FILE = /^(\d{20})\.log\.swap$/;

interface CleanShutdownMarker {
  baseOffset: number;
  size: number;
  nextOffset: number;
}

/**
 * Opens a partition directory. After a clean shutdown sealed segments are trusted up to their index files
 * (damage there is found by the CRC check on read, or by verify). After an unclean one every sealed segment
 * is verified too (as Kafka recovers every segment past its recovery point; we keep no recovery point): damage
 * in a sealed segment is not a torn tail, so it is reported through the context, never cut off here. The
 * last segment is rescanned unless the previous run shut down cleanly, and a torn or corrupt tail is cut off.
 */
export function recoverSegments(
  dir: string,
  context: SegmentContext,
  logger: Logger,
  nowMs: number,
): Segment[] {
  const swappedBases = finishInterruptedCompaction(dir, listDirectory(dir), logger);
  const names = listDirectory(dir);
  for (const name of names.filter((n) => n.endsWith('.tmp')))
    fs.rmSync(path.join(dir, name), { force: true });
  const bases = names
    .map((name) => SEGMENT_FILE.exec(name)?.[1])
    .filter((base): base is string => base !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  const marker = takeCleanShutdownMarker(dir);
  if (bases.length === 0) {
    const segment = Segment.create(dir, 0, context, nowMs);
    fsyncDirectory(dir);
    return [segment];
  }
  const segments = bases.map((base, i) => openSegment(dir, base, bases[i + 1] ?? base, context));
  segments.slice(0, -1).forEach(loadSealedTimestamps);
  for (const segment of segments.slice(0, -1)) {
    if (swappedBases.includes(segment.baseOffset)) segment.writeIndexes();
  }
  if (!marker) verifySealedSegments(segments.slice(0, -1), context);
  recoverLastSegment(segments[segments.length - 1]!, marker, logger);
  segments[segments.length - 1]!.reactivate();
  return segments;
}

/**
 * Scans sealed segments oldest first and reports the first one that is damaged or unreadable (a read error
 * counts as damage from the segment's start, as Kafka takes an I/O error for a failed log); the segments
 * after it are not scanned, as nothing past the first damage can be served anyway. Each costs one
 * sequential read of the file, CRC-32C in native code: the disk's read rate bounds a recovery.
 */
function verifySealedSegments(sealed: readonly Segment[], context: SegmentContext): void {
  for (const segment of sealed) {
    let reason: string | null;
    let scan: ScanResult | null = null;
    try {
      scan = segment.scan();
      reason = segment.scanDisagreement(scan);
      if (!reason && scan.validBytes !== segment.size)
        reason = `scan ended at byte ${scan.validBytes} of ${segment.size}`;
    } catch (error) {
      if (!(error instanceof LogError) || error.code !== 'IO_ERROR') throw error;
      reason = `unreadable: ${error.message}`;
    }
    if (reason) {
      const position = scan?.validBytes ?? 0;
      context.onCorruption(segment.corruption(position, scan?.nextOffset ?? segment.baseOffset, reason));
      return;
    }
    // The scan rebuilt the indexes in memory; they load again on first use, as for any sealed segment.
    segment.releaseIndexes();
  }
}

function listDirectory(dir: string): string[] {
  try {
    fs.mkdirSync(dir, { recursive: true });
    return fs.readdirSync(dir);
  } catch (error) {
    throw ioError(error, `open partition directory ${dir}`);
  }
}

/**
 * Completes what a compaction left half done (see compaction.ts): a `.log.swap` was committed, so it
 * replaces its segment, whose index files may describe either version and must be rebuilt; `.cleaned`
 * files were never committed and go. Returns the base offsets of the segments swapped in.
 */
function finishInterruptedCompaction(dir: string, names: string[], logger: Logger): number[] {
  const leftovers = names.filter((name) => name.endsWith(CLEANED_SUFFIX) || SWAP_FILE.test(name));
  const swappedBases: number[] = [];
  if (leftovers.length === 0) return swappedBases;
  try {
    for (const name of leftovers.filter((n) => n.endsWith(CLEANED_SUFFIX))) {
      fs.rmSync(path.join(dir, name), { force: true });
    }
    for (const name of leftovers.filter((n) => SWAP_FILE.test(n))) {
      const logName = name.slice(0, -SWAP_SUFFIX.length);
      const base = logName.slice(0, -'.log'.length);
      fs.rmSync(path.join(dir, `${base}.index`), { force: true });
      fs.rmSync(path.join(dir, `${base}.timeindex`), { force: true });
      fs.renameSync(path.join(dir, name), path.join(dir, logName));
      swappedBases.push(Number(base));
    }
    fsyncDirectory(dir);
  } catch (error) {
    throw error instanceof LogError ? error : ioError(error, `finish interrupted compaction in ${dir}`);
  }
  logger.warn({ dir, files: leftovers }, 'finished a compaction interrupted by a crash');
  return swappedBases;
}

function openSegment(dir: string, base: number, nextBase: number, context: SegmentContext): Segment {
  const logPath = path.join(dir, `${String(base).padStart(20, '0')}.log`);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(logPath);
  } catch (error) {
    throw ioError(error, `stat ${logPath}`);
  }
  const createdAtMs = Math.min(stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs, stat.mtimeMs);
  return new Segment(dir, base, stat.size, nextBase, -1, createdAtMs, context);
}

/** Only the newest timestamp of a sealed segment is needed at start (for retention); the rest loads lazily. */
function loadSealedTimestamps(segment: Segment): void {
  let timeIndex: TimeIndex | null = null;
  try {
    timeIndex = TimeIndex.parse(fs.readFileSync(segment.timeIndexPath), segment.offsetCount);
  } catch (error) {
    if (!isNodeError(error, 'ENOENT')) throw ioError(error, `read ${segment.timeIndexPath}`);
  }
  const last = timeIndex?.last;
  if (last) {
    segment.maxTimestamp = last.timestamp;
  } else {
    segment.ensureIndexes();
  }
}

function recoverLastSegment(segment: Segment, marker: CleanShutdownMarker | null, logger: Logger): void {
  const fileSize = segment.fileSize();
  if (marker && marker.baseOffset === segment.baseOffset && marker.size === fileSize) {
    segment.nextOffset = marker.nextOffset;
    if (!segment.loadIndexes().rebuilt) return;
  }
  const scan = segment.scan();
  segment.nextOffset = scan.nextOffset;
  if (scan.validBytes < fileSize) {
    logger.warn(
      {
        path: segment.logPath,
        position: scan.validBytes,
        offset: scan.nextOffset,
        discardedBytes: fileSize - scan.validBytes,
        reason: scan.defect,
      },
      'truncating torn or corrupt tail of the last segment',
    );
    segment.truncateTo(scan.validBytes);
  } else {
    segment.size = fileSize;
  }
}

function takeCleanShutdownMarker(dir: string): CleanShutdownMarker | null {
  const file = path.join(dir, CLEAN_SHUTDOWN_FILE);
  let marker: CleanShutdownMarker | null = null;
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    marker = isMarker(parsed) ? parsed : null;
  } catch (error) {
    if (isNodeError(error, 'ENOENT')) return null;
  }
  // The marker only vouches for the shutdown that wrote it: remove it durably before writing anything.
  fs.rmSync(file, { force: true });
  fsyncDirectory(dir);
  return marker;
}

function isMarker(value: unknown): value is CleanShutdownMarker {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  return ['baseOffset', 'size', 'nextOffset'].every((key) => Number.isSafeInteger(fields[key]));
}
