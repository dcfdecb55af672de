import { SaslAuthenticate } from '../../protocol/apis/sasl-authenticate.js';
import { SaslHandshake } from '../../protocol/apis/sasl-handshake.js';
import { SaslAuthenticationError } from '../../security/index.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import type { SecurityProtocol } from '../config.js';
import { ErrorCode } from '../error-codes.js';

export interface SaslHandlerDeps {
  /** Counts and logs a failure (KafkaServer.authenticationFailed). */
  failed(listener: SecurityProtocol, clientHost: string, error: SaslAuthenticationError): void;
  succeeded(listener: string): void;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * SaslHandshake and SaslAuthenticate on SASL listeners. A refused handshake or a failed authentication is
 * the connection's last answer (after the throttle's delay), as in Kafka.
 */
export function saslHandlers(deps: SaslHandlerDeps): ApiHandler[] {
  const handshake = defineHandler(SaslHandshake, (request, { session, apiVersion }) => {
    if (!session.sasl) {
      session.closeAfterResponse = true;
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    }
    const errorCode = session.sasl.handshake(request.mechanism, apiVersion);
    if (errorCode !== ErrorCode.NONE) session.closeAfterResponse = true;
    return { errorCode, mechanisms: session.sasl.enabledMechanisms() };
  });
  const authenticate = defineHandler(SaslAuthenticate, async (request, { session, clientHost }) => {
    const refuse = (errorCode: number, errorMessage: string) => {
      session.closeAfterResponse = true;
      return { errorCode, errorMessage, authBytes: NO_BYTES, sessionLifetimeMs: 0 };
    };
    const { sasl } = session;
    if (!sasl?.expectsAuthenticateRequest) {
      return refuse(ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate without a SaslHandshake v1 before it');
    }
    try {
      const { response, complete } = await sasl.authenticate(request.authBytes, Date.now());
      if (complete) deps.succeeded(session.listener);
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        authBytes: response,
        sessionLifetimeMs: complete ? sasl.lifetimeMs(Date.now()) : 0,
      };
    } catch (error) {
      if (!(error instanceof SaslAuthenticationError)) throw error;
      deps.failed(session.listener, clientHost, error);
      return refuse(ErrorCode.SASL_AUTHENTICATION_FAILED, error.message);
    }
  });
  return [handshake, authenticate];
}
