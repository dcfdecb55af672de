// SASL sessions on a listener with connections.max.reauth.ms (KIP-368): nothing but authentication is served
// before a login, a session that was not renewed ends the connection at its next request, and a client that
// re-authenticates (@platformatic/kafka does, at 80% of the lifetime it is told) keeps working on its
// connection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { Metadata } from '../src/protocol/apis/metadata.js';
import { SaslAuthenticate } from '../src/protocol/apis/sasl-authenticate.js';
import { SaslHandshake } from '../src/protocol/apis/sasl-handshake.js';
import { CredentialStore, makeScramCredential } from '../src/security/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { WireClient } from './support/wire-client.js';

const SESSION_MS = 1500;
const PASSWORD = 'renew-me-often';

describe('SASL session lifetime (KIP-368)', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  let port: number;

  before(async () => {
    broker = await startBroker(
      {
        listeners: ['PLAINTEXT://127.0.0.1:0', 'SASL_PLAINTEXT://127.0.0.1:0'],
        sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-512'], maxReauthMs: SESSION_MS },
      },
      async (dataDir) => {
        CredentialStore.open(dataDir).upsert(
          'alice',
          'SCRAM-SHA-512',
          await makeScramCredential('SCRAM-SHA-512', PASSWORD, 4096),
        );
      },
    );
    port = broker.broker.listenerAddresses.get('SASL_PLAINTEXT')!.port;
  });
  after(() => broker?.stop());

  const metadata = (client: WireClient) =>
    client.request(
      Metadata,
      9,
      { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
      { timeoutMs: 3000 },
    );

  const authentications = async (result: string) => {
    const metric = await broker.broker.metrics.registry
      .getSingleMetric('edgestream_broker_authentications_total')
      ?.get();
    return (
      metric?.values.find((v) => v.labels.listener === 'SASL_PLAINTEXT' && v.labels.result === result)
        ?.value ?? 0
    );
  };

  it('closes a connection that sends anything but authentication before logging in', async () => {
    const client = await WireClient.connect(port);
    const answer = metadata(client).then(
      () => 'answered',
      () => 'refused',
    );
    await client.closed;
    assert.equal(await answer, 'refused');
  });

  it('tells the session lifetime, serves until it ends, then closes the connection at the next request', async () => {
    const client = await WireClient.connect(port);
    const handshake = await client.request(SaslHandshake, 1, { mechanism: 'PLAIN' });
    assert.equal(handshake.errorCode, 0);
    assert.deepEqual(handshake.mechanisms, ['PLAIN', 'SCRAM-SHA-512']);
    const login = await client.request(SaslAuthenticate, 1, {
      authBytes: Buffer.from(`\u0000alice\u0000${PASSWORD}`),
    });
    assert.equal(login.errorCode, 0);
    const lifetime = Number(login.sessionLifetimeMs);
    assert.ok(lifetime > 0 && lifetime <= SESSION_MS, `session lifetime ${lifetime}`);
    // Served, and told the address of the listener it came through.
    assert.match(JSON.stringify((await metadata(client)).brokers), new RegExp(`"port":${port}\\b`));
    await new Promise((resolve) => setTimeout(resolve, SESSION_MS + 200));
    const late = metadata(client).then(
      () => 'answered',
      () => 'refused',
    );
    await client.closed;
    assert.equal(await late, 'refused');
  });

  it('a client that re-authenticates keeps producing on its connections past several session lifetimes', async () => {
    const before = { ok: await authentications('succeeded'), failed: await authentications('invalid') };
    const producer = new Producer({
      clientId: 'reauth-producer',
      bootstrapBrokers: [`127.0.0.1:${port}`],
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: PASSWORD },
      serializers: stringSerializers,
      autocreateTopics: true,
      retries: 0,
    });
    try {
      const deadline = Date.now() + 4 * SESSION_MS;
      let sent = 0;
      while (Date.now() < deadline) {
        await producer.send({ messages: [{ topic: 'reauth', key: 'k', value: `v${sent}` }] });
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(sent > 10, `${sent} sends`);
    } finally {
      await producer.close();
    }
    const renewed = (await authentications('succeeded')) - before.ok;
    assert.ok(renewed >= 3, `logins and renewals: ${renewed}`);
    assert.equal(await authentications('invalid'), before.failed);
  });
});
