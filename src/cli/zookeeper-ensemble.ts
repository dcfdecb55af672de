// A local ZooKeeper ensemble on 127.0.0.1: Debian's zookeeper 3.8 package, one JVM per member, each with its
// own data directory and log file. `edgestream cluster local` and the integration tests run one.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ZooKeeperCoordinator } from '../coordination/index.js';
import { SupervisedProcess } from './supervised-process.js';

/** zookeeper.jar names its dependencies in its manifest's Class-Path; log4j and its slf4j binding it does not. */
const CLASS_PATH_JARS = [
  '/usr/share/java/zookeeper.jar',
  '/usr/share/java/slf4j-log4j12.jar',
  '/usr/share/java/log4j-1.2.jar',
];
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const PROBE_INTERVAL_MS = 200;

export interface EnsembleMember {
  id: number;
  clientPort: number;
  /** The pid of the member's java process while it runs. */
  readonly pid: number;
  /** Resolves once the current run of the member has ended. */
  readonly exited: Promise<void>;
  /**
   * SIGKILL by default: a crash, as a test usually wants. Resolves once the process has exited (SIGKILL after
   * 10 s otherwise), except for SIGSTOP (a frozen server, still running) and SIGCONT (resumed), which resolve
   * once sent.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the member again on the same ports and data; resolves once it serves clients. */
  restart(): Promise<void>;
  readonly running: boolean;
}

export interface Ensemble {
  connectString: string;
  members: EnsembleMember[];
  /** Stops every member (SIGKILL by default) and removes the directory if it was a temporary one. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface EnsembleOptions {
  members?: number;
  tickTimeMs?: number;
  /** Where configs, data and logs go, kept after stop(); a temporary directory otherwise. */
  dir?: string;
}

/** Throws, naming the package to install, when Debian's ZooKeeper is not installed. */
export function checkZooKeeperInstalled(): void {
  const missing = CLASS_PATH_JARS.filter((jar) => !fs.existsSync(jar));
  if (missing.length > 0) {
    throw new Error(
      `ZooKeeper is not installed (missing ${missing.join(', ')}): install it with \`sudo apt-get install zookeeper\``,
    );
  }
}

/** Distinct free ports on 127.0.0.1: all held open together so none is handed out twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('server without a TCP address');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** True once `connectString` grants a session and answers a request (a write when `write` is set). */
async function serves(connectString: string, write: boolean): Promise<boolean> {
  const coordinator = new ZooKeeperCoordinator({
    connectString,
    sessionTimeoutMs: 4_000,
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 2_000,
    logger: pino({ level: 'silent' }),
  });
  try {
    await coordinator.start();
    if (write)
      await coordinator.create(`/ensemble-probe-${process.pid}`, Buffer.alloc(0), { ephemeral: true });
    else await coordinator.children('/');
    return true;
  } catch {
    return false;
  } finally {
    await coordinator.close();
  }
}

/** Fails at once when one of `members` has exited meanwhile (a broken install, a port taken). */
async function waitUntilServes(
  connectString: string,
  write: boolean,
  what: string,
  members: readonly Member[],
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await serves(connectString, write))) {
    const gone = members.find((member) => !member.running);
    if (gone) throw new Error(`ZooKeeper member ${gone.id} exited before serving clients`);
    if (Date.now() > deadline) throw new Error(`${what} did not serve clients within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
}

class Member implements EnsembleMember {
  private process: SupervisedProcess | null = null;

  constructor(
    readonly id: number,
    readonly clientPort: number,
    private readonly configFile: string,
    private readonly configDir: string,
    readonly logFile: string,
  ) {}

  get running(): boolean {
    return this.process?.running ?? false;
  }

  get pid(): number {
    return this.process?.pid ?? 0;
  }

  get exited(): Promise<void> {
    return this.process ? this.process.exited.then(() => undefined) : Promise.resolve();
  }

  /** Resolves once java runs (its pid known), not once it serves. */
  async launch(): Promise<void> {
    this.process = await SupervisedProcess.start(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        // Local servers: start fast rather than reach peak speed.
        '-XX:TieredStopAtLevel=1',
        // A member killed before its first snapshot restarts from its transaction log alone.
        '-Dzookeeper.snapshot.trust.empty=true',
        '-cp',
        [this.configDir, ...CLASS_PATH_JARS].join(':'),
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        this.configFile,
      ],
      this.logFile,
    );
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const process = this.process;
    if (!process?.running) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') process.signal(signal);
    else await process.stop(signal, STOP_TIMEOUT_MS);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
    await waitUntilServes(`127.0.0.1:${this.clientPort}`, false, `ZooKeeper member ${this.id}`, [this]);
  }
}

/** Resolves once every member serves clients and the ensemble takes writes (it has a quorum and a leader). */
export async function startZooKeeperEnsemble(options: EnsembleOptions = {}): Promise<Ensemble> {
  checkZooKeeperInstalled();
  const count = options.members ?? 3;
  const tickTimeMs = options.tickTimeMs ?? 500;
  const temporary = options.dir === undefined;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-zookeeper-'));
  const ports = await freePorts(count * 3);
  const portsOf = (index: number) => ({
    client: ports[index * 3]!,
    quorum: ports[index * 3 + 1]!,
    election: ports[index * 3 + 2]!,
  });
  const serverLines = Array.from({ length: count }, (_, index) => {
    const { quorum, election } = portsOf(index);
    return `server.${index + 1}=127.0.0.1:${quorum}:${election}`;
  });
  // One classpath directory for all members: log4j reads log4j.properties from it and writes to stdout, which
  // each member sends to its own file.
  const configDir = path.join(dir, 'conf');
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(
    path.join(configDir, 'log4j.properties'),
    [
      'log4j.rootLogger=INFO, CONSOLE',
      'log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender',
      'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n',
      '',
    ].join('\n'),
  );
  const members = Array.from({ length: count }, (_, index) => {
    const id = index + 1;
    const memberDir = path.join(dir, `member-${id}`);
    const dataDir = path.join(memberDir, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'myid'), `${id}\n`);
    const configFile = path.join(memberDir, 'zoo.cfg');
    fs.writeFileSync(
      configFile,
      [
        `tickTime=${tickTimeMs}`,
        'initLimit=20',
        'syncLimit=5',
        `dataDir=${dataDir}`,
        `clientPort=${portsOf(index).client}`,
        'clientPortAddress=127.0.0.1',
        `minSessionTimeout=${2 * tickTimeMs}`,
        `maxSessionTimeout=${40 * tickTimeMs}`,
        'admin.enableServer=false',
        // The default would also bind the quorum and election ports on every interface.
        'quorumListenOnAllIPs=false',
        ...serverLines,
        '',
      ].join('\n'),
    );
    return new Member(
      id,
      portsOf(index).client,
      configFile,
      configDir,
      path.join(memberDir, 'zookeeper.log'),
    );
  });
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    await Promise.all(members.map((member) => member.kill(signal)));
    if (temporary) fs.rmSync(dir, { recursive: true, force: true });
  };
  const connectString = members.map((member) => `127.0.0.1:${member.clientPort}`).join(',');
  try {
    await Promise.all(members.map((member) => member.launch()));
    await Promise.all(
      members.map((member) =>
        waitUntilServes(`127.0.0.1:${member.clientPort}`, false, `ZooKeeper member ${member.id}`, [member]),
      ),
    );
    await waitUntilServes(connectString, true, 'ZooKeeper ensemble', members);
  } catch (error) {
    const logs = members.map((member) => `member ${member.id}: ${member.logFile}`);
    await Promise.all(members.map((member) => member.kill()));
    throw new Error(
      `${error instanceof Error ? error.message : String(error)} (logs kept: ${logs.join(', ')})`,
    );
  }
  return { connectString, members, stop };
}
