import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonFields, parseJsonFields } from './json-fields.js';
import { jsonFields, SerdeError } from './serdes.js';

const FIELDS = new JsonFields(['ts', 'site', 'rtt', 'cmcd', 'na\u00efve', 'quote"d']);
/** `cmcd` read as nested fields, an object's `x` too. */
const NESTED_FIELDS = new JsonFields(['ts', 'cmcd', 'e'], {
  cmcd: new JsonFields(['ot', 'd', 'x'], { x: new JsonFields(['a']) }),
});

/**
 * What the reader must return: JSON.parse's value with only the named fields of an object kept (of a nested
 * reader's field whose value is an object, only its named fields).
 */
function pick(value: unknown, fields: JsonFields): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([name]) => fields.names.includes(name))
      .map(([name, field]) => {
        const nested = fields.nestedReaders[fields.names.indexOf(name)];
        return [name, nested ? pick(field, nested) : field];
      }),
  );
}

function outcome(read: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: read() };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

function assertSameAsJsonParse(text: string, fields = FIELDS): void {
  const bytes = Buffer.from(text, 'utf8');
  assert.deepEqual(
    outcome(() => parseJsonFields(bytes, fields)),
    outcome(() => pick(JSON.parse(bytes.toString('utf8')), fields)),
    `input ${JSON.stringify(text)}`,
  );
}

describe('parseJsonFields', () => {
  it('keeps the named fields as JSON.parse reads them and leaves the others out', () => {
    for (const text of [
      '{"ts":1700000000123,"site":"site-3","edge":"edge-000042","rtt":12.333333333333334,"bytes":1}',
      ' { "rtt" : -0 , "ts" : 0, "site" : "" } ',
      '{"rtt":1e3,"ts":-12.5E-2,"x":[1,{"a":[true,false,null]},"s"],"y":{}}',
      '{"rtt":123456789012345678901234567890,"ts":9007199254740993,"site":"caf\u00e9 \ud83d\ude00"}',
      '{"site":"tab\\tquote\\"slash\\/u\\u00e9\\ud83d\\ude00","cmcd":{"ot":"v","d":4000}}',
      '{"s\\u0069te":"escaped key","na\u00efve":1,"quote\\"d":2,"ts":1,"ts":2}',
      '{}',
      '{"site":"\xff\xfe broken utf-8 is replaced as toString does"}',
      '[1,2]',
      '"text"',
      '42',
      'null',
    ]) {
      assertSameAsJsonParse(text);
    }
  });

  it('rejects what JSON.parse rejects, with its error', () => {
    for (const text of [
      '',
      '{',
      '{"ts":1,}',
      '{"ts":01}',
      '{"ts":1.}',
      '{"ts":.5}',
      '{"ts":1e}',
      '{"ts":-}',
      '{"ts":+1}',
      '{"ts":NaN}',
      '{"ts":tru}',
      '{"ts":1} x',
      '{"ts" 1}',
      "{'ts':1}",
      '{"site":"a\nb"}',
      '{"site":"\\x"}',
      '{"site":"\\u12g4"}',
      '{"x":[1,]}',
      '{"x":{"a":1,}}',
      '{"x":[1 2]}',
      '\ufeff{"ts":1}',
      '{"ts":1}\u00a0',
    ]) {
      assertSameAsJsonParse(text);
    }
  });

  it('hands nesting deeper than it skips to JSON.parse', () => {
    assertSameAsJsonParse(`{"ts":1,"deep":${'['.repeat(200)}${']'.repeat(200)}}`);
  });

  it('reads the named fields of nested objects, and other nested values whole', () => {
    for (const text of [
      '{"ts":1,"cmcd":{"br":3500,"ot":"v","sid":"s","d":2000,"su":false},"e":2}',
      '{"cmcd":{ "ot" : "a" , "x" : { "a" : [1] , "b" : 2 } , "d" : -1.5e3 } }',
      '{"cmcd":{},"ts":{"ot":1}}',
      '{"cmcd":[{"ot":"v"}],"e":{"ot":1}}',
      '{"cmcd":null,"cmcd":{"d":1,"d":2}}',
      '{"cmcd":{"o\\u0074":"escaped key","x":"not an object"}}',
      '{"cmcd":{"ot":"v",}}',
      '{"cmcd":{"ot" "v"}}',
      '{"cmcd":{"ot":"v"}',
      `{"cmcd":{"x":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}}`,
    ]) {
      assertSameAsJsonParse(text, NESTED_FIELDS);
    }
  });

  it('agrees with JSON.parse on random mutations of an event', () => {
    const event = Buffer.from(
      '{"ts":17,"site":"s-1","rtt":5.5,"cmcd":{"ot":"v","d":[1,2e2,null],"x":{"a":1}},"e":"\\u0041"}',
    );
    let seed = 7;
    const random = (below: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % below;
    };
    const alphabet = Buffer.from('{}[]":,.-+eE0129 \\utfnal\t\n\x01\xc3');
    for (let round = 0; round < 20_000; round++) {
      const mutated = Buffer.from(event);
      for (let edits = 1 + random(3); edits > 0; edits--)
        mutated[random(mutated.length)] = alphabet[random(alphabet.length)]!;
      assertSameAsJsonParse(mutated.toString('latin1'));
      assertSameAsJsonParse(mutated.toString('latin1'), NESTED_FIELDS);
    }
  });
});

describe('jsonFields serde', () => {
  it('reads the named fields and reports undecodable JSON as json() does', () => {
    const serde = jsonFields<{ ts: number; rtt: number }>({ ts: true, rtt: true });
    assert.deepEqual(serde.deserialize(Buffer.from('{"ts":5,"edge":"e","rtt":1.5}')), { ts: 5, rtt: 1.5 });
    assert.throws(
      () => serde.deserialize(Buffer.from('{"edge":')),
      (error: unknown) =>
        error instanceof SerdeError &&
        error.serde === 'json' &&
        /could not decode 8 bytes/.test(error.message),
    );
  });
});
