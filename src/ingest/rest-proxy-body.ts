import { z } from 'zod';
import { KAFKA_REST_ERROR_CODES, KafkaRestError } from './ingest-errors.js';

/**
 * The body of a REST Proxy v2 produce request (`POST /topics/{topic}`), as Confluent's REST Proxy reads it:
 * the embedded format named by the content type, and `{"records":[{"key","value","partition"}]}`.
 */

/** How keys and values are embedded: JSON values (stored as their JSON text) or base64 bytes. */
export type EmbeddedFormat = 'json' | 'binary';

/** A record as the request gave it; the partition is chosen later when it gives none. */
export interface RestRecord {
  key: Buffer | null;
  value: Buffer | null;
  partition: number | null;
}

const CONTENT_TYPES: ReadonlyMap<string, EmbeddedFormat> = new Map([
  ['application/vnd.kafka.json.v2+json', 'json'],
  ['application/vnd.kafka.binary.v2+json', 'binary'],
]);

/** Answers REST Proxy clients accept: v2's type, its unversioned and plain JSON aliases, or anything. */
const ACCEPTABLE = new Set([
  'application/vnd.kafka.v2+json',
  'application/vnd.kafka+json',
  'application/json',
  'application/*',
  '*/*',
]);

/** What REST Proxy v2 answers with. */
export const KAFKA_REST_RESPONSE_TYPE = 'application/vnd.kafka.v2+json';

/** The embedded format of a produce request; 415 for any other content type (Avro, Protobuf: no registry). */
export function embeddedFormatOf(contentType: string | undefined): EmbeddedFormat {
  const format = CONTENT_TYPES.get(mediaType(contentType));
  if (format === undefined) {
    throw new KafkaRestError(
      415,
      KAFKA_REST_ERROR_CODES.UNSUPPORTED_MEDIA_TYPE,
      `content type '${contentType ?? ''}' is not supported: send application/vnd.kafka.json.v2+json or ` +
        'application/vnd.kafka.binary.v2+json (Avro, Protobuf and JSON Schema need a schema registry, which ' +
        'Edgestream has not)',
    );
  }
  return format;
}

/** 406 unless the Accept header (absent: anything) takes one of the types REST Proxy v2 answers with. */
export function checkAccept(accept: string | undefined): void {
  if (accept === undefined || accept.trim() === '') return;
  if (accept.split(',').some((range) => ACCEPTABLE.has(mediaType(range)))) return;
  throw new KafkaRestError(
    406,
    KAFKA_REST_ERROR_CODES.NOT_ACCEPTABLE,
    `cannot answer in '${accept}': accept ${KAFKA_REST_RESPONSE_TYPE} or application/json`,
  );
}

const recordSchema = z.object({
  key: z.unknown().optional(),
  value: z.unknown().optional(),
  partition: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .nullable()
    .optional(),
});

/** The records of a produce body, at least one and at most `maxRecords`; 400 or 422 naming what is wrong. */
export function parseProduceBody(body: Buffer, format: EmbeddedFormat, maxRecords: number): RestRecord[] {
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new KafkaRestError(
      400,
      KAFKA_REST_ERROR_CODES.BAD_REQUEST,
      `request body is not JSON: ${(error as Error).message}`,
    );
  }
  const parsed = z.object({ records: z.array(recordSchema).min(1).max(maxRecords) }).safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalidRecords(`${pathText(issue.path)}: ${issue.message}`);
  }
  return parsed.data.records.map((record, i) => ({
    key: embedded(record.key, format, `records[${i}].key`),
    value: embedded(record.value, format, `records[${i}].value`),
    partition: record.partition ?? null,
  }));
}

/** A key or value as bytes: JSON values as their JSON text, binary ones decoded from strict base64. */
function embedded(value: unknown, format: EmbeddedFormat, where: string): Buffer | null {
  if (value === undefined || value === null) return null;
  if (format === 'json') return Buffer.from(JSON.stringify(value), 'utf8');
  // Node's decoder skips what is not base64; a typo would then store different bytes without a word.
  if (typeof value !== 'string' || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
    throw invalidRecords(`${where}: expected base64 (RFC 4648, padded) for the binary format`);
  return Buffer.from(value, 'base64');
}

function invalidRecords(message: string): KafkaRestError {
  return new KafkaRestError(422, KAFKA_REST_ERROR_CODES.INVALID_RECORDS, message);
}

/** `records.3.partition` as `records[3].partition`. */
function pathText(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(body)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

/** `Application/JSON; charset=utf-8` as `application/json`. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}
