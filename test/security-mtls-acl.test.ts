// A client certificate's subject is the principal ACLs are written for: kcat with the certificate may write the
// topic an ACL names for that subject and is refused another one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../src/security/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run } from './support/processes.js';
import { makeTestCertificates, type TestCertificates } from './support/tls-fixtures.js';

describe('mutual TLS principals under ACLs', { timeout: 120_000 }, () => {
  let certs: TestCertificates;
  let broker: RunningBroker;

  before(async () => {
    certs = await makeTestCertificates();
    broker = await startBroker({
      listeners: ['PLAINTEXT://127.0.0.1:0', 'SSL://127.0.0.1:0'],
      tls: { cert: certs.serverCertFile, key: certs.serverKeyFile, ca: certs.caFile, clientAuth: 'required' },
      authorizer: true,
      // The test's own admin client comes over PLAINTEXT, where every client is User:ANONYMOUS.
      superUsers: ['User:ANONYMOUS'],
    });
  });
  after(async () => {
    await broker?.stop();
    certs?.remove();
  });

  it('allows what an ACL grants the certificate subject and refuses the rest', async () => {
    const admin = new Kafka({
      clientId: 'mtls-acl-admin',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic: 'edge.tcp', numPartitions: 1 },
          { topic: 'billing', numPartitions: 1 },
        ],
      });
      await admin.createAcls({
        acl: [AclOperation.WRITE, AclOperation.DESCRIBE].map((operation) => ({
          resourceType: ResourceType.TOPIC,
          resourceName: 'edge.',
          resourcePatternType: PatternType.PREFIXED,
          principal: certs.clientPrincipal,
          host: '*',
          operation,
          permissionType: AclPermissionType.ALLOW,
        })),
      });
    } finally {
      await admin.disconnect();
    }
    const mtls = `127.0.0.1:${broker.broker.listenerAddresses.get('SSL')!.port}`;
    const kcat = (topic: string) =>
      run(
        'kcat',
        [
          '-b',
          mtls,
          '-X',
          'security.protocol=SSL',
          '-X',
          `ssl.ca.location=${certs.caFile}`,
          '-X',
          `ssl.certificate.location=${certs.clientCertFile}`,
          '-X',
          `ssl.key.location=${certs.clientKeyFile}`,
          '-t',
          topic,
          '-P',
        ],
        { input: 'retransmits=3\n', timeoutMs: 60_000 },
      );
    const allowed = await kcat('edge.tcp');
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.equal(broker.broker.logs.partition('edge.tcp', 0).logEndOffset, 1);
    const refused = await kcat('billing');
    assert.match(refused.stderr, /Topic authorization failed/i);
    assert.equal(broker.broker.logs.partition('billing', 0).logEndOffset, 0);
  });
});
