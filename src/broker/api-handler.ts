import {
  type ApiSchema,
  decodeRequest,
  encodeResponse,
  type RequestHeader,
  type RequestOf,
  type ResponseOf,
} from '../protocol/index.js';
import type { ClientSession } from './client-session.js';

/** What a handler knows of a request besides its body. */
export interface RequestContext {
  apiVersion: number;
  clientId: string | null;
  clientHost: string;
  connectionId: number;
  /** The connection's listener and principal. */
  session: ClientSession;
  /**
   * How long the client is throttled by its quotas (KIP-219): a handler raises it, the server puts it in
   * the response's throttleTimeMs (when the API has one) and does not read the connection for that long.
   */
  throttleTimeMs: number;
}

/** A handler's answer, now or later: the response, or null to send none (produce with acks=0). */
export type Reply<T> = T | null | Promise<T | null>;

/**
 * Writes a handled request's response frame. The server calls it, so a response the wire cannot carry is
 * told apart from a handler that failed.
 */
export type EncodeResponse = () => Buffer[];

/**
 * One API's handler as the server dispatches it. Built only by defineHandler, which checks the handler's
 * request and response types against the API's schema where the handler is declared; the typed messages
 * stay inside its closures, so the server passes frames and never sees, or casts, a message.
 */
export interface ApiHandler {
  readonly schema: ApiSchema;
  /** Decodes a request frame of this API; a malformed one is a ProtocolError. */
  decode(frame: Buffer): DecodedRequest;
}

export interface DecodedRequest {
  readonly header: RequestHeader;
  /** Runs the handler on the decoded body: its response as an encoder, or null for no response. */
  handle(context: RequestContext): Reply<EncodeResponse>;
}

/**
 * Declares the handler of `schema`: it receives the request as the codec decodes it and returns the response
 * as the codec encodes it, both derived from the schema (message-types.ts). Client mistakes become Kafka
 * error codes in the response; a throw or a rejection closes the connection.
 */
export function defineHandler<A extends ApiSchema>(
  schema: A,
  handle: (request: RequestOf<A>, context: RequestContext) => Reply<ResponseOf<A>>,
): ApiHandler {
  const throttled = schema.response.some((field) => field.name === 'throttleTimeMs');
  return {
    schema,
    decode(frame) {
      const { header, body } = decodeRequest(frame, schema);
      return {
        header,
        handle(context) {
          const encoderOf = (response: ResponseOf<A> | null): EncodeResponse | null => {
            if (response === null) return null;
            const { apiVersion, correlationId } = header;
            // Read when encoding: the request quota's throttle is known only once the handler is done.
            return () =>
              encodeResponse(
                schema,
                apiVersion,
                correlationId,
                throttled && context.throttleTimeMs > 0
                  ? { ...response, throttleTimeMs: context.throttleTimeMs }
                  : response,
              );
          };
          const reply = handle(body, context);
          return reply instanceof Promise ? reply.then(encoderOf) : encoderOf(reply);
        },
      };
    },
  };
}
