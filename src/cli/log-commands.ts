import fs from 'node:fs';
import path from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import pino from 'pino';
import {
  DEFAULT_TOPIC_CONFIG,
  LogManager,
  OpenFileLimiter,
  PartitionLog,
  parseTopicConfig,
} from '../log/index.js';
import { decodeRecords, readBatchHeader, splitBatches } from '../protocol/index.js';
import { UsageError } from './usage-error.js';

function stderrLogger(): pino.Logger {
  return pino({ base: null }, pino.destination(2));
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export async function logVerify(args: string[]): Promise<number> {
  const { values } = parse(args, { 'data-dir': { type: 'string' } });
  const dataDir = values['data-dir'];
  if (typeof dataDir !== 'string') throw new UsageError('log verify needs --data-dir DIR');
  const manager = LogManager.open({ dataDir, logger: stderrLogger() });
  let damaged = 0;
  try {
    for (const topic of manager.topicNames()) {
      const { partitions } = manager.describeTopic(topic);
      for (let p = 0; p < partitions; p++) {
        const log = manager.partition(topic, p);
        const problems = log.verify();
        damaged += problems.length;
        const state = problems.length === 0 ? 'ok' : `DAMAGED: ${problems.map((e) => e.message).join('; ')}`;
        process.stdout.write(
          `${topic}-${p}\toffsets ${log.logStartOffset}..${log.logEndOffset}\t${log.sizeBytes} bytes\t${state}\n`,
        );
      }
    }
  } finally {
    await manager.close();
  }
  return damaged === 0 ? 0 : 1;
}

export async function logDump(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { records: { type: 'boolean' } });
  const dir = positionals[0];
  if (!dir) throw new UsageError('log dump needs a partition directory');
  if (!fs.existsSync(dir)) throw new UsageError(`${dir} does not exist`);
  const topicFile = path.join(dir, '..', 'topic.json');
  const overrides = fs.existsSync(topicFile)
    ? (JSON.parse(fs.readFileSync(topicFile, 'utf8')).config ?? {})
    : {};
  const log = PartitionLog.open({
    dir,
    config: parseTopicConfig(overrides, DEFAULT_TOPIC_CONFIG),
    files: new OpenFileLimiter(64),
    logger: stderrLogger(),
  });
  try {
    let offset = log.logStartOffset;
    while (offset < log.highWatermark) {
      const batches = splitBatches(log.read(offset, 1 << 20).records);
      if (batches.length === 0) break;
      for (const batch of batches) {
        const header = readBatchHeader(batch);
        process.stdout.write(
          `baseOffset ${header.baseOffset} lastOffset ${header.baseOffset + header.lastOffsetDelta} ` +
            `count ${header.recordsCount} size ${batch.length} maxTimestamp ${header.maxTimestamp} ` +
            `attributes ${header.attributes} producerId ${header.producerId} crc ${header.crc}\n`,
        );
        if (values.records) {
          for (const record of decodeRecords(batch)) {
            process.stdout.write(
              `  offset ${record.offset} timestamp ${record.timestamp} key ${record.key?.toString() ?? 'null'} ` +
                `value ${record.value?.toString() ?? 'null'}\n`,
            );
          }
        }
        offset = header.baseOffset + header.lastOffsetDelta + 1;
      }
    }
  } finally {
    await log.close();
  }
  return 0;
}
