import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { HttpPrincipal } from './http-users.js';

const SESSION_ID_BYTES = 32;
const CSRF_TOKEN_BYTES = 32;

export interface HttpSessionOptions {
  /** A session unused this long ends. */
  idleTimeoutMs: number;
  /** A session ends this long after the login however much it is used. */
  maxLifetimeMs: number;
  /** Sessions held at most; a login past it ends the least recently used one. */
  maxSessions: number;
}

export interface HttpSession {
  readonly id: string;
  readonly principal: HttpPrincipal;
  /** Sent back in X-CSRF-Token by every state-changing request the cookie authenticates. */
  readonly csrfToken: string;
  readonly createdAtMs: number;
  lastUsedAtMs: number;
}

/**
 * Logged-in dashboard sessions, in memory: a restart logs everyone out, which is acceptable for a dashboard and
 * keeps session ids off the disk. Bounded in count and in lifetime.
 */
export class HttpSessions {
  /** In least-recently-used order: a Map iterates in insertion order and a use re-inserts. */
  private readonly sessions = new Map<string, HttpSession>();

  constructor(private readonly options: HttpSessionOptions) {
    if (options.maxSessions < 1) throw new Error(`maxSessions ${options.maxSessions}: expected at least 1`);
  }

  get size(): number {
    return this.sessions.size;
  }

  create(principal: HttpPrincipal, nowMs: number): HttpSession {
    this.prune(nowMs);
    while (this.sessions.size >= this.options.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const session: HttpSession = {
      id: randomBytes(SESSION_ID_BYTES).toString('base64url'),
      principal,
      csrfToken: randomBytes(CSRF_TOKEN_BYTES).toString('base64url'),
      createdAtMs: nowMs,
      lastUsedAtMs: nowMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, marked as used now; null when unknown, idle too long or too old. */
  use(id: string, nowMs: number): HttpSession | null {
    const session = this.sessions.get(id);
    if (!session) return null;
    this.sessions.delete(id);
    if (this.expired(session, nowMs)) return null;
    session.lastUsedAtMs = nowMs;
    this.sessions.set(id, session);
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /** How long the cookie may live: until the session's absolute end. */
  remainingMs(session: HttpSession, nowMs: number): number {
    return Math.max(0, session.createdAtMs + this.options.maxLifetimeMs - nowMs);
  }

  private expired(session: HttpSession, nowMs: number): boolean {
    return (
      nowMs - session.lastUsedAtMs >= this.options.idleTimeoutMs ||
      nowMs - session.createdAtMs >= this.options.maxLifetimeMs
    );
  }

  /**
   * Drops expired sessions from the least recently used end, stopping at the first live one; any expired one
   * left behind it (too old, though used lately) is dropped when next used.
   */
  private prune(nowMs: number): void {
    for (const session of this.sessions.values()) {
      if (!this.expired(session, nowMs)) return;
      this.sessions.delete(session.id);
    }
  }
}

/** Whether the header carries the session's CSRF token; compared in time independent of where they differ. */
export function csrfTokenMatches(session: HttpSession, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(session.csrfToken, 'utf8');
  const given = Buffer.from(header, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
