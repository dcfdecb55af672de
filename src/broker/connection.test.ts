import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { FrameReader, FrameSizeError } from '../protocol/index.js';
import { Connection, RequestBufferBudget, SMALL_REQUEST_BYTES } from './connection.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

describe('FrameReader', () => {
  it('reads no frame body until its size is admitted, then returns what was buffered', () => {
    const asked: number[] = [];
    let allow = false;
    const reader = new FrameReader(1 << 20, (size) => {
      asked.push(size);
      return allow || size < 10;
    });
    const stream = Buffer.concat([
      frame(Buffer.from('tiny')),
      frame(Buffer.alloc(100, 7)),
      frame(Buffer.from('after')),
    ]);
    const first = reader.push(stream.subarray(0, 40));
    assert.deepEqual(
      first.map((f) => f.toString()),
      ['tiny'],
    );
    assert.ok(reader.waitingForAdmission);
    assert.deepEqual(reader.push(stream.subarray(40)), [], 'nothing is returned while the frame waits');
    allow = true;
    const rest = reader.admitted();
    assert.deepEqual(
      rest.map((f) => f.length),
      [100, 5],
    );
    assert.deepEqual(asked, [4, 100, 5]);
    assert.equal(reader.pendingBytes, 0);
  });

  it('refuses an illegal size before asking for admission', () => {
    const reader = new FrameReader(1024, () => assert.fail('not asked'));
    const header = Buffer.alloc(4);
    header.writeInt32BE(2048);
    assert.throws(() => reader.push(header), FrameSizeError);
  });
});

describe('RequestBufferBudget', () => {
  const MB = 1024 * 1024;

  it('queues large requests first come first served and grants them as bytes are released', () => {
    const budget = new RequestBufferBudget(10 * MB);
    const granted: string[] = [];
    assert.ok(budget.reserve(6 * MB, () => assert.fail()));
    assert.equal(
      budget.reserve(6 * MB, () => granted.push('a')),
      false,
    );
    assert.equal(
      budget.reserve(MB, () => granted.push('b')),
      false,
      'a large request behind a waiting one waits too, so the first is not starved',
    );
    assert.equal(budget.waitingCount, 2);
    budget.release(6 * MB);
    assert.deepEqual(granted, ['a', 'b']);
    assert.equal(budget.usedBytes, 7 * MB);
    assert.equal(budget.waitingCount, 0);
  });

  it('always admits small requests, even when large ones wait', () => {
    const budget = new RequestBufferBudget(MB);
    assert.ok(budget.reserve(MB, () => assert.fail()));
    assert.equal(
      budget.reserve(MB, () => undefined),
      false,
    );
    assert.ok(budget.reserve(SMALL_REQUEST_BYTES, () => assert.fail()));
    assert.equal(budget.usedBytes, MB + SMALL_REQUEST_BYTES, 'small requests are counted');
  });

  it('forgets a wait whose connection closed', () => {
    const budget = new RequestBufferBudget(MB);
    budget.reserve(MB, () => undefined);
    const grant = () => assert.fail('cancelled');
    budget.reserve(MB, grant);
    budget.cancel(grant);
    budget.release(MB);
    assert.equal(budget.usedBytes, 0);
  });
});

describe('Connection.mute', () => {
  it('holds reading one connection for the time given while others are read and answers still leave', async () => {
    const MUTE_MS = 300;
    const budget = new RequestBufferBudget(1 << 20);
    const handled: Array<{ name: string; atMs: number }> = [];
    const server = net.createServer((socket) => {
      const connection: Connection = new Connection(socket, budget, {
        maxFrameBytes: 1024,
        maxInFlight: 10,
        idleMs: 60_000,
        onFrame: (received) => {
          const name = received.toString();
          handled.push({ name, atMs: performance.now() });
          if (name === 'muted-1') connection.mute(MUTE_MS);
          connection.reserveResponse(received)([frame(received)]);
        },
        onReadError: (error) => assert.fail(String(error)),
        onIdle: () => undefined,
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const connect = () =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
      });
    const [muted, other] = await Promise.all([connect(), connect()]);
    const answered = (socket: net.Socket, bytes: number) =>
      new Promise<void>((resolve) => {
        let received = 0;
        socket.on('data', (chunk) => {
          received += chunk.length;
          if (received >= bytes) resolve();
        });
      });
    try {
      const firstAnswer = answered(muted, frame(Buffer.from('muted-1')).length);
      muted.write(frame(Buffer.from('muted-1')));
      await firstAnswer;
      muted.write(frame(Buffer.from('muted-2')));
      await new Promise((resolve) => setTimeout(resolve, 50));
      other.write(frame(Buffer.from('other')));
      await new Promise((resolve) => setTimeout(resolve, MUTE_MS * 2));
      assert.deepEqual(
        handled.map((h) => h.name),
        ['muted-1', 'other', 'muted-2'],
      );
      const waitedMs = handled[2]!.atMs - handled[0]!.atMs;
      assert.ok(waitedMs >= MUTE_MS - 5, `read again after ${waitedMs} ms`);
    } finally {
      muted.destroy();
      other.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
