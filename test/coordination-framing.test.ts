// A connection to ZooKeeper cut in the middle of a response: the client library kept the half-read frame and
// read the next server's bytes as its rest, then threw out of its socket handler and ended the process. The
// coordinator must turn that into a failed request and a reconnect, with the session and data intact.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { CoordinationError, ZooKeeperCoordinator } from '../src/coordination/index.js';
import { type Ensemble, startZooKeeperEnsemble } from './support/zookeeper.js';

let ensemble: Ensemble;
let proxy: net.Server;
/** Set to cut the next server-to-client chunk in half and drop the connection there. */
let cutNextResponse = false;
const sockets = new Set<net.Socket>();

before(async () => {
  ensemble = await startZooKeeperEnsemble({ members: 1 });
  const member = ensemble.members[0]!;
  proxy = net.createServer((client) => {
    const server = net.connect({ host: '127.0.0.1', port: member.clientPort });
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => server.write(chunk));
    server.on('data', (chunk: Buffer) => {
      if (!cutNextResponse || chunk.length < 64) {
        client.write(chunk);
        return;
      }
      cutNextResponse = false;
      client.write(chunk.subarray(0, chunk.length >> 1), () => {
        client.destroy();
        server.destroy();
      });
    });
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => proxy?.close(resolve));
  await ensemble?.stop();
});

test('a response cut mid-frame fails one request, and the session goes on over a new connection', async () => {
  const address = proxy.address();
  assert.ok(address !== null && typeof address === 'object');
  const coordinator = new ZooKeeperCoordinator({
    connectString: `127.0.0.1:${address.port}`,
    sessionTimeoutMs: 10_000,
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 5_000,
    logger: pino({ level: 'silent' }),
  });
  await coordinator.start();
  try {
    const data = Buffer.alloc(200_000, 'x');
    assert.equal(await coordinator.create('/big', data), true);
    const session = coordinator.sessionId();
    cutNextResponse = true;
    await assert.rejects(coordinator.get('/big'), CoordinationError);
    const deadline = Date.now() + 15_000;
    let read: Awaited<ReturnType<ZooKeeperCoordinator['get']>> = null;
    while (read === null) {
      assert.ok(Date.now() < deadline, 'the coordinator reads again after reconnecting');
      read = await coordinator.get('/big').catch(() => null);
    }
    assert.deepEqual(read.data, data);
    assert.equal(coordinator.sessionId(), session, 'the same session');
  } finally {
    await coordinator.close();
  }
});
