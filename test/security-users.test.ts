// Users managed over the Kafka protocol (KIP-554): the online CLI creates, lists and deletes a user on a
// broker with a SASL_PLAINTEXT listener, as a super user logged in with SASL; the new user logs in with kcat
// and kafkajs, and no longer can once deleted. A user without ALTER on the cluster is refused.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run } from './support/processes.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ADMIN_PASSWORD = 'admin-secret';
const BOB_PASSWORD = 'bob likes long passwords';
const STEP_TIMEOUT_MS = 60_000;

describe('users managed over the Kafka protocol', { timeout: 300_000 }, () => {
  let broker: RunningBroker;
  let bootstrap: string;
  let secrets: string;

  before(async () => {
    secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-users-'));
    fs.writeFileSync(path.join(secrets, 'admin'), `${ADMIN_PASSWORD}\n`);
    fs.writeFileSync(path.join(secrets, 'bob'), `${BOB_PASSWORD}\n`);
    broker = await startBroker(
      { listeners: ['SASL_PLAINTEXT://127.0.0.1:0'], authorizer: true, superUsers: ['User:admin'] },
      async (dataDir) => {
        const created = await edgestream(
          ['user', 'create', 'admin', '--data-dir', dataDir, '--password-file', path.join(secrets, 'admin')],
          '',
        );
        assert.equal(created.status, 0, created.stderr);
      },
    );
    bootstrap = `127.0.0.1:${broker.broker.listenerAddresses.get('SASL_PLAINTEXT')!.port}`;
  });
  after(async () => {
    await broker?.stop();
    fs.rmSync(secrets, { recursive: true, force: true });
  });

  function edgestream(args: string[], input: string) {
    return run(process.execPath, [cli, ...args], { input, timeoutMs: STEP_TIMEOUT_MS });
  }

  /** `edgestream user ...` through the broker, logged in as `as` with its password file. */
  function online(args: string[], as: string, input = '') {
    const login = ['--brokers', bootstrap, '--security-protocol', 'SASL_PLAINTEXT'];
    const sasl = ['--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', as];
    return edgestream(
      ['user', ...args, ...login, ...sasl, '--sasl-password-file', path.join(secrets, as)],
      input,
    );
  }

  /** kcat logs in as bob and lists the metadata (empty: bob may describe no topic). */
  function kcatLogin(password: string) {
    const sasl = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-512'];
    const user = ['-X', 'sasl.username=bob', '-X', `sasl.password=${password}`];
    return run('kcat', ['-b', bootstrap, ...sasl, ...user, '-L', '-m', '10'], { timeoutMs: STEP_TIMEOUT_MS });
  }

  async function kafkajsLogin(password: string): Promise<void> {
    const kafka = new Kafka({
      clientId: 'security-users-test',
      brokers: [bootstrap],
      sasl: { mechanism: 'scram-sha-512', username: 'bob', password },
      retry: { retries: 0 },
      connectionTimeout: 10_000,
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
    } finally {
      await admin.disconnect();
    }
  }

  it('creates a user as the admin over SASL; it logs in with kcat and kafkajs; list shows it', async () => {
    const created = await online(
      ['create', 'bob', '--iterations', '4096', '--password-stdin'],
      'admin',
      `${BOB_PASSWORD}\n`,
    );
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /user bob: SCRAM-SHA-512 credential stored \(4096 iterations\)/);

    const kcat = await kcatLogin(BOB_PASSWORD);
    assert.equal(kcat.status, 0, kcat.stderr);
    assert.match(kcat.stdout, /1 brokers:/);
    await kafkajsLogin(BOB_PASSWORD);

    const listed = await online(['list'], 'admin');
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trim().split('\n'), [
      'admin\tSCRAM-SHA-512(8192)',
      'bob\tSCRAM-SHA-512(4096)',
    ]);
  });

  it('takes --data-dir or --brokers, not both, and checks --iterations before connecting', async () => {
    const both = await online(['list', '--data-dir', broker.dataDir], 'admin');
    assert.equal(both.status, 2);
    assert.match(both.stderr, /user list takes --data-dir DIR or --brokers HOST:PORT, not both/);
    const few = await online(['create', 'carol', '--iterations', '100', '--password-stdin'], 'admin', 'pw\n');
    assert.equal(few.status, 2);
    assert.match(few.stderr, /--iterations 100: iterations=100: expected an integer from 4096 to 16384/);
  });

  it('refuses a user without ALTER (or DESCRIBE) on the cluster: CLUSTER_AUTHORIZATION_FAILED', async () => {
    const refused = await online(['create', 'carol', '--password-stdin'], 'bob', 'carol-password\n');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /CLUSTER_AUTHORIZATION_FAILED: user carol: User:bob may not alter users/);
    const listed = await online(['list'], 'bob');
    assert.equal(listed.status, 1);
    assert.match(listed.stderr, /CLUSTER_AUTHORIZATION_FAILED/);
    assert.ok(
      !fs
        .readFileSync(path.join(broker.dataDir, 'security', 'scram-credentials.json'), 'utf8')
        .includes('carol'),
    );
  });

  it('deletes the user online; its next login fails with kcat and kafkajs', async () => {
    const deleted = await online(['delete', 'bob'], 'admin');
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.match(deleted.stdout, /user bob: every credential deleted/);
    const again = await online(['delete', 'bob'], 'admin');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no credential for user bob/);
    const listed = await online(['list'], 'admin');
    assert.deepEqual(listed.stdout.trim().split('\n'), ['admin\tSCRAM-SHA-512(8192)']);

    // Last: failed logins slow down every login from this address for a while (the broker's throttle).

    const kcat = await kcatLogin(BOB_PASSWORD);
    assert.notEqual(kcat.status, 0);
    assert.match(kcat.stderr, /auth|SASL/i);
    await assert.rejects(kafkajsLogin(BOB_PASSWORD), /SASL|authenticat/i);
  });
});
