import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaRestError } from './ingest-errors.js';
import { checkAccept, embeddedFormatOf, parseProduceBody } from './rest-proxy-body.js';

const body = (value: unknown) => Buffer.from(JSON.stringify(value));

function refusedWith(status: number, errorCode: number, message?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof KafkaRestError, String(error));
    assert.deepEqual([error.status, error.errorCode], [status, errorCode]);
    if (message) assert.match(error.message, message);
    return true;
  };
}

test('the content type names the embedded format; others are refused with 415', () => {
  assert.equal(embeddedFormatOf('application/vnd.kafka.json.v2+json'), 'json');
  assert.equal(embeddedFormatOf('Application/vnd.kafka.binary.v2+json; charset=utf-8'), 'binary');
  assert.throws(() => embeddedFormatOf('application/vnd.kafka.avro.v2+json'), refusedWith(415, 415));
  assert.throws(() => embeddedFormatOf(undefined), refusedWith(415, 415));
});

test('Accept takes the v2 type, JSON or anything, and refuses the rest with 406', () => {
  for (const accept of [
    undefined,
    '',
    'application/vnd.kafka.v2+json',
    'text/html, */*;q=0.1',
    'application/json',
  ])
    checkAccept(accept);
  assert.throws(() => checkAccept('text/html'), refusedWith(406, 406));
});

test('JSON records keep their values as JSON text; a null or absent key or value stays null', () => {
  const records = parseProduceBody(
    body({ records: [{ key: 'edge-1', value: { n: 1 } }, { value: [1, 2], partition: 2 }, { key: null }] }),
    'json',
    10,
  );
  assert.deepEqual(
    records.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null, r.partition]),
    [
      ['"edge-1"', '{"n":1}', null],
      [null, '[1,2]', 2],
      [null, null, null],
    ],
  );
});

test('binary records are strict base64, and the error names the record and field', () => {
  const [record] = parseProduceBody(body({ records: [{ key: 'a2V5', value: 'dmFsdWU=' }] }), 'binary', 10);
  assert.deepEqual([record?.key?.toString(), record?.value?.toString()], ['key', 'value']);
  assert.throws(
    () => parseProduceBody(body({ records: [{ value: 'dmFsdWU=' }, { value: 'dmFsdWU' }] }), 'binary', 10),
    refusedWith(422, 422, /^records\[1\]\.value: expected base64/),
  );
  assert.throws(
    () => parseProduceBody(body({ records: [{ value: 42 }] }), 'binary', 10),
    refusedWith(422, 422, /records\[0\]\.value/),
  );
});

test('bodies that are not JSON, hold no records, too many or a bad partition are refused', () => {
  assert.throws(() => parseProduceBody(Buffer.from('{'), 'json', 10), refusedWith(400, 400));
  assert.throws(
    () => parseProduceBody(body({ records: [] }), 'json', 10),
    refusedWith(422, 422, /^records:/),
  );
  assert.throws(
    () => parseProduceBody(body({ records: Array(11).fill({ value: 1 }) }), 'json', 10),
    refusedWith(422, 422),
  );
  assert.throws(
    () => parseProduceBody(body({ records: [{ value: 1, partition: -1 }] }), 'json', 10),
    refusedWith(422, 422, /^records\[0\]\.partition/),
  );
});
