import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate, type IPublishPacket, parser } from 'mqtt-packet';
import { readPublishV311 } from './mqtt-publish.js';

/** What mqtt-packet's own parser reads from `bytes`, as a 3.1.1 server's parser would. */
function parsedByMqttPacket(bytes: Buffer): IPublishPacket {
  const reader = parser({ protocolVersion: 4 });
  let packet: IPublishPacket | null = null;
  reader.on('packet', (parsed) => {
    if (parsed.cmd === 'publish') packet = parsed;
  });
  reader.parse(bytes);
  assert.ok(packet);
  return packet;
}

describe('readPublishV311', () => {
  it('reads what mqtt-packet encodes the way mqtt-packet parses it: QoS 0 and 1, retain, long payloads', () => {
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
    for (const packet of cases) {
      const bytes = generate(packet);
      const expected = parsedByMqttPacket(bytes);
      const fields = readPublishV311(bytes);
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

  it('leaves to the general parser what is not a well-formed 3.1.1 PUBLISH', () => {
    assert.equal(readPublishV311(generate({ cmd: 'pingreq' })), null);
    // QoS bits 11.
    assert.equal(readPublishV311(Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61])), null);
    // A topic length past the packet's end.
    assert.equal(readPublishV311(Buffer.from([0x30, 0x03, 0x00, 0x09, 0x61])), null);
    // QoS 1 without room for a packet identifier, and with identifier 0.
    assert.equal(readPublishV311(Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61])), null);
    assert.equal(readPublishV311(Buffer.from([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00])), null);
  });
});
