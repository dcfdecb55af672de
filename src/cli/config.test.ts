import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadEdgestreamConfig, parseEdgestreamConfig } from './config.js';

describe('edgestream config', () => {
  it('fills every default and the CDN rules when the file names none', () => {
    const config = parseEdgestreamConfig({});
    assert.equal(config.broker.listen, '127.0.0.1:9092');
    assert.deepEqual(
      config.alerting.rules.map((rule) => rule.name),
      ['RetransmitStorm', 'OriginErrors', 'SiteLatencyHigh', 'EdgeSilent'],
    );
    assert.deepEqual(
      config.monitor.windows.map((window) => [window.name, window.size, window.advance]),
      [
        ['1s', 1_000, undefined],
        ['10s', 10_000, undefined],
        ['1m', 60_000, 10_000],
      ],
    );
  });

  it('keeps default rules for a route-only alerting section, and none when rules: []', () => {
    assert.equal(
      parseEdgestreamConfig({ alerting: { route: { groupWait: '1s' } } }).alerting.rules.length,
      4,
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

  it('accepts the documented example file', () => {
    const example = path.resolve(import.meta.dirname, '..', '..', '..', 'edgestream.example.yaml');
    const config = loadEdgestreamConfig(example);
    assert.equal(config.http.listen, '127.0.0.1:8080');
    assert.equal(config.notifiers.length, 2);
    assert.equal(config.broker.limits.connectionsMaxIdleMs, 600_000);
    assert.equal(config.broker.limits.groupMaxSize, 1_000);
  });
});
