/**
 * Declarative message definitions: each API lists its fields once with the versions they exist in, and one
 * generic codec reads and writes every version. Adding a version is editing data, not writing a parser.
 */

export type Primitive =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export type FieldType = Primitive | { array: Primitive | FieldSpec[] } | { struct: FieldSpec[] };

export interface FieldSpec {
  /** camelCase of the name in Apache Kafka's message definitions. */
  name: string;
  type: FieldType;
  /** '0+', '3-7' or '5'. */
  versions: string;
  nullableVersions?: string;
  /** For tagged fields: the tag and the versions in which it is carried in the tagged section. */
  tag?: number;
  taggedVersions?: string;
  /** Value used when the field is absent in a version, or a tagged field is not sent. */
  default?: unknown;
}

/**
 * One API. `Req` and `Res` are its field lists; declared through defineApi they keep their literal types, from
 * which message-types.ts derives the request and response types, so the schema is their only declaration.
 * The defaults (any field list) are for code that walks every API as data: the codec, the fuzzer.
 */
export interface ApiSchema<Req extends FieldSpec[] = FieldSpec[], Res extends FieldSpec[] = FieldSpec[]> {
  apiKey: number;
  name: string;
  /** Versions this broker accepts: [lowest, highest]. */
  versions: [number, number];
  /** First flexible version (compact encodings, tagged fields); Infinity if none in our range. */
  flexibleFrom: number;
  request: Req;
  response: Res;
}

/**
 * Declares an API keeping the literal types of its fields (`const`: names, types, versions and defaults stay
 * literals), so RequestOf / ResponseOf can be derived from it. At run time it is the schema itself.
 */
export function defineApi<const Req extends FieldSpec[], const Res extends FieldSpec[]>(
  schema: ApiSchema<Req, Res>,
): ApiSchema<Req, Res> {
  return schema;
}

/** A field list that several messages share, keeping its literal types as defineApi does. */
export function defineFields<const F extends FieldSpec[]>(fields: F): F {
  return fields;
}

export interface VersionRange {
  min: number;
  max: number;
}

const NO_VERSIONS: VersionRange = { min: 1, max: 0 };

export function parseVersions(text: string | undefined): VersionRange {
  if (text === undefined || text === 'none') return NO_VERSIONS;
  const plus = /^(\d+)\+$/.exec(text);
  if (plus) return { min: Number(plus[1]), max: Number.POSITIVE_INFINITY };
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  if (/^\d+$/.test(text)) return { min: Number(text), max: Number(text) };
  throw new Error(`bad version range '${text}'`);
}

export function inRange(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}
