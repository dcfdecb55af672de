import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Packet, parser } from 'mqtt-packet';
import { PubackQueue } from './mqtt-puback-queue.js';

/** The PUBACKs in `bytes` as mqtt-packet's parser reads them: [message id, reason code]. */
function pubacks(bytes: Buffer | null, protocolVersion: 4 | 5): Array<[number, number]> {
  const reader = parser({ protocolVersion });
  const packets: Packet[] = [];
  reader.on('packet', (packet) => packets.push(packet));
  if (bytes) reader.parse(bytes);
  return packets.map((packet) => {
    assert.equal(packet.cmd, 'puback');
    return [packet.messageId ?? -1, packet.cmd === 'puback' ? (packet.reasonCode ?? 0) : -1];
  });
}

describe('PubackQueue', () => {
  it('sends PUBACKs in arrival order however the log settles them', () => {
    const latencies: number[] = [];
    const queue = new PubackQueue((seconds) => latencies.push(seconds));
    const [first, second, third] = [queue.written(1), queue.written(2), queue.written(3)];
    assert.equal(queue.inflightMessages, 3);
    queue.settle([third!, second!], 0);
    assert.equal(queue.takeDue(false), null, 'the first is not settled: nothing is due');
    queue.settle([first!], 0);
    assert.deepEqual(pubacks(queue.takeDue(false), 4), [
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    assert.equal(queue.inflightMessages, 0);
    assert.equal(latencies.length, 3);
  });

  it('gives v5 clients the reason code of a refused or failed publish, in its turn', () => {
    const queue = new PubackQueue(() => undefined);
    const written = queue.written(10);
    queue.refused(11, 0x87);
    const failed = queue.written(12);
    assert.equal(queue.inflightMessages, 2, 'a refused publish is not in flight');
    queue.settle([written], 0);
    queue.settle([failed], 0x80);
    assert.deepEqual(pubacks(queue.takeDue(true), 5), [
      [10, 0],
      [11, 0x87],
      [12, 0x80],
    ]);
  });
});
