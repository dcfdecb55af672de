import { headerValue } from '../client/partition-tail.js';
import type { ConsumedRecord, RecordHeader, TopicPartition } from '../client/types.js';
import { varintSize, writeVarint } from '../protocol/index.js';

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

/** The provenance header's key as a record header writes it: its length (a zig-zag varint) and its bytes. */
const PROVENANCE_KEY_FIELD = (() => {
  const key = Buffer.from(PROVENANCE_HEADER, 'latin1');
  const field = Buffer.alloc(varintSize(key.length) + key.length);
  key.copy(field, writeVarint(field, 0, key.length));
  return field;
})();

/** Decimal digits of a non-negative safe integer. */
function digitsOf(value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
  return digits;
}

/** Copies a few bytes; Buffer.copy costs more than the loop for the tens of bytes of a header. */
function copySmall(from: Buffer, to: Buffer, at: number): number {
  for (let i = 0; i < from.length; i++) to[at + i] = from[i]!;
  return at + from.length;
}

/**
 * The provenance header as a record's header bytes (key and value, each a zig-zag varint length and the
 * bytes), for the record at `offset` of the partition whose provenancePrefix() bytes are `prefix`: what
 * provenanceOf() reads, written straight into a batch the mirror forwards.
 */
export class ProvenanceWriter {
  constructor(private readonly prefix: Buffer) {}

  /** Bytes the header of the record at `offset` takes. */
  bytes(offset: number): number {
    const valueBytes = this.prefix.length + digitsOf(offset);
    return PROVENANCE_KEY_FIELD.length + varintSize(valueBytes) + valueBytes;
  }

  /** Writes the header of the record at `offset` into `out` at `at`; returns the position after it. */
  write(offset: number, out: Buffer, at: number): number {
    at = copySmall(PROVENANCE_KEY_FIELD, out, at);
    const digits = digitsOf(offset);
    at = writeVarint(out, at, this.prefix.length + digits);
    at = copySmall(this.prefix, out, at);
    let rest = offset;
    for (let i = digits - 1; i >= 0; i -= 1) {
      out[at + i] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    return at + digits;
  }
}
