// The mirror forwards from a plaintext edge to a cloud cluster reached over SASL_SSL with SCRAM-SHA-512, set
// up from the `mirror:` config section (password in a file), exactly once across a restart of the cloud.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import {
  Mirror,
  mirrorConfigSchema,
  mirrorOptionsFromConfig,
  PROVENANCE_HEADER,
} from '../src/mirror/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run, until } from './support/processes.js';
import { makeTestCertificates, type TestCertificates } from './support/tls-fixtures.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const PASSWORD = 'mirror-to-the-cloud';
const ROUND = 500;

describe('mirror to a SASL_SSL cloud', { timeout: 180_000 }, () => {
  let certs: TestCertificates;
  let edge: RunningBroker;
  let cloud: RunningBroker;
  let source: EmbeddedLogClient;
  let secretsDir: string;

  before(async () => {
    certs = await makeTestCertificates();
    secretsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-secret-'));
    fs.writeFileSync(path.join(secretsDir, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
    [edge, cloud] = await Promise.all([
      startBroker(),
      startBroker(
        {
          listeners: ['PLAINTEXT://127.0.0.1:0', 'SASL_SSL://127.0.0.1:0'],
          tls: { cert: certs.serverCertFile, key: certs.serverKeyFile },
        },
        async (dataDir) => {
          const created = await run(process.execPath, [
            cli,
            'user',
            'create',
            'edge-site-a',
            '--data-dir',
            dataDir,
            '--password-file',
            path.join(secretsDir, 'password'),
          ]);
          assert.equal(created.status, 0, created.stderr);
        },
      ),
    ]);
    source = new EmbeddedLogClient(edge.broker.embeddedLog());
  });

  after(async () => {
    await source?.close();
    await Promise.all([edge?.stop(), cloud?.stop()]);
    certs?.remove();
    fs.rmSync(secretsDir, { recursive: true, force: true });
  });

  it('forwards every record exactly once with its provenance, across a cloud restart', async () => {
    const saslSsl = () => `127.0.0.1:${cloud.broker.listenerAddresses.get('SASL_SSL')!.port}`;
    const config = mirrorConfigSchema.parse({
      target: [saslSsl()],
      topics: 'player\\..*',
      prefix: 'site-a.',
      security: {
        protocol: 'SASL_SSL',
        tls: { ca: certs.caFile },
        sasl: {
          mechanism: 'SCRAM-SHA-512',
          username: 'edge-site-a',
          passwordFile: path.join(secretsDir, 'password'),
        },
      },
    });
    await source.ensureTopic({ name: 'player.events', partitions: 2 });
    let produced = 0;
    const produceRound = async () => {
      await source.produce(
        Array.from({ length: ROUND }, (_, i) => ({
          topic: 'player.events',
          partition: i % 2,
          key: Buffer.from(`player-${(produced + i) % 31}`),
          value: Buffer.from(JSON.stringify({ n: produced + i })),
          timestamp: Date.now(),
        })),
      );
      produced += ROUND;
    };
    const mirror = new Mirror({
      ...mirrorOptionsFromConfig(
        config,
        { client: source, listTopics: async () => edge.broker.embeddedLog().logs.topicNames() },
        pino({ level: 'silent' }),
      ),
      resumeSettleMs: 100,
      backoffBaseMs: 100,
      backoffCapMs: 1_000,
      fetchMaxWaitMs: 100,
    });
    const forwarded = () => mirror.status().partitions.reduce((sum, link) => sum + link.forwardedUpTo, 0);
    await mirror.start();
    try {
      await produceRound();
      await until(() => forwarded() === produced, 60_000, 'round 1 forwarded');
      await Promise.all([produceRound(), cloud.restart()]);
      await produceRound();
      await until(() => forwarded() === produced, 90_000, 'every round forwarded after the cloud restart');
    } finally {
      await mirror.close();
    }

    const reader = new Kafka({
      clientId: 'cloud-reader',
      brokers: [saslSsl()],
      ssl: { ca: [fs.readFileSync(certs.caFile, 'utf8')] },
      sasl: { mechanism: 'scram-sha-512', username: 'edge-site-a', password: PASSWORD },
      logLevel: logLevel.NOTHING,
    }).consumer({ groupId: 'cloud-check' });
    const seen: number[] = [];
    const provenance = new Set<string>();
    await reader.connect();
    await reader.subscribe({ topic: 'site-a.player.events', fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        seen.push((JSON.parse(message.value!.toString()) as { n: number }).n);
        provenance.add(String(message.headers?.[PROVENANCE_HEADER]).split('/')[0]!);
      },
    });
    try {
      await until(() => seen.length >= produced, 60_000, 'the cloud topic read back');
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await reader.disconnect();
    }
    assert.equal(seen.length, produced, 'no record twice');
    assert.deepEqual(
      [...new Set(seen)].sort((a, b) => a - b),
      Array.from({ length: produced }, (_, i) => i),
      'every record once',
    );
    assert.ok(
      provenance.size > 0 && ![...provenance].includes('undefined'),
      'records carry their provenance',
    );
  });
});
