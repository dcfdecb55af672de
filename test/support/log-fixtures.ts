import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../src/log/index.js';
import { encodeRecordBatch, type RecordInput } from '../../src/protocol/index.js';

export function temporaryDirectory(prefix = 'edgestream-test-'): { dir: string; [Symbol.dispose](): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, [Symbol.dispose]: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface LoggedLine {
  level: 'info' | 'warn' | 'error';
  fields: object;
  message: string;
}

/** A logger that keeps what it was told, so tests can assert that damage is reported. */
export class RecordingLogger implements Logger {
  readonly lines: LoggedLine[] = [];
  info(fields: object, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
  at(level: LoggedLine['level']): LoggedLine[] {
    return this.lines.filter((line) => line.level === level);
  }
}

/** A batch of `count` records of `valueBytes` bytes each, values tagged with `tag` so reads can be checked. */
export function makeBatch(tag: string, count = 3, timestamp = 1_700_000_000_000, valueBytes = 0): Buffer {
  const records: RecordInput[] = Array.from({ length: count }, (_, i) => {
    const text = `${tag}-${i}`;
    return {
      key: Buffer.from(`key-${i}`),
      value: Buffer.from(valueBytes > text.length ? text.padEnd(valueBytes, '.') : text),
      timestamp: timestamp + i,
    };
  });
  return encodeRecordBatch(records);
}
