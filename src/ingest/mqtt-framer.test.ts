import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate } from 'mqtt-packet';
import { MqttFramer } from './mqtt-framer.js';

const publish = (payloadBytes: number) =>
  generate({
    cmd: 'publish',
    topic: 'a/b',
    payload: Buffer.alloc(payloadBytes, 1),
    qos: 1,
    messageId: 9,
    dup: false,
    retain: false,
  });

/** The packets `framer` cuts from `chunks`, and the problem it reports, if any. */
function cut(framer: MqttFramer, chunks: Buffer[]): { packets: Buffer[]; problem: string | null } {
  const packets: Buffer[] = [];
  for (const chunk of chunks) {
    const problem = framer.push(chunk, (packet) => {
      packets.push(Buffer.from(packet));
      return true;
    });
    if (problem !== null) return { packets, problem };
  }
  return { packets, problem: null };
}

describe('MqttFramer', () => {
  it('cuts packets however the stream is split: together, byte by byte, across a long remaining length', () => {
    const packets = [publish(10), generate({ cmd: 'pingreq' }), publish(20_000), publish(0)];
    const stream = Buffer.concat(packets);
    assert.deepEqual(cut(new MqttFramer(64 * 1024), [stream]).packets, packets);
    const bytes = [...stream].map((byte) => Buffer.from([byte]));
    assert.deepEqual(cut(new MqttFramer(64 * 1024), bytes).packets, packets);
    const thirds = [stream.subarray(0, 7), stream.subarray(7, 15_000), stream.subarray(15_000)];
    assert.deepEqual(cut(new MqttFramer(64 * 1024), thirds).packets, packets);
  });

  it('refuses a packet over the limit from its header alone, and a remaining length of five bytes', () => {
    const big = publish(5_000);
    assert.deepEqual(cut(new MqttFramer(4_096), [big.subarray(0, 3)]), {
      packets: [],
      problem: 'packet_too_large',
    });
    assert.deepEqual(cut(new MqttFramer(4_096), [Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])]), {
      packets: [],
      problem: 'malformed',
    });
  });

  it('stops when told to: the rest of the read is not handed on', () => {
    const framer = new MqttFramer(1024);
    let seen = 0;
    framer.push(Buffer.concat([publish(1), publish(2), publish(3)]), () => {
      seen++;
      return false;
    });
    assert.equal(seen, 1);
  });
});
