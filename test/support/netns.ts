import fs from 'node:fs';
import path from 'node:path';
import { Background, eventually, type RunResult, run } from './processes.js';

/** A host of a test network: its name (also its namespace's suffix) and its address on the shared /24. */
export interface TestHost {
  name: string;
  /** The last octet of its address, 1..254. */
  octet: number;
}

/** Hosts per network at most: one /24, the bridge takes no address. */
const MAX_HOSTS = 200;

/**
 * Hosts on a real network inside this machine: one network namespace per host, each with a veth pair whose
 * other end sits on a bridge in a hub namespace, so their traffic crosses the kernel's TCP stack, qdiscs and
 * netfilter as it would between servers. Everything lives in namespaces this test creates and deletes: nothing
 * listens in the machine's own namespace. Needs root (CI runs as root).
 */
export class TestNetwork {
  private constructor(
    private readonly prefix: string,
    private readonly subnet: string,
    private readonly hosts: ReadonlyMap<string, TestHost>,
  ) {}

  /** `prefix` keeps concurrent test files apart; the process id is added so a stale network never collides. */
  static async create(prefix: string, hosts: readonly TestHost[], subnet = '10.199.0'): Promise<TestNetwork> {
    if (hosts.length > MAX_HOSTS) throw new Error(`at most ${MAX_HOSTS} hosts per test network`);
    for (const { name, octet } of hosts) {
      if (!(Number.isInteger(octet) && octet >= 1 && octet <= 254))
        throw new Error(`host ${name}: octet ${octet} not in 1..254`);
    }
    const unique = `${prefix}${process.pid % 100_000}`;
    const network = new TestNetwork(unique, subnet, new Map(hosts.map((host) => [host.name, host])));
    try {
      const hub = network.namespace('hub');
      await ip(['netns', 'add', hub]);
      await ip(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
      await ip(['-n', hub, 'link', 'set', 'br0', 'up']);
      for (const host of hosts) await network.attach(host);
    } catch (error) {
      await network.close();
      throw error;
    }
    return network;
  }

  /** The host's address, e.g. 10.199.0.11. */
  address(name: string): string {
    return `${this.subnet}.${this.host(name).octet}`;
  }

  namespace(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /** Runs a program to completion inside the host's namespace. */
  exec(name: string, command: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
    this.host(name);
    return run('ip', ['netns', 'exec', this.namespace(name), command, ...args], { timeoutMs });
  }

  /** Starts a long-running program inside the host's namespace (`ip netns exec` replaces itself with it). */
  spawn(name: string, command: string, args: string[], timeoutMs = 300_000): Background {
    this.host(name);
    return new Background('ip', ['netns', 'exec', this.namespace(name), command, ...args], timeoutMs);
  }

  /** Waits until `url` answers 2xx from the host `from` (a server just started in another namespace). */
  async waitForHttp(from: string, url: string, timeoutMs = 20_000): Promise<void> {
    await eventually(
      async () =>
        (await this.exec(from, 'curl', ['-sf', '-o', '/dev/null', '--max-time', '2', url])).status === 0,
      timeoutMs,
      `${url} from ${from}`,
    );
  }

  /**
   * Writes an executable script into `dir` that runs `command` inside the host's namespace, for programs
   * started by a library that takes only a path (the browser playwright launches).
   */
  commandIn(name: string, command: string, dir: string): string {
    const file = path.join(dir, `${path.basename(command)}-in-${name}.sh`);
    fs.writeFileSync(file, `#!/bin/sh\nexec ip netns exec ${this.namespace(name)} ${command} "$@"\n`, {
      mode: 0o755,
    });
    return file;
  }

  /**
   * Loses `percent` of the packets the host sends at random, as a lossy link would: nftables `numgen random`
   * on the hub's side of the host's link (this kernel has no netem). On the wire, not in the host: a packet
   * dropped by the host's own netfilter or qdisc is reported to the sending socket, which TCP takes as local
   * congestion and sends again without counting a retransmission.
   */
  async dropOutgoing(name: string, percent: number): Promise<void> {
    if (!(percent > 0 && percent < 100)) throw new Error(`drop percentage ${percent} not in (0, 100)`);
    const table = this.lossTable(name);
    await this.nft('hub', ['add', 'table', 'netdev', table]);
    await this.nft('hub', [
      'add',
      'chain',
      'netdev',
      table,
      'wire',
      `{ type filter hook ingress device ${hubSideOf(this.host(name))} priority 0 ; policy accept ; }`,
    ]);
    await this.nft('hub', [
      'add',
      'rule',
      'netdev',
      table,
      'wire',
      'numgen',
      'random',
      'mod',
      '100',
      '<',
      String(percent),
      'drop',
    ]);
  }

  /** Takes back dropOutgoing. */
  async stopDropping(name: string): Promise<void> {
    await this.nft('hub', ['delete', 'table', 'netdev', this.lossTable(name)]);
  }

  /**
   * Throttles what the host sends to `rateKbit` with a token bucket whose queue holds `queueMs` of traffic:
   * downloads from it slow down and wait in the queue, as behind a congested uplink.
   */
  async throttle(name: string, rateKbit: number, queueMs: number): Promise<void> {
    await this.tc(name, [
      'qdisc',
      'replace',
      'dev',
      'eth0',
      'root',
      'tbf',
      'rate',
      `${rateKbit}kbit`,
      'burst',
      '32kb',
      'latency',
      `${queueMs}ms`,
    ]);
  }

  /** Takes back throttle. */
  async unthrottle(name: string): Promise<void> {
    await this.tc(name, ['qdisc', 'del', 'dev', 'eth0', 'root']);
  }

  /** Deletes every namespace (and with them their interfaces and whatever still runs bound to them). */
  async close(): Promise<void> {
    for (const name of [...this.hosts.keys(), 'hub']) {
      await run('ip', ['netns', 'delete', this.namespace(name)], { timeoutMs: 10_000 });
    }
  }

  private async attach(host: TestHost): Promise<void> {
    const namespace = this.namespace(host.name);
    const hub = this.namespace('hub');
    const hubSide = hubSideOf(host);
    const hostSide = `h${host.octet}`;
    await ip(['netns', 'add', namespace]);
    await ip([
      '-n',
      hub,
      'link',
      'add',
      hubSide,
      'type',
      'veth',
      'peer',
      'name',
      hostSide,
      'netns',
      namespace,
    ]);
    await ip(['-n', hub, 'link', 'set', hubSide, 'master', 'br0', 'up']);
    await ip(['-n', namespace, 'link', 'set', hostSide, 'name', 'eth0']);
    await ip(['-n', namespace, 'addr', 'add', `${this.subnet}.${host.octet}/24`, 'dev', 'eth0']);
    await ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
  }

  private lossTable(name: string): string {
    return `loss${this.host(name).octet}`;
  }

  private host(name: string): TestHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name} in this test network`);
    return host;
  }

  /** `name` may be 'hub', the namespace of the bridge. */
  private async nft(name: string, args: string[]): Promise<void> {
    await ip(['netns', 'exec', this.namespace(name), 'nft', ...args]);
  }

  private async tc(name: string, args: string[]): Promise<void> {
    await ip(['netns', 'exec', this.namespace(name), 'tc', ...args]);
  }
}

/** The hub's end of a host's link. Short: namespace names can be longer than an interface name may be. */
function hubSideOf(host: TestHost): string {
  return `v${host.octet}`;
}

/** Why network tests cannot run here, or null: they need root, iproute2 and nftables. */
export async function networkTestsUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'network namespace tests need root';
  const probe = await run('ip', ['netns', 'list'], { timeoutMs: 10_000 }).catch((error: Error) => ({
    status: 1,
    stdout: '',
    stderr: error.message,
  }));
  return probe.status === 0 ? null : `ip netns unavailable: ${probe.stderr.trim()}`;
}

/** `ip` with its arguments (nft and tc run through `ip netns exec`); a failure names the command. */
async function ip(args: string[]): Promise<void> {
  const result = await run('ip', args, { timeoutMs: 20_000 });
  if (result.status !== 0) {
    throw new Error(`ip ${args.join(' ')} failed (${result.status}): ${result.stderr.trim()}`);
  }
}
