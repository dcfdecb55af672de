import { decodeMessage, encodeMessage } from './codec.js';
import type { Decoded, Encodable } from './message-types.js';
import type { FieldSpec } from './schema.js';
import { WireReader, WireWriter } from './wire.js';

/**
 * Kafka's versioned data records (the keys and values of its internal topics, e.g. OffsetCommitKey): an int16
 * version, then the fields of that version, as the same codec as the APIs writes them. As in messages.ts, this
 * is the one place the codec's untyped result is given the type derived from the field list.
 */
export function encodeVersioned<const F extends FieldSpec[]>(
  fields: F,
  version: number,
  flexibleFrom: number,
  value: Encodable<F>,
): Buffer {
  const writer = new WireWriter();
  writer.int16(version);
  encodeMessage(writer, fields, version, version >= flexibleFrom, value);
  return Buffer.concat(writer.finish());
}

/** The version a record starts with; throws ProtocolError if it is shorter than that. */
export function versionOf(bytes: Buffer): number {
  return new WireReader(bytes).int16();
}

/** The fields after the version; throws ProtocolError on truncated or malformed data. */
export function decodeVersioned<const F extends FieldSpec[]>(
  fields: F,
  bytes: Buffer,
  flexibleFrom: number,
): Decoded<F> {
  const reader = new WireReader(bytes);
  const version = reader.int16();
  return decodeMessage(reader, fields, version, version >= flexibleFrom) as Decoded<F>;
}
