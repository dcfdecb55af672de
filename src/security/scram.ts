import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { SaslAuthenticationError } from './sasl-errors.js';

const pbkdf2Async = promisify(pbkdf2);

/** The SCRAM mechanisms (RFC 5802 with RFC 7677's hashes) Kafka clients offer. */
export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** Kafka's ScramMechanism codes on the wire (KIP-554); 0 is UNKNOWN. */
export const SCRAM_MECHANISM_CODES: Record<ScramMechanism, number> = {
  'SCRAM-SHA-256': 1,
  'SCRAM-SHA-512': 2,
};

/** The mechanism of a wire code, or null for UNKNOWN and codes Kafka does not define. */
export function scramMechanismOfCode(code: number): ScramMechanism | null {
  return SCRAM_MECHANISMS.find((mechanism) => SCRAM_MECHANISM_CODES[mechanism] === code) ?? null;
}

const HASH_OF: Record<ScramMechanism, { name: 'sha256' | 'sha512'; bytes: number }> = {
  'SCRAM-SHA-256': { name: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { name: 'sha512', bytes: 64 },
};

/** Kafka's bounds for SCRAM iterations: fewer is too cheap to attack, more too costly to verify. */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16_384;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
/** A SCRAM client message longer than this is not one (names and nonces are short). */
const MAX_SCRAM_MESSAGE_BYTES = 4096;

/** What the server keeps of a password: enough to verify a proof, never enough to log in with. */
export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function isScramMechanism(mechanism: string): mechanism is ScramMechanism {
  return (SCRAM_MECHANISMS as readonly string[]).includes(mechanism);
}

/** Derives the stored credential of `password`: salted and iterated, the password itself kept nowhere. */
export async function makeScramCredential(
  mechanism: ScramMechanism,
  password: string,
  iterations: number,
  salt: Buffer = randomBytes(SALT_BYTES),
): Promise<ScramCredential> {
  return scramCredentialFromSaltedPassword(
    mechanism,
    await saltPassword(mechanism, password, iterations, salt),
    iterations,
    salt,
  );
}

/** A random salt of the size the broker makes its own. */
export function newScramSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

/**
 * RFC 5802's SaltedPassword = Hi(Normalize(password), salt, i): what a client sends in
 * AlterUserScramCredentials (KIP-554), so the password itself never travels.
 */
export async function saltPassword(
  mechanism: ScramMechanism,
  password: string,
  iterations: number,
  salt: Buffer,
): Promise<Buffer> {
  checkIterations(iterations);
  const hash = HASH_OF[mechanism];
  return pbkdf2Async(password.normalize('NFKC'), salt, iterations, hash.bytes, hash.name);
}

/**
 * The stored credential of a salted password: StoredKey = H(HMAC(SaltedPassword, "Client Key")),
 * ServerKey = HMAC(SaltedPassword, "Server Key"). A salted password of the wrong length for the mechanism's
 * hash is a RangeError (a client that salted with another hash).
 */
export function scramCredentialFromSaltedPassword(
  mechanism: ScramMechanism,
  saltedPassword: Buffer,
  iterations: number,
  salt: Buffer,
): ScramCredential {
  checkIterations(iterations);
  const hash = HASH_OF[mechanism];
  if (saltedPassword.length !== hash.bytes) {
    throw new RangeError(
      `a ${mechanism} salted password has ${hash.bytes} bytes, not ${saltedPassword.length}`,
    );
  }
  const clientKey = hmac(hash.name, saltedPassword, 'Client Key');
  return {
    salt,
    iterations,
    storedKey: createHash(hash.name).update(clientKey).digest(),
    serverKey: hmac(hash.name, saltedPassword, 'Server Key'),
  };
}

function checkIterations(iterations: number): void {
  if (
    !Number.isInteger(iterations) ||
    iterations < SCRAM_MIN_ITERATIONS ||
    iterations > SCRAM_MAX_ITERATIONS
  ) {
    throw new RangeError(
      `iterations=${iterations}: expected an integer from ${SCRAM_MIN_ITERATIONS} to ${SCRAM_MAX_ITERATIONS}`,
    );
  }
}

/** True if `password` is the one `credential` was derived from (SASL/PLAIN checks a password this way). */
export async function scramCredentialMatches(
  mechanism: ScramMechanism,
  credential: ScramCredential,
  password: string,
): Promise<boolean> {
  const derived = await makeScramCredential(mechanism, password, credential.iterations, credential.salt);
  return timingSafeEqual(derived.storedKey, credential.storedKey);
}

/**
 * The server's side of one SCRAM exchange: client-first -> server-first, client-final -> server-final.
 * An unknown user is answered like a known one with a made-up credential, so the exchange fails only at the
 * proof and does not tell which user names exist.
 */
export class ScramServerExchange {
  private state: 'first' | 'final' | 'done' = 'first';
  private authenticated = false;
  private user = '';
  private credential: ScramCredential | null = null;
  private clientFirstBare = '';
  /** The gs2 header of client-first, which client-final repeats base64-encoded as its channel binding. */
  private gs2Header = '';
  private serverFirst = '';
  private nonce = '';

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: (user: string) => ScramCredential | null,
    /** Keys the made-up credential of unknown users, so repeated attempts see the same salt. */
    private readonly decoySecret: Buffer,
    /** The server's part of the nonce: random, unless a known exchange is replayed (RFC 7677's example). */
    private readonly serverNonce: () => string = () => randomBytes(NONCE_BYTES).toString('base64url'),
  ) {}

  /** The authenticated user once the exchange has completed with a valid proof. */
  get authenticatedUser(): string | null {
    return this.authenticated ? this.user : null;
  }

  /** Answers one client message; throws SaslAuthenticationError when the exchange fails. */
  step(message: Buffer): Buffer {
    if (message.length > MAX_SCRAM_MESSAGE_BYTES) {
      throw new SaslAuthenticationError(
        `SCRAM message of ${message.length} bytes; the limit is ${MAX_SCRAM_MESSAGE_BYTES}`,
      );
    }
    const text = message.toString('utf8');
    if (this.state === 'first') return this.first(text);
    if (this.state === 'final') return this.final(text);
    throw new SaslAuthenticationError('the SCRAM exchange is already complete');
  }

  private first(text: string): Buffer {
    // gs2-header: no channel binding ('n') or a client that could but thinks we cannot ('y'); no authzid.
    const match = /^([ny]),(a=[^,]*)?,(.*)$/.exec(text);
    if (!match) {
      throw new SaslAuthenticationError(
        text.startsWith('p=')
          ? 'SCRAM channel binding is not supported'
          : 'malformed SCRAM client-first message',
      );
    }
    const bare = match[3]!;
    this.gs2Header = `${match[1]},${match[2] ?? ''},`;
    const attributes = parseAttributes(bare);
    const name = attributes.get('n');
    const clientNonce = attributes.get('r');
    if (name === undefined || clientNonce === undefined || clientNonce.length === 0) {
      throw new SaslAuthenticationError('SCRAM client-first message without a user name or nonce');
    }
    if (attributes.has('m')) throw new SaslAuthenticationError('SCRAM extensions (m=) are not supported');
    if (attributes.get('tokenauth') === 'true') {
      throw new SaslAuthenticationError('delegation tokens are not supported');
    }
    this.user = decodeSaslName(name);
    const authorizationId = match[2]?.slice(2);
    if (authorizationId !== undefined && decodeSaslName(authorizationId) !== this.user) {
      throw new SaslAuthenticationError('a SCRAM authorization id other than the user name is not supported');
    }
    this.credential = this.lookup(this.user);
    this.clientFirstBare = bare;
    this.nonce = clientNonce + this.serverNonce();
    const { salt, iterations } = this.credential ?? this.decoy();
    this.serverFirst = `r=${this.nonce},s=${salt.toString('base64')},i=${iterations}`;
    this.state = 'final';
    return Buffer.from(this.serverFirst);
  }

  private final(text: string): Buffer {
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) throw new SaslAuthenticationError('SCRAM client-final message without a proof');
    const withoutProof = text.slice(0, proofAt);
    const attributes = parseAttributes(withoutProof);
    // librdkafka repeats its client nonce before the combined one; Kafka accepts any nonce that ends with it.
    if (!attributes.get('r')?.endsWith(this.nonce)) throw new SaslAuthenticationError('SCRAM nonce mismatch');
    if (attributes.get('c') !== Buffer.from(this.gs2Header).toString('base64')) {
      throw new SaslAuthenticationError('SCRAM channel binding does not match the client-first message');
    }
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    const hash = HASH_OF[this.mechanism];
    const credential = this.credential ?? this.decoy();
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(hash.name, credential.storedKey, authMessage);
    const clientKey = proof.length === signature.length ? xor(proof, signature) : Buffer.alloc(0);
    const storedKey = createHash(hash.name).update(clientKey).digest();
    this.state = 'done';
    if (this.credential === null || !timingSafeEqual(storedKey, credential.storedKey)) {
      throw new SaslAuthenticationError(`authentication failed: invalid credentials with ${this.mechanism}`);
    }
    this.authenticated = true;
    return Buffer.from(`v=${hmac(hash.name, credential.serverKey, authMessage).toString('base64')}`);
  }

  private decoy(): ScramCredential {
    const hash = HASH_OF[this.mechanism];
    const seed = hmac(hash.name, this.decoySecret, `${this.mechanism}:${this.user}`);
    return {
      salt: seed.subarray(0, SALT_BYTES),
      iterations: SCRAM_MIN_ITERATIONS,
      storedKey: hmac(hash.name, seed, 'stored'),
      serverKey: hmac(hash.name, seed, 'server'),
    };
  }
}

function hmac(hash: string, key: Buffer, text: string): Buffer {
  return createHmac(hash, key).update(text).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** `k=v,k=v` as SCRAM writes attributes; a value may hold '=' but not ','. */
function parseAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) throw new SaslAuthenticationError('malformed SCRAM attribute');
    attributes.set(part.slice(0, at), part.slice(at + 1));
  }
  return attributes;
}

/** RFC 5802 saslname: ',' and '=' travel as '=2C' and '=3D'; any other '=' is malformed. */
function decodeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new SaslAuthenticationError('malformed SCRAM user name');
  return name.replaceAll('=2C', ',').replaceAll('=3D', '=');
}
