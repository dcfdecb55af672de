import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadEdgestreamConfig, parseEdgestreamConfig } from '../cli/config.js';

describe('mqtt: section of edgestream.yaml', () => {
  it('is absent by default, and filled with the defaults when present', () => {
    assert.equal(parseEdgestreamConfig({}).mqtt, undefined);
    const mqtt = parseEdgestreamConfig({ mqtt: {} }).mqtt!;
    assert.equal(mqtt.listen, '127.0.0.1:1883');
    assert.equal(mqtt.allowAnonymous, true);
    assert.deepEqual(mqtt.mappings, []);
    assert.equal(mqtt.limits.maxPacketBytes, 256 * 1024);
    assert.equal(mqtt.limits.maxInflightMessages, 1000);
    assert.equal(mqtt.limits.connectTimeout, 10_000);
    assert.equal(mqtt.limits.maxKeepAliveSeconds, 65_535);
  });

  it('takes mappings with the key defaulting to the MQTT topic, and durations for timeouts', () => {
    const mqtt = parseEdgestreamConfig({
      mqtt: {
        listen: '0.0.0.0:8883',
        allowAnonymous: false,
        mappings: [
          { filter: 'devices/+/telemetry', topic: 'device.telemetry', key: '$2' },
          { filter: 'devices/#', topic: 'device.other' },
        ],
        limits: { connectTimeout: '5s', maxConnections: 50 },
      },
    }).mqtt!;
    assert.deepEqual(mqtt.mappings, [
      { filter: 'devices/+/telemetry', topic: 'device.telemetry', key: '$2' },
      { filter: 'devices/#', topic: 'device.other', key: 'topic' },
    ]);
    assert.equal(mqtt.limits.connectTimeout, 5_000);
    assert.equal(mqtt.limits.maxConnections, 50);
  });

  it('reads TLS files relative to the config file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-mqtt-config-'));
    try {
      const file = path.join(dir, 'edgestream.yaml');
      fs.writeFileSync(file, 'mqtt:\n  tls: { cert: certs/mqtt.pem, key: /etc/mqtt.key }\n');
      assert.deepEqual(loadEdgestreamConfig(file).mqtt?.tls, {
        cert: path.join(dir, 'certs', 'mqtt.pem'),
        key: '/etc/mqtt.key',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the key, the value and what was expected', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ listen: '1883' }, /mqtt\.listen = "1883": expected HOST:PORT/],
      [
        { mappings: [{ filter: 'a/#/b', topic: 't' }] },
        /mqtt\.mappings\.0\.filter = "a\/#\/b": '#' must be a whole level and the last one/,
      ],
      [
        { mappings: [{ filter: 'a/+', topic: 'bad topic' }] },
        /mqtt\.mappings\.0\.topic = "bad topic": .*expected 1-249 characters/,
      ],
      [
        { mappings: [{ filter: 'a/+', topic: 't', key: 'level2' }] },
        /mqtt\.mappings\.0\.key = "level2": expected 'topic' or a level/,
      ],
      [
        { mappings: [{ filter: 'a/+/#', topic: 't', key: '$3' }] },
        /mqtt\.mappings\.0\.key = "\$3": filter a\/\+\/# has 2 level/,
      ],
      [{ limits: { maxPacketBytes: 10 } }, /mqtt\.limits\.maxPacketBytes = 10:/],
      [{ limits: { maxClientIdBytes: 8 } }, /mqtt\.limits\.maxClientIdBytes = 8:/],
      [{ limits: { maxInFlight: 8 } }, /mqtt\.limits = .*Unrecognized key: "maxInFlight"/],
    ];
    for (const [mqtt, message] of cases) {
      assert.throws(
        () => parseEdgestreamConfig({ mqtt }),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
        `${JSON.stringify(mqtt)} should fail with ${message}`,
      );
    }
  });
});
