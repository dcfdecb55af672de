// `edgestream cluster local`: a ZooKeeper ensemble of three and three brokers as children of one command; a
// topic created through the CLI with -r 3 is replicated on every broker, kcat produces and consumes through
// the printed bootstrap servers, and Ctrl-C (SIGINT) stops every broker and java process the command started.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Background, run, until } from './support/processes.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));
const NODES = 3;

/** A base port with `count` free ports from it on 127.0.0.1. */
async function freeConsecutivePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const servers: net.Server[] = [];
    try {
      for (let port = base; port < base + count; port++) {
        const server = net.createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', resolve);
        });
        servers.push(server);
      }
      return base;
    } catch {
      // taken: try another base
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  }
  throw new Error(`no ${count} consecutive free ports`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

describe('edgestream cluster local', { timeout: 240_000 }, () => {
  let cluster: Background | null = null;
  after(async () => {
    await cluster?.stop('SIGKILL');
  });

  it('runs a replicated cluster of three until SIGINT, then leaves no broker or java behind', async () => {
    const basePort = await freeConsecutivePorts(NODES);
    const started = new Background(
      process.execPath,
      [bin, 'cluster', 'local', '--nodes', String(NODES), '--base-port', String(basePort)],
      200_000,
    );
    cluster = started;
    await until(
      () => started.stdout.includes('bootstrap: ') && started.stdout.endsWith('\n'),
      90_000,
      `the bootstrap line (stderr: ${started.stderr})`,
    );
    const bootstrap = /^bootstrap: (\S+)$/m.exec(started.stdout)?.[1];
    const expected = Array.from({ length: NODES }, (_, i) => `127.0.0.1:${basePort + i}`).join(',');
    assert.equal(bootstrap, expected, started.stdout);
    const brokerPids = [...started.stdout.matchAll(/^broker \d+: \S+ \(pid (\d+),/gm)].map((m) =>
      Number(m[1]),
    );
    const javaPids = (/^zookeeper: \S+ \(java pids ([\d ]+)\)$/m.exec(started.stdout)?.[1] ?? '')
      .split(' ')
      .map(Number);
    assert.equal(brokerPids.length, NODES, started.stdout);
    assert.equal(javaPids.length, 3, started.stdout);
    for (const pid of brokerPids) assert.match(commandLine(pid), / broker --node-id \d+ --zookeeper /);
    for (const pid of javaPids) assert.match(commandLine(pid), /^java .*QuorumPeerMain/);

    const edgestream = async (args: string[]) => {
      const result = await run(process.execPath, [bin, ...args, '--brokers', expected], {
        timeoutMs: 30_000,
      });
      assert.equal(result.status, 0, `edgestream ${args.join(' ')}: ${result.stderr}`);
      return result.stdout;
    };
    assert.match(
      await edgestream(['topic', 'create', 'replicated', '-p', '3', '-r', '3']),
      /created replicated with 3 partitions, 3 replicas/,
    );
    // Every partition: leader, 3 replicas, 3 in sync (the table may lag the creation by a metadata update).
    let rows: RegExpExecArray[] = [];
    const deadline = Date.now() + 20_000;
    do {
      const described = await edgestream(['topic', 'describe', 'replicated']);
      rows = [...described.matchAll(/^(\d+)\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+\d+\s+\d+$/gm)];
    } while (
      !(rows.length === 3 && rows.every((row) => row[4]!.split(',').length === 3)) &&
      Date.now() < deadline
    );
    assert.equal(rows.length, 3);
    for (const [, , leader, replicas, isr] of rows) {
      assert.deepEqual(replicas!.split(',').map(Number).sort(), [1, 2, 3]);
      assert.deepEqual(isr!.split(',').map(Number).sort(), [1, 2, 3]);
      assert.ok(replicas!.split(',').includes(leader!));
    }

    const records = Array.from({ length: 12 }, (_, i) => `key-${i}:value-${i}`);
    const produced = await run(
      'kcat',
      ['-b', expected, '-P', '-t', 'replicated', '-K', ':', '-X', 'acks=all'],
      { input: `${records.join('\n')}\n`, timeoutMs: 30_000 },
    );
    assert.equal(produced.status, 0, produced.stderr);
    const consumed = await run(
      'kcat',
      ['-b', expected, '-C', '-t', 'replicated', '-o', 'beginning', '-e', '-q', '-f', '%k:%s\n'],
      { timeoutMs: 30_000 },
    );
    assert.equal(consumed.status, 0, consumed.stderr);
    assert.deepEqual(consumed.stdout.trim().split('\n').sort(), [...records].sort());

    started.signal('SIGINT');
    assert.equal(await started.exited, 0, started.stderr);
    await until(
      () => [...brokerPids, ...javaPids].every((pid) => !alive(pid)),
      5_000,
      'every broker and java process to be gone',
    );
  });
});
