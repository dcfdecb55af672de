import { aclHostOf, type SaslSession, type Session } from '../security/index.js';
import type { SecurityProtocol } from './config.js';

/** Kafka's principal of a client that has not authenticated (PLAINTEXT, or SSL without a certificate). */
export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS';

/** Who is on one connection, and through which listener: what authorization and Metadata go by. */
export class ClientSession {
  /** Set by a request whose response must be the connection's last (a failed authentication). */
  closeAfterResponse = false;
  /** What the authorizer is asked with, built on first use and again only when the principal changes. */
  private acl: Session | null = null;

  constructor(
    readonly listener: SecurityProtocol,
    /** The SASL state on SASL_PLAINTEXT and SASL_SSL listeners; null on the others. */
    readonly sasl: SaslSession | null,
    /** The principal of the client's TLS certificate, when it sent one that was verified. */
    private readonly certificatePrincipal: string | null,
    /** The client's address as the socket reports it. */
    private readonly clientHost: string,
  ) {}

  get principal(): string {
    return this.sasl?.principal ?? this.certificatePrincipal ?? ANONYMOUS_PRINCIPAL;
  }

  /**
   * The principal and aclHostOf(the client's address), as the authorizer takes them. One object per
   * connection: the principal changes once, from ANONYMOUS to the SASL user (re-authentication may not
   * change it again), so a string comparison per request is all it costs.
   */
  get aclSession(): Session {
    const principal = this.principal;
    if (this.acl === null) this.acl = { principal, host: aclHostOf(this.clientHost) };
    else if (this.acl.principal !== principal) this.acl = { principal, host: this.acl.host };
    return this.acl;
  }
}
