import { hashPassword, hashToken, verifyPassword } from './http-credentials.js';
import type { HttpRole } from './http-roles.js';

export interface HttpUserSpec {
  name: string;
  role: HttpRole;
  /** As `edgestream http-user hash` prints it: scrypt$N$r$p$salt$key. */
  passwordHash: string;
}

export interface HttpTokenSpec {
  /** Who or what uses the token (a script, Prometheus); shown in logs, never the token itself. */
  name: string;
  role: HttpRole;
  /** sha256$ and the hex digest of the token. */
  tokenHash: string;
}

/** Who made a request: a user logged in with a password, or a script with a bearer token. */
export interface HttpPrincipal {
  name: string;
  role: HttpRole;
  kind: 'user' | 'token';
}

/** The users and bearer tokens the HTTP API accepts; both are held only in their hashed forms. */
export class HttpUsers {
  private readonly users: ReadonlyMap<string, HttpUserSpec>;
  private readonly tokens: ReadonlyMap<string, HttpTokenSpec>;
  /**
   * Checked when the user name is unknown, so that such a login takes as long as a wrong password and the
   * timing does not tell which names exist.
   */
  private readonly decoyHash: Promise<string>;

  constructor(users: readonly HttpUserSpec[], tokens: readonly HttpTokenSpec[]) {
    this.users = uniqueBy(users, (user) => user.name, 'user');
    this.tokens = uniqueBy(tokens, (token) => token.tokenHash, 'token hash');
    this.decoyHash = hashPassword('edgestream decoy password');
  }

  get empty(): boolean {
    return this.users.size === 0 && this.tokens.size === 0;
  }

  /** Whether a user of this name is configured. */
  has(name: string): boolean {
    return this.users.has(name);
  }

  /** The user when the password matches; null for an unknown name or a wrong password alike. */
  async login(name: string, password: string): Promise<HttpPrincipal | null> {
    const user = this.users.get(name);
    const matches = await verifyPassword(password, user?.passwordHash ?? (await this.decoyHash));
    return user && matches ? { name: user.name, role: user.role, kind: 'user' } : null;
  }

  /**
   * The token's holder, or null. Looked up by the token's SHA-256: a lookup's timing can only tell about the
   * hash of what the caller sent, which says nothing about any valid token.
   */
  bearer(token: string): HttpPrincipal | null {
    const spec = this.tokens.get(hashToken(token));
    return spec ? { name: spec.name, role: spec.role, kind: 'token' } : null;
  }
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string, what: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    if (map.has(key(item))) throw new Error(`duplicate ${what} '${key(item)}'`);
    map.set(key(item), item);
  }
  return map;
}
