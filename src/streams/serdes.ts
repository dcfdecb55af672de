import { JsonFields, parseJsonFields } from './json-fields.js';

/** Converts record keys and values between bytes on the log and typed values in a pipeline. */
export interface Serde<T> {
  readonly name: string;
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

/** Bytes that a serde could not turn into a value; pipelines count these and route them aside. */
export class SerdeError extends Error {
  constructor(
    readonly serde: string,
    readonly bytes: Buffer,
    cause: unknown,
  ) {
    super(
      `${serde} could not decode ${bytes.length} bytes: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'SerdeError';
  }
}

export function json<T>(): Serde<T> {
  return {
    name: 'json',
    serialize: (value) => Buffer.from(JSON.stringify(value)),
    deserialize: (bytes) => {
      try {
        return JSON.parse(bytes.toString('utf8')) as T;
      } catch (error) {
        throw new SerdeError('json', bytes, error);
      }
    },
  };
}

/**
 * JSON values of which a pipeline reads only the top-level fields of T (every one named in `names`, so the type
 * checks the list): the others are checked, not decoded (json-fields.ts), and a value deserialises to an object
 * of those fields alone. Rejects what json() rejects.
 */
export function jsonFields<T extends object>(names: { [K in keyof T & string]-?: true }): Serde<T> {
  const fields = new JsonFields(Object.keys(names));
  return {
    name: 'json',
    serialize: (value) => Buffer.from(JSON.stringify(value)),
    deserialize: (bytes) => {
      try {
        return parseJsonFields(bytes, fields) as T;
      } catch (error) {
        throw new SerdeError('json', bytes, error);
      }
    },
  };
}

export function string(): Serde<string> {
  return {
    name: 'string',
    serialize: (value) => Buffer.from(value, 'utf8'),
    deserialize: (bytes) => bytes.toString('utf8'),
  };
}

export function bytes(): Serde<Buffer> {
  return { name: 'bytes', serialize: (value) => value, deserialize: (value) => value };
}
