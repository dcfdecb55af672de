import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Background, type RunResult, run, until } from './processes.js';

const bin = fileURLToPath(new URL('../../../bin/edgestream.js', import.meta.url));

/** A free port on 127.0.0.1 (bound and released, so a restarted broker can reuse it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `edgestream broker` as a process of its own, on a fixed port and data directory so it can be restarted. */
export class BrokerProcess {
  readonly bootstrap: string;
  private process: Background | null = null;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {
    this.bootstrap = `127.0.0.1:${port}`;
  }

  static async start(name: string): Promise<BrokerProcess> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `edgestream-${name}-`));
    const broker = new BrokerProcess(await freePort(), dataDir);
    await broker.restart();
    return broker;
  }

  async restart(): Promise<void> {
    const child = new Background(
      'node',
      [bin, 'broker', '--data-dir', this.dataDir, '--listen', this.bootstrap, '--partitions', '3'],
      600_000,
    );
    this.process = child;
    await until(() => child.stdout.includes('broker started'), 30_000, `broker on ${this.bootstrap}`);
  }

  /** A clean stop (SIGTERM): the broker finishes requests and flushes. */
  async stop(): Promise<void> {
    await this.process?.stop('SIGTERM');
    this.process = null;
  }

  /** A crash (SIGKILL): nothing is flushed or closed. */
  async kill(): Promise<void> {
    await this.process?.stop('SIGKILL');
    this.process = null;
  }

  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** `edgestream mirror` as a process of its own. */
export function startMirrorProcess(args: string[], timeoutMs = 600_000): Background {
  return new Background('node', [bin, 'mirror', ...args], timeoutMs);
}

/** `edgestream mirror` run to completion (for argument errors). */
export function runMirrorProcess(args: string[]): Promise<RunResult> {
  return run('node', [bin, 'mirror', ...args], { timeoutMs: 30_000 });
}
