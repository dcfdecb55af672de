import fs from 'node:fs';
import path from 'node:path';
import { ioError, isNodeError } from './errors.js';
import type { Logger } from './logger.js';
import { writeFileAtomic } from './segment.js';

/**
 * The log start offset a DeleteRecords request (or a follower copying its leader's) moved past the first
 * segment's base offset: Kafka's log-start-offset-checkpoint, one file per partition here. Without it a
 * restart would bring back the records below it that still sit in the first segment.
 */
export const LOG_START_OFFSET_FILE = 'log-start-offset';

/** The recorded start, or 0 (none) when the file is missing or unreadable (then logged: data stays safe). */
export function readLogStartOffset(dir: string, logger: Logger): number {
  const file = path.join(dir, LOG_START_OFFSET_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (isNodeError(error, 'ENOENT')) return 0;
    throw ioError(error, `read ${file}`);
  }
  const offset = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(offset)) {
    logger.warn({ file, text }, 'ignoring an invalid log start offset checkpoint');
    return 0;
  }
  return offset;
}

export function writeLogStartOffset(dir: string, offset: number): void {
  writeFileAtomic(path.join(dir, LOG_START_OFFSET_FILE), String(offset));
}
