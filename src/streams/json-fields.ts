/**
 * Reads a few top-level fields of a JSON object straight from its UTF-8 bytes. A pipeline that needs 3 of an
 * event's 9 fields otherwise pays JSON.parse for all of them: the UTF-8 decode of the whole value, a string
 * for every text field and an object holding everything. Here the other fields are only checked against the
 * JSON grammar (RFC 8259), never materialised.
 *
 * The result equals picking the fields out of JSON.parse's (and, for a field read as nested fields whose value
 * is an object, its fields out of that object's): the fast path accepts only what JSON.parse accepts and
 * decodes values the same way (strings through the same UTF-8 decoder, numbers through Number(), other nested
 * values through JSON.parse itself), and whatever it does not accept (malformed input, a top level
 * that is not an object, nesting past MAX_SKIPPED_DEPTH) goes through JSON.parse of the whole value, which
 * returns the same value or throws its own error.
 */

/** Nesting the fast path skips through before it hands the value to JSON.parse instead. */
const MAX_SKIPPED_DEPTH = 64;
/** Integers of at most this many digits are exact as doubles, so they are summed digit by digit. */
const MAX_EXACT_INTEGER_DIGITS = 15;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_U = 0x75;
const SPACE = 0x20;
const FIRST_PRINTABLE = 0x20;

/**
 * The names a reader extracts, as bytes, so keys are compared without decoding them. A field named in `nested`
 * whose value is an object is read the same way, keeping only the nested reader's fields (a value that is not
 * an object is read whole, as for any other field).
 */
export class JsonFields {
  private readonly encoded: Buffer[];
  /** Per name length, the indexes of the names of that length: a key is compared with those only. */
  private readonly byLength: number[][] = [];
  /** Per field, the reader of its value when that is an object, or null to read the value whole. */
  readonly nestedReaders: ReadonlyArray<JsonFields | null>;

  constructor(
    readonly names: readonly string[],
    nested: Readonly<Record<string, JsonFields>> = {},
  ) {
    if (names.length === 0) throw new RangeError('JsonFields needs at least one field name');
    for (const name of Object.keys(nested))
      if (!names.includes(name)) throw new RangeError(`nested field '${name}' is not one of the names`);
    this.encoded = names.map((name) => Buffer.from(name, 'utf8'));
    for (const [index, name] of this.encoded.entries()) {
      while (this.byLength.length <= name.length) this.byLength.push([]);
      this.byLength[name.length]!.push(index);
    }
    this.nestedReaders = names.map((name) => (Object.hasOwn(nested, name) ? nested[name]! : null));
  }

  /** The index of the field whose name is bytes[start, end), or -1. */
  indexOf(bytes: Buffer, start: number, end: number): number {
    const length = end - start;
    const candidates = this.byLength[length];
    if (candidates === undefined) return -1;
    for (let i = 0; i < candidates.length; i++) {
      const index = candidates[i]!;
      const name = this.encoded[index]!;
      let at = 0;
      while (at < length && name[at] === bytes[start + at]) at++;
      if (at === length) return index;
    }
    return -1;
  }
}

/** Thrown inside the fast path only: the input takes the JSON.parse path instead. */
class NotFastPath extends Error {}

const notFastPath = new NotFastPath();

/**
 * Whether the string skipString() last passed had an escape. Module state rather than a returned pair: this
 * runs for every string of every record, and the reader is synchronous, so no two reads interleave.
 */
let lastStringEscaped = false;

/**
 * The named top-level fields of the JSON object in `bytes` (absent fields are absent), or, when the value is
 * not an object, what JSON.parse returns for it. Throws JSON.parse's SyntaxError for malformed JSON.
 */
export function parseJsonFields(bytes: Buffer, fields: JsonFields): unknown {
  try {
    return readObjectFields(bytes, fields);
  } catch (error) {
    if (!(error instanceof NotFastPath)) throw error;
    return pickFields(JSON.parse(bytes.toString('utf8')), fields);
  }
}

function pickFields(value: unknown, fields: JsonFields): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const picked: Record<string, unknown> = {};
  for (const [index, name] of fields.names.entries()) {
    if (!Object.hasOwn(value, name)) continue;
    const field: unknown = Reflect.get(value, name);
    const nested = fields.nestedReaders[index];
    picked[name] = nested ? pickFields(field, nested) : field;
  }
  return picked;
}

/** Where the object readFieldsAt() last read ends (module state for the reason lastStringEscaped is). */
let lastObjectEnd = 0;

function readObjectFields(bytes: Buffer, fields: JsonFields): Record<string, unknown> {
  const at = bytes[0] === OPEN_OBJECT ? 0 : skipWhitespace(bytes, 0);
  if (bytes[at] !== OPEN_OBJECT) throw notFastPath;
  const result = readFieldsAt(bytes, at, fields, 0);
  if (skipWhitespace(bytes, lastObjectEnd) !== bytes.length) throw notFastPath;
  return result;
}

/** The named fields of the object whose `{` is at `start`; sets lastObjectEnd past its `}`. */
function readFieldsAt(
  bytes: Buffer,
  start: number,
  fields: JsonFields,
  depth: number,
): Record<string, unknown> {
  // Strings and numbers, nearly every value of an event, are read here rather than through skipValue, and
  // whitespace is looked for only where a byte at or below the space says there may be some.
  const result: Record<string, unknown> = {};
  let at = skipSpaceAt(bytes, start + 1);
  if (bytes[at] === CLOSE_OBJECT) {
    lastObjectEnd = at + 1;
    return result;
  }
  for (;;) {
    if (bytes[at] !== QUOTE) throw notFastPath;
    const keyEnd = skipString(bytes, at);
    const field = lastStringEscaped
      ? escapedKeyIndex(bytes, fields, at, keyEnd)
      : fields.indexOf(bytes, at + 1, keyEnd - 1);
    at = skipSpaceAt(bytes, keyEnd);
    if (bytes[at] !== COLON) throw notFastPath;
    const valueStart = skipSpaceAt(bytes, at + 1);
    const first = bytes[valueStart];
    if (first === QUOTE) {
      at = skipString(bytes, valueStart);
      if (field >= 0) result[fields.names[field]!] = stringValue(bytes, valueStart, at);
    } else if (first === MINUS || (first !== undefined && first >= ZERO && first <= NINE)) {
      at = skipNumber(bytes, valueStart);
      if (field >= 0) result[fields.names[field]!] = numberOf(bytes, valueStart, at);
    } else if (first === OPEN_OBJECT && field >= 0 && fields.nestedReaders[field] !== null) {
      if (depth + 1 > MAX_SKIPPED_DEPTH) throw notFastPath;
      result[fields.names[field]!] = readFieldsAt(bytes, valueStart, fields.nestedReaders[field]!, depth + 1);
      at = lastObjectEnd;
    } else {
      at = skipValue(bytes, valueStart, depth);
      if (field >= 0) result[fields.names[field]!] = JSON.parse(bytes.toString('utf8', valueStart, at));
    }
    at = skipSpaceAt(bytes, at);
    if (bytes[at] === COMMA) {
      at = skipSpaceAt(bytes, at + 1);
      continue;
    }
    if (bytes[at] === CLOSE_OBJECT) {
      lastObjectEnd = at + 1;
      return result;
    }
    throw notFastPath;
  }
}

/** The field a key with escapes names, decoded as JSON.parse decodes it. */
function escapedKeyIndex(bytes: Buffer, fields: JsonFields, start: number, end: number): number {
  const name: unknown = JSON.parse(bytes.toString('utf8', start, end));
  return typeof name === 'string' ? fields.names.indexOf(name) : -1;
}

/** A string value whose opening quote is at `start`, skipString having just passed it. */
function stringValue(bytes: Buffer, start: number, end: number): string {
  return lastStringEscaped
    ? (JSON.parse(bytes.toString('utf8', start, end)) as string)
    : bytes.toString('utf8', start + 1, end - 1);
}

function numberOf(bytes: Buffer, start: number, end: number): number {
  const negative = bytes[start] === MINUS;
  const digitsStart = negative ? start + 1 : start;
  if (end - digitsStart > MAX_EXACT_INTEGER_DIGITS) return Number(bytes.toString('latin1', start, end));
  let value = 0;
  for (let at = digitsStart; at < end; at++) {
    const byte = bytes[at]!;
    if (byte < ZERO || byte > NINE) return Number(bytes.toString('latin1', start, end));
    value = value * 10 + (byte - ZERO);
  }
  return negative ? -value : value;
}

/** skipWhitespace, called only when the byte at `at` could be whitespace (most JSON has none). */
function skipSpaceAt(bytes: Buffer, at: number): number {
  const byte = bytes[at];
  return byte !== undefined && byte <= SPACE ? skipWhitespace(bytes, at) : at;
}

function skipWhitespace(bytes: Buffer, at: number): number {
  for (;;) {
    const byte = bytes[at];
    // Space, tab, line feed, carriage return: JSON's whitespace, nothing else.
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return at;
    at++;
  }
}

/** The position after the value starting at `at`. */
function skipValue(bytes: Buffer, at: number, depth: number): number {
  const first = bytes[at];
  if (first === QUOTE) return skipString(bytes, at);
  if (first === MINUS || (first !== undefined && first >= ZERO && first <= NINE))
    return skipNumber(bytes, at);
  if (first === OPEN_OBJECT) return skipObject(bytes, at, depth + 1);
  if (first === OPEN_ARRAY) return skipArray(bytes, at, depth + 1);
  if (first === 0x74) return skipLiteral(bytes, at, 'true');
  if (first === 0x66) return skipLiteral(bytes, at, 'false');
  if (first === 0x6e) return skipLiteral(bytes, at, 'null');
  throw notFastPath;
}

function skipLiteral(bytes: Buffer, at: number, literal: string): number {
  for (let i = 0; i < literal.length; i++) {
    if (bytes[at + i] !== literal.charCodeAt(i)) throw notFastPath;
  }
  return at + literal.length;
}

/** Bytes that end a run of plain string content: the quote, the backslash and control characters. */
const STRING_STOP = new Uint8Array(256);
STRING_STOP.fill(1, 0, FIRST_PRINTABLE);
STRING_STOP[QUOTE] = 1;
STRING_STOP[BACKSLASH] = 1;

/** The position after the string whose opening quote is at `at`; bytes above 0x7f are any UTF-8 (or not). */
function skipString(bytes: Buffer, at: number): number {
  lastStringEscaped = false;
  at++;
  for (;;) {
    // One table look-up per byte of text; past the end, bytes[at] is undefined, which stops the run too.
    let byte = bytes[at];
    while (byte !== undefined && STRING_STOP[byte] === 0) byte = bytes[++at];
    if (byte === QUOTE) return at + 1;
    if (byte !== BACKSLASH) throw notFastPath;
    lastStringEscaped = true;
    at = skipEscape(bytes, at + 1);
  }
}

function skipEscape(bytes: Buffer, at: number): number {
  const byte = bytes[at];
  // " \ / b f n r t
  if (
    byte === QUOTE ||
    byte === BACKSLASH ||
    byte === 0x2f ||
    byte === 0x62 ||
    byte === 0x66 ||
    byte === 0x6e ||
    byte === 0x72 ||
    byte === 0x74
  ) {
    return at + 1;
  }
  if (byte !== LOWER_U) throw notFastPath;
  for (let i = 1; i <= 4; i++) {
    const hex = bytes[at + i];
    const isHex =
      hex !== undefined &&
      ((hex >= ZERO && hex <= NINE) || (hex >= 0x41 && hex <= 0x46) || (hex >= 0x61 && hex <= 0x66));
    if (!isHex) throw notFastPath;
  }
  return at + 5;
}

/** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
function skipNumber(bytes: Buffer, at: number): number {
  if (bytes[at] === MINUS) at++;
  if (bytes[at] === ZERO) at++;
  else at = skipDigits(bytes, at);
  if (bytes[at] === DOT) at = skipDigits(bytes, at + 1);
  if (bytes[at] === LOWER_E || bytes[at] === UPPER_E) {
    at++;
    if (bytes[at] === PLUS || bytes[at] === MINUS) at++;
    at = skipDigits(bytes, at);
  }
  return at;
}

/** One digit or more. */
function skipDigits(bytes: Buffer, at: number): number {
  const start = at;
  for (;;) {
    const byte = bytes[at];
    if (byte === undefined || byte < ZERO || byte > NINE) break;
    at++;
  }
  if (at === start) throw notFastPath;
  return at;
}

function skipObject(bytes: Buffer, at: number, depth: number): number {
  if (depth > MAX_SKIPPED_DEPTH) throw notFastPath;
  at = skipWhitespace(bytes, at + 1);
  if (bytes[at] === CLOSE_OBJECT) return at + 1;
  for (;;) {
    if (bytes[at] !== QUOTE) throw notFastPath;
    at = skipWhitespace(bytes, skipString(bytes, at));
    if (bytes[at] !== COLON) throw notFastPath;
    at = skipWhitespace(bytes, skipValue(bytes, skipWhitespace(bytes, at + 1), depth));
    if (bytes[at] === CLOSE_OBJECT) return at + 1;
    if (bytes[at] !== COMMA) throw notFastPath;
    at = skipWhitespace(bytes, at + 1);
  }
}

function skipArray(bytes: Buffer, at: number, depth: number): number {
  if (depth > MAX_SKIPPED_DEPTH) throw notFastPath;
  at = skipWhitespace(bytes, at + 1);
  if (bytes[at] === CLOSE_ARRAY) return at + 1;
  for (;;) {
    at = skipWhitespace(bytes, skipValue(bytes, at, depth));
    if (bytes[at] === CLOSE_ARRAY) return at + 1;
    if (bytes[at] !== COMMA) throw notFastPath;
    at = skipWhitespace(bytes, at + 1);
  }
}
