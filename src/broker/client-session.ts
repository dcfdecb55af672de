import type { SaslSession } from '../security/index.js';
import type { SecurityProtocol } from './config.js';

/** Kafka's principal of a client that has not authenticated (PLAINTEXT, or SSL without a certificate). */
export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS';

/** Who is on one connection, and through which listener: what authorization and Metadata go by. */
export class ClientSession {
  /** Set by a request whose response must be the connection's last (a failed authentication). */
  closeAfterResponse = false;

  constructor(
    readonly listener: SecurityProtocol,
    /** The SASL state on SASL_PLAINTEXT and SASL_SSL listeners; null on the others. */
    readonly sasl: SaslSession | null,
    /** The principal of the client's TLS certificate, when it sent one that was verified. */
    private readonly certificatePrincipal: string | null,
  ) {}

  get principal(): string {
    return this.sasl?.principal ?? this.certificatePrincipal ?? ANONYMOUS_PRINCIPAL;
  }
}
