import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_STRING_BYTES, ProtocolError, WireReader, WireWriter } from './wire.js';

/** A classic (int16 length) string field holding exactly `bytes`. */
function classic(bytes: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function written(value: string, compact: boolean): Buffer {
  return Buffer.concat(new WireWriter().string(value, compact).finish());
}

describe('wire strings', () => {
  it('read back as the exact bytes they came from, BOM and multi-byte characters included', () => {
    for (const text of ['', 'cdn.telemetry', '\ufeffbom-first', 'é€😀', 'x'.repeat(64), 'ü'.repeat(5000)]) {
      const bytes = Buffer.from(text, 'utf8');
      const read = new WireReader(classic(bytes)).string(false);
      assert.equal(read, text);
      assert.deepEqual(written(read!, false), classic(bytes));
    }
  });

  it('refuse invalid UTF-8 instead of replacing it with U+FFFD', () => {
    const invalid = [
      Buffer.alloc(11_000, 0xff),
      Buffer.from([0x61, 0xff]),
      Buffer.from([0xc0, 0x80]), // overlong NUL
      Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
      Buffer.from([0xe2, 0x82]), // truncated sequence
      Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from([0x80])]),
    ];
    for (const bytes of invalid) {
      assert.throws(() => new WireReader(classic(bytes)).string(false), ProtocolError, bytes.toString('hex'));
    }
  });

  it(`refuse a compact string longer than ${MAX_STRING_BYTES} bytes on read, as Kafka does`, () => {
    const long = Buffer.concat([
      Buffer.concat(new WireWriter().unsignedVarint(MAX_STRING_BYTES + 2).finish()),
      Buffer.alloc(MAX_STRING_BYTES + 1, 0x61),
    ]);
    assert.throws(() => new WireReader(long).string(true), /exceeds 32767/);
  });

  it('refuse to write a string the length field cannot hold, naming the field', () => {
    const fits = 'a'.repeat(MAX_STRING_BYTES);
    assert.equal(written(fits, false).length, 2 + MAX_STRING_BYTES);
    assert.equal(new WireReader(written(fits, true)).string(true), fits);
    for (const compact of [false, true]) {
      // 11,000 U+FFFD are 33,000 bytes of UTF-8.
      assert.throws(
        () => new WireWriter().string('\ufffd'.repeat(11_000), compact, 'topic'),
        (error) =>
          error instanceof ProtocolError &&
          /topic is 33000 bytes of UTF-8; .* at most 32767/.test(error.message),
      );
    }
  });
});
