import { ErrorCode } from '../protocol/index.js';
import type { CredentialSource } from './credential-source.js';
import type { LoginThrottle } from './login-throttle.js';
import { checkPlainPassword, parsePlainToken } from './plain.js';
import { SaslAuthenticationError } from './sasl-errors.js';
import { isScramMechanism, SCRAM_MECHANISMS, ScramServerExchange } from './scram.js';

export const SASL_MECHANISMS = ['PLAIN', ...SCRAM_MECHANISMS] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface SaslSettings {
  /** The mechanisms clients may choose, in the order SaslHandshake lists them. */
  mechanisms: readonly SaslMechanism[];
  credentials: CredentialSource;
  /** connections.max.reauth.ms: a session must be renewed within this (KIP-368); 0 means sessions last. */
  maxReauthMs: number;
  /** Keys the made-up SCRAM salts of unknown users (see ScramServerExchange). */
  decoySecret: Buffer;
  /** Failed logins per client address: an address that must wait is refused without its password being checked. */
  loginThrottle: LoginThrottle;
}

/** What a handshake left the session waiting for: tokens in SaslAuthenticate (v1) or bare frames (v0). */
export type TokenFraming = 'authenticate-request' | 'bare-frame';

/**
 * The SASL state of one connection on a SASL listener: a handshake names the mechanism, then tokens go back
 * and forth until the mechanism accepts (authenticated) or refuses (the connection is closed). An
 * authenticated client may start over to re-authenticate (KIP-368); the principal may not change.
 */
export class SaslSession {
  /** The authenticated principal ("User:NAME"), null until the first authentication completes. */
  principal: string | null = null;
  /** When the session must have been renewed (epoch ms), or null if it never expires. */
  expiresAtMs: number | null = null;
  private exchange: ((token: Buffer) => Promise<ExchangeStep>) | null = null;
  private mechanism: SaslMechanism | null = null;
  private framing: TokenFraming | null = null;

  constructor(
    private readonly settings: SaslSettings,
    /** The client's address, which the login throttle counts failures by. */
    private readonly source: string,
  ) {}

  /** How the next frame of this connection is framed: a Kafka request, or a bare v0 SASL token. */
  get expectsBareToken(): boolean {
    return this.framing === 'bare-frame';
  }

  get expectsAuthenticateRequest(): boolean {
    return this.framing === 'authenticate-request';
  }

  /** True when only authentication requests may be served: never authenticated, or the session expired. */
  mustAuthenticate(nowMs: number): boolean {
    return this.principal === null || (this.expiresAtMs !== null && nowMs >= this.expiresAtMs);
  }

  enabledMechanisms(): string[] {
    return [...this.settings.mechanisms];
  }

  /** SaslHandshake: the error code to answer with. */
  handshake(mechanism: string, apiVersion: number): number {
    if (this.framing !== null) return ErrorCode.ILLEGAL_SASL_STATE;
    const chosen = this.settings.mechanisms.find((m) => m === mechanism);
    if (chosen === undefined) return ErrorCode.UNSUPPORTED_SASL_MECHANISM;
    // A re-authentication keeps its mechanism (KIP-368).
    if (this.principal !== null && this.mechanism !== chosen) return ErrorCode.ILLEGAL_SASL_STATE;
    this.mechanism = chosen;
    this.framing = apiVersion === 0 ? 'bare-frame' : 'authenticate-request';
    this.exchange = this.startExchange(chosen);
    return ErrorCode.NONE;
  }

  /**
   * One client token: the server's token back, and whether the exchange is complete. Throws
   * SaslAuthenticationError when the client failed; the connection must then be closed.
   */
  async authenticate(token: Buffer, nowMs: number): Promise<{ response: Buffer; complete: boolean }> {
    if (!this.exchange) throw new SaslAuthenticationError('SaslAuthenticate before a SaslHandshake');
    const { loginThrottle } = this.settings;
    const waitMs = loginThrottle.waitMs(this.source, nowMs);
    if (waitMs > 0) {
      this.reset();
      throw new SaslAuthenticationError(
        `too many failed logins from this address: the next is checked in ${Math.ceil(waitMs / 100) / 10} s`,
      );
    }
    let step: ExchangeStep;
    try {
      step = await this.exchange(token);
    } catch (error) {
      this.reset();
      if (error instanceof SaslAuthenticationError) loginThrottle.failed(this.source, nowMs);
      throw error;
    }
    if (step.user === null) return { response: step.response, complete: false };
    const principal = `User:${step.user}`;
    const renewing = this.principal;
    this.reset();
    if (renewing !== null && renewing !== principal) {
      throw new SaslAuthenticationError(`re-authentication may not change the principal from ${renewing}`);
    }
    loginThrottle.succeeded(this.source);
    this.principal = principal;
    this.expiresAtMs = this.settings.maxReauthMs > 0 ? nowMs + this.settings.maxReauthMs : null;
    return { response: step.response, complete: true };
  }

  /** The session lifetime SaslAuthenticate v1+ tells the client, in ms from now (0: no limit). */
  lifetimeMs(nowMs: number): number {
    return this.expiresAtMs === null ? 0 : Math.max(0, this.expiresAtMs - nowMs);
  }

  private reset(): void {
    this.exchange = null;
    this.framing = null;
  }

  /** The exchange of `mechanism`: each call answers one client token. */
  private startExchange(mechanism: SaslMechanism): (token: Buffer) => Promise<ExchangeStep> {
    const { credentials } = this.settings;
    if (isScramMechanism(mechanism)) {
      const scram = new ScramServerExchange(
        mechanism,
        (user) => credentials.get(user, mechanism),
        this.settings.decoySecret,
      );
      return async (token) => ({ response: scram.step(token), user: scram.authenticatedUser });
    }
    return async (token) => {
      const { user, password } = parsePlainToken(token);
      if (!(await checkPlainPassword(credentials, user, password))) {
        throw new SaslAuthenticationError('authentication failed: invalid credentials with PLAIN');
      }
      return { response: Buffer.alloc(0), user };
    };
  }
}

/** One server token, and the user once the exchange has succeeded with it. */
interface ExchangeStep {
  response: Buffer;
  user: string | null;
}
