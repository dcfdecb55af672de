import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  alterUserScramCredentialsV0,
  describeUserScramCredentialsV0,
  Reader,
  ResponseError,
} from '@platformatic/kafka';
import type { EncodableRequestOf, ResponseOf } from '../message-types.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../messages.js';
import type { ApiSchema } from '../schema.js';
import { AlterUserScramCredentials } from './alter-user-scram-credentials.js';
import { DescribeUserScramCredentials } from './describe-user-scram-credentials.js';

// Kafka's ScramMechanism codes (security/scram.ts has them by name; protocol sits below security).
const SHA_256 = 1;
const SHA_512 = 2;

const header = (schema: ApiSchema) => ({
  apiKey: schema.apiKey,
  apiVersion: 0,
  correlationId: 0x0a0b0c0d,
  clientId: 'c',
});
/** Size, key, version, correlation id, client id "c" (int16 length + 1 byte), header tagged fields. */
const REQUEST_HEADER_BYTES = 4 + 2 + 2 + 4 + 3 + 1;
/** Size, correlation id, header tagged fields (response header v1: both APIs are flexible from v0). */
const RESPONSE_HEADER_BYTES = 4 + 4 + 1;

function requestBody<A extends ApiSchema>(schema: A, request: EncodableRequestOf<A>): Buffer {
  return encodeRequest(schema, header(schema), request).subarray(REQUEST_HEADER_BYTES);
}

/** Decodes a request body from another encoder behind our header of the same API. */
function decodedBody<A extends ApiSchema>(schema: A, body: Buffer, sample: EncodableRequestOf<A>) {
  const headerBytes = encodeRequest(schema, header(schema), sample).subarray(4, REQUEST_HEADER_BYTES);
  return decodeRequest(Buffer.concat([headerBytes, body]), schema).body;
}

function responseBody<A extends ApiSchema>(schema: A, response: ResponseOf<A>): Buffer {
  return Buffer.concat(encodeResponse(schema, 0, 7, response)).subarray(RESPONSE_HEADER_BYTES);
}

/** @platformatic/kafka's parser throws on any error code, with what it parsed. */
function parsedByPlatformatic(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ResponseError) return error.response;
    throw error;
  }
}

function roundTrip<A extends ApiSchema>(schema: A, request: EncodableRequestOf<A>, response: ResponseOf<A>) {
  const frame = encodeRequest(schema, header(schema), request);
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  assert.deepEqual(decodeRequest(frame.subarray(4), schema).body, request);
  const responseFrame = Buffer.concat(encodeResponse(schema, 0, 7, response));
  assert.deepEqual(decodeResponse(responseFrame.subarray(4), schema, 0).body, response);
}

describe('DescribeUserScramCredentials', () => {
  test('is key 50, v0 only, flexible from v0', () => {
    assert.equal(DescribeUserScramCredentials.apiKey, 50);
    assert.deepEqual(DescribeUserScramCredentials.versions, [0, 0]);
    assert.equal(DescribeUserScramCredentials.flexibleFrom, 0);
  });

  const response = {
    throttleTimeMs: 3,
    errorCode: 0,
    errorMessage: null,
    results: [
      {
        user: 'alice',
        errorCode: 0,
        errorMessage: null,
        credentialInfos: [
          { mechanism: SHA_256, iterations: 4096 },
          { mechanism: SHA_512, iterations: 8192 },
        ],
      },
      { user: 'bob', errorCode: 91, errorMessage: 'not there', credentialInfos: [] },
    ],
  };

  test('request and response round-trip, users null or listed', () => {
    roundTrip(DescribeUserScramCredentials, { users: null }, response);
    roundTrip(DescribeUserScramCredentials, { users: [{ name: 'alice' }, { name: 'bob' }] }, response);
  });

  test('request bytes: as @platformatic/kafka encodes them, and as Kafka writes a null array', () => {
    const users = [{ name: 'alice' }];
    const theirs = describeUserScramCredentialsV0.createRequest(users).buffer;
    assert.deepEqual(requestBody(DescribeUserScramCredentials, { users }), theirs);
    assert.deepEqual(decodedBody(DescribeUserScramCredentials, theirs, { users }), { users });
    // Compact nullable array: 0 is null, then the top-level tagged fields.
    const all = requestBody(DescribeUserScramCredentials, { users: null });
    assert.equal(all.toString('hex'), '0000');
    assert.deepEqual(describeUserScramCredentialsV0.createRequest(null as never).buffer, all);
  });

  test('our response reads back in @platformatic/kafka', () => {
    const body = responseBody(DescribeUserScramCredentials, response);
    const parsed = parsedByPlatformatic(() =>
      describeUserScramCredentialsV0.parseResponse(7, 50, 0, Reader.from(body)),
    );
    assert.deepEqual(parsed, response);
  });
});

describe('AlterUserScramCredentials', () => {
  const deletions = [{ name: 'bob', mechanism: SHA_256 }];
  const upsertions = [
    {
      name: 'alice',
      mechanism: SHA_512,
      iterations: 8192,
      salt: Buffer.from('salt-bytes'),
      saltedPassword: Buffer.alloc(64, 0xab),
    },
  ];

  test('is key 51, v0 only, flexible from v0', () => {
    assert.equal(AlterUserScramCredentials.apiKey, 51);
    assert.deepEqual(AlterUserScramCredentials.versions, [0, 0]);
    assert.equal(AlterUserScramCredentials.flexibleFrom, 0);
  });

  test('request and response round-trip', () => {
    roundTrip(
      AlterUserScramCredentials,
      { deletions, upsertions },
      {
        throttleTimeMs: 0,
        results: [
          { user: 'bob', errorCode: 0, errorMessage: null },
          { user: 'alice', errorCode: 93, errorMessage: 'too few iterations' },
        ],
      },
    );
  });

  test('request bytes: as @platformatic/kafka encodes them', () => {
    const theirs = alterUserScramCredentialsV0.createRequest(deletions, upsertions).buffer;
    const ours = requestBody(AlterUserScramCredentials, { deletions, upsertions });
    // @platformatic/kafka writes the top-level tagged fields twice: one stray byte 0 that Kafka's parser, and
    // ours, leave unread. Everything before it is byte for byte ours.
    assert.deepEqual(theirs.subarray(0, theirs.length - 1), ours);
    assert.equal(theirs.at(-1), 0);
    assert.deepEqual(decodedBody(AlterUserScramCredentials, theirs, { deletions, upsertions }), {
      deletions,
      upsertions,
    });
  });

  test('request bytes, written out (compact strings and bytes, length + 1)', () => {
    const body = requestBody(AlterUserScramCredentials, {
      deletions: [{ name: 'b', mechanism: SHA_256 }],
      upsertions: [
        {
          name: 'a',
          mechanism: SHA_512,
          iterations: 4096,
          salt: Buffer.from([1]),
          saltedPassword: Buffer.from([2, 3]),
        },
      ],
    });
    const expected = [
      '02 0262 01 00', // one deletion: "b", SCRAM-SHA-256, tags
      '02 0261 02 00001000 0201 030203 00', // one upsertion: "a", SCRAM-SHA-512, 4096, salt, salted password, tags
      '00', // top-level tags
    ];
    assert.equal(body.toString('hex'), expected.join('').replace(/\s+/g, ''));
  });

  test('our response reads back in @platformatic/kafka', () => {
    const response = {
      throttleTimeMs: 0,
      results: [
        { user: 'alice', errorCode: 0, errorMessage: null },
        { user: 'bob', errorCode: 92, errorMessage: 'twice' },
      ],
    };
    const body = responseBody(AlterUserScramCredentials, response);
    const parsed = parsedByPlatformatic(() =>
      alterUserScramCredentialsV0.parseResponse(7, 51, 0, Reader.from(body)),
    );
    assert.deepEqual(parsed, response);
  });
});
