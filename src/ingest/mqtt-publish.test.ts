import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate, type IPublishPacket, parser } from 'mqtt-packet';
import { readPublish } from './mqtt-publish.js';

/** What mqtt-packet's own parser reads from `bytes`, as a server's parser of that version would. */
function parsedByMqttPacket(bytes: Buffer, protocolVersion: 4 | 5): IPublishPacket {
  const reader = parser({ protocolVersion });
  let packet: IPublishPacket | null = null;
  reader.on('packet', (parsed) => {
    if (parsed.cmd === 'publish') packet = parsed;
  });
  reader.parse(bytes);
  assert.ok(packet);
  return packet;
}

describe('readPublish', () => {
  it('reads what mqtt-packet encodes the way mqtt-packet parses it: 3.1.1 and 5, QoS 0 and 1, retain, long payloads', () => {
    const cases: IPublishPacket[] = [
      {
        cmd: 'publish',
        topic: 'devices/edge-1/telemetry',
        payload: Buffer.from('{"rtt":12}'),
        qos: 0,
        dup: false,
        retain: false,
      },
      {
        cmd: 'publish',
        topic: 'a/ü/b',
        payload: Buffer.alloc(300, 7),
        qos: 1,
        messageId: 65_535,
        dup: true,
        retain: true,
      },
      {
        cmd: 'publish',
        topic: 't',
        payload: Buffer.alloc(0),
        qos: 1,
        messageId: 1,
        dup: false,
        retain: false,
      },
    ];
    for (const [packet, protocolVersion] of cases.flatMap((c) => [[c, 4] as const, [c, 5] as const])) {
      const bytes = generate(packet, { protocolVersion });
      const expected = parsedByMqttPacket(bytes, protocolVersion);
      const fields = readPublish(bytes, protocolVersion === 5);
      assert.ok(fields);
      assert.deepEqual(
        { ...fields, payload: Buffer.from(fields.payload) },
        {
          qos: expected.qos,
          retain: expected.retain,
          topic: expected.topic,
          payload: Buffer.from(expected.payload),
          ...(expected.qos > 0 ? { messageId: expected.messageId } : {}),
        },
      );
    }
  });

  it('leaves to the general parser a v5 PUBLISH with properties', () => {
    const bytes = generate(
      {
        cmd: 'publish',
        topic: 'a',
        payload: Buffer.from('x'),
        qos: 1,
        messageId: 2,
        dup: false,
        retain: false,
        properties: { topicAlias: 1 },
      },
      { protocolVersion: 5 },
    );
    assert.equal(readPublish(bytes, true), null);
  });

  it('leaves to the general parser what is not a well-formed PUBLISH', () => {
    assert.equal(readPublish(generate({ cmd: 'pingreq' }), false), null);
    // QoS bits 11.
    assert.equal(readPublish(Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61]), false), null);
    // A topic length past the packet's end.
    assert.equal(readPublish(Buffer.from([0x30, 0x03, 0x00, 0x09, 0x61]), false), null);
    // QoS 1 without room for a packet identifier, and with identifier 0.
    assert.equal(readPublish(Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61]), false), null);
    assert.equal(readPublish(Buffer.from([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00]), false), null);
  });
});
