import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiVersions } from '../src/protocol/apis/api-versions.js';
import {
  type ApiSchema,
  decodeResponse,
  ErrorCode,
  encodeRequest,
  encodeResponse,
  errorCodeName,
  type Message,
} from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { advertisedApis } from './support/fuzz/broker-probe.js';
import { type ApiVersionPair, advertisedPairs } from './support/fuzz/protocol-fuzzer.js';
import { WireClient } from './support/wire-client.js';

/**
 * Every API and version the broker advertises, asked with the least request its schema allows (every field at
 * its default, arrays empty): the broker must answer each with a well-formed response, not close the
 * connection. The list is the live ApiVersions answer and the bodies come from the schemas, so an API added to
 * the broker (and to the fuzzer's schema list, which advertisedPairs requires) is covered without edits here.
 */

/** The only fields a default would make unanswerable: acks=0 asks for no response at all. */
const OVERRIDES: Readonly<Record<string, Message>> = { Produce: { acks: 1 } };
const MAX_FETCH_WAIT_MS = 200;

/** Every `errorCode` in a decoded response, with where it sits. */
function errorCodes(value: unknown, path = ''): Array<[string, unknown]> {
  if (Array.isArray(value)) return value.flatMap((item, i) => errorCodes(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return [];
  return Object.entries(value).flatMap(([key, field]) =>
    key === 'errorCode' ? [[`${path}.${key}`, field]] : errorCodes(field, `${path}.${key}`),
  );
}

describe('every advertised API version is served', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  let pairs: ApiVersionPair[];

  before(async () => {
    broker = await startBroker({ maxFetchWaitMs: MAX_FETCH_WAIT_MS });
    pairs = advertisedPairs(await advertisedApis('127.0.0.1', broker.port, 10_000));
  });
  after(async () => {
    await broker?.stop();
  });

  it('answers the default request of every API at every advertised version with a well-formed response', async () => {
    assert.ok(pairs.some((p) => p.schema.name === 'Produce' && p.version === 0));
    assert.ok(pairs.some((p) => p.schema.name === 'Fetch' && p.version === 13));
    for (const { schema, version } of pairs) {
      const label = `${schema.name} v${version}`;
      // One connection per request: a request that closed it would fail only itself, and be named.
      const client = await WireClient.connect(broker.port);
      try {
        const frame = await client.requestFrame(schema, version, OVERRIDES[schema.name] ?? {});
        const { correlationId, body } = decodeResponse(frame, schema, version);
        // Well-formed: our encoder writes the decoded body back to exactly the bytes received, no more, no less.
        const again = Buffer.concat(encodeResponse(schema, version, correlationId, body)).subarray(4);
        assert.ok(again.equals(frame), `${label}: the response is not exactly one ${label} response`);
        for (const [where, code] of errorCodes(body)) {
          assert.ok(
            typeof code === 'number' && errorCodeName(code) !== undefined,
            `${label} ${where}=${code}`,
          );
          assert.notEqual(code, ErrorCode.UNKNOWN_SERVER_ERROR, `${label} ${where}: a handler failed`);
        }
        assert.equal(client.socket.destroyed, false, `${label}: the connection closed`);
      } finally {
        await client.close();
      }
    }
  });

  it('answers ApiVersions above its maximum with UNSUPPORTED_VERSION and the version list (KIP-511)', async () => {
    const client = await WireClient.connect(broker.port);
    try {
      const above = ApiVersions.versions[1] + 1;
      const frame = await client.requestFrame(ApiVersions, above, {});
      const { body } = decodeResponse(frame, ApiVersions, 0);
      assert.equal(body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
      assert.ok(body.apiKeys.some((api) => api.apiKey === ApiVersions.apiKey));
      const retried = await client.request(ApiVersions, ApiVersions.versions[1], {});
      assert.equal(retried.errorCode, ErrorCode.NONE, 'the connection stays open for the retry');
    } finally {
      await client.close();
    }
  });

  it('closes the connection, as Kafka does, on any other API above its advertised maximum', async () => {
    const schemas = new Map<number, ApiSchema>(pairs.map((p) => [p.schema.apiKey, p.schema]));
    for (const schema of schemas.values()) {
      if (schema.apiKey === ApiVersions.apiKey) continue;
      const client = await WireClient.connect(broker.port);
      const above = Math.max(...pairs.filter((p) => p.schema === schema).map((p) => p.version)) + 1;
      client.sendRaw(
        encodeRequest(
          schema,
          { apiKey: schema.apiKey, apiVersion: above, correlationId: 1, clientId: 'above-max' },
          OVERRIDES[schema.name] ?? {},
        ),
      );
      const closed = await Promise.race([
        client.closed.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
      ]);
      assert.ok(closed, `${schema.name} v${above}: the connection stays open`);
    }
  });
});
