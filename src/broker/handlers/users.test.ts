import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { callHandler, requestContext } from '../../../test/support/handler-call.js';
import { AlterUserScramCredentials } from '../../protocol/apis/alter-user-scram-credentials.js';
import { DescribeUserScramCredentials } from '../../protocol/apis/describe-user-scram-credentials.js';
import type { EncodableRequestOf } from '../../protocol/message-types.js';
import type { ApiSchema } from '../../protocol/schema.js';
import {
  AclAuthorizer,
  AclStore,
  type CredentialSource,
  CredentialStore,
  CredentialStoreError,
  FileAclStorage,
  makeScramCredential,
  SCRAM_MECHANISM_CODES,
  saltPassword,
} from '../../security/index.js';
import { scramCredentialMatches } from '../../security/scram.js';
import { Access } from '../access.js';
import type { ApiHandler } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import { BrokerMetrics } from '../metrics.js';
import { userScramHandlers } from './users.js';

const SHA_256 = SCRAM_MECHANISM_CODES['SCRAM-SHA-256'];
const SHA_512 = SCRAM_MECHANISM_CODES['SCRAM-SHA-512'];

function call<A extends ApiSchema>(
  handlers: ApiHandler[],
  schema: A,
  body: EncodableRequestOf<A>,
  principal = 'User:admin',
) {
  return callHandler(handlers, schema, body, requestContext(0, { principal }));
}

async function upsertion(name: string, password: string, iterations = 4096, mechanism = SHA_512) {
  const salt = Buffer.from(`salt-of-${name}`);
  const scram = mechanism === SHA_256 ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
  return {
    name,
    mechanism,
    iterations,
    salt,
    saltedPassword: await saltPassword(scram, password, 4096, salt),
  };
}

const codesOf = (results: Array<{ user: string; errorCode: number }>) =>
  Object.fromEntries(results.map((r) => [r.user, r.errorCode]));

describe('user SCRAM handlers', () => {
  const dirs: string[] = [];
  let credentials: CredentialStore;
  let open: ApiHandler[];
  beforeEach(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'user-handlers-'));
    dirs.push(dir);
    credentials = CredentialStore.open(dir);
    open = userScramHandlers({ credentials, access: Access.OPEN });
  });
  after(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('an upsertion stores the credential a login with the password matches', async () => {
    const altered = await call(open, AlterUserScramCredentials, {
      deletions: [],
      upsertions: [await upsertion('alice', 'secret')],
    });
    assert.deepEqual(altered.results, [{ user: 'alice', errorCode: ErrorCode.NONE, errorMessage: null }]);
    const stored = credentials.get('alice', 'SCRAM-SHA-512');
    assert.ok(stored);
    assert.ok(await scramCredentialMatches('SCRAM-SHA-512', stored, 'secret'));
    assert.ok(!(await scramCredentialMatches('SCRAM-SHA-512', stored, 'other')));
    const expected = await makeScramCredential('SCRAM-SHA-512', 'secret', 4096, Buffer.from('salt-of-alice'));
    assert.deepEqual(stored, expected, 'the same credential the offline CLI makes');
  });

  test('describe: every user when users is null or empty, each named one, RESOURCE_NOT_FOUND, DUPLICATE_RESOURCE', async () => {
    credentials.upsert('alice', 'SCRAM-SHA-256', await makeScramCredential('SCRAM-SHA-256', 'a', 4096));
    credentials.upsert('alice', 'SCRAM-SHA-512', await makeScramCredential('SCRAM-SHA-512', 'a', 8192));
    credentials.upsert('bob', 'SCRAM-SHA-512', await makeScramCredential('SCRAM-SHA-512', 'b', 4096));
    const alice = {
      user: 'alice',
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      credentialInfos: [
        { mechanism: SHA_256, iterations: 4096 },
        { mechanism: SHA_512, iterations: 8192 },
      ],
    };
    const bob = { ...alice, user: 'bob', credentialInfos: [{ mechanism: SHA_512, iterations: 4096 }] };
    for (const users of [null, []]) {
      const all = await call(open, DescribeUserScramCredentials, { users });
      assert.equal(all.errorCode, ErrorCode.NONE);
      assert.deepEqual(all.results, [alice, bob]);
    }
    const named = await call(open, DescribeUserScramCredentials, {
      users: [{ name: 'bob' }, { name: 'carol' }, { name: 'alice' }, { name: 'alice' }],
    });
    assert.deepEqual(named.results[0], bob);
    assert.deepEqual(codesOf(named.results), {
      bob: ErrorCode.NONE,
      carol: ErrorCode.RESOURCE_NOT_FOUND,
      alice: ErrorCode.DUPLICATE_RESOURCE,
    });
    assert.equal(named.results.length, 3);
  });

  test('alter: each invalid user fails on its own with Kafka error codes; the others are changed', async () => {
    credentials.upsert('dave', 'SCRAM-SHA-256', await makeScramCredential('SCRAM-SHA-256', 'd', 4096));
    const request = {
      deletions: [
        { name: 'dave', mechanism: SHA_256 },
        { name: 'erin', mechanism: SHA_512 },
        { name: 'frank', mechanism: 0 },
      ],
      upsertions: [
        await upsertion('ok', 'pw'),
        { ...(await upsertion('few', 'pw')), iterations: 4095 },
        { ...(await upsertion('many', 'pw')), iterations: 16_385 },
        { ...(await upsertion('unknown', 'pw')), mechanism: 3 },
        await upsertion('', 'pw'),
        await upsertion('twice', 'pw'),
        await upsertion('twice', 'pw2'),
        { ...(await upsertion('short', 'pw')), saltedPassword: Buffer.alloc(32) },
        { ...(await upsertion('nosalt', 'pw')), salt: Buffer.alloc(0) },
        await upsertion('both', 'pw', 4096, SHA_256),
        await upsertion('both', 'pw', 4096, SHA_512),
      ],
    };
    const altered = await call(open, AlterUserScramCredentials, request);
    assert.deepEqual(codesOf(altered.results), {
      dave: ErrorCode.NONE,
      erin: ErrorCode.RESOURCE_NOT_FOUND,
      frank: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      ok: ErrorCode.NONE,
      few: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      many: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      unknown: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      '': ErrorCode.UNACCEPTABLE_CREDENTIAL,
      twice: ErrorCode.DUPLICATE_RESOURCE,
      short: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      nosalt: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      both: ErrorCode.NONE,
    });
    assert.equal(altered.results.length, 12, 'one result per user');
    assert.match(altered.results.find((r) => r.user === 'few')!.errorMessage!, /too few iterations/);
    assert.match(altered.results.find((r) => r.user === '')!.errorMessage!, /must not be empty/);
    assert.deepEqual(
      credentials.describe().map((d) => [d.user, d.credentials.map((c) => c.mechanism)]),
      [
        ['both', ['SCRAM-SHA-256', 'SCRAM-SHA-512']],
        ['ok', ['SCRAM-SHA-512']],
      ],
      'dave deleted (its last credential), only the valid users changed',
    );
  });

  test("a user's changes are made only if all are valid", async () => {
    credentials.upsert('gina', 'SCRAM-SHA-256', await makeScramCredential('SCRAM-SHA-256', 'g', 4096));
    const altered = await call(open, AlterUserScramCredentials, {
      deletions: [{ name: 'gina', mechanism: SHA_512 }],
      upsertions: [await upsertion('gina', 'new', 4096, SHA_256)],
    });
    assert.deepEqual(codesOf(altered.results), { gina: ErrorCode.RESOURCE_NOT_FOUND });
    assert.ok(await scramCredentialMatches('SCRAM-SHA-256', credentials.get('gina', 'SCRAM-SHA-256')!, 'g'));
  });

  test('a source that cannot make the change (ZooKeeper away) fails every user it was asked for, retriably', async () => {
    const away: CredentialSource = {
      get: (user, mechanism) => credentials.get(user, mechanism),
      hasUsers: () => credentials.hasUsers(),
      describe: () => credentials.describe(),
      alter: () => Promise.reject(new CredentialStoreError('UNAVAILABLE', 'ZooKeeper did not answer')),
    };
    const altered = await call(
      userScramHandlers({ credentials: away, access: Access.OPEN }),
      AlterUserScramCredentials,
      {
        deletions: [],
        upsertions: [await upsertion('alice', 'pw'), await upsertion('bob', 'pw')],
      },
    );
    assert.deepEqual(altered.results, [
      { user: 'alice', errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'ZooKeeper did not answer' },
      { user: 'bob', errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'ZooKeeper did not answer' },
    ]);
  });

  test('with an authorizer: DESCRIBE / ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'user-handlers-acl-'));
    dirs.push(dir);
    const store = await AclStore.open(new FileAclStorage(dir), { maxAcls: 10 });
    const authorizer = new AclAuthorizer(store, {
      superUsers: ['User:admin'],
      allowEveryoneIfNoAclFound: false,
    });
    const access = Access.enforced(authorizer, new BrokerMetrics(), pino({ level: 'silent' }));
    const enforced = userScramHandlers({ credentials, access });
    const request = {
      deletions: [{ name: 'x', mechanism: SHA_256 }],
      upsertions: [await upsertion('alice', 'pw')],
    };
    const refused = await call(enforced, AlterUserScramCredentials, request, 'User:mallory');
    assert.deepEqual(codesOf(refused.results), {
      x: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      alice: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    });
    assert.equal(credentials.hasUsers(), false);
    const described = await call(enforced, DescribeUserScramCredentials, { users: null }, 'User:mallory');
    assert.equal(described.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.deepEqual(described.results, []);
    const allowed = await call(
      enforced,
      AlterUserScramCredentials,
      { ...request, deletions: [] },
      'User:admin',
    );
    assert.deepEqual(codesOf(allowed.results), { alice: ErrorCode.NONE });
  });
});
