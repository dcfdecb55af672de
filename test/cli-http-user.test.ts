import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEdgestreamConfig } from '../src/cli/config.js';
import { httpSecurityOptions } from '../src/cli/http-config.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));

function edgestream(args: string[], input = '') {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input, timeout: 20_000 });
}

describe('edgestream http-user', () => {
  it('hashes a password from stdin into a passwordHash the config accepts and logs in with', async () => {
    const made = edgestream(['http-user', 'hash', '--password-stdin'], 'a long enough password\n');
    assert.equal(made.status, 0, made.stderr);
    const passwordHash = made.stdout.trim();
    assert.match(passwordHash, /^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    assert.doesNotMatch(made.stdout + made.stderr, /a long enough password/);
    const config = parseEdgestreamConfig({
      http: { listen: '0.0.0.0:8080', auth: { users: [{ name: 'ana', role: 'admin', passwordHash }] } },
    });
    const users = httpSecurityOptions(config.http).auth.users!;
    assert.equal(
      (await users.login('ana', 'a long enough password'))?.role,
      'admin',
      'the newline is not part of it',
    );
    assert.equal(await users.login('ana', 'a long enough password\n'), null);
  });

  it('refuses a short password and a password not on stdin', () => {
    const short = edgestream(['http-user', 'hash', '--password-stdin'], 'short\n');
    assert.equal(short.status, 2);
    assert.match(short.stderr, /at least 8 characters/);
    const noFlag = edgestream(['http-user', 'hash', 'secret-password']);
    assert.equal(noFlag.status, 2);
    assert.match(noFlag.stderr, /Unexpected argument|--password-stdin/);
  });

  it('prints a new token once with the tokenHash that matches it', () => {
    const made = edgestream(['http-user', 'token']);
    assert.equal(made.status, 0, made.stderr);
    const token = /^token: (est_[\w-]{43})$/m.exec(made.stdout)?.[1];
    const tokenHash = /^tokenHash: (sha256\$[0-9a-f]{64})$/m.exec(made.stdout)?.[1];
    assert.ok(token && tokenHash, made.stdout);
    const config = parseEdgestreamConfig({
      http: { listen: '0.0.0.0:8080', auth: { tokens: [{ name: 'bot', role: 'operator', tokenHash }] } },
    });
    assert.equal(httpSecurityOptions(config.http).auth.users!.bearer(token)?.name, 'bot');
  });
});
