// Real clients written by others against secured listeners: SASL_SSL with SCRAM-SHA-512 (kcat, kafkajs,
// @platformatic/kafka, kafka-python, confluent-kafka), mutual TLS on an SSL listener, a wrong password, a
// client without a certificate, and a server certificate renewed while the broker runs.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import {
  Consumer,
  type Message,
  Producer,
  type ProducerOptions,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { certificatePrincipal } from '../src/security/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { eventually, run, until } from './support/processes.js';
import { makeTestCertificates, type TestCertificates } from './support/tls-fixtures.js';

const PYTHON = '/usr/bin/python3';
const pythonClient = fileURLToPath(new URL('../../test/python/secure_client.py', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const USER = 'alice';
const PASSWORD = 'correct horse battery staple';
const RECORDS = 40;

/** How a @platformatic/kafka client reaches a secured listener. */
type SecuredConnection = Pick<
  ProducerOptions<string, string, string, string>,
  'bootstrapBrokers' | 'tls' | 'sasl'
>;

describe('secured listeners with real clients', { timeout: 600_000 }, () => {
  let certs: TestCertificates;
  let broker: RunningBroker;
  let saslSsl: string;
  let mtls: string;

  before(async () => {
    certs = await makeTestCertificates();
    broker = await startBroker(
      {
        listeners: ['PLAINTEXT://127.0.0.1:0', 'SASL_SSL://127.0.0.1:0', 'SSL://127.0.0.1:0'],
        tls: {
          cert: certs.serverCertFile,
          key: certs.serverKeyFile,
          ca: certs.caFile,
          clientAuth: 'required',
        },
      },
      async (dataDir) => {
        const created = await run(
          process.execPath,
          [
            cli,
            'user',
            'create',
            USER,
            '--data-dir',
            dataDir,
            '--mechanism',
            'SCRAM-SHA-512',
            '--password-stdin',
          ],
          { input: `${PASSWORD}\n` },
        );
        assert.equal(created.status, 0, created.stderr);
      },
    );
    saslSsl = `127.0.0.1:${broker.broker.listenerAddresses.get('SASL_SSL')!.port}`;
    mtls = `127.0.0.1:${broker.broker.listenerAddresses.get('SSL')!.port}`;
  });
  after(async () => {
    await broker?.stop();
    certs?.remove();
  });

  /** What the group has committed over all partitions of its topic, as the broker holds it. */
  const committed = (group: string) =>
    broker.broker.groups
      .coordinatorOf(group)!
      .fetchOffsets(group, null)
      .reduce((sum, entry) => sum + entry.offset, 0);

  const counter = async (name: string, labels: Record<string, string>) => {
    const metric = await broker.broker.metrics.registry.getSingleMetric(name)?.get();
    const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return value?.value ?? 0;
  };

  const kcatSasl = (password: string) => [
    '-X',
    'security.protocol=SASL_SSL',
    '-X',
    'sasl.mechanisms=SCRAM-SHA-512',
    '-X',
    `sasl.username=${USER}`,
    '-X',
    `sasl.password=${password}`,
    '-X',
    `ssl.ca.location=${certs.caFile}`,
  ];
  const kcatMtls = () => [
    '-X',
    'security.protocol=SSL',
    '-X',
    `ssl.ca.location=${certs.caFile}`,
    '-X',
    `ssl.certificate.location=${certs.clientCertFile}`,
    '-X',
    `ssl.key.location=${certs.clientKeyFile}`,
  ];

  async function kcatRoundTrip(bootstrap: string, security: string[], name: string): Promise<void> {
    const lines = Array.from({ length: RECORDS }, (_, i) => `k${i % 7}:v${i}`).join('\n');
    const produced = await run('kcat', ['-b', bootstrap, ...security, '-t', name, '-K', ':', '-P'], {
      input: `${lines}\n`,
      timeoutMs: 60_000,
    });
    assert.equal(produced.status, 0, produced.stderr);
    const consumed = await run(
      'kcat',
      [
        '-b',
        bootstrap,
        ...security,
        '-G',
        `${name}-group`,
        name,
        '-e',
        '-q',
        '-X',
        'auto.offset.reset=earliest',
        '-f',
        '%s\\n',
      ],
      { timeoutMs: 90_000 },
    );
    assert.equal(consumed.status, 0, consumed.stderr);
    assert.equal(consumed.stdout.trim().split('\n').length, RECORDS, consumed.stderr);
    await until(() => committed(`${name}-group`) === RECORDS, 30_000, 'kcat group commit');
  }

  async function kafkajsRoundTrip(kafka: Kafka, name: string): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: name,
      acks: -1,
      messages: Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` })),
    });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `${name}-group` });
    const seen = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topic: name, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value!.toString());
      },
    });
    try {
      await until(() => seen.size === RECORDS, 60_000, 'kafkajs reads every record');
      await until(() => committed(`${name}-group`) === RECORDS, 30_000, 'kafkajs group commit');
    } finally {
      await consumer.disconnect();
    }
  }

  async function platformaticRoundTrip(options: SecuredConnection, name: string): Promise<void> {
    const base = { clientId: 'platformatic-secure', autocreateTopics: true, ...options };
    const producer = new Producer({ ...base, serializers: stringSerializers });
    try {
      await producer.send({
        messages: Array.from({ length: RECORDS }, (_, i) => ({
          topic: name,
          key: `k${i % 7}`,
          value: `v${i}`,
        })),
      });
    } finally {
      await producer.close();
    }
    const consumer = new Consumer({
      ...base,
      groupId: `${name}-group`,
      deserializers: stringDeserializers,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
    });
    const seen = new Set<string>();
    const stream = await consumer.consume({
      topics: [name],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: 100,
    });
    stream.on('data', (message: Message<string, string, string, string>) => seen.add(message.value));
    try {
      await until(() => seen.size === RECORDS, 60_000, 'platformatic reads every record');
      await until(() => committed(`${name}-group`) === RECORDS, 30_000, 'platformatic group commit');
    } finally {
      await stream.close();
      await consumer.close();
    }
  }

  async function pythonRoundTrip(
    client: 'kafka-python' | 'confluent',
    bootstrap: string,
    security: object,
    name: string,
  ) {
    const result = await run(
      PYTHON,
      [
        pythonClient,
        client,
        bootstrap,
        JSON.stringify(security),
        'roundtrip',
        name,
        `${name}-group`,
        String(RECORDS),
      ],
      { timeoutMs: 150_000 },
    );
    assert.equal(result.status, 0, result.stderr.slice(-2000));
    assert.deepEqual(JSON.parse(result.stdout.trim().split('\n').at(-1)!), {
      read: RECORDS,
      committed: RECORDS,
    });
    assert.equal(committed(`${name}-group`), RECORDS);
  }

  const kafkajs = (password: string) =>
    new Kafka({
      clientId: 'kafkajs-secure',
      brokers: [saslSsl],
      ssl: { ca: [fs.readFileSync(certs.caFile, 'utf8')] },
      sasl: { mechanism: 'scram-sha-512', username: USER, password },
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
  const platformaticSasl = (password: string) => ({
    bootstrapBrokers: [saslSsl],
    tls: { ca: fs.readFileSync(certs.caFile) },
    sasl: { mechanism: 'SCRAM-SHA-512' as const, username: USER, password },
  });
  const pythonSasl = (password: string) => ({
    protocol: 'SASL_SSL',
    mechanism: 'SCRAM-SHA-512',
    user: USER,
    password,
    ca: certs.caFile,
  });
  const pythonMtls = () => ({
    protocol: 'SSL',
    ca: certs.caFile,
    cert: certs.clientCertFile,
    key: certs.clientKeyFile,
  });

  describe('SASL_SSL with SCRAM-SHA-512: produce, consume in a group, commit', () => {
    it('kcat', () => kcatRoundTrip(saslSsl, kcatSasl(PASSWORD), 'scram-kcat'));
    it('kafkajs', () => kafkajsRoundTrip(kafkajs(PASSWORD), 'scram-kafkajs'));
    it('@platformatic/kafka', () => platformaticRoundTrip(platformaticSasl(PASSWORD), 'scram-platformatic'));
    it('python3-kafka', () =>
      pythonRoundTrip('kafka-python', saslSsl, pythonSasl(PASSWORD), 'scram-kafka-python'));
    it('python3-confluent-kafka', () =>
      pythonRoundTrip('confluent', saslSsl, pythonSasl(PASSWORD), 'scram-confluent'));
  });

  describe('mutual TLS on an SSL listener', () => {
    it('a client certificate names the principal as Kafka does (subject, most specific first)', () => {
      const subject = new X509Certificate(fs.readFileSync(certs.clientCertFile)).subject;
      assert.equal(certificatePrincipal(subject), certs.clientPrincipal);
    });
    it('kcat', () => kcatRoundTrip(mtls, kcatMtls(), 'mtls-kcat'));
    it('kafkajs', () =>
      kafkajsRoundTrip(
        new Kafka({
          clientId: 'kafkajs-mtls',
          brokers: [mtls],
          ssl: {
            ca: [fs.readFileSync(certs.caFile, 'utf8')],
            cert: fs.readFileSync(certs.clientCertFile, 'utf8'),
            key: fs.readFileSync(certs.clientKeyFile, 'utf8'),
          },
          logLevel: logLevel.NOTHING,
        }),
        'mtls-kafkajs',
      ));
    it('@platformatic/kafka', () =>
      platformaticRoundTrip(
        {
          bootstrapBrokers: [mtls],
          tls: {
            ca: fs.readFileSync(certs.caFile),
            cert: fs.readFileSync(certs.clientCertFile),
            key: fs.readFileSync(certs.clientKeyFile),
          },
        },
        'mtls-platformatic',
      ));
    it('python3-kafka', () => pythonRoundTrip('kafka-python', mtls, pythonMtls(), 'mtls-kafka-python'));
    it('python3-confluent-kafka', () => pythonRoundTrip('confluent', mtls, pythonMtls(), 'mtls-confluent'));
    it('a client without a certificate is refused in the handshake, and it is counted', async () => {
      const before = await counter('edgestream_broker_tls_handshake_failures_total', { listener: 'SSL' });
      const listed = await run(
        'kcat',
        ['-b', mtls, '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.caFile}`, '-L', '-m', '5'],
        { timeoutMs: 30_000 },
      );
      assert.notEqual(listed.status, 0);
      assert.match(listed.stderr, /certificate required|handshake/i);
      await eventually(
        async () =>
          (await counter('edgestream_broker_tls_handshake_failures_total', { listener: 'SSL' })) > before,
        10_000,
        'the refused handshake counted',
      );
    });
  });

  it('the edgestream CLI produces and consumes over SASL_SSL (password from a file) and mutual TLS', async () => {
    const passwordFile = `${certs.dir}/cli-password`;
    fs.writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const sasl = ['--brokers', saslSsl, '--security-protocol', 'SASL_SSL', '--tls-ca', certs.caFile];
    const login = ['--sasl-username', USER, '--sasl-password-file', passwordFile];
    const produced = await run(
      process.execPath,
      [cli, 'produce', 'cli-secure', '--key-separator', ':', ...sasl, ...login],
      {
        input: 'edge-1:a\nedge-2:b\nedge-3:c\n',
        timeoutMs: 60_000,
      },
    );
    assert.equal(produced.status, 0, produced.stderr);
    const mutual = ['--brokers', mtls, '--security-protocol', 'SSL', '--tls-ca', certs.caFile];
    const consumed = await run(
      process.execPath,
      [
        cli,
        'consume',
        'cli-secure',
        '--from-beginning',
        '-n',
        '3',
        ...mutual,
        '--tls-cert',
        certs.clientCertFile,
        '--tls-key',
        certs.clientKeyFile,
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(consumed.status, 0, consumed.stderr);
    assert.deepEqual(
      consumed.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t').slice(2).join(':'))
        .sort(),
      ['edge-1:a', 'edge-2:b', 'edge-3:c'],
    );
    const missingLogin = await run(process.execPath, [cli, 'topic', 'list', ...sasl], { timeoutMs: 30_000 });
    assert.equal(missingLogin.status, 2);
    assert.match(missingLogin.stderr, /SASL_SSL need a sasl section/);
  });

  it('a renewed server certificate is served to new connections without a restart', async () => {
    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect(
          { host: '127.0.0.1', port: Number(saslSsl.split(':')[1]), ca: fs.readFileSync(certs.caFile) },
          () => {
            const peer = socket.getPeerX509Certificate();
            socket.destroy();
            resolve(peer!.serialNumber);
          },
        );
        socket.once('error', reject);
      });
    const first = await serial();
    await certs.renewServer();
    let now = first;
    await eventually(
      async () => {
        now = await serial();
        return now !== first;
      },
      30_000,
      'the renewed certificate in use',
    );
    await kcatRoundTrip(saslSsl, kcatSasl(PASSWORD), 'scram-after-renewal');
  });

  // Last: the failures make 127.0.0.1 wait before its next SASL login is checked.
  describe('a wrong password gets an authentication error, never a session', () => {
    it('each client is refused, told why where it reports it, and every refusal is counted', async () => {
      const before = await counter('edgestream_broker_authentications_total', {
        listener: 'SASL_SSL',
        result: 'invalid',
      });
      const listed = await run('kcat', ['-b', saslSsl, ...kcatSasl('wrong'), '-L', '-m', '5'], {
        timeoutMs: 30_000,
      });
      assert.notEqual(listed.status, 0);
      assert.match(listed.stderr, /SASL authentication error: authentication failed: invalid credentials/);
      const admin = kafkajs('wrong').admin();
      await assert.rejects(admin.connect(), /SASL SCRAM SHA512 authentication failed|authentication failed/i);
      await admin.disconnect();
      const producer = new Producer({
        clientId: 'platformatic-wrong',
        ...platformaticSasl('wrong'),
        retries: 0,
      });
      await assert.rejects(producer.metadata({ topics: [] }), (error: Error) => {
        const text = `${error.message} ${JSON.stringify((error as { errors?: unknown }).errors ?? '')} ${String(error.cause)}`;
        return /auth|SASL/i.test(text);
      });
      await producer.close();
      for (const client of ['kafka-python', 'confluent'] as const) {
        const result = await run(
          PYTHON,
          [pythonClient, client, saslSsl, JSON.stringify(pythonSasl('wrong')), 'metadata'],
          {
            timeoutMs: 60_000,
          },
        );
        const answer = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { error?: string };
        assert.ok(answer.error, `${client} listed topics with a wrong password: ${result.stdout}`);
      }
      const after = await counter('edgestream_broker_authentications_total', {
        listener: 'SASL_SSL',
        result: 'invalid',
      });
      assert.ok(after - before >= 5, `refusals counted: ${after - before}`);
    });
  });
});
