import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { generate, type IConnackPacket, type Packet, parser } from 'mqtt-packet';
import pino from 'pino';
import { type EdgestreamConfigInput, parseEdgestreamConfig } from '../src/cli/config.js';
import { EdgestreamRuntime } from '../src/cli/runtime.js';
import { partitionForKey } from '../src/client/partitioner.js';
import { RemoteLogClient } from '../src/client/remote-client.js';
import type { ConsumedRecord } from '../src/client/types.js';
import { mqttSettingsSchema } from '../src/ingest/mqtt-config.js';
import { MqttListener } from '../src/ingest/mqtt-listener.js';
import {
  AclOperation,
  AclPermissionType,
  CredentialStore,
  makeScramCredential,
  PatternType,
  ResourceType,
  SCRAM_MIN_ITERATIONS,
} from '../src/security/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { Background, eventually, run, until } from './support/processes.js';
import { makeTestCertificates, type TestCertificates } from './support/tls-fixtures.js';

/**
 * The MQTT listener end to end: devices publish with Debian's mosquitto_pub and with MQTT.js (3.1.1 and 5),
 * records are read back with kcat (librdkafka) and the runtime's own client; what the listener does not do is
 * refused as each protocol version says; users, ACLs and hostile bytes.
 */

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));
const MAPPINGS = [{ filter: 'devices/+/telemetry', topic: 'mqtt.devices', key: '$2' }];
const PASSWORDS: Record<string, string> = { admin: 'admin-secret', alice: 'alice-secret', bob: 'bob-secret' };

async function startRuntime(
  overrides: Partial<EdgestreamConfigInput>,
  prepare: (brokerDataDir: string) => Promise<void> = async () => undefined,
): Promise<{ runtime: EdgestreamRuntime; dataDir: string; mqttPort: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-mqtt-'));
  await prepare(path.join(dataDir, 'broker'));
  const config = parseEdgestreamConfig({
    dataDir,
    broker: { listen: '127.0.0.1:0', defaultPartitions: 4 },
    monitor: { enabled: false },
    mqtt: { listen: '127.0.0.1:0', mappings: MAPPINGS },
    ...overrides,
  });
  const runtime = await EdgestreamRuntime.start(
    config,
    pino({ level: process.env.EDGESTREAM_TEST_LOG ?? 'silent' }),
  );
  return { runtime, dataDir, mqttPort: runtime.mqtt!.address().port };
}

interface KcatRecord {
  key: string;
  value: string;
  headers: string;
}

/** Every record of `topic`, read with kcat; headers as kcat prints them (k=v,k=v). */
async function kcat(runtime: EdgestreamRuntime, topic: string): Promise<KcatRecord[]> {
  const bootstrap = `127.0.0.1:${runtime.broker.kafkaAddress.port}`;
  const result = await run(
    'kcat',
    ['-b', bootstrap, '-C', '-t', topic, '-e', '-q', '-f', '%k\\t%s\\t%h\\n'],
    {
      timeoutMs: 30_000,
    },
  );
  assert.equal(result.status, 0, result.stderr);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [key, value, headers] = line.split('\t');
      return { key: key!, value: value!, headers: headers! };
    });
}

/** Every record of `topic` through the runtime's own client (any principal may read that way). */
async function readAll(runtime: EdgestreamRuntime, topic: string): Promise<ConsumedRecord[]> {
  const partitions = await runtime.client.partitionCount(topic);
  return runtime.client.fetch(
    Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })),
    { maxBytes: 16 * 1024 * 1024, maxWaitMs: 0 },
  );
}

async function mosquittoPub(port: number, args: string[]): Promise<void> {
  const result = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeoutMs: 20_000,
  });
  assert.equal(result.status, 0, `mosquitto_pub ${args.join(' ')}: ${result.stderr}`);
}

function connect(port: number, options: IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
}

/** A bare socket speaking MQTT through mqtt-packet: for what a well-behaved client library would not send. */
class RawClient {
  readonly packets: Packet[] = [];
  readonly closed: Promise<void>;
  connack: IConnackPacket | null = null;
  private constructor(
    private readonly socket: net.Socket,
    readonly version: 4 | 5,
  ) {
    const reader = parser({ protocolVersion: version });
    reader.on('packet', (packet) => this.packets.push(packet));
    socket.on('data', (chunk: Buffer) => reader.parse(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(
    port: number,
    version: 4 | 5,
    connectFields: Record<string, unknown> = {},
  ): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawClient(socket, version);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clientId: `raw-${Math.random().toString(36).slice(2)}`,
      clean: true,
      keepalive: 30,
      ...connectFields,
    });
    client.connack = await client.next('connack');
    return client;
  }

  send(packet: Packet): void {
    this.socket.write(generate(packet, { protocolVersion: this.version }));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async next<C extends Packet['cmd']>(cmd: C): Promise<Extract<Packet, { cmd: C }>> {
    let found: Packet | undefined;
    await until(
      () => {
        found = this.packets.find((packet) => packet.cmd === cmd);
        return found !== undefined;
      },
      10_000,
      `a ${cmd} packet`,
    );
    this.packets.splice(this.packets.indexOf(found!), 1);
    return found as Extract<Packet, { cmd: C }>;
  }

  async closedWithin(ms: number): Promise<boolean> {
    return Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
    ]);
  }

  end(): void {
    this.socket.destroy();
  }
}

describe('MQTT listener on a single node: mosquitto_pub, MQTT.js, kcat', { timeout: 180_000 }, () => {
  let runtime: EdgestreamRuntime;
  let dataDir: string;
  let port: number;

  before(async () => {
    ({ runtime, dataDir, mqttPort: port } = await startRuntime({}));
  });
  after(async () => {
    await runtime?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes mosquitto_pub publishes (3.1.1 and 5, QoS 0 and 1) keyed, with headers and user properties', async () => {
    for (const version of ['mqttv311', 'mqttv5']) {
      for (const qos of ['0', '1']) {
        await mosquittoPub(port, [
          '-V',
          version,
          '-q',
          qos,
          '-t',
          'devices/edge-7/telemetry',
          '-m',
          `${version}-q${qos}`,
        ]);
      }
    }
    await mosquittoPub(port, [
      '-V',
      'mqttv5',
      '-q',
      '1',
      '-t',
      'devices/edge-8/telemetry',
      '-m',
      'with-properties',
      '-D',
      'publish',
      'user-property',
      'site',
      'fra1',
    ]);
    await mosquittoPub(port, ['-V', 'mqttv311', '-q', '1', '-t', 'home/kitchen/temp', '-m', '21.5']);
    const records = await kcat(runtime, 'mqtt.devices');
    const edge7 = records.filter((record) => record.key === 'edge-7');
    // One key, one partition: in the order published.
    assert.deepEqual(
      edge7.map((record) => record.value),
      ['mqttv311-q0', 'mqttv311-q1', 'mqttv5-q0', 'mqttv5-q1'],
    );
    assert.deepEqual(
      edge7.map((record) => record.headers),
      ['0', '1', '0', '1'].map((qos) => `mqtt.topic=devices/edge-7/telemetry,mqtt.qos=${qos}`),
    );
    assert.deepEqual(
      records.filter((record) => record.key === 'edge-8'),
      [
        {
          key: 'edge-8',
          value: 'with-properties',
          headers: 'mqtt.topic=devices/edge-8/telemetry,mqtt.qos=1,site=fra1',
        },
      ],
    );
    assert.deepEqual(await kcat(runtime, 'mqtt.ingest'), [
      { key: 'home/kitchen/temp', value: '21.5', headers: 'mqtt.topic=home/kitchen/temp,mqtt.qos=1' },
    ]);
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`acknowledges MQTT.js ${protocolVersion === 5 ? '5' : '3.1.1'} QoS 1 publishes only once they are in the log`, async () => {
      const client = await connect(port, { protocolVersion, clientId: `mqttjs-v${protocolVersion}` });
      const edge = `mqttjs-${protocolVersion}`;
      const count = 200;
      try {
        await Promise.all(
          Array.from({ length: count }, (_, i) =>
            client.publishAsync(`devices/${edge}/telemetry`, `m-${i}`, {
              qos: 1,
              ...(protocolVersion === 5
                ? { properties: { userProperties: { seq: String(i), site: ['a', 'b'] } } }
                : {}),
            }),
          ),
        );
        // Every acknowledged publish is readable: PUBACK waited for the log.
        const written = (await readAll(runtime, 'mqtt.devices')).filter(
          (record) => record.key?.toString() === edge,
        );
        assert.deepEqual(
          written.map((record) => record.value?.toString()),
          Array.from({ length: count }, (_, i) => `m-${i}`),
        );
        const headers = written[3]!.headers.map((header) => `${header.key}=${header.value?.toString()}`);
        assert.deepEqual(
          headers,
          protocolVersion === 5
            ? [`mqtt.topic=devices/${edge}/telemetry`, 'mqtt.qos=1', 'seq=3', 'site=a', 'site=b']
            : [`mqtt.topic=devices/${edge}/telemetry`, 'mqtt.qos=1'],
        );
      } finally {
        await client.endAsync();
      }
    });
  }

  it('holds a client asking for no keepalive to the longest one (v5: Server Keep Alive)', async () => {
    const client = await RawClient.open(port, 5, { keepalive: 0 });
    assert.equal(client.connack?.properties?.serverKeepAlive, 65_535);
    client.end();
  });

  it('advertises what it supports in a v5 CONNACK and resolves topic aliases', async () => {
    const client = await RawClient.open(port, 5, { clientId: '', properties: { sessionExpiryInterval: 60 } });
    try {
      const { reasonCode, properties } = client.connack!;
      assert.equal(reasonCode, 0);
      assert.match(properties?.assignedClientIdentifier ?? '', /^edgestream-/);
      assert.deepEqual(
        {
          maximumQoS: properties?.maximumQoS,
          retainAvailable: properties?.retainAvailable,
          receiveMaximum: properties?.receiveMaximum,
          topicAliasMaximum: properties?.topicAliasMaximum,
          maximumPacketSize: properties?.maximumPacketSize,
          sessionExpiryInterval: properties?.sessionExpiryInterval,
        },
        {
          maximumQoS: 1,
          retainAvailable: false,
          receiveMaximum: 1000,
          topicAliasMaximum: 64,
          maximumPacketSize: 256 * 1024,
          sessionExpiryInterval: 0,
        },
      );
      client.send({
        cmd: 'publish',
        topic: 'devices/alias-1/telemetry',
        payload: Buffer.from('a'),
        qos: 1,
        messageId: 1,
        dup: false,
        retain: false,
        properties: { topicAlias: 3 },
      });
      client.send({
        cmd: 'publish',
        topic: '',
        payload: Buffer.from('b'),
        qos: 1,
        messageId: 2,
        dup: false,
        retain: false,
        properties: { topicAlias: 3 },
      });
      assert.equal((await client.next('puback')).messageId, 1);
      assert.equal((await client.next('puback')).messageId, 2);
      const written = (await readAll(runtime, 'mqtt.devices')).filter(
        (record) => record.key?.toString() === 'alias-1',
      );
      assert.deepEqual(
        written.map((record) => [record.value?.toString(), record.headers[0]!.value?.toString()]),
        [
          ['a', 'devices/alias-1/telemetry'],
          ['b', 'devices/alias-1/telemetry'],
        ],
      );
    } finally {
      client.end();
    }
  });

  it('refuses QoS 2, retained publishes and subscriptions as each version says', async () => {
    const v5 = await RawClient.open(port, 5);
    v5.send({
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: [
        { topic: 'devices/#', qos: 0 },
        { topic: 'a', qos: 1 },
      ],
    });
    assert.deepEqual((await v5.next('suback')).granted, [0x87, 0x87]);
    v5.send({
      cmd: 'publish',
      topic: 'devices/q2/telemetry',
      payload: Buffer.from('x'),
      qos: 2,
      messageId: 1,
      dup: false,
      retain: false,
    });
    assert.equal((await v5.next('disconnect')).reasonCode, 0x9b);
    assert.ok(await v5.closedWithin(5_000));

    const wildcard = await RawClient.open(port, 5);
    wildcard.send({
      cmd: 'publish',
      topic: 'devices/+/telemetry',
      payload: Buffer.from('x'),
      qos: 0,
      dup: false,
      retain: false,
    });
    assert.equal((await wildcard.next('disconnect')).reasonCode, 0x90, 'no wildcard in a topic name');
    assert.ok(await wildcard.closedWithin(5_000));

    const retained = await RawClient.open(port, 5);
    retained.send({
      cmd: 'publish',
      topic: 'devices/r/telemetry',
      payload: Buffer.from('x'),
      qos: 0,
      dup: false,
      retain: true,
    });
    assert.equal((await retained.next('disconnect')).reasonCode, 0x9a);
    assert.ok(await retained.closedWithin(5_000));

    const v3 = await RawClient.open(port, 4);
    v3.send({ cmd: 'subscribe', messageId: 8, subscriptions: [{ topic: 'devices/#', qos: 1 }] });
    assert.deepEqual((await v3.next('suback')).granted, [0x80]);
    v3.send({ cmd: 'pingreq' });
    await v3.next('pingresp');
    v3.send({
      cmd: 'publish',
      topic: 'devices/q2/telemetry',
      payload: Buffer.from('x'),
      qos: 2,
      messageId: 1,
      dup: false,
      retain: false,
    });
    assert.ok(await v3.closedWithin(5_000), 'a 3.1.1 QoS 2 publish closes the connection');
    assert.equal(
      (await readAll(runtime, 'mqtt.devices')).filter((record) =>
        ['q2', 'r'].includes(record.key?.toString() ?? ''),
      ).length,
      0,
    );
  });

  it('writes the will of a client that drops off, and not of one that disconnects', async () => {
    const will = (edge: string) => ({
      topic: `devices/${edge}/telemetry`,
      payload: Buffer.from(`${edge} gone`),
      qos: 1 as const,
      retain: false,
      properties: { userProperties: { reason: 'power' } },
    });
    const dropped = await connect(port, { protocolVersion: 5, clientId: 'will-1', will: will('will-1') });
    const polite = await connect(port, { protocolVersion: 5, clientId: 'will-2', will: will('will-2') });
    await polite.endAsync();
    dropped.stream.destroy();
    const wills = async () =>
      (await readAll(runtime, 'mqtt.devices')).filter((record) => record.key?.toString().startsWith('will-'));
    let written: ConsumedRecord[] = [];
    await eventually(
      async () => {
        written = await wills();
        return written.length > 0;
      },
      10_000,
      'the will record',
    );
    assert.deepEqual(
      written.map((record) => [
        record.value?.toString(),
        record.headers.map((header) => `${header.key}=${header.value?.toString()}`),
      ]),
      [
        [
          'will-1 gone',
          ['mqtt.topic=devices/will-1/telemetry', 'mqtt.qos=1', 'mqtt.will=true', 'reason=power'],
        ],
      ],
    );
    dropped.end(true);
  });

  it('disconnects a client silent for 1.5 times its keepalive (v5: DISCONNECT 0x8D)', async () => {
    const silent = await RawClient.open(port, 5, { keepalive: 1 });
    const openedAtMs = Date.now();
    assert.equal((await silent.next('disconnect')).reasonCode, 0x8d);
    assert.ok(await silent.closedWithin(5_000));
    const silentMs = Date.now() - openedAtMs;
    // 1.5 s of grace, checked every second.
    assert.ok(silentMs >= 1_500 && silentMs < 4_000, `closed after ${silentMs} ms`);
  });

  it('survives 500 connections of mutated packets (seeded), closing each and serving the next', async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const valid = (version: 4 | 5): Buffer[] =>
      (
        [
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: version,
            clientId: 'fuzz',
            clean: true,
            keepalive: 30,
            will: { topic: 'fuzz/will', payload: Buffer.from('w'), qos: 1, retain: false },
          },
          {
            cmd: 'publish',
            topic: 'fuzz/a',
            payload: Buffer.from('hello'),
            qos: 1,
            messageId: 3,
            dup: false,
            retain: false,
            ...(version === 5 ? { properties: { topicAlias: 2, userProperties: { a: 'b' } } } : {}),
          },
          { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }] },
          { cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a'] },
          { cmd: 'pingreq' },
        ] satisfies Packet[]
      ).map((packet) => generate(packet, { protocolVersion: version }));
    const mutated = (packet: Buffer) => {
      const bytes = Buffer.from(packet);
      for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      return bytes;
    };
    for (let round = 0; round < 500; round++) {
      const packets = valid(random() < 0.5 ? 4 : 5);
      const stream = [random() < 0.8 ? packets[0]! : mutated(packets[0]!)];
      for (let i = 0; i < 4; i++) {
        const packet = packets[1 + Math.floor(random() * (packets.length - 1))]!;
        stream.push(random() < 0.5 ? mutated(packet) : packet);
      }
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.end(Buffer.concat(stream));
    }
    await until(() => runtime.mqtt!.connectionCount === 0, 10_000, 'every fuzz connection closed');
    const client = await connect(port, { protocolVersion: 5 });
    await client.publishAsync('devices/after-fuzz/telemetry', 'served', { qos: 1 });
    await client.endAsync();
  });

  it('closes only the connection that sends malformed bytes or an oversize packet', async () => {
    const bystander = await connect(port, { protocolVersion: 5, clientId: 'bystander' });
    try {
      const garbage = await RawClient.open(port, 4);
      // A PUBLISH with QoS bits 11, which no MQTT packet may have.
      garbage.write(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]));
      assert.ok(await garbage.closedWithin(5_000), 'malformed: closed');

      const oversize = await RawClient.open(port, 5);
      // A PUBLISH announcing 10 MiB (remaining length 0x80 0x80 0x80 0x05): refused from its header alone.
      oversize.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x05, 0x00, 0x01, 0x61]));
      assert.equal((await oversize.next('disconnect')).reasonCode, 0x95);
      assert.ok(await oversize.closedWithin(5_000), 'oversize: closed');

      // A CONNECT for protocol level 6: CONNACK 0x01 in the 3.1.1 form, then closed ([MQTT-3.1.2-2]).
      const future = net.connect(port, '127.0.0.1');
      future.on('error', () => undefined);
      const answer: Buffer[] = [];
      future.on('data', (chunk: Buffer) => answer.push(chunk));
      future.write(
        Buffer.from([
          0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x1e, 0x00, 0x01, 0x61,
        ]),
      );
      await new Promise((resolve) => future.once('close', resolve));
      assert.deepEqual([...Buffer.concat(answer)], [0x20, 0x02, 0x00, 0x01]);

      const runaway = net.connect(port, '127.0.0.1');
      runaway.on('error', () => undefined);
      // A remaining length with a fifth continuation byte, before any CONNECT.
      runaway.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]));
      await new Promise((resolve) => runaway.once('close', resolve));

      await bystander.publishAsync('devices/bystander/telemetry', 'still here', { qos: 1 });
      const written = (await readAll(runtime, 'mqtt.devices')).filter(
        (record) => record.key?.toString() === 'bystander',
      );
      assert.deepEqual(
        written.map((record) => record.value?.toString()),
        ['still here'],
      );
      const metrics = await runtime.mqtt!.metrics.registry.metrics();
      assert.match(metrics, /edgestream_mqtt_connections_closed_total\{reason="malformed"\} [1-9]/);
      assert.match(metrics, /edgestream_mqtt_connections_closed_total\{reason="packet_too_large"\} [1-9]/);
      assert.match(metrics, /edgestream_mqtt_messages_total\{qos="1",result="accepted"\} [1-9]/);
      assert.match(metrics, /edgestream_mqtt_publish_to_ack_seconds_count [1-9]/);
    } finally {
      await bystander.endAsync();
    }
  });
});

describe('MQTT listener over TLS', { timeout: 120_000 }, () => {
  let certificates: TestCertificates;
  let runtime: EdgestreamRuntime;
  let dataDir: string;
  let port: number;

  before(async () => {
    certificates = await makeTestCertificates();
    ({
      runtime,
      dataDir,
      mqttPort: port,
    } = await startRuntime({
      mqtt: {
        listen: '127.0.0.1:0',
        mappings: MAPPINGS,
        tls: { cert: certificates.serverCertFile, key: certificates.serverKeyFile },
      },
    }));
  });
  after(async () => {
    await runtime?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    certificates?.remove();
  });

  it('takes publishes from mosquitto_pub and MQTT.js over TLS', async () => {
    await mosquittoPub(port, [
      '--cafile',
      certificates.caFile,
      '-V',
      'mqttv5',
      '-q',
      '1',
      '-t',
      'devices/tls-1/telemetry',
      '-m',
      'over-tls',
    ]);
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      ca: fs.readFileSync(certificates.caFile),
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    await client.publishAsync('devices/tls-2/telemetry', 'mqttjs-over-tls', { qos: 1 });
    await client.endAsync();
    assert.deepEqual(
      (await kcat(runtime, 'mqtt.devices')).map((record) => [record.key, record.value]).sort(),
      [
        ['tls-1', 'over-tls'],
        ['tls-2', 'mqttjs-over-tls'],
      ],
    );
  });
});

describe("MQTT listener with the broker's users and ACLs", { timeout: 180_000 }, () => {
  let runtime: EdgestreamRuntime;
  let dataDir: string;
  let port: number;

  before(async () => {
    ({
      runtime,
      dataDir,
      mqttPort: port,
    } = await startRuntime(
      {
        broker: {
          listeners: ['SASL_PLAINTEXT://127.0.0.1:0', 'PLAINTEXT://127.0.0.1:0'],
          authorizer: true,
          superUsers: ['User:admin'],
          defaultPartitions: 2,
        },
      },
      async (brokerDataDir) => {
        fs.mkdirSync(brokerDataDir, { recursive: true });
        const users = CredentialStore.open(brokerDataDir);
        for (const [user, password] of Object.entries(PASSWORDS)) {
          users.upsert(
            user,
            'SCRAM-SHA-512',
            await makeScramCredential('SCRAM-SHA-512', password, SCRAM_MIN_ITERATIONS),
          );
        }
      },
    ));
    const sasl = runtime.broker.listenerAddresses.get('SASL_PLAINTEXT')!;
    const admin = new Kafka({
      clientId: 'mqtt-acl-admin',
      brokers: [`127.0.0.1:${sasl.port}`],
      sasl: { mechanism: 'scram-sha-512', username: 'admin', password: PASSWORDS.admin! },
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      await admin.createAcls({
        acl: [
          {
            resourceType: ResourceType.TOPIC,
            resourceName: 'mqtt.devices',
            resourcePatternType: PatternType.LITERAL,
            principal: 'User:alice',
            host: '*',
            operation: AclOperation.WRITE,
            permissionType: AclPermissionType.ALLOW,
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
  });
  after(async () => {
    await runtime?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes for a user the ACLs allow and refuses one they do not (v5: PUBACK 0x87; 3.1.1: closed)', async () => {
    const alice = await connect(port, { protocolVersion: 5, username: 'alice', password: PASSWORDS.alice! });
    await alice.publishAsync('devices/alice-1/telemetry', 'allowed', { qos: 1 });
    await alice.endAsync();
    const bob = await connect(port, { protocolVersion: 5, username: 'bob', password: PASSWORDS.bob! });
    await assert.rejects(
      bob.publishAsync('devices/bob-1/telemetry', 'refused', { qos: 1 }),
      (error: { code?: number }) => {
        assert.equal(error.code, 0x87);
        return true;
      },
    );
    await bob.endAsync();
    const bob3 = await RawClient.open(port, 4, { username: 'bob', password: Buffer.from(PASSWORDS.bob!) });
    bob3.send({
      cmd: 'publish',
      topic: 'devices/bob-2/telemetry',
      payload: Buffer.from('refused'),
      qos: 1,
      messageId: 1,
      dup: false,
      retain: false,
    });
    assert.ok(await bob3.closedWithin(5_000), 'a refused 3.1.1 publish closes the connection');
    assert.deepEqual(
      (await readAll(runtime, 'mqtt.devices')).map((record) => [
        record.key?.toString(),
        record.value?.toString(),
      ]),
      [['alice-1', 'allowed']],
    );
  });

  it('refuses a wrong password and a missing login with the right CONNACK codes, throttled per address', async () => {
    await assert.rejects(connect(port, { protocolVersion: 4, username: 'alice', password: 'wrong' }), {
      code: 0x04,
    });
    await assert.rejects(connect(port, { protocolVersion: 5, username: 'alice', password: 'wrong' }), {
      code: 0x86,
    });
    await assert.rejects(connect(port, { protocolVersion: 4 }), { code: 0x05 });
    await assert.rejects(connect(port, { protocolVersion: 5 }), { code: 0x87 });
    await assert.rejects(connect(port, { protocolVersion: 4, username: 'bob', password: 'wrong' }), {
      code: 0x04,
    });
    // A failed login is answered only after the wait it earned its address (doubling from 100 ms; 0.8 s for
    // this fourth failure in a row): a login from that address meanwhile is refused without its password
    // being checked (v5: 0x9F).
    const failing = assert.rejects(
      connect(port, { protocolVersion: 5, username: 'alice', password: 'wrong' }),
      {
        code: 0x86,
      },
    );
    const failures = async () =>
      (await runtime.mqtt!.metrics.registry.metrics()).includes(
        'edgestream_mqtt_login_failures_total{reason="bad_credentials"} 4',
      );
    const deadline = Date.now() + 10_000;
    while (!(await failures())) {
      assert.ok(Date.now() < deadline, 'the fourth failure is counted');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await assert.rejects(
      connect(port, { protocolVersion: 5, username: 'alice', password: PASSWORDS.alice! }),
      {
        code: 0x9f,
      },
    );
    await failing;
    const alice = await connect(port, { protocolVersion: 5, username: 'alice', password: PASSWORDS.alice! });
    await alice.endAsync();
    const metrics = await runtime.mqtt!.metrics.registry.metrics();
    assert.match(metrics, /edgestream_mqtt_login_failures_total\{reason="bad_credentials"\} 4/);
    assert.match(metrics, /edgestream_mqtt_login_failures_total\{reason="no_credentials"\} 2/);
    assert.match(metrics, /edgestream_mqtt_login_failures_total\{reason="throttled"\} 1/);
  });
});

describe('MQTT listener writing through a RemoteLogClient, as on a cluster node', {
  timeout: 120_000,
}, () => {
  let broker: RunningBroker;
  let client: RemoteLogClient;
  let listener: MqttListener;

  before(async () => {
    broker = await startBroker({ defaultPartitions: 3 });
    client = new RemoteLogClient({ bootstrapBrokers: [broker.bootstrap], clientId: 'mqtt-remote' });
    listener = await MqttListener.start({
      host: '127.0.0.1',
      port: 0,
      settings: mqttSettingsSchema.parse({ mappings: MAPPINGS }),
      client,
      doors: broker.broker.doors,
      newTopicPartitions: 3,
      logger: pino({ level: 'silent' }),
    });
  });
  after(async () => {
    await listener?.close();
    await client?.close();
    await broker?.stop();
  });

  it('closes connections past maxConnections as they arrive', async () => {
    const small = await MqttListener.start({
      host: '127.0.0.1',
      port: 0,
      settings: mqttSettingsSchema.parse({ limits: { maxConnections: 2 } }),
      client,
      doors: broker.broker.doors,
      newTopicPartitions: 1,
      logger: pino({ level: 'silent' }),
    });
    try {
      const port = small.address().port;
      const held = [await RawClient.open(port, 4), await RawClient.open(port, 5)];
      const third = net.connect(port, '127.0.0.1');
      third.on('error', () => undefined);
      await new Promise((resolve) => third.once('close', resolve));
      assert.match(
        await small.metrics.registry.metrics(),
        /edgestream_mqtt_connections_closed_total\{reason="connection_limit"\} 1/,
      );
      for (const client of held) client.end();
    } finally {
      await small.close();
    }
  });

  it('acknowledges QoS 1 publishes once the Kafka produce (acks=all) is acknowledged', async () => {
    const mqttClient = await connect(listener.address().port, { protocolVersion: 5 });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        mqttClient.publishAsync(`devices/remote-${i % 5}/telemetry`, `r-${i}`, { qos: 1 }),
      ),
    );
    await mqttClient.endAsync();
    const bootstrap = broker.bootstrap;
    const result = await run(
      'kcat',
      ['-b', bootstrap, '-C', '-t', 'mqtt.devices', '-e', '-q', '-f', '%p %k %s\\n'],
      {
        timeoutMs: 30_000,
      },
    );
    const records = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '));
    assert.equal(records.length, 50);
    for (const [partition, key] of records) {
      assert.equal(
        Number(partition),
        partitionForKey(Buffer.from(key!), 3),
        `${key} on the default partitioner's partition`,
      );
    }
    assert.deepEqual(
      records.filter(([, key]) => key === 'remote-2').map(([, , value]) => value),
      ['r-2', 'r-7', 'r-12', 'r-17', 'r-22', 'r-27', 'r-32', 'r-37', 'r-42', 'r-47'],
    );
  });
});

describe('edgestream start --mqtt-port', { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-mqtt-start-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("overrides the mqtt: section's port, and /metrics serves the MQTT metrics with the others", async () => {
    const file = path.join(dir, 'edgestream.yaml');
    fs.writeFileSync(
      file,
      [
        'dataDir: state',
        'broker: { listen: 127.0.0.1:0 }',
        'http: { listen: 127.0.0.1:0 }',
        'notifiers: []',
        'mqtt: { listen: 127.0.0.1:0 }',
        '',
      ].join('\n'),
    );
    const mqttPort = await freePort();
    const server = new Background(
      'node',
      [bin, 'start', '--config', file, '--mqtt-port', String(mqttPort)],
      60_000,
    );
    try {
      await until(() => server.stdout.includes('edgestream started'), 30_000, 'the started log line');
      const started = JSON.parse(
        server.stdout.split('\n').find((line) => line.includes('edgestream started'))!,
      );
      assert.deepEqual(started.mqtt, { host: '127.0.0.1', port: mqttPort });
      await mosquittoPub(mqttPort, ['-q', '1', '-t', 'sensors/1', '-m', 'hello']);
      const metrics = await (await fetch(`http://${started.http.host}:${started.http.port}/metrics`)).text();
      assert.match(metrics, /edgestream_mqtt_messages_total\{qos="1",result="accepted"\} 1/);
      assert.match(metrics, /edgestream_broker_connections/);
    } finally {
      await server.stop('SIGTERM');
    }
    assert.equal(await server.exited, 0);
  });
});

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address !== 'string');
  return address.port;
}
