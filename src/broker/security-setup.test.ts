import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import {
  type CredentialSource,
  CredentialStore,
  makeScramCredential,
  usersInClusterOf,
} from '../security/index.js';
import { parseBrokerConfig } from './config.js';
import { openSecurity } from './security-setup.js';

/** A logger whose lines are kept, parsed. */
function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const NO_USERS: CredentialSource = {
  get: () => null,
  hasUsers: () => false,
  describe: () => [],
  alter: () => {},
};

describe('the SASL users a broker opens', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'security-setup-'));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("in a cluster: the cluster's users; the data directory's users file is ignored with a warning", async () => {
    const dir = dataDir();
    const local = CredentialStore.open(dir);
    local.upsert('old-admin', 'SCRAM-SHA-512', await makeScramCredential('SCRAM-SHA-512', 'pw', 4096));
    const { logger, lines } = recordingLogger();
    const config = parseBrokerConfig({ dataDir: dir, cluster: { zookeeper: 'zk1:2181,zk2:2181' } });
    const security = openSecurity(config, logger, NO_USERS);
    assert.equal(security.credentials, NO_USERS);
    const warning = lines.find((line) => String(line.msg).startsWith('SASL users in this file are not used'));
    assert.ok(warning, JSON.stringify(lines));
    assert.equal(warning.file, local.file);
    assert.deepEqual(warning.users, ['old-admin']);
    assert.equal(warning.userCount, 1);
    assert.match(String(warning.msg), /--brokers/);
    assert.equal(usersInClusterOf(dir), 'zk1:2181,zk2:2181');

    // Started again as a single node, the broker uses its file again, and offline commands may change it.
    const single = openSecurity(parseBrokerConfig({ dataDir: dir }), logger, null);
    assert.deepEqual(
      single.credentials.describe().map((d) => d.user),
      ['old-admin'],
    );
    assert.equal(usersInClusterOf(dir), null);
  });

  test('in a cluster, a users file that does not parse is ignored with a warning; the broker opens', () => {
    const dir = dataDir();
    fs.mkdirSync(path.join(dir, 'security'));
    fs.writeFileSync(path.join(dir, 'security', 'scram-credentials.json'), '{ not json');
    const { logger, lines } = recordingLogger();
    const config = parseBrokerConfig({ dataDir: dir, cluster: { zookeeper: 'zk1:2181' } });
    assert.equal(openSecurity(config, logger, NO_USERS).credentials, NO_USERS);
    assert.ok(lines.some((line) => String(line.msg).startsWith('SASL users file ignored in a cluster')));
  });
});
