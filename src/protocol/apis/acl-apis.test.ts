import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import type { EncodableRequestOf, ResponseOf } from '../message-types.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../messages.js';
import type { ApiSchema } from '../schema.js';
import { CreateAcls } from './create-acls.js';
import { DeleteAcls } from './delete-acls.js';
import { DescribeAcls } from './describe-acls.js';

// Codes as Kafka defines them (security/acl.ts has them by name; protocol sits below security).
const TOPIC = 2;
const GROUP = 3;
const ANY = 1;
const LITERAL = 3;
const PREFIXED = 4;
const MATCH = 2;
const READ = 3;
const WRITE = 4;
const ALLOW = 3;
const DENY = 2;

const header = (schema: ApiSchema, version: number) => ({
  apiKey: schema.apiKey,
  apiVersion: version,
  correlationId: 0x0a0b0c0d,
  clientId: 'edgestream-test',
});

/**
 * The messages hold every field the version carries, with the pattern type LITERAL where v0 has none (what
 * it decodes as), so each must come back exactly as given.
 */
function roundTrip<A extends ApiSchema>(
  schema: A,
  version: number,
  request: EncodableRequestOf<A>,
  response: ResponseOf<A>,
): void {
  const frame = encodeRequest(schema, header(schema, version), request);
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  const decoded = decodeRequest(frame.subarray(4), schema);
  assert.deepEqual(decoded.header, header(schema, version));
  assert.deepEqual(decoded.body, request, `${schema.name} v${version} request`);
  const responseFrame = Buffer.concat(encodeResponse(schema, version, 7, response));
  assert.equal(responseFrame.readInt32BE(0), responseFrame.length - 4);
  const decodedResponse = decodeResponse(responseFrame.subarray(4), schema, version);
  assert.equal(decodedResponse.correlationId, 7);
  assert.deepEqual(decodedResponse.body, response, `${schema.name} v${version} response`);
}

function eachVersion(schema: ApiSchema, run: (version: number) => void): void {
  assert.deepEqual(schema.versions, [0, 3], 'Kafka 3.x defines v0-3');
  assert.equal(schema.flexibleFrom, 2, 'flexible from v2');
  for (let version = 0; version <= 3; version++) run(version);
}

const patternIn = (version: number) => (version >= 1 ? PREFIXED : LITERAL);

describe('DescribeAcls', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(DescribeAcls, (v) =>
      roundTrip(
        DescribeAcls,
        v,
        {
          resourceTypeFilter: TOPIC,
          resourceNameFilter: v % 2 === 0 ? null : 'orders',
          patternTypeFilter: v >= 1 ? MATCH : LITERAL,
          principalFilter: 'User:alice',
          hostFilter: v % 2 === 0 ? '10.0.0.1' : null,
          operation: ANY,
          permissionType: ANY,
        },
        {
          throttleTimeMs: 5,
          errorCode: 0,
          errorMessage: v === 3 ? 'none' : null,
          resources: [
            {
              resourceType: TOPIC,
              resourceName: 'ord',
              patternType: patternIn(v),
              acls: [
                { principal: 'User:alice', host: '*', operation: READ, permissionType: ALLOW },
                { principal: 'User:*', host: '10.0.0.1', operation: WRITE, permissionType: DENY },
              ],
            },
            { resourceType: GROUP, resourceName: 'g', patternType: LITERAL, acls: [] },
          ],
        },
      ),
    );
  });

  test('v2 request bytes (flexible: compact nullable strings)', () => {
    const body = {
      resourceTypeFilter: TOPIC,
      resourceNameFilter: 'a',
      patternTypeFilter: LITERAL,
      principalFilter: null,
      hostFilter: null,
      operation: ANY,
      permissionType: ANY,
    };
    const frame = encodeRequest(DescribeAcls, { ...header(DescribeAcls, 2), clientId: 'c' }, body);
    const expected = [
      '00000015', // size 21
      '001d 0002 0a0b0c0d 000163 00', // key 29, v2, correlation id, client id "c", header tags
      '02 0261 03', // TOPIC, "a" (compact: length + 1), LITERAL
      '00 00 01 01 00', // principal null, host null, ANY, ANY, tags
    ];
    assert.equal(frame.toString('hex'), expected.join('').replace(/\s+/g, ''));
  });
});

describe('CreateAcls', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(CreateAcls, (v) =>
      roundTrip(
        CreateAcls,
        v,
        {
          creations: [
            {
              resourceType: TOPIC,
              resourceName: 'pay',
              resourcePatternType: patternIn(v),
              principal: 'User:alice',
              host: '*',
              operation: WRITE,
              permissionType: ALLOW,
            },
          ],
        },
        {
          throttleTimeMs: 0,
          results: [
            { errorCode: 0, errorMessage: null },
            { errorCode: 42, errorMessage: 'invalid operation' },
          ],
        },
      ),
    );
  });
});

describe('DeleteAcls', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(DeleteAcls, (v) =>
      roundTrip(
        DeleteAcls,
        v,
        {
          filters: [
            {
              resourceTypeFilter: ANY,
              resourceNameFilter: null,
              patternTypeFilter: v >= 1 ? ANY : LITERAL,
              principalFilter: 'User:alice',
              hostFilter: null,
              operation: READ,
              permissionType: ALLOW,
            },
          ],
        },
        {
          throttleTimeMs: 0,
          filterResults: [
            {
              errorCode: 0,
              errorMessage: null,
              matchingAcls: [
                {
                  errorCode: 0,
                  errorMessage: null,
                  resourceType: TOPIC,
                  resourceName: 'pay',
                  patternType: patternIn(v),
                  principal: 'User:alice',
                  host: '*',
                  operation: READ,
                  permissionType: ALLOW,
                },
              ],
            },
            { errorCode: 42, errorMessage: 'invalid pattern type', matchingAcls: [] },
          ],
        },
      ),
    );
  });
});

// ------------------------------------------------------------------------ what kafkajs sends and reads

const require = createRequire(import.meta.url);

/** The parts of kafkajs's protocol modules (node_modules/kafkajs/src/protocol) these tests call. */
interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<unknown>;
}
interface KafkajsApi {
  protocol(which: { version: number }): (args: object) => {
    request: KafkajsRequest;
    response: { decode(body: Buffer): Promise<Record<string, unknown>> };
  };
}
type KafkajsFrame = (args: {
  correlationId: number;
  clientId: string;
  request: KafkajsRequest;
}) => Promise<{ buffer: Buffer }>;

const kafkajsFrame: KafkajsFrame = require('kafkajs/src/protocol/request');
const kafkajsApi = (name: string): KafkajsApi => require(`kafkajs/src/protocol/requests/${name}`);

/** Encodes a request with kafkajs's own encoder, as its admin client does, and decodes it with ours. */
async function fromKafkajs<A extends ApiSchema>(schema: A, name: string, version: number, args: object) {
  const { request, response } = kafkajsApi(name).protocol({ version })(args);
  assert.equal(request.apiKey, schema.apiKey);
  assert.equal(request.apiVersion, version);
  const frame = (await kafkajsFrame({ correlationId: 9, clientId: 'kafkajs', request })).buffer;
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  const decoded = decodeRequest(frame.subarray(4), schema);
  assert.deepEqual(decoded.header, {
    apiKey: schema.apiKey,
    apiVersion: version,
    correlationId: 9,
    clientId: 'kafkajs',
  });
  /** Our response as kafkajs reads it (its connection strips the size and the correlation id). */
  const readByKafkajs = (body: ResponseOf<A>) =>
    response.decode(Buffer.concat(encodeResponse(schema, version, 9, body)).subarray(8));
  return { request: decoded.body, readByKafkajs };
}

const alicesAcl = {
  resourceType: TOPIC,
  resourceName: 'pay',
  principal: 'User:alice',
  host: '*',
  operation: WRITE,
  permissionType: ALLOW,
};

describe('kafkajs admin requests decode, and our responses read back in kafkajs', () => {
  for (const version of [0, 1]) {
    const resourcePatternType = version === 0 ? LITERAL : PREFIXED;

    test(`DescribeAcls v${version}`, async () => {
      const { request, readByKafkajs } = await fromKafkajs(DescribeAcls, 'describeAcls', version, {
        ...alicesAcl,
        resourceName: null,
        resourcePatternType,
        host: null,
      });
      assert.deepEqual(request, {
        resourceTypeFilter: TOPIC,
        resourceNameFilter: null,
        patternTypeFilter: resourcePatternType,
        principalFilter: 'User:alice',
        hostFilter: null,
        operation: WRITE,
        permissionType: ALLOW,
      });
      const { resourceType, resourceName, principal, host, operation, permissionType } = alicesAcl;
      const described = await readByKafkajs({
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        resources: [
          {
            resourceType,
            resourceName,
            patternType: resourcePatternType,
            acls: [{ principal, host, operation, permissionType }],
          },
        ],
      });
      assert.deepEqual(described.resources, [
        {
          resourceType,
          resourceName,
          ...(version === 1 ? { resourcePatternType } : {}),
          acls: [{ principal, host, operation, permissionType }],
        },
      ]);
    });

    test(`CreateAcls v${version}`, async () => {
      const { request, readByKafkajs } = await fromKafkajs(CreateAcls, 'createAcls', version, {
        creations: [{ ...alicesAcl, resourcePatternType }],
      });
      assert.deepEqual(request.creations, [{ ...alicesAcl, resourcePatternType }]);
      const created = await readByKafkajs({
        throttleTimeMs: 0,
        results: [{ errorCode: 0, errorMessage: null }],
      });
      assert.deepEqual(created.creationResponses, [{ errorCode: 0, errorMessage: null }]);
    });

    test(`DeleteAcls v${version}`, async () => {
      const { request, readByKafkajs } = await fromKafkajs(DeleteAcls, 'deleteAcls', version, {
        filters: [{ ...alicesAcl, resourcePatternType, principal: null }],
      });
      assert.deepEqual(request.filters, [
        {
          resourceTypeFilter: TOPIC,
          resourceNameFilter: 'pay',
          patternTypeFilter: resourcePatternType,
          principalFilter: null,
          hostFilter: '*',
          operation: WRITE,
          permissionType: ALLOW,
        },
      ]);
      const deleted = await readByKafkajs({
        throttleTimeMs: 0,
        filterResults: [
          {
            errorCode: 0,
            errorMessage: null,
            matchingAcls: [
              { errorCode: 0, errorMessage: null, patternType: resourcePatternType, ...alicesAcl },
            ],
          },
        ],
      });
      assert.deepEqual(deleted.filterResponses, [
        {
          errorCode: 0,
          errorMessage: null,
          matchingAcls: [
            {
              errorCode: 0,
              errorMessage: null,
              ...alicesAcl,
              ...(version === 1 ? { resourcePatternType } : {}),
            },
          ],
        },
      ]);
    });
  }
});
