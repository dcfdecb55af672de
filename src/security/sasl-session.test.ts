import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ErrorCode } from '../protocol/index.js';
import { CredentialStore, CredentialStoreError } from './credential-store.js';
import { LoginThrottle } from './login-throttle.js';
import { parsePlainToken } from './plain.js';
import { SaslAuthenticationError } from './sasl-errors.js';
import { SaslSession } from './sasl-session.js';
import { makeScramCredential } from './scram.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-sasl-'));
  dirs.push(dir);
  return dir;
}

async function storeWith(users: Record<string, string>): Promise<CredentialStore> {
  const store = CredentialStore.open(dataDir());
  for (const [user, password] of Object.entries(users)) {
    store.upsert(user, 'SCRAM-SHA-512', await makeScramCredential('SCRAM-SHA-512', password, 4096));
  }
  return store;
}

/** No wait between attempts, unless a test wants one. */
const throttle = (firstDelayMs = 0) =>
  new LoginThrottle({ firstDelayMs, maxDelayMs: 60_000, forgetAfterMs: 60_000, maxSources: 100 });

const plain = (user: string, password: string, authorizationId = '') =>
  Buffer.from(`${authorizationId}\u0000${user}\u0000${password}`);

describe('SASL sessions', () => {
  it('PLAIN logs in against the stored SCRAM credential; a wrong password or unknown user is refused', async () => {
    const credentials = await storeWith({ alice: 'secret-1' });
    const session = () =>
      new SaslSession(
        {
          mechanisms: ['PLAIN'],
          credentials,
          maxReauthMs: 0,
          decoySecret: Buffer.alloc(32),
          loginThrottle: throttle(),
        },
        '10.0.0.1',
      );
    const ok = session();
    assert.equal(ok.handshake('PLAIN', 1), ErrorCode.NONE);
    assert.ok(ok.expectsAuthenticateRequest);
    assert.deepEqual(await ok.authenticate(plain('alice', 'secret-1'), 0), {
      response: Buffer.alloc(0),
      complete: true,
    });
    assert.equal(ok.principal, 'User:alice');
    assert.equal(ok.mustAuthenticate(Number.MAX_SAFE_INTEGER), false, 'no reauthentication asked for');
    for (const token of [plain('alice', 'wrong'), plain('bob', 'secret-1')]) {
      const refused = session();
      refused.handshake('PLAIN', 0);
      assert.ok(refused.expectsBareToken);
      await assert.rejects(refused.authenticate(token, 0), SaslAuthenticationError);
      assert.equal(refused.principal, null);
      assert.ok(refused.mustAuthenticate(0));
    }
  });

  it('answers a handshake for a mechanism not enabled, and one out of turn, with Kafka error codes', async () => {
    const session = new SaslSession(
      {
        mechanisms: ['SCRAM-SHA-512'],
        credentials: await storeWith({}),
        maxReauthMs: 0,
        decoySecret: Buffer.alloc(32),
        loginThrottle: throttle(),
      },
      '10.0.0.1',
    );
    assert.equal(session.handshake('PLAIN', 1), ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    assert.deepEqual(session.enabledMechanisms(), ['SCRAM-SHA-512']);
    assert.equal(session.handshake('SCRAM-SHA-512', 1), ErrorCode.NONE);
    assert.equal(session.handshake('SCRAM-SHA-512', 1), ErrorCode.ILLEGAL_SASL_STATE);
    await assert.rejects(
      new SaslSession(
        {
          mechanisms: ['PLAIN'],
          credentials: await storeWith({}),
          maxReauthMs: 0,
          decoySecret: Buffer.alloc(32),
          loginThrottle: throttle(),
        },
        '10.0.0.1',
      ).authenticate(Buffer.alloc(1), 0),
      /before a SaslHandshake/,
    );
  });

  it('sessions expire after maxReauthMs; re-authentication renews them but may not change the principal', async () => {
    const credentials = await storeWith({ alice: 'a-pass', bob: 'b-pass' });
    const session = new SaslSession(
      {
        mechanisms: ['PLAIN'],
        credentials,
        maxReauthMs: 60_000,
        decoySecret: Buffer.alloc(32),
        loginThrottle: throttle(),
      },
      '10.0.0.1',
    );
    session.handshake('PLAIN', 1);
    await session.authenticate(plain('alice', 'a-pass'), 1000);
    assert.equal(session.lifetimeMs(1000), 60_000);
    assert.equal(session.mustAuthenticate(60_999), false);
    assert.equal(session.mustAuthenticate(61_000), true);
    session.handshake('PLAIN', 1);
    await session.authenticate(plain('alice', 'a-pass'), 50_000);
    assert.equal(session.mustAuthenticate(61_000), false, 'renewed');
    session.handshake('PLAIN', 1);
    await assert.rejects(
      session.authenticate(plain('bob', 'b-pass'), 70_000),
      /may not change the principal/,
    );
    assert.equal(session.principal, 'User:alice');
  });

  it('after a failed login, the address is refused without its password being checked until its wait is over', async () => {
    const credentials = await storeWith({ alice: 'a-pass' });
    const shared = throttle(10_000);
    const session = (source: string) =>
      new SaslSession(
        {
          mechanisms: ['PLAIN'],
          credentials,
          maxReauthMs: 0,
          decoySecret: Buffer.alloc(32),
          loginThrottle: shared,
        },
        source,
      );
    const guessing = session('10.0.0.9');
    guessing.handshake('PLAIN', 1);
    await assert.rejects(guessing.authenticate(plain('alice', 'guess-1'), 1000), /invalid credentials/);
    const again = session('10.0.0.9');
    again.handshake('PLAIN', 1);
    await assert.rejects(again.authenticate(plain('alice', 'a-pass'), 2000), /too many failed logins.*9 s/);
    const elsewhere = session('10.0.0.10');
    elsewhere.handshake('PLAIN', 1);
    assert.equal((await elsewhere.authenticate(plain('alice', 'a-pass'), 2000)).complete, true);
    const later = session('10.0.0.9');
    later.handshake('PLAIN', 1);
    assert.equal((await later.authenticate(plain('alice', 'a-pass'), 11_001)).complete, true);
  });

  it('PLAIN tokens: an authorization id other than the user and malformed tokens are refused', () => {
    assert.deepEqual(parsePlainToken(plain('alice', 'pw', 'alice')), { user: 'alice', password: 'pw' });
    assert.throws(() => parsePlainToken(plain('alice', 'pw', 'root')), /authorization id/);
    assert.throws(() => parsePlainToken(Buffer.from('alice\u0000pw')), /malformed/);
    assert.throws(() => parsePlainToken(plain('', 'pw')), /malformed/);
    assert.throws(() => parsePlainToken(Buffer.alloc(5000, 1)), /limit/);
  });
});

describe('credential store', () => {
  it('keeps credentials across reopening, lists and deletes them, and keeps no password', async () => {
    const dir = dataDir();
    const store = CredentialStore.open(dir);
    store.upsert('alice', 'SCRAM-SHA-256', await makeScramCredential('SCRAM-SHA-256', 'hunter2-long', 4096));
    store.upsert('alice', 'SCRAM-SHA-512', await makeScramCredential('SCRAM-SHA-512', 'hunter2-long', 8192));
    const file = path.join(dir, 'security', 'scram-credentials.json');
    assert.ok(!fs.readFileSync(file, 'utf8').includes('hunter2'));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const reopened = CredentialStore.open(dir);
    assert.deepEqual(reopened.describe(), [
      {
        user: 'alice',
        credentials: [
          { mechanism: 'SCRAM-SHA-256', iterations: 4096 },
          { mechanism: 'SCRAM-SHA-512', iterations: 8192 },
        ],
      },
    ]);
    assert.ok(reopened.delete('alice', 'SCRAM-SHA-256'));
    assert.equal(reopened.get('alice', 'SCRAM-SHA-256'), null);
    assert.ok(reopened.delete('alice', null));
    assert.equal(reopened.delete('alice', null), false);
    assert.equal(reopened.hasUsers(), false);
  });

  it("a running store sees another process's changes, and keeps its users when a change does not parse", async () => {
    const dir = dataDir();
    const failures: CredentialStoreError[] = [];
    const running = CredentialStore.open(dir, (error) => failures.push(error));
    assert.equal(running.get('carol', 'SCRAM-SHA-512'), null);
    CredentialStore.open(dir).upsert(
      'carol',
      'SCRAM-SHA-512',
      await makeScramCredential('SCRAM-SHA-512', 'pw-carol', 4096),
    );
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.ok(running.get('carol', 'SCRAM-SHA-512'), 'the new user is seen within a second');
    fs.writeFileSync(
      path.join(dir, 'security', 'scram-credentials.json'),
      '{"version": 1, "users": {"carol": 5}}',
    );
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.ok(running.get('carol', 'SCRAM-SHA-512'), 'the users read before stay');
    assert.equal(failures.length, 1);
    assert.match(failures[0]!.message, /scram-credentials\.json: users\.carol/);
    assert.throws(() => CredentialStore.open(dir), CredentialStoreError, 'a damaged file stops a start');
  });
});
