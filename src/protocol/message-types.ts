import type { Message } from './codec.js';
import type { ApiSchema, FieldSpec, Primitive } from './schema.js';

/**
 * TypeScript types derived from an API's field lists (schema.ts), so a message is declared once: a field
 * renamed or retyped in the schema changes the type every handler and client sees. Compile time only; the
 * codec (codec.ts) does the same walk at run time and these types describe exactly what it reads and writes.
 *
 * Two views of one field list:
 * - Decoded: what the codec returns. Every field of the list is present, in every version: a field absent in
 *   the version read, or a tagged field not sent, holds its default.
 * - Encodable: what the codec accepts. A field with a `default` (or a tagged field) may be left out; the
 *   codec writes the default (or, when tagged, nothing).
 */

/**
 * The value of each primitive as wire.ts reads it. int64 is a number: exact up to 2^53, which offsets,
 * timestamps and producer ids stay below. `records` is never checked for null by the codec, so it is
 * always `Buffer | null`.
 */
interface PrimitiveValue {
  bool: boolean;
  int8: number;
  int16: number;
  uint16: number;
  int32: number;
  int64: number;
  float64: number;
  string: string;
  bytes: Buffer;
  records: Buffer | null;
  uuid: Buffer;
}

/**
 * A field list whose names are not literals (a plain ApiSchema, as the codec and the fuzzer see every API)
 * has no derived type: it is an untyped Message.
 */
type IfTyped<F extends FieldSpec[], T> = string extends F[number]['name'] ? Message : T;

/** Shows a derived message as one object literal in editors and compiler messages. */
type Flat<T> = { [K in keyof T]: T[K] } & {};

// ------------------------------------------------------------------------------------------------ decoded

export type Decoded<F extends FieldSpec[]> = IfTyped<
  F,
  Flat<{ [S in F[number] as S['name']]: DecodedValue<S> }>
>;

type DecodedValue<S extends FieldSpec> = DecodedBase<S['type']> | NullOf<S> | AbsentNull<S>;

type DecodedBase<T> = T extends Primitive
  ? PrimitiveValue[T]
  : T extends { array: infer E }
    ? DecodedElement<E>[]
    : T extends { struct: infer F extends FieldSpec[] }
      ? Decoded<F>
      : never;

type DecodedElement<E> = E extends Primitive ? PrimitiveValue[E] : E extends FieldSpec[] ? Decoded<E> : never;

/**
 * A `bytes` field the codec may not read (versions other than '0+', or tagged) holds its primitive default,
 * null, when absent; every other primitive's default (false, 0, '', 16 zero bytes) is of its own type.
 */
type AbsentNull<S extends FieldSpec> = S['type'] extends 'bytes'
  ? S extends { tag: number }
    ? null
    : S['versions'] extends '0+'
      ? never
      : null
  : never;

// ---------------------------------------------------------------------------------------------- encodable

export type Encodable<F extends FieldSpec[]> = IfTyped<
  F,
  Flat<
    { [S in F[number] as Defaulted<S> extends true ? never : S['name']]: EncodableValue<S> } & {
      [S in F[number] as Defaulted<S> extends true ? S['name'] : never]?: EncodableValue<S>;
    }
  >
>;

/** The codec fills a field left out with its `default`, and leaves out a tagged field left out. */
type Defaulted<S extends FieldSpec> = S extends { default: unknown }
  ? true
  : S extends { tag: number }
    ? true
    : false;

type EncodableValue<S extends FieldSpec> = EncodableBase<S['type']> | NullOf<S>;

/** The codec writes a null `bytes` as empty bytes where the field is not nullable. */
type EncodableBase<T> = T extends 'bytes'
  ? Buffer | null
  : T extends Primitive
    ? PrimitiveValue[T]
    : T extends { array: infer E }
      ? EncodableElement<E>[]
      : T extends { struct: infer F extends FieldSpec[] }
        ? Encodable<F>
        : never;

type EncodableElement<E> = E extends Primitive
  ? PrimitiveValue[E]
  : E extends FieldSpec[]
    ? Encodable<E>
    : never;

// ------------------------------------------------------------------------------------------------- shared

/** Null where the field is nullable in some version, or where null is its default. */
type NullOf<S extends FieldSpec> = S extends { nullableVersions: infer V }
  ? V extends 'none'
    ? DefaultNull<S>
    : null
  : DefaultNull<S>;

type DefaultNull<S extends FieldSpec> = S extends { default: null } ? null : never;

// ---------------------------------------------------------------------------------------------- per API

/** A request as the broker reads it (decodeRequest) and a handler receives it. */
export type RequestOf<A extends ApiSchema> = Decoded<A['request']>;
/** A response as a handler returns it and the broker writes it (encodeResponse). */
export type ResponseOf<A extends ApiSchema> = Encodable<A['response']>;
/** A request as a client writes it (encodeRequest). */
export type EncodableRequestOf<A extends ApiSchema> = Encodable<A['request']>;
/** A response as a client reads it (decodeResponse). */
export type DecodedResponseOf<A extends ApiSchema> = Decoded<A['response']>;
