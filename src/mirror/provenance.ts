import { headerValue } from '../client/partition-tail.js';
import type { ConsumedRecord, RecordHeader, TopicPartition } from '../client/types.js';

/**
 * The header every forwarded record carries: `topic:partition:offset` of the source record. The target log
 * itself is the mirror's durable progress: its last record names the last source offset forwarded, written in
 * the same append as the data, so progress and data can never disagree.
 */
export const PROVENANCE_HEADER = 'es.mirror.src';

export interface SourcePosition {
  topic: string;
  partition: number;
  offset: number;
}

/** `topic:partition:` of a source partition, made once per partition instead of once per record. */
export function provenancePrefix(source: TopicPartition): string {
  return `${source.topic}:${source.partition}:`;
}

/** The header of the record at `offset` of the partition whose provenancePrefix() is `prefix`. */
export function provenanceHeader(prefix: string, offset: number): RecordHeader {
  return { key: PROVENANCE_HEADER, value: Buffer.from(prefix + offset, 'latin1') };
}

/** The source position a target record was forwarded from, or null when the mirror did not write it. */
export function provenanceOf(record: ConsumedRecord): SourcePosition | null {
  const value = headerValue(record.headers, PROVENANCE_HEADER);
  if (!value) return null;
  const match = /^([A-Za-z0-9._-]+):(\d+):(\d+)$/.exec(value.toString('latin1'));
  if (!match) return null;
  return { topic: match[1]!, partition: Number(match[2]), offset: Number(match[3]) };
}

/** The record's own headers, without the one the mirror added. */
export function originalHeaders(record: ConsumedRecord): RecordHeader[] {
  return record.headers.filter((header) => header.key !== PROVENANCE_HEADER);
}
