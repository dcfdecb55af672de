import assert from 'node:assert/strict';
import type { ApiHandler, RequestContext } from '../../src/broker/api-handler.js';
import { ClientSession } from '../../src/broker/client-session.js';
import type { EncodableRequestOf } from '../../src/protocol/message-types.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/messages.js';
import type { ApiSchema } from '../../src/protocol/schema.js';

/**
 * The context the server gives a request at `version` from a client at `clientHost`: `principal` is the
 * session's (as a verified TLS certificate sets it), null for User:ANONYMOUS.
 */
export function requestContext(
  version: number,
  options: { principal?: string | null; clientHost?: string; connectionId?: number } = {},
): RequestContext {
  const clientHost = options.clientHost ?? '::ffff:10.0.0.1';
  const principal = options.principal ?? null;
  return {
    apiVersion: version,
    clientId: 'test',
    clientHost,
    connectionId: options.connectionId ?? 1,
    session: new ClientSession(principal === null ? 'PLAINTEXT' : 'SSL', null, principal, clientHost),
    throttleTimeMs: 0,
  };
}

/** Runs one request through the handler of its API as the server would: encoded, decoded, answered, decoded. */
export async function callHandler<A extends ApiSchema>(
  handlers: readonly ApiHandler[],
  schema: A,
  body: EncodableRequestOf<A>,
  context: RequestContext,
) {
  const handler = handlers.find((h) => h.schema.apiKey === schema.apiKey);
  assert.ok(handler, `no handler of ${schema.name}`);
  const version = context.apiVersion;
  const header = { apiKey: schema.apiKey, apiVersion: version, correlationId: 3, clientId: 'test' };
  const decoded = handler.decode(encodeRequest(schema, header, body).subarray(4));
  const encode = await decoded.handle(context);
  assert.ok(encode !== null);
  return decodeResponse(Buffer.concat(encode()).subarray(4), schema, version).body;
}
