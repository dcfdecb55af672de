import type { Logger } from 'pino';
import type { CoordinationOp, Coordinator } from '../coordination/index.js';
import { CoordinationError } from '../coordination/index.js';
import { ElectionType } from '../protocol/apis/elect-leaders.js';
import { type ClusterView, type PartitionStateVersioned, partitionKey } from './cluster-view.js';
import {
  type BrokerLiveness,
  completedReassignment,
  damagedLeaderKept,
  fitToReplicas,
  initialState,
  preferredLeaderChange,
  reconcileState,
  type StateChange,
} from './leader-election.js';
import type { ClusterMetrics } from './metrics.js';
import { decodeNode, encodeNode, PartitionState, Paths, TopicAssignment } from './zk-layout.js';

export interface ControllerOptions {
  /** How often preferred leaders are restored (Kafka's leader.imbalance.check.interval.seconds). */
  preferredLeaderCheckIntervalMs: number;
  /** Cluster default for unclean.leader.election.enable; a topic's own config overrides it. */
  uncleanLeaderElection: boolean;
  logger: Logger;
  metrics: ClusterMetrics;
}

/** The controller's tenure: its epoch and the version of the epoch node that fences every write it makes. */
export interface Tenure {
  epoch: number;
  epochVersion: number;
}

/** One partition state the controller writes, and the change it stands for (null for a new partition). */
interface StateWrite {
  op: CoordinationOp;
  change: {
    topic: string;
    partition: number;
    previousLeader: number;
    previousIsr: readonly number[];
    change: StateChange;
  } | null;
}

/** A reassigned partition ready to complete: the state that ends it, over the state node's version. */
interface ReassignmentCompletion {
  partition: number;
  state: PartitionState;
  version: number;
}

/** Writes per multi-op: ZooKeeper bounds a request at 1 MiB and a state node is ~100 bytes. */
const OPS_PER_COMMIT = 200;
const RETRY_AFTER_FAILURE_MS = 250;
/** Bound on the partitions remembered as already logged for a damaged leader kept leading. */
const MAX_KEPT_DAMAGED_LEADERS_REMEMBERED = 10_000;

/**
 * The elected controller's duties: initial partition states of new topics, new leaders when brokers are
 * lost or shut down or a leader reports its replica damaged, dead brokers and damaged replicas out of every
 * ISR, preferred leaders back, topic deletion. Every write carries a check on the controller epoch node's
 * version, so once another broker has been elected (and moved the epoch on) nothing this one decided can
 * land.
 */
export class Controller {
  private tenure: Tenure | null = null;
  private running = false;
  private again = false;
  private stopListening: () => void = () => undefined;
  private preferredTimer: NodeJS.Timeout | null = null;
  /**
   * Passes failed in a row. Only the first of a run is a warning: while ZooKeeper is away a pass is refused
   * every 250 ms, and a warning each time would bury the one line that says the outage started.
   */
  private failuresInARow = 0;
  /** Damaged leaders left leading (no other in-sync replica), by partition and leader epoch: said once. */
  private readonly keptDamagedLeaders = new Set<string>();

  constructor(
    private readonly coordinator: Coordinator,
    private readonly view: ClusterView,
    private readonly options: ControllerOptions,
  ) {}

  get active(): boolean {
    return this.tenure !== null;
  }

  activate(tenure: Tenure): void {
    this.deactivate();
    this.tenure = tenure;
    this.failuresInARow = 0;
    this.options.logger.info({ controllerEpoch: tenure.epoch }, 'elected controller');
    this.options.metrics.controllerElections.inc();
    this.stopListening = this.view.onChange(() => this.schedule());
    this.preferredTimer = setInterval(() => this.schedule(true), this.options.preferredLeaderCheckIntervalMs);
    this.preferredTimer.unref();
    this.schedule();
  }

  deactivate(): void {
    if (!this.tenure) return;
    this.options.logger.info({ controllerEpoch: this.tenure.epoch }, 'no longer controller');
    this.tenure = null;
    this.stopListening();
    if (this.preferredTimer) clearInterval(this.preferredTimer);
    this.preferredTimer = null;
  }

  private preferredDue = false;

  /** One pass at a time; changes that arrive during a pass cause one more. */
  private schedule(preferred = false): void {
    if (preferred) this.preferredDue = true;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.passes().finally(() => {
      this.running = false;
    });
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      const tenure = this.tenure;
      if (!tenure) return;
      const preferred = this.preferredDue;
      this.preferredDue = false;
      try {
        const settled = await this.pass(tenure, preferred);
        this.passSucceeded(tenure);
        if (!settled) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_FAILURE_MS));
          this.again = true;
        }
      } catch (error) {
        if (!(error instanceof CoordinationError)) throw error;
        this.passFailed(tenure, error);
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_FAILURE_MS));
        this.again = true;
      }
    } while (this.again && this.tenure);
  }

  /** A warning for the first failure of a run, debug for the rest: the run is summed up when it ends. */
  private passFailed(tenure: Tenure, error: CoordinationError): void {
    this.failuresInARow++;
    this.options.logger[this.failuresInARow === 1 ? 'warn' : 'debug'](
      {
        err: error,
        controllerEpoch: tenure.epoch,
        retryDelayMs: RETRY_AFTER_FAILURE_MS,
        failures: this.failuresInARow,
      },
      'controller pass failed; retrying',
    );
  }

  /** Ends a run of failures, saying how long it was. A pass whose write was refused by a check still ran. */
  private passSucceeded(tenure: Tenure): void {
    if (this.failuresInARow === 0) return;
    this.options.logger.info(
      { controllerEpoch: tenure.epoch, failures: this.failuresInARow },
      'controller pass succeeded again',
    );
    this.failuresInARow = 0;
  }

  /** Returns false when a write was refused (state moved under us) and the pass must run again. */
  private async pass(tenure: Tenure, preferred: boolean): Promise<boolean> {
    let settled = await this.deleteTopics(tenure);
    if (!this.tenure) return true;
    const brokers: BrokerLiveness = { live: this.view.liveBrokerIds(), shuttingDown: this.view.shuttingDown };
    const requested = this.requestedElections();
    const fresh = await this.freshStates(
      [...this.view.elections.values()].flatMap((request) => request.partitions),
    );
    const writes: StateWrite[] = [];
    const completions = new Map<string, ReassignmentCompletion[]>();
    for (const topic of this.view.topics.values()) {
      if (this.view.deleting.has(topic.name)) continue;
      const unclean =
        (topic.config['unclean.leader.election.enable'] ?? String(this.options.uncleanLeaderElection)) ===
        'true';
      for (let p = 0; p < topic.replicas.length; p++) {
        const replicas = topic.replicas[p]!;
        const current = fresh.get(partitionKey(topic.name, p)) ?? this.view.state(topic.name, p);
        const reported = this.view.offlineReplicas(topic.name, p);
        const partitionBrokers: BrokerLiveness =
          reported.offline.size === 0
            ? brokers
            : { ...brokers, offlineReplicas: reported.offline, damagedReplicas: reported.damaged };
        if (!current) {
          const state = initialState(replicas, brokers, tenure.epoch);
          if (!state) continue;
          await this.coordinator.create(Paths.partition(topic.name, p), Buffer.alloc(0), { parents: true });
          writes.push({
            op: { op: 'create', path: Paths.partitionState(topic.name, p), data: encodeNode(state) },
            change: null,
          });
          continue;
        }
        const key = partitionKey(topic.name, p);
        const asked = requested.types.get(key);
        const change =
          fitToReplicas(current.state, replicas, partitionBrokers, tenure.epoch) ??
          reconcileState(
            current.state,
            replicas,
            partitionBrokers,
            tenure.epoch,
            unclean || asked === ElectionType.UNCLEAN,
          ) ??
          (preferred || asked === ElectionType.PREFERRED
            ? preferredLeaderChange(current.state, replicas, partitionBrokers, tenure.epoch)
            : null);
        if (!change) {
          if (damagedLeaderKept(current.state, partitionBrokers))
            this.keptDamagedLeader(topic.name, p, current.state.leader, current.state);
          const reassignment = this.view.reassignments.get(key);
          const done =
            reassignment &&
            completedReassignment(current.state, replicas, reassignment, partitionBrokers, tenure.epoch);
          if (done) {
            const list = completions.get(topic.name) ?? [];
            list.push({ partition: p, state: done, version: current.version });
            completions.set(topic.name, list);
          }
          continue;
        }
        writes.push({
          op: {
            op: 'set',
            path: Paths.partitionState(topic.name, p),
            data: encodeNode(change.state),
            version: current.version,
          },
          change: {
            topic: topic.name,
            partition: p,
            previousLeader: current.state.leader,
            previousIsr: current.state.isr,
            change,
          },
        });
      }
    }
    for (let i = 0; i < writes.length; i += OPS_PER_COMMIT) {
      const chunk = writes.slice(i, i + OPS_PER_COMMIT);
      const ops = chunk.map((write) => write.op);
      if (await this.fenced(tenure, ops)) this.committed(chunk);
      else settled = false;
    }
    for (const [topic, done] of completions) {
      if (!(await this.completeReassignments(tenure, topic, done))) settled = false;
    }
    // Requests are done once their elections are stored; a pass cut short carries them out again. One
    // fenced delete each: a request the view still lists but an earlier pass already deleted is refused
    // alone (gone), without making this pass run again.
    if (settled) {
      for (const name of requested.names) {
        await this.fenced(tenure, [{ op: 'delete', path: Paths.leaderElection(name), version: -1 }]);
      }
    }
    return settled;
  }

  /**
   * The stored states of the partitions an election was asked for, read from ZooKeeper now: the view may
   * not have applied the ISR change the admin saw before asking (each node is read on its own watch), and
   * the request is deleted once decided, so it must be decided on what is really there.
   */
  private async freshStates(
    partitions: ReadonlyArray<{ topic: string; partition: number }>,
  ): Promise<Map<string, PartitionStateVersioned>> {
    const states = new Map<string, PartitionStateVersioned>();
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      if (states.has(key)) continue;
      const path = Paths.partitionState(topic, partition);
      const node = await this.coordinator.get(path);
      const state = node ? decodeNode(PartitionState, path, node.data) : null;
      if (node && state && !(state instanceof Error)) states.set(key, { state, version: node.version });
    }
    return states;
  }

  /**
   * The partitions admins asked to elect (ElectLeaders), by partition key, and the requests they came in.
   * A partition asked for both ways gets the unclean election.
   */
  private requestedElections(): { types: Map<string, ElectionType>; names: string[] } {
    const types = new Map<string, ElectionType>();
    for (const request of this.view.elections.values()) {
      for (const { topic, partition } of request.partitions) {
        const key = partitionKey(topic, partition);
        if (types.get(key) !== ElectionType.UNCLEAN) types.set(key, request.type);
      }
    }
    return { types, names: [...this.view.elections.keys()] };
  }

  /**
   * Ends the reassignments of a topic's partitions whose added replicas have caught up, in one fenced write:
   * the assignment keeps only the target replicas and each partition's state drops the removed ones from the
   * ISR (moving leadership to a target replica if a removed one led), at a new leader epoch. The removed
   * replicas see they are no longer replicas and delete their copies. False when refused (run again).
   */
  private async completeReassignments(
    tenure: Tenure,
    topic: string,
    done: readonly ReassignmentCompletion[],
  ): Promise<boolean> {
    const path = Paths.topic(topic);
    const node = await this.coordinator.get(path);
    const assignment = node ? decodeNode(TopicAssignment, path, node.data) : null;
    if (!node || !assignment || assignment instanceof Error) return true;
    const ops: CoordinationOp[] = [];
    for (const { partition, state, version } of done) {
      const p = String(partition);
      const removing = assignment.removingReplicas?.[p] ?? [];
      const replicas = assignment.partitions[p];
      if (!replicas) continue;
      assignment.partitions[p] = replicas.filter((id) => !removing.includes(id));
      delete assignment.addingReplicas?.[p];
      delete assignment.removingReplicas?.[p];
      ops.push({
        op: 'set',
        path: Paths.partitionState(topic, partition),
        data: encodeNode(state),
        version,
      });
    }
    const stored = await this.fenced(tenure, [
      { op: 'set', path, data: encodeNode(assignment), version: node.version },
      ...ops,
    ]);
    if (stored) {
      for (const { partition, state } of done) {
        this.options.logger.info(
          {
            topic,
            partition,
            replicas: assignment.partitions[String(partition)],
            leader: state.leader,
            leaderEpoch: state.leaderEpoch,
            isr: state.isr,
          },
          'partition reassignment completed',
        );
      }
    }
    return stored;
  }

  /**
   * Logs and counts the changes of a multi-op ZooKeeper took. A refused one is decided again by the next
   * pass from the state that beat it, so counting it here would count one election twice.
   */
  private committed(writes: readonly StateWrite[]): void {
    const { logger, metrics } = this.options;
    for (const { change: changed } of writes) {
      if (!changed) continue;
      const { topic, partition, previousLeader, previousIsr, change } = changed;
      logger.info(
        {
          topic,
          partition,
          reason: change.reason,
          leader: change.state.leader,
          leaderEpoch: change.state.leaderEpoch,
          isr: change.state.isr,
        },
        'partition state changed',
      );
      // A damaged replica only taken out of the ISR is no election either.
      const isrOnly =
        change.reason === 'isr-member-lost' ||
        ((change.reason === 'replica-offline' || change.reason === 'reassignment') &&
          change.state.leader === previousLeader);
      if (!isrOnly) metrics.leaderElections.inc({ reason: change.reason });
      // Lost or shutting-down brokers and damaged replicas taken out of the ISR (with a new leader or
      // without): the leaders' own shrinks are counted where they decide them
      // (edgestream_cluster_isr_shrinks_total).
      if (change.state.isr.length < previousIsr.length)
        metrics.controllerIsrShrinks.inc({ reason: change.reason });
    }
  }

  /** Says once per leader epoch why a leader reported damaged keeps leading. */
  private keptDamagedLeader(
    topic: string,
    partition: number,
    leader: number,
    state: { leaderEpoch: number; isr: readonly number[] },
  ): void {
    const key = `${topic}:${partition}:${state.leaderEpoch}`;
    if (this.keptDamagedLeaders.has(key)) return;
    if (this.keptDamagedLeaders.size >= MAX_KEPT_DAMAGED_LEADERS_REMEMBERED) this.keptDamagedLeaders.clear();
    this.keptDamagedLeaders.add(key);
    this.options.logger.warn(
      { topic, partition, leader, leaderEpoch: state.leaderEpoch, isr: state.isr },
      'leader reported a damaged replica but no other in-sync replica can take over (clean election only): it keeps leading, serving up to the damage',
    );
  }

  /**
   * Deletes the topics an admin asked to delete: states, partitions, assignment and config, then the
   * request. Each delete tolerates a node already gone, so a pass cut short is simply run again.
   */
  private async deleteTopics(tenure: Tenure): Promise<boolean> {
    for (const name of this.view.deleting) {
      if (!(await this.fenced(tenure, []))) return false;
      const partitions = this.view.topics.get(name)?.replicas.length ?? 0;
      for (let p = 0; p < partitions; p++) {
        await this.coordinator.delete(Paths.partitionState(name, p));
        await this.coordinator.delete(Paths.partition(name, p));
      }
      await this.coordinator.delete(Paths.partitions(name));
      await this.coordinator.delete(Paths.topic(name));
      await this.coordinator.delete(Paths.topicConfig(name));
      await this.coordinator.delete(Paths.deleteTopic(name));
      this.options.logger.info({ topic: name }, 'deleted topic');
    }
    return true;
  }

  /** Commits `ops` only while this tenure's epoch stands; with no ops, just checks that it does. */
  private async fenced(tenure: Tenure, ops: CoordinationOp[]): Promise<boolean> {
    return this.coordinator.commit([
      { op: 'check', path: Paths.controllerEpoch, version: tenure.epochVersion },
      ...ops,
    ]);
  }
}
