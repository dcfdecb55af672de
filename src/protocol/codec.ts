import {
  type FieldSpec,
  type FieldType,
  inRange,
  type Primitive,
  parseVersions,
  type VersionRange,
} from './schema.js';
import { ProtocolError, WireReader, WireWriter } from './wire.js';

/** A field with its version ranges parsed once. */
interface CompiledField {
  name: string;
  type: Primitive | 'array' | 'struct';
  element: Primitive | CompiledField[] | null;
  versions: VersionRange;
  nullable: VersionRange;
  tag: number | undefined;
  tagged: VersionRange;
  fallback: unknown;
}

export type Message = Record<string, unknown>;

const compiled = new WeakMap<FieldSpec[], CompiledField[]>();

function compile(fields: FieldSpec[]): CompiledField[] {
  let result = compiled.get(fields);
  if (result) return result;
  result = fields.map(compileField);
  compiled.set(fields, result);
  return result;
}

function compileField(spec: FieldSpec): CompiledField {
  const base = {
    name: spec.name,
    versions: parseVersions(spec.versions),
    nullable: parseVersions(spec.nullableVersions),
    tag: spec.tag,
    tagged: parseVersions(spec.taggedVersions),
  };
  const type: FieldType = spec.type;
  if (typeof type === 'string') {
    return {
      ...base,
      type,
      element: null,
      fallback: spec.default !== undefined ? spec.default : primitiveDefault(type),
    };
  }
  if ('array' in type) {
    const element = typeof type.array === 'string' ? type.array : compile(type.array);
    return { ...base, type: 'array', element, fallback: spec.default !== undefined ? spec.default : [] };
  }
  return { ...base, type: 'struct', element: compile(type.struct), fallback: spec.default ?? null };
}

function primitiveDefault(type: Primitive): unknown {
  switch (type) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
    case 'records':
      return null;
    case 'uuid':
      return Buffer.alloc(16);
    default:
      return 0;
  }
}

function defaultValue(field: CompiledField): unknown {
  if (field.type === 'struct') return fillDefaults(field.element as CompiledField[]);
  return Array.isArray(field.fallback) ? [] : field.fallback;
}

function fillDefaults(fields: CompiledField[]): Message {
  const value: Message = {};
  for (const field of fields) value[field.name] = defaultValue(field);
  return value;
}

// ---------------------------------------------------------------------------------------------- encoding

export function encodeMessage(
  writer: WireWriter,
  fields: FieldSpec[],
  version: number,
  flexible: boolean,
  value: Message,
): void {
  writeStruct(writer, compile(fields), version, flexible, value);
}

function writeStruct(
  w: WireWriter,
  fields: CompiledField[],
  version: number,
  flexible: boolean,
  value: Message,
): void {
  const tagged: CompiledField[] = [];
  for (const field of fields) {
    if (!inRange(field.versions, version)) continue;
    if (flexible && field.tag !== undefined && inRange(field.tagged, version)) {
      tagged.push(field);
      continue;
    }
    const fieldValue = value[field.name];
    writeField(w, field, version, flexible, fieldValue === undefined ? defaultValue(field) : fieldValue);
  }
  if (flexible) writeTaggedFields(w, tagged, version, value);
}

function writeTaggedFields(w: WireWriter, tagged: CompiledField[], version: number, value: Message): void {
  const present = tagged.filter((field) => {
    const v = value[field.name];
    return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && v !== field.fallback;
  });
  w.unsignedVarint(present.length);
  for (const field of present.sort((a, b) => a.tag! - b.tag!)) {
    const inner = new WireWriter();
    writeField(inner, field, version, true, value[field.name]);
    const chunks = inner.finish();
    w.unsignedVarint(field.tag!);
    w.unsignedVarint(inner.length);
    for (const chunk of chunks) w.raw(chunk);
  }
}

function writeField(
  w: WireWriter,
  field: CompiledField,
  version: number,
  flexible: boolean,
  value: unknown,
): void {
  const nullable = inRange(field.nullable, version);
  if (field.type === 'array') {
    if (value === null && nullable) {
      w.arrayLength(null, flexible);
      return;
    }
    const items = (value ?? []) as unknown[];
    w.arrayLength(items.length, flexible);
    const element = field.element!;
    if (typeof element === 'string') {
      for (const item of items) writePrimitive(w, field.name, element, item, flexible, false);
    } else {
      for (const item of items) writeStruct(w, element, version, flexible, item as Message);
    }
    return;
  }
  if (field.type === 'struct') {
    if (nullable) {
      w.int8(value === null ? -1 : 1);
      if (value === null) return;
    }
    writeStruct(w, field.element as CompiledField[], version, flexible, (value ?? {}) as Message);
    return;
  }
  writePrimitive(w, field.name, field.type, value, flexible, nullable);
}

/** `name` is the field's, so a value the wire cannot carry is reported by name. */
function writePrimitive(
  w: WireWriter,
  name: string,
  type: Primitive,
  value: unknown,
  flexible: boolean,
  nullable: boolean,
): void {
  switch (type) {
    case 'bool':
      w.bool(value as boolean);
      return;
    case 'int8':
      w.int8(value as number);
      return;
    case 'int16':
      w.int16(value as number);
      return;
    case 'uint16':
      w.uint16(value as number);
      return;
    case 'int32':
      w.int32(value as number);
      return;
    case 'int64':
      w.int64(value as number);
      return;
    case 'float64':
      w.float64(value as number);
      return;
    case 'uuid':
      w.uuid(value as Buffer);
      return;
    case 'string':
      w.string(nullable ? (value as string | null) : ((value as string | null) ?? ''), flexible, name);
      return;
    case 'bytes':
    case 'records':
      w.bytes(nullable ? (value as Buffer | null) : ((value as Buffer | null) ?? Buffer.alloc(0)), flexible);
      return;
  }
}

// ---------------------------------------------------------------------------------------------- decoding

export function decodeMessage(
  reader: WireReader,
  fields: FieldSpec[],
  version: number,
  flexible: boolean,
): Message {
  return readStruct(reader, compile(fields), version, flexible);
}

function readStruct(r: WireReader, fields: CompiledField[], version: number, flexible: boolean): Message {
  const value: Message = {};
  let taggedHere = false;
  for (const field of fields) {
    if (!inRange(field.versions, version)) {
      value[field.name] = defaultValue(field);
      continue;
    }
    if (flexible && field.tag !== undefined && inRange(field.tagged, version)) {
      value[field.name] = defaultValue(field);
      taggedHere = true;
      continue;
    }
    value[field.name] = readField(r, field, version, flexible);
  }
  if (flexible) readTaggedFields(r, taggedHere ? fields : [], version, value);
  return value;
}

function readTaggedFields(r: WireReader, fields: CompiledField[], version: number, value: Message): void {
  const count = r.unsignedVarint();
  for (let i = 0; i < count; i++) {
    const tag = r.unsignedVarint();
    const size = r.unsignedVarint();
    const known = fields.find((f) => f.tag === tag && inRange(f.tagged, version));
    const bytes = r.raw(size);
    if (known) value[known.name] = readField(new WireReader(bytes), known, version, true);
  }
}

function readField(r: WireReader, field: CompiledField, version: number, flexible: boolean): unknown {
  const nullable = inRange(field.nullable, version);
  if (field.type === 'array') {
    const length = r.arrayLength(flexible);
    if (length === null) {
      if (!nullable) throw new ProtocolError(`field ${field.name} is null but not nullable in v${version}`);
      return null;
    }
    const element = field.element!;
    const items = new Array<unknown>(length);
    if (typeof element !== 'string') {
      for (let i = 0; i < length; i++) items[i] = readStruct(r, element, version, flexible);
      return items;
    }
    for (let i = 0; i < length; i++) {
      const item = readPrimitive(r, element, flexible);
      // Elements are never nullable (as in Kafka's generated readers); a null one would break the type
      // message-types.ts gives the array (string[], not (string | null)[]).
      if (item === null) throw new ProtocolError(`field ${field.name} has a null element in v${version}`);
      items[i] = item;
    }
    return items;
  }
  if (field.type === 'struct') {
    if (nullable && r.int8() < 0) return null;
    return readStruct(r, field.element as CompiledField[], version, flexible);
  }
  const value = readPrimitive(r, field.type, flexible);
  if (value === null && !nullable && (field.type === 'string' || field.type === 'bytes')) {
    throw new ProtocolError(`field ${field.name} is null but not nullable in v${version}`);
  }
  return value;
}

function readPrimitive(r: WireReader, type: Primitive, flexible: boolean): unknown {
  switch (type) {
    case 'bool':
      return r.bool();
    case 'int8':
      return r.int8();
    case 'int16':
      return r.int16();
    case 'uint16':
      return r.uint16();
    case 'int32':
      return r.int32();
    case 'int64':
      return r.int64();
    case 'float64':
      return r.float64();
    case 'uuid':
      return r.uuid();
    case 'string':
      return r.string(flexible);
    case 'bytes':
    case 'records':
      return r.bytes(flexible);
  }
}
