import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseBrokerConfig } from '../broker/config.js';
import { newToken } from '../security/index.js';
import {
  brokerTransactionSettings,
  ConfigError,
  loadEdgestreamConfig,
  parseEdgestreamConfig,
} from './config.js';
import { httpAuthEnabled, httpSecurityOptions } from './http-config.js';

describe('edgestream config', () => {
  it('fills every default and the CDN rules when the file names none', () => {
    const config = parseEdgestreamConfig({});
    assert.equal(config.broker.listen, '127.0.0.1:9092');
    assert.deepEqual(
      config.alerting.rules.map((rule) => rule.name),
      ['RetransmitStorm', 'OriginErrors', 'SiteLatencyHigh', 'RebufferRatioHigh', 'EdgeSilent'],
    );
    assert.deepEqual(
      config.monitor.windows.map((window) => [window.name, window.size, window.advance, window.dimensions]),
      [
        ['1s', 1_000, undefined, ['edge', 'site']],
        ['10s', 10_000, undefined, ['edge', 'site', 'stream']],
        ['1m', 60_000, 10_000, ['edge', 'site']],
      ],
    );
  });

  it('keeps default rules for a route-only alerting section, and none when rules: []', () => {
    assert.equal(
      parseEdgestreamConfig({ alerting: { route: { groupWait: '1s' } } }).alerting.rules.length,
      5,
    );
    assert.equal(parseEdgestreamConfig({ alerting: { rules: [] } }).alerting.rules.length, 0);
  });

  it('names the key, the value and what was expected', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ broker: { listen: 'localhost' } }, /broker\.listen = "localhost": expected HOST:PORT/],
      [
        { notifiers: [{ kind: 'webhook', url: 'ftp://x' }] },
        /notifiers\.0\.url = "ftp:\/\/x": expected an http/,
      ],
      [
        { monitor: { windows: [{ name: '1s', size: 'soon' }] } },
        /monitor\.windows\.0\.size = "soon": expected a duration/,
      ],
      [
        { alerting: { rules: [{ name: 'X', metric: 'm', field: 'f', comparator: '>>', threshold: 1 }] } },
        /alerting\.rules\.0\.comparator = ">>"/,
      ],
      [{ brokr: {} }, /brokr/],
      [{ broker: { limits: { maxGroups: 0 } } }, /broker\.limits\.maxGroups = 0/],
      [{ broker: { limits: { maxGroup: 5 } } }, /maxGroup/],
      [{ broker: { transactions: { maxTimeout: '0s' } } }, /broker\.transactions\.maxTimeout = "0s"/],
      [
        { broker: { transactions: { abortCheckInterval: '50ms' } } },
        /broker\.transactions\.abortCheckInterval/,
      ],
      [{ broker: { transactions: { timeout: '1m' } } }, /timeout/],
    ];
    for (const [input, expected] of cases) {
      assert.throws(
        () => parseEdgestreamConfig(input, 'edgestream.yaml'),
        (error) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, /^edgestream\.yaml: /);
          assert.match(error.message, expected);
          return true;
        },
      );
    }
  });

  it('reads YAML, resolves paths against the file and reports broken YAML and missing files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-config-'));
    try {
      const file = path.join(dir, 'edgestream.yaml');
      fs.writeFileSync(file, 'dataDir: state\nstore:\n  path: db/agg.db\n');
      const config = loadEdgestreamConfig(file);
      assert.equal(config.dataDir, path.join(dir, 'state'));
      assert.equal(config.store.path, path.join(dir, 'db', 'agg.db'));
      fs.writeFileSync(file, 'broker: [unclosed\n');
      assert.throws(() => loadEdgestreamConfig(file), /expected YAML/);
      assert.throws(
        () => loadEdgestreamConfig(path.join(dir, 'missing.yaml')),
        /cannot read the file \(ENOENT\)/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a cluster section with the broker cluster defaults, and refuses a mirror beside it', () => {
    const config = parseEdgestreamConfig({ cluster: { nodeId: 2, zookeeper: 'zk1:2181,zk2:2181' } });
    assert.equal(config.cluster?.nodeId, 2);
    assert.equal(config.cluster?.zookeeper, 'zk1:2181,zk2:2181');
    assert.equal(config.cluster?.minInsyncReplicas, 1);
    assert.equal(parseEdgestreamConfig({}).cluster, undefined);
    assert.throws(
      () => parseEdgestreamConfig({ cluster: { nodeId: 1 } }, 'site.yaml'),
      (error: unknown) => error instanceof ConfigError && error.key === 'cluster.zookeeper',
    );
    assert.throws(
      () =>
        parseEdgestreamConfig(
          {
            cluster: { nodeId: 1, zookeeper: 'zk1:2181' },
            mirror: { target: ['cloud:9092'], topics: '^cdn\\.aggregates$', prefix: 'site-a.' },
          },
          'site.yaml',
        ),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.key === 'mirror' &&
        /one `edgestream mirror` process/.test(error.message),
    );
  });

  it('takes monitor.exactlyOnce transactional on a cluster only', () => {
    assert.equal(parseEdgestreamConfig({}).monitor.exactlyOnce, 'sequence');
    const cluster = { nodeId: 1, zookeeper: 'zk1:2181' };
    assert.equal(
      parseEdgestreamConfig({ cluster, monitor: { exactlyOnce: 'transactional' } }).monitor.exactlyOnce,
      'transactional',
    );
    assert.throws(
      () => parseEdgestreamConfig({ monitor: { exactlyOnce: 'transactional' } }, 'edge.yaml'),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.key === 'monitor.exactlyOnce' &&
        /needs a cluster/.test(error.message),
    );
    assert.throws(
      () => parseEdgestreamConfig({ monitor: { exactlyOnce: 'twice' } }, 'edge.yaml'),
      (error: unknown) => error instanceof ConfigError && error.key === 'monitor.exactlyOnce',
    );
  });

  it('takes monitor.workerYoungGenerationMb, and leaves it to PipelineWorkers when absent', () => {
    assert.equal(parseEdgestreamConfig({}).monitor.workerYoungGenerationMb, undefined);
    assert.equal(
      parseEdgestreamConfig({ monitor: { workerYoungGenerationMb: 16 } }).monitor.workerYoungGenerationMb,
      16,
    );
    assert.throws(
      () => parseEdgestreamConfig({ monitor: { workerYoungGenerationMb: 2 } }, 'edge.yaml'),
      (error: unknown) => error instanceof ConfigError && error.key === 'monitor.workerYoungGenerationMb',
    );
  });

  it('turns HTTP authentication on off loopback and refuses to start with nobody to log in as', () => {
    const onLoopback = parseEdgestreamConfig({});
    assert.equal(httpAuthEnabled(onLoopback.http), false, 'the demo stays one command');
    assert.equal(httpSecurityOptions(onLoopback.http).auth.users, null);
    assert.deepEqual(onLoopback.http.allowedHosts, []);
    assert.equal(onLoopback.http.auth.metrics, 'open');
    assert.throws(
      () => parseEdgestreamConfig({ http: { listen: '0.0.0.0:8080' } }, 'edgestream.yaml'),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.key === 'http.auth.users' &&
        /0\.0\.0\.0:8080 is not a loopback address/.test(error.message) &&
        /edgestream http-user hash --password-stdin/.test(error.message),
    );
    assert.throws(
      () => parseEdgestreamConfig({ http: { auth: { enabled: true } } }),
      /http\.auth\.enabled is true/,
    );
    const open = parseEdgestreamConfig({ http: { listen: '0.0.0.0:8080', auth: { enabled: false } } });
    assert.equal(httpAuthEnabled(open.http), false);
    const token = newToken();
    const withToken = parseEdgestreamConfig({
      http: {
        listen: '0.0.0.0:8080',
        allowedHosts: ['edge-dc1.example.net'],
        auth: {
          tokens: [{ name: 'prometheus', role: 'viewer', tokenHash: token.tokenHash }],
          metrics: 'token',
        },
      },
    });
    assert.equal(httpSecurityOptions(withToken.http).auth.users?.bearer(token.token)?.name, 'prometheus');
    assert.equal(withToken.http.auth.sessionMaxLifetime, 12 * 60 * 60_000);
  });

  it('names the HTTP user, token or host entry that is wrong', () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { auth: { users: [{ name: 'ana', role: 'viewer', passwordHash: 'plain' }] } },
        /http\.auth\.users\.0\.passwordHash = "plain": expected scrypt/,
      ],
      [
        { auth: { users: [{ name: 'ana', role: 'root', passwordHash: 'x' }] } },
        /http\.auth\.users\.0\.role = "root"/,
      ],
      [
        { auth: { tokens: [{ name: 't', role: 'viewer', tokenHash: 'abc' }] } },
        /http\.auth\.tokens\.0\.tokenHash = "abc": expected sha256\$/,
      ],
      [{ auth: { enabled: 'yes' } }, /http\.auth\.enabled = "yes"/],
      [{ allowedHosts: ['http://x'] }, /http\.allowedHosts\.0 = "http:\/\/x": expected NAME or NAME:PORT/],
      [{ tls: { cert: 'c.pem' } }, /http\.tls\.key/],
      [{ auth: { metrics: 'token' } }, /http\.auth\.metrics = "token": token needs authentication on/],
    ];
    for (const [http, expected] of cases)
      assert.throws(() => parseEdgestreamConfig({ http }, 'edgestream.yaml'), expected);
  });

  it('resolves the TLS files against the config file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-config-'));
    try {
      const file = path.join(dir, 'edgestream.yaml');
      fs.writeFileSync(file, 'http:\n  tls: { cert: tls/cert.pem, key: /etc/edgestream/key.pem }\n');
      assert.deepEqual(loadEdgestreamConfig(file).http.tls, {
        cert: path.join(dir, 'tls', 'cert.pem'),
        key: '/etc/edgestream/key.pem',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the broker's listeners, TLS, SASL and ACL keys and the mirror's cloud security, files against the config file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-config-'));
    try {
      const file = path.join(dir, 'edgestream.yaml');
      fs.writeFileSync(
        file,
        [
          'broker:',
          '  listeners: [PLAINTEXT://127.0.0.1:9092, SASL_SSL://0.0.0.0:9093]',
          '  tls: { cert: tls/broker.pem, key: tls/broker.key, ca: tls/ca.pem, clientAuth: required }',
          '  sasl: { mechanisms: [SCRAM-SHA-512], maxReauthMs: 3600000 }',
          '  superUsers: [User:ops]',
          '  authorizer: true',
          'mirror:',
          '  target: [cloud:9093]',
          '  topics: cdn\\..*',
          '  prefix: ams1.',
          '  security:',
          '    protocol: SASL_SSL',
          '    tls: { ca: cloud-ca.pem }',
          '    sasl: { username: edge-ams1, passwordFile: secrets/cloud.password }',
          '',
        ].join('\n'),
      );
      const config = loadEdgestreamConfig(file);
      assert.deepEqual(config.broker.listeners, ['PLAINTEXT://127.0.0.1:9092', 'SASL_SSL://0.0.0.0:9093']);
      assert.deepEqual(config.broker.tls, {
        cert: path.join(dir, 'tls', 'broker.pem'),
        key: path.join(dir, 'tls', 'broker.key'),
        ca: path.join(dir, 'tls', 'ca.pem'),
        clientAuth: 'required',
      });
      assert.deepEqual(config.broker.sasl, { mechanisms: ['SCRAM-SHA-512'], maxReauthMs: 3_600_000 });
      assert.equal(config.broker.authorizer, true);
      assert.deepEqual(config.mirror?.security, {
        protocol: 'SASL_SSL',
        tls: { ca: path.join(dir, 'cloud-ca.pem') },
        sasl: {
          mechanism: 'SCRAM-SHA-512',
          username: 'edge-ams1',
          passwordFile: path.join(dir, 'secrets', 'cloud.password'),
        },
      });
      fs.writeFileSync(
        file,
        'mirror:\n  target: [cloud:9093]\n  topics: x\n  prefix: a.\n  security: { protocol: SASL_SSL }\n',
      );
      assert.throws(() => loadEdgestreamConfig(file), /mirror\.security.*sasl section/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the transaction settings from broker.transactions, with Kafka defaults, to the broker config', () => {
    const defaults = parseBrokerConfig({
      dataDir: '/tmp/x',
      ...brokerTransactionSettings(parseEdgestreamConfig({}).broker.transactions),
    });
    assert.deepEqual(
      [
        defaults.transactionMaxTimeoutMs,
        defaults.transactionAbortCheckIntervalMs,
        defaults.transactionalIdExpirationMs,
        defaults.maxTransactionalIds,
        defaults.producerIdExpirationMs,
      ],
      [900_000, 10_000, 604_800_000, 100_000, 86_400_000],
    );
    const set = parseEdgestreamConfig({
      broker: {
        transactions: {
          maxTimeout: '30m',
          abortCheckInterval: '5s',
          transactionalIdExpiration: '2d',
          maxTransactionalIds: 500,
          producerIdExpiration: 3_600_000,
        },
      },
    });
    const broker = parseBrokerConfig({
      dataDir: '/tmp/x',
      ...brokerTransactionSettings(set.broker.transactions),
    });
    assert.deepEqual(
      [
        broker.transactionMaxTimeoutMs,
        broker.transactionAbortCheckIntervalMs,
        broker.transactionalIdExpirationMs,
        broker.maxTransactionalIds,
        broker.producerIdExpirationMs,
      ],
      [1_800_000, 5_000, 172_800_000, 500, 3_600_000],
    );
  });

  it('accepts the documented example file', () => {
    const example = path.resolve(import.meta.dirname, '..', '..', '..', 'edgestream.example.yaml');
    const config = loadEdgestreamConfig(example);
    assert.equal(config.http.listen, '127.0.0.1:8080');
    assert.equal(config.notifiers.length, 2);
    assert.equal(config.broker.limits.connectionsMaxIdleMs, 600_000);
    assert.equal(config.broker.limits.groupMaxSize, 1_000);
    assert.equal(config.broker.transactions.maxTimeout, 900_000);
    assert.equal(config.broker.transactions.producerIdExpiration, 86_400_000);
  });
});
