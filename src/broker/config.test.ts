import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBrokerConfig } from './config.js';

describe('broker connection limits config', () => {
  it('defaults to Kafka values: 100 MiB of request buffers, connections idle for 10 minutes closed', () => {
    const config = parseBrokerConfig({ dataDir: '/tmp/x' });
    assert.equal(config.maxRequestBufferBytesTotal, 100 * 1024 * 1024);
    assert.equal(config.connectionsMaxIdleMs, 600_000);
  });

  it('refuses a request buffer budget smaller than the largest request, naming both', () => {
    assert.throws(
      () =>
        parseBrokerConfig({
          dataDir: '/tmp/x',
          maxRequestBytes: 2 * 1024 * 1024,
          maxRequestBufferBytesTotal: 1024 * 1024,
        }),
      /maxRequestBufferBytesTotal=1048576: expected at least maxRequestBytes \(2097152\)/,
    );
    assert.throws(
      () => parseBrokerConfig({ dataDir: '/tmp/x', connectionsMaxIdleMs: 0 }),
      /connectionsMaxIdleMs=0/,
    );
  });
});

describe('broker authorizer config', () => {
  it("is off by default, and denies what no ACL names once on (Kafka's defaults)", () => {
    const config = parseBrokerConfig({ dataDir: '/tmp/x' });
    assert.equal(config.authorizer, false);
    assert.equal(config.allowEveryoneIfNoAclFound, false);
    assert.equal(config.maxAcls, 10_000);
  });

  it('is accepted in a cluster, whose brokers share their ACLs in ZooKeeper', () => {
    const config = parseBrokerConfig({
      dataDir: '/tmp/x',
      authorizer: true,
      cluster: { zookeeper: '127.0.0.1:2181' },
    });
    assert.equal(config.authorizer, true);
  });
});
