import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { FaultProxy } from './fault-proxy.js';
import { Background, until } from './processes.js';
import { type Ensemble, freePorts, startZooKeeperEnsemble } from './zookeeper.js';

const bin = fileURLToPath(new URL('../../../bin/edgestream.js', import.meta.url));
/** Longest a broker process may live in a test. */
const BROKER_LIFETIME_MS = 15 * 60_000;

export interface ClusterBroker {
  id: number;
  port: number;
  /** The port clients and other brokers are told: the broker's own, or its fault proxy's. */
  advertisedPort: number;
  proxy: FaultProxy | null;
  /** The SASL_PLAINTEXT listener's port (option saslListeners), else null. */
  saslPort: number | null;
  dataDir: string;
  process: Background | null;
}

export interface BrokerClusterOptions {
  brokers?: number;
  zookeeperSessionTimeoutMs?: number;
  replicaLagTimeMaxMs?: number;
  extraArgs?: string[];
  /** Put a FaultProxy in front of every broker, so a test can cut one off the others (`isolate`). */
  proxied?: boolean;
  /**
   * Give every broker a SASL_PLAINTEXT listener beside its PLAINTEXT one (which other brokers and `bootstrap`
   * use); `saslBootstrap` lists them.
   */
  saslListeners?: boolean;
}

/**
 * A ZooKeeper ensemble of three and brokers as child processes of `edgestream broker --zookeeper`, each
 * on a fixed 127.0.0.1 port and data directory so it can be killed and started again as the same broker.
 */
export class BrokerCluster {
  private constructor(
    readonly ensemble: Ensemble,
    readonly brokers: ClusterBroker[],
    private readonly root: string,
    private readonly options: BrokerClusterOptions,
  ) {}

  static async start(options: BrokerClusterOptions = {}): Promise<BrokerCluster> {
    const ensemble = await startZooKeeperEnsemble({ members: 3 });
    const count = options.brokers ?? 3;
    // One call for every port: ports from separate calls could be the same (each call frees its own).
    const allPorts = await freePorts(options.saslListeners ? 2 * count : count);
    const ports = allPorts.slice(0, count);
    const saslPorts = allPorts.slice(count);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-cluster-'));
    const brokers: ClusterBroker[] = [];
    for (const [i, port] of ports.slice(0, count).entries()) {
      const proxy = options.proxied ? await FaultProxy.start(port) : null;
      brokers.push({
        id: i + 1,
        port,
        advertisedPort: proxy?.port ?? port,
        proxy,
        saslPort: saslPorts[i] ?? null,
        dataDir: path.join(root, `broker-${i + 1}`),
        process: null,
      });
    }
    const cluster = new BrokerCluster(ensemble, brokers, root, options);
    try {
      for (const broker of brokers) cluster.launch(broker);
      await Promise.all(brokers.map((b) => cluster.waitListening(b)));
      // Until then Metadata names no controller, and a kafkajs admin fails CreateTopics at once.
      await until(
        () => brokers.some((b) => b.process!.stdout.includes('"msg":"elected controller"')),
        30_000,
        'a controller to be elected',
      );
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get bootstrap(): string {
    return this.brokers.map((b) => `127.0.0.1:${b.advertisedPort}`).join(',');
  }

  /** Every broker's SASL_PLAINTEXT listener (option saslListeners). */
  get saslBootstrap(): string {
    return this.brokers.map((b) => `127.0.0.1:${b.saslPort}`).join(',');
  }

  broker(id: number): ClusterBroker {
    const broker = this.brokers.find((b) => b.id === id);
    if (!broker) throw new Error(`no broker ${id}`);
    return broker;
  }

  private launch(broker: ClusterBroker): void {
    broker.process = new Background(
      'node',
      [
        bin,
        'broker',
        '--node-id',
        String(broker.id),
        '--zookeeper',
        this.ensemble.connectString,
        '--data-dir',
        broker.dataDir,
        ...(broker.saslPort === null
          ? ['--listen', `127.0.0.1:${broker.port}`, '--advertised', `127.0.0.1:${broker.advertisedPort}`]
          : [
              '--listener',
              `PLAINTEXT://127.0.0.1:${broker.port}`,
              '--listener',
              `SASL_PLAINTEXT://127.0.0.1:${broker.saslPort}`,
              '--advertised-listener',
              `PLAINTEXT://127.0.0.1:${broker.advertisedPort}`,
            ]),
        '--zookeeper-session-timeout-ms',
        String(this.options.zookeeperSessionTimeoutMs ?? 2000),
        '--replica-lag-time-max-ms',
        String(this.options.replicaLagTimeMaxMs ?? 2000),
        ...(this.options.extraArgs ?? []),
      ],
      BROKER_LIFETIME_MS,
    );
  }

  private async waitListening(broker: ClusterBroker): Promise<void> {
    const process = broker.process!;
    await until(
      () => process.stdout.includes('"broker started"') || process.stdout.includes('"msg":"broker started"'),
      30_000,
      `broker ${broker.id} to start (stderr: ${process.stderr.slice(-500)})`,
    );
  }

  /** SIGKILL (a crash) by default; resolves once the process is gone. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const broker = this.broker(id);
    await broker.process?.stop(signal);
    broker.process = null;
  }

  /**
   * Cuts broker `id` off clients and the other brokers (it keeps its ZooKeeper session): its proxy drops
   * everything, and the other proxies drop its follower connections.
   */
  isolate(id: number): void {
    for (const broker of this.brokers) {
      if (broker.id === id) broker.proxy?.cut();
      else broker.proxy?.refuse(replicaClientId(id));
    }
  }

  heal(id: number): void {
    for (const broker of this.brokers) {
      if (broker.id === id) broker.proxy?.heal();
      else broker.proxy?.admit(replicaClientId(id));
    }
  }

  signal(id: number, signal: NodeJS.Signals): void {
    this.broker(id).process?.signal(signal);
  }

  async restart(id: number): Promise<void> {
    const broker = this.broker(id);
    if (broker.process) throw new Error(`broker ${id} is running`);
    this.launch(broker);
    await this.waitListening(broker);
  }

  /** Everything the brokers logged, for a failing test's message. */
  logs(id: number): string {
    const process = this.broker(id).process;
    return process ? process.stdout + process.stderr : '';
  }

  async stop(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.process?.stop('SIGKILL')));
    for (const broker of this.brokers) broker.process = null;
    await Promise.all(this.brokers.map((b) => b.proxy?.close()));
    await this.ensemble.stop();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** The client id a broker's follower connections send (src/cluster/replica-manager.ts). */
function replicaClientId(brokerId: number): string {
  return `edgestream-replica-${brokerId}`;
}

/**
 * A topic replicated on all three brokers that takes acks=all writes while two replicas are in sync. A broker
 * restarted just before registers again only once its previous session's node is gone, so for a moment
 * the cluster counts two brokers and refuses replication factor 3; just after start no controller may be
 * elected yet: both are retried, for a while.
 */
export async function createReplicatedTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: partitions,
            replicationFactor: 3,
            configEntries: [{ name: 'min.insync.replicas', value: '2' }],
          },
        ],
      });
      return;
    } catch (error) {
      // INVALID_REPLICATION_FACTOR (38) for each topic: fewer brokers registered than replicas asked for.
      // (kafkajs's error classes are not named exports of its CommonJS module: checked by shape.)
      const tooFewBrokers =
        error instanceof Error &&
        'errors' in error &&
        Array.isArray(error.errors) &&
        error.errors.every(
          (e: unknown) => typeof e === 'object' && e !== null && 'code' in e && e.code === 38,
        );
      // Metadata names no controller (-1) until the brokers have elected one, as Kafka's does; kafkajs then
      // cannot send CreateTopics anywhere.
      const noControllerYet = error instanceof Error && error.name === 'KafkaJSBrokerNotFound';
      if (!(tooFewBrokers || noControllerYet) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
