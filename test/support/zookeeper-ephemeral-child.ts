// A process that creates one ephemeral node and then waits to be killed: the test SIGKILLs it so its session
// is never closed and has to time out on the servers. Usage: node zookeeper-ephemeral-child.js <connect> <path>
import pino from 'pino';
import { ZooKeeperCoordinator } from '../../src/coordination/index.js';

/** Gives up on its own if the test never kills it. */
const MAX_LIFETIME_MS = 60_000;

const [connectString, path] = process.argv.slice(2);
if (connectString === undefined || path === undefined) {
  console.error('usage: zookeeper-ephemeral-child <connectString> <path>');
  process.exit(2);
}
const coordinator = new ZooKeeperCoordinator({
  connectString,
  sessionTimeoutMs: 2_000,
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 5_000,
  logger: pino({ level: 'silent' }),
});
await coordinator.start();
await coordinator.create(path, Buffer.from(String(process.pid)), { ephemeral: true, parents: true });
console.log(`created ${coordinator.sessionId()}`);
setTimeout(() => process.exit(1), MAX_LIFETIME_MS);
