import { decodeMessage, encodeMessage } from './codec.js';
import type { DecodedResponseOf, EncodableRequestOf, RequestOf, ResponseOf } from './message-types.js';
import type { ApiSchema } from './schema.js';
import { ProtocolError, WireReader, WireWriter } from './wire.js';

export const API_VERSIONS_KEY = 18;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export function isFlexible(schema: ApiSchema, version: number): boolean {
  return version >= schema.flexibleFrom;
}

/**
 * The fixed start of every request header (v0+): enough to answer even a request whose API or version we
 * do not know.
 */
export function peekRequestHeader(frame: Buffer): {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
} {
  if (frame.length < 8)
    throw new ProtocolError(`request of ${frame.length} bytes is shorter than a request header`);
  return {
    apiKey: frame.readInt16BE(0),
    apiVersion: frame.readInt16BE(2),
    correlationId: frame.readInt32BE(4),
  };
}

/**
 * Decodes header v1/v2 (clientId is always a classic nullable string) and the body of a known API version.
 *
 * The codec walks the schema as data and returns an untyped message; these four functions are the one place
 * that message is given the type derived from the same schema (message-types.ts), which is what the codec
 * fills in. Codec round-trip tests per API (apis/*.test.ts) hold both to it.
 */
export function decodeRequest<A extends ApiSchema>(
  frame: Buffer,
  schema: A,
): { header: RequestHeader; body: RequestOf<A> } {
  const reader = new WireReader(frame);
  const apiKey = reader.int16();
  const apiVersion = reader.int16();
  const correlationId = reader.int32();
  const clientId = reader.string(false);
  const flexible = isFlexible(schema, apiVersion);
  if (flexible) skipTaggedFields(reader);
  const body = decodeMessage(reader, schema.request, apiVersion, flexible) as RequestOf<A>;
  return { header: { apiKey, apiVersion, correlationId, clientId }, body };
}

function skipTaggedFields(reader: WireReader): void {
  const count = reader.unsignedVarint();
  for (let i = 0; i < count; i++) {
    reader.unsignedVarint();
    reader.raw(reader.unsignedVarint());
  }
}

/**
 * A whole response frame (size prefix included) as chunks. ApiVersions always uses response header v0 so a
 * client that does not yet know our versions can parse it.
 */
export function encodeResponse<A extends ApiSchema>(
  schema: A,
  version: number,
  correlationId: number,
  body: ResponseOf<A>,
): Buffer[] {
  const flexible = isFlexible(schema, version);
  const writer = new WireWriter();
  writer.int32(0).int32(correlationId);
  if (flexible && schema.apiKey !== API_VERSIONS_KEY) writer.unsignedVarint(0);
  encodeMessage(writer, schema.response, version, flexible, body);
  const size = writer.length - 4;
  const chunks = writer.finish();
  chunks[0]!.writeInt32BE(size, 0);
  return chunks;
}

/** A request frame (size prefix included), as a client sends it; used by our own client and tests. */
export function encodeRequest<A extends ApiSchema>(
  schema: A,
  header: RequestHeader,
  body: EncodableRequestOf<A>,
): Buffer {
  const flexible = isFlexible(schema, header.apiVersion);
  const writer = new WireWriter();
  writer
    .int32(0)
    .int16(header.apiKey)
    .int16(header.apiVersion)
    .int32(header.correlationId)
    .string(header.clientId, false);
  if (flexible) writer.unsignedVarint(0);
  encodeMessage(writer, schema.request, header.apiVersion, flexible, body);
  const frame = Buffer.concat(writer.finish());
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** Decodes a response frame without its size prefix. */
export function decodeResponse<A extends ApiSchema>(
  frame: Buffer,
  schema: A,
  version: number,
): { correlationId: number; body: DecodedResponseOf<A> } {
  const reader = new WireReader(frame);
  const correlationId = reader.int32();
  const flexible = isFlexible(schema, version);
  if (flexible && schema.apiKey !== API_VERSIONS_KEY) skipTaggedFields(reader);
  const body = decodeMessage(reader, schema.response, version, flexible) as DecodedResponseOf<A>;
  return { correlationId, body };
}
