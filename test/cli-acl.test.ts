// `edgestream acl create|list|delete` against a broker with its authorizer on, through the Kafka ACL APIs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run } from './support/processes.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

describe('edgestream acl', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  // The CLI comes over PLAINTEXT as User:ANONYMOUS, made a super user for the test.
  before(async () => {
    broker = await startBroker({ authorizer: true, superUsers: ['User:ANONYMOUS'] });
  });
  after(() => broker?.stop());

  const acl = async (...args: string[]) => {
    const result = await run(process.execPath, [cli, 'acl', ...args, '--brokers', broker.bootstrap], {
      timeoutMs: 60_000,
    });
    return {
      ...result,
      rows: result.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s+/)),
    };
  };

  it('creates, lists by filter and deletes ACLs, as Kafka matches them', async () => {
    const created = await acl(
      'create',
      '--allow',
      '--principal',
      'User:alice',
      '--operation',
      'read,write',
      '--topic',
      'orders-',
      '--prefixed',
    );
    assert.equal(created.status, 0, created.stderr);
    assert.deepEqual(created.rows, [
      ['User:alice', '*', 'TOPIC', 'orders-', 'PREFIXED', 'READ', 'ALLOW'],
      ['User:alice', '*', 'TOPIC', 'orders-', 'PREFIXED', 'WRITE', 'ALLOW'],
    ]);
    assert.equal(
      (await acl('create', '--deny', '--principal', 'User:bob', '--operation', 'all', '--cluster')).status,
      0,
    );
    assert.equal((await acl('list')).rows.length, 3);
    assert.deepEqual(
      (await acl('list', '--topic', 'orders-eu')).rows.map((row) => row[5]),
      ['READ', 'WRITE'],
      'a topic name matches the prefixed ACLs that cover it',
    );
    assert.deepEqual((await acl('list', '--principal', 'User:bob')).rows, [
      ['User:bob', '*', 'CLUSTER', 'kafka-cluster', 'LITERAL', 'ALL', 'DENY'],
    ]);
    const deleted = await acl('delete', '--principal', 'User:alice', '--operation', 'read');
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.deepEqual(deleted.rows, [['User:alice', '*', 'TOPIC', 'orders-', 'PREFIXED', 'READ', 'ALLOW']]);
    assert.equal((await acl('list')).rows.length, 2);
  });

  it('refuses a delete without a filter and a create without what it needs, naming it', async () => {
    const everything = await acl('delete');
    assert.equal(everything.status, 2);
    assert.match(everything.stderr, /needs a filter/);
    const noOperation = await acl('create', '--allow', '--principal', 'User:x', '--topic', 't');
    assert.equal(noOperation.status, 2);
    assert.match(noOperation.stderr, /needs --operation/);
    const badOperation = await acl(
      'create',
      '--allow',
      '--principal',
      'User:x',
      '--topic',
      't',
      '--operation',
      'fly',
    );
    assert.match(badOperation.stderr, /--operation fly: expected one of/);
  });
});
