import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { ApiVersions } from '../protocol/apis/api-versions.js';
import { BrokerChannel } from './broker-channel.js';

test('a channel closed while it connects leaves no connection open', async () => {
  const accepted: net.Socket[] = [];
  const server = net.createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const channel = new BrokerChannel({ host: '127.0.0.1', port }, 'channel-test', 5_000);
    const request = channel.request(ApiVersions, 0, {}, 5_000);
    channel.close();
    await assert.rejects(request, /channel closed/);
    const deadline = Date.now() + 5_000;
    // The server saw the connection (it was made) and then its end: nothing is left open.
    while (!(accepted.length === 1 && accepted[0]!.readableEnded) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(accepted.length, 1, 'the connection was made');
    assert.ok(accepted[0]!.readableEnded, 'and closed by the channel');
  } finally {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
