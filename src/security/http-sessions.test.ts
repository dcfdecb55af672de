import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csrfTokenMatches, HttpSessions } from './http-sessions.js';
import type { HttpPrincipal } from './http-users.js';

const ana: HttpPrincipal = { name: 'ana', role: 'operator', kind: 'user' };

describe('HTTP sessions', () => {
  const options = { idleTimeoutMs: 1_000, maxLifetimeMs: 5_000, maxSessions: 3 };

  it('finds a session by its random id until it is idle too long', () => {
    const sessions = new HttpSessions(options);
    const session = sessions.create(ana, 0);
    assert.ok(session.id.length >= 43 && session.csrfToken.length >= 43);
    assert.notEqual(session.id, session.csrfToken);
    assert.equal(sessions.use(session.id, 999)?.principal, ana);
    assert.equal(sessions.use(session.id, 1_998)?.principal, ana, 'each use restarts the idle time');
    assert.equal(sessions.use(session.id, 2_998), null, 'idle for 1000 ms');
    assert.equal(sessions.use(session.id, 2_999), null, 'and gone for good');
    assert.equal(sessions.use('not-a-session', 0), null);
  });

  it('ends a session at its absolute lifetime however often it is used, and on logout', () => {
    const sessions = new HttpSessions(options);
    const session = sessions.create(ana, 0);
    for (let atMs = 500; atMs < 5_000; atMs += 500) assert.ok(sessions.use(session.id, atMs), `at ${atMs}`);
    assert.equal(sessions.remainingMs(session, 4_500), 500);
    assert.equal(sessions.use(session.id, 5_000), null);
    const other = sessions.create(ana, 6_000);
    sessions.end(other.id);
    assert.equal(sessions.use(other.id, 6_001), null);
  });

  it('holds at most maxSessions, ending the least recently used first', () => {
    const sessions = new HttpSessions(options);
    const [a, b, c] = [0, 1, 2].map((atMs) => sessions.create(ana, atMs));
    sessions.use(a!.id, 3);
    const d = sessions.create(ana, 4);
    assert.equal(sessions.size, 3);
    assert.equal(sessions.use(b!.id, 5), null, 'b was the least recently used');
    for (const live of [a!, c!, d]) assert.ok(sessions.use(live.id, 5));
  });

  it('accepts only the exact CSRF token of the session', () => {
    const sessions = new HttpSessions(options);
    const session = sessions.create(ana, 0);
    const other = sessions.create(ana, 0);
    assert.equal(csrfTokenMatches(session, session.csrfToken), true);
    assert.equal(csrfTokenMatches(session, undefined), false);
    assert.equal(csrfTokenMatches(session, ''), false);
    assert.equal(csrfTokenMatches(session, other.csrfToken), false);
    assert.equal(csrfTokenMatches(session, `${session.csrfToken}x`), false);
  });
});
