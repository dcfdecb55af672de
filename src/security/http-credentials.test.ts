import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hashPassword,
  hashToken,
  newToken,
  PASSWORD_HASH_PATTERN,
  passwordHashProblem,
  TOKEN_HASH_PATTERN,
  verifyPassword,
} from './http-credentials.js';
import { roleAllows } from './http-roles.js';
import { HttpUsers } from './http-users.js';

describe('HTTP credentials', () => {
  it('hashes a password with a fresh salt and verifies only that password', async () => {
    const first = await hashPassword('correct horse battery');
    const second = await hashPassword('correct horse battery');
    assert.match(first, PASSWORD_HASH_PATTERN);
    assert.notEqual(first, second, 'each hash has its own salt');
    assert.equal(passwordHashProblem(first), null);
    assert.equal(await verifyPassword('correct horse battery', first), true);
    assert.equal(await verifyPassword('correct horse battery', second), true);
    assert.equal(await verifyPassword('correct horse batterY', first), false);
    assert.equal(await verifyPassword('', first), false);
  });

  it('names what is wrong with a stored hash', () => {
    assert.match(passwordHashProblem('hunter2') ?? '', /expected scrypt\$N\$r\$p\$salt\$key/);
    const salt = 'A'.repeat(22);
    const key = 'B'.repeat(43);
    assert.match(passwordHashProblem(`scrypt$1000$8$1$${salt}$${key}`) ?? '', /power of two/);
    assert.match(passwordHashProblem(`scrypt$1048576$8$1$${salt}$${key}`) ?? '', /needs more than/);
    assert.equal(passwordHashProblem(`scrypt$16384$8$1$${salt}$${key}`), null);
  });

  it('makes random bearer tokens stored as their SHA-256', () => {
    const a = newToken();
    const b = newToken();
    assert.notEqual(a.token, b.token);
    assert.ok(a.token.length >= 43, 'at least 32 random bytes');
    assert.match(a.tokenHash, TOKEN_HASH_PATTERN);
    assert.equal(hashToken(a.token), a.tokenHash);
    assert.ok(!a.tokenHash.includes(a.token));
  });

  it('logs in users by password and scripts by token, the same answer for an unknown name and a wrong password', async () => {
    const token = newToken();
    const users = new HttpUsers(
      [{ name: 'ana', role: 'operator', passwordHash: await hashPassword('ana password') }],
      [{ name: 'prometheus', role: 'viewer', tokenHash: token.tokenHash }],
    );
    assert.deepEqual(await users.login('ana', 'ana password'), {
      name: 'ana',
      role: 'operator',
      kind: 'user',
    });
    assert.equal(await users.login('ana', 'wrong password'), null);
    assert.equal(await users.login('bob', 'ana password'), null);
    assert.deepEqual([users.has('ana'), users.has('bob')], [true, false]);
    assert.deepEqual(users.bearer(token.token), { name: 'prometheus', role: 'viewer', kind: 'token' });
    assert.equal(users.bearer(token.tokenHash), null, 'the stored hash is not a token');
    assert.equal(users.bearer(newToken().token), null);
    assert.throws(
      () =>
        new HttpUsers(
          [],
          [token, token].map((t) => ({ name: 'x', role: 'viewer', tokenHash: t.tokenHash })),
        ),
      /duplicate token hash/,
    );
  });

  it('orders roles: admin includes operator includes viewer', () => {
    assert.equal(roleAllows('viewer', 'viewer'), true);
    assert.equal(roleAllows('viewer', 'operator'), false);
    assert.equal(roleAllows('operator', 'viewer'), true);
    assert.equal(roleAllows('operator', 'operator'), true);
    assert.equal(roleAllows('operator', 'admin'), false);
    assert.equal(roleAllows('admin', 'operator'), true);
  });
});
