import type { Logger } from 'pino';
import type { z } from 'zod';
import { CoordinationError, type Coordinator } from '../coordination/coordinator.js';
import {
  BrokerRegistration,
  decodeNode,
  LeaderElectionRequest,
  OfflineReplicaReport,
  PartitionState,
  Paths,
  TopicAssignment,
  TopicConfigNode,
} from './zk-layout.js';

export interface TopicInfo {
  name: string;
  topicId: string;
  /** replicas[p]: the brokers holding partition p, the preferred leader first. */
  replicas: number[][];
  config: Record<string, string>;
}

export interface PartitionStateVersioned {
  state: PartitionState;
  /** The state node's version: the leader's ISR changes compare-and-set on it. */
  version: number;
}

/** Brokers that reported a partition's replica offline (`/brokers/offline_replicas/<id>`). */
export interface ReportedOfflineReplicas {
  /** Every reporting broker: none of them may be elected leader. */
  offline: ReadonlySet<number>;
  /** Those whose replica still holds the damage: out of leadership and the ISR, as if their broker were lost. */
  damaged: ReadonlySet<number>;
}

/** A pending reassignment: the partition's replicas are its target followed by `removing`. */
export interface PartitionReassignment {
  adding: number[];
  removing: number[];
}

const NONE_REPORTED: ReportedOfflineReplicas = { offline: new Set(), damaged: new Set() };

/** Retry delay after a failed read while the coordination service is unreachable. */
const RELOAD_RETRY_MS = 250;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/**
 * Every broker's cached copy of the cluster's shared state (brokers, topics, partition states, controller and
 * its epoch, pending shutdowns and deletions, replicas reported offline), kept fresh by one-shot watches that re-read the node that
 * changed. Listeners hear about changes after they are applied, coalesced to one call per turn of the event
 * loop.
 */
export class ClusterView {
  readonly brokers = new Map<number, BrokerRegistration>();
  readonly topics = new Map<string, TopicInfo>();
  readonly states = new Map<string, PartitionStateVersioned>();
  readonly shuttingDown = new Set<number>();
  readonly deleting = new Set<string>();
  /** Partitions being reassigned, by partition key: replicas added and removed (TopicAssignment). */
  readonly reassignments = new Map<string, PartitionReassignment>();
  /** Pending ElectLeaders requests by node name, until the controller has carried them out. */
  readonly elections = new Map<string, LeaderElectionRequest>();
  /** Per broker, the replicas it reported offline (its log found damaged), until they are back in sync. */
  readonly offlineReports = new Map<number, OfflineReplicaReport['replicas']>();
  /** The same reports by partition key. */
  private reportedOffline = new Map<string, ReportedOfflineReplicas>();
  controllerId = -1;
  /**
   * The epoch of the newest controller election (`/controller_epoch`); null before the first. Read with the
   * controller's id but from another node: for a moment after an election one may be newer than the other.
   */
  controllerEpoch: number | null = null;
  /**
   * False from the expiry of a session until everything has been read again in the next one: meanwhile the
   * partition states may be ones a controller has already replaced (this broker's watches died with it).
   */
  current = true;
  private readonly listeners = new Set<() => void>();
  /** Per node: the number of the newest read, so an older read that answers late is dropped. */
  private readonly reads = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private changeQueued = false;
  private closed = false;
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly logger: Logger,
  ) {}

  /** Loads everything once; later changes arrive by watches. */
  async start(): Promise<void> {
    for (const path of [
      Paths.brokerIds,
      Paths.offlineReplicaReports,
      Paths.topics,
      Paths.topicConfigs,
      Paths.deleteTopics,
      Paths.leaderElections,
      Paths.controlledShutdowns,
    ]) {
      await this.coordinator.create(path, Buffer.alloc(0), { parents: true });
    }
    let expired = false;
    let expiries = 0;
    this.unsubscribe = this.coordinator.onState((state) => {
      if (state === 'expired') {
        expired = true;
        expiries++;
        this.current = false;
      }
      // Watches die with a session: a new session reads everything again.
      if (state === 'connected' && expired) {
        expired = false;
        const reloading = expiries;
        void this.loadAll();
        for (const [name, topic] of this.topics) {
          void this.loadTopic(name);
          for (let p = 0; p < topic.replicas.length; p++) void this.loadState(name, p);
        }
        void this.settled().then(() => {
          if (expiries !== reloading || this.closed) return;
          this.current = true;
          this.changed();
        });
      }
    });
    await this.loadAll();
    await this.settled();
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.listeners.clear();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  state(topic: string, partition: number): PartitionStateVersioned | undefined {
    return this.states.get(partitionKey(topic, partition));
  }

  liveBrokerIds(): Set<number> {
    return new Set(this.brokers.keys());
  }

  /** The brokers that reported their replica of the partition offline (damaged), none most of the time. */
  offlineReplicas(topic: string, partition: number): ReportedOfflineReplicas {
    return this.reportedOffline.get(partitionKey(topic, partition)) ?? NONE_REPORTED;
  }

  private async loadAll(): Promise<void> {
    await Promise.all([
      this.loadBrokers(),
      this.loadOfflineReports(),
      this.loadTopics(),
      this.loadController(),
      this.loadControllerEpoch(),
      this.loadShutdowns(),
      this.loadDeletions(),
      this.loadElections(),
    ]);
  }

  private changed(): void {
    if (this.changeQueued || this.closed) return;
    this.changeQueued = true;
    setImmediate(() => {
      this.changeQueued = false;
      for (const listener of [...this.listeners]) listener();
    });
  }

  /**
   * Runs one read of `key` and applies it only if no newer read of the same key started meanwhile; a read
   * that fails on a lost connection is tried again until it succeeds or the view closes.
   */
  private read(key: string, load: () => Promise<() => void>): Promise<void> {
    const running = this.readOnce(key, load);
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
    return running;
  }

  /** Resolves once every read started so far, and every read those started, has been applied. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async readOnce(key: string, load: () => Promise<() => void>): Promise<void> {
    const number = (this.reads.get(key) ?? 0) + 1;
    this.reads.set(key, number);
    for (;;) {
      if (this.closed) return;
      try {
        const apply = await load();
        if (this.reads.get(key) === number && !this.closed) {
          apply();
          this.changed();
        }
        return;
      } catch (error) {
        if (!(error instanceof CoordinationError)) throw error;
        if (this.reads.get(key) !== number) return;
        await new Promise((resolve) => setTimeout(resolve, RELOAD_RETRY_MS));
      }
    }
  }

  private loadBrokers(): Promise<void> {
    return this.read('brokers', async () => {
      const ids = (await this.coordinator.children(Paths.brokerIds, () => void this.loadBrokers())) ?? [];
      const found = new Map<number, BrokerRegistration>();
      for (const id of ids.map(Number).filter(Number.isSafeInteger)) {
        const registration = await this.decoded(Paths.broker(id), BrokerRegistration);
        if (registration) found.set(id, registration);
      }
      return () => {
        this.brokers.clear();
        for (const [id, registration] of found) this.brokers.set(id, registration);
      };
    });
  }

  /** Reads every broker's report, watching the directory and each report (a broker rewrites its own). */
  private loadOfflineReports(): Promise<void> {
    return this.read('offlineReports', async () => {
      const reload = () => void this.loadOfflineReports();
      const ids = (await this.coordinator.children(Paths.offlineReplicaReports, reload)) ?? [];
      const found = new Map<number, OfflineReplicaReport['replicas']>();
      for (const id of ids.filter((name) => /^\d+$/.test(name)).map(Number)) {
        const report = await this.decoded(Paths.offlineReplicaReport(id), OfflineReplicaReport, reload);
        if (report && report.replicas.length > 0) found.set(id, report.replicas);
      }
      return () => {
        this.offlineReports.clear();
        const byPartition = new Map<string, { offline: Set<number>; damaged: Set<number> }>();
        for (const [id, replicas] of found) {
          this.offlineReports.set(id, replicas);
          for (const { topic, partition, refetching } of replicas) {
            const key = partitionKey(topic, partition);
            const entry = byPartition.get(key) ?? { offline: new Set<number>(), damaged: new Set<number>() };
            entry.offline.add(id);
            if (!refetching) entry.damaged.add(id);
            byPartition.set(key, entry);
          }
        }
        this.reportedOffline = byPartition;
      };
    });
  }

  private loadTopics(): Promise<void> {
    return this.read('topics', async () => {
      const names = (await this.coordinator.children(Paths.topics, () => void this.loadTopics())) ?? [];
      return () => {
        const wanted = new Set(names);
        for (const name of [...this.topics.keys()]) {
          if (!wanted.has(name)) this.forgetTopic(name);
        }
        for (const name of names) {
          if (!this.topics.has(name)) void this.loadTopic(name);
        }
      };
    });
  }

  private forgetTopic(name: string): void {
    const topic = this.topics.get(name);
    this.topics.delete(name);
    for (let p = 0; p < (topic?.replicas.length ?? 0); p++) {
      this.states.delete(partitionKey(name, p));
      this.reassignments.delete(partitionKey(name, p));
    }
  }

  private loadTopic(name: string): Promise<void> {
    return this.read(`topic:${name}`, async () => {
      const assignment = await this.decoded(
        Paths.topic(name),
        TopicAssignment,
        () => void this.loadTopic(name),
      );
      const configNode = await this.decoded(
        Paths.topicConfig(name),
        TopicConfigNode,
        () => void this.loadTopic(name),
      );
      return () => {
        if (!assignment) {
          this.forgetTopic(name);
          return;
        }
        const replicas = Object.entries(assignment.partitions)
          .map(([p, ids]) => [Number(p), ids] as const)
          .sort((a, b) => a[0] - b[0])
          .map(([, ids]) => ids);
        const known = this.topics.get(name)?.replicas.length ?? 0;
        for (let p = 0; p < Math.max(known, replicas.length); p++) {
          const key = partitionKey(name, p);
          const adding = assignment.addingReplicas?.[String(p)] ?? [];
          const removing = assignment.removingReplicas?.[String(p)] ?? [];
          if (adding.length > 0 || removing.length > 0) this.reassignments.set(key, { adding, removing });
          else this.reassignments.delete(key);
        }
        this.topics.set(name, {
          name,
          topicId: assignment.topicId,
          replicas,
          config: configNode?.config ?? {},
        });
        for (let p = known; p < replicas.length; p++) void this.loadState(name, p);
      };
    });
  }

  private loadState(topic: string, partition: number): Promise<void> {
    const path = Paths.partitionState(topic, partition);
    return this.read(`state:${path}`, async () => {
      const node = await this.coordinator.get(path, () => void this.loadState(topic, partition));
      const state = node ? decodeNode(PartitionState, path, node.data) : null;
      if (state instanceof Error) this.logger.error({ err: state }, 'ignoring an invalid partition state');
      return () => {
        if (!this.topics.has(topic)) return;
        const key = partitionKey(topic, partition);
        if (node && state && !(state instanceof Error))
          this.states.set(key, { state, version: node.version });
        else this.states.delete(key);
      };
    });
  }

  private loadController(): Promise<void> {
    return this.read('controller', async () => {
      // The election's leader node holds the winner's id as decimal text, as Kafka's /controller names its broker.
      const node = await this.coordinator.get(Paths.controller, () => void this.loadController());
      const text = node?.data.toString('utf8') ?? '';
      return () => {
        this.controllerId = /^\d+$/.test(text) ? Number(text) : -1;
      };
    });
  }

  private loadControllerEpoch(): Promise<void> {
    return this.read('controllerEpoch', async () => {
      // Decimal text, bumped by each election winner in the multi-op that makes it controller.
      const node = await this.coordinator.get(Paths.controllerEpoch, () => void this.loadControllerEpoch());
      const text = node?.data.toString('utf8') ?? null;
      const epoch =
        text !== null && /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
      if (text !== null && epoch === null)
        this.logger.error({ path: Paths.controllerEpoch, text }, 'ignoring an invalid controller epoch');
      return () => {
        this.controllerEpoch = epoch;
      };
    });
  }

  private loadShutdowns(): Promise<void> {
    return this.read('shutdowns', async () => {
      const ids =
        (await this.coordinator.children(Paths.controlledShutdowns, () => void this.loadShutdowns())) ?? [];
      return () => {
        this.shuttingDown.clear();
        for (const id of ids.map(Number).filter(Number.isSafeInteger)) this.shuttingDown.add(id);
      };
    });
  }

  private loadDeletions(): Promise<void> {
    return this.read('deletions', async () => {
      const names =
        (await this.coordinator.children(Paths.deleteTopics, () => void this.loadDeletions())) ?? [];
      return () => {
        this.deleting.clear();
        for (const name of names) this.deleting.add(name);
      };
    });
  }

  /** Requests are written once and deleted when carried out, so the directory's watch is enough. */
  private loadElections(): Promise<void> {
    return this.read('elections', async () => {
      const names =
        (await this.coordinator.children(Paths.leaderElections, () => void this.loadElections())) ?? [];
      const found = new Map<string, LeaderElectionRequest>();
      for (const name of names) {
        const request = await this.decoded(Paths.leaderElection(name), LeaderElectionRequest);
        if (request) found.set(name, request);
      }
      return () => {
        this.elections.clear();
        for (const [name, request] of found) this.elections.set(name, request);
      };
    });
  }

  private async decoded<T>(path: string, schema: z.ZodType<T>, watch?: () => void): Promise<T | null> {
    const node = await this.coordinator.get(path, watch);
    if (!node) return null;
    const value = decodeNode(schema, path, node.data);
    if (value instanceof Error) {
      this.logger.error({ err: value }, 'ignoring an invalid coordination node');
      return null;
    }
    return value;
  }
}
