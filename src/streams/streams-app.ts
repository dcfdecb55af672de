import type { Logger } from 'pino';
import { LogClientError, ProducerFencedError } from '../client/client-errors.js';
import {
  type GroupMembership,
  type HeldPartition,
  type LogClient,
  supportsTransactions,
  type TopicPartition,
} from '../client/types.js';
import { type GlobalTable, type KStream, type StreamOptions, TopologyBuilder } from './dsl.js';
import { GlobalTableReader } from './global-table.js';
import { StreamsMetrics } from './metrics.js';
import {
  REPARTITION_PURGE_INTERVAL_MS,
  RepartitionPurge,
  type UpstreamCheckpoints,
} from './repartition-purge.js';
import type { Serde } from './serdes.js';
import { StreamTask, type TaskTopics, taskIdOf } from './task.js';
import type { Handoff } from './task-handoff.js';
import { ProduceSender, type RecordSender, TransactionalSender } from './task-senders.js';
import { type TaskWrite, TaskWriter, type WritingTask } from './task-writer.js';
import { CHANGELOG_CONFIG, REPARTITION_CONFIG, Topology } from './topology.js';

export interface StreamsConfig {
  /** Names the consumer group and prefixes internal topics; instances with the same id share the work. */
  applicationId: string;
  client: LogClient;
  logger: Logger;
  /** How often tasks checkpoint (state changelog, progress): bounds how much is replayed after a crash. */
  commitIntervalMs?: number;
  /**
   * How often, at most, records of repartition topics that their tasks have checkpointed past are deleted
   * (Kafka Streams' repartition.purge.interval.ms), after a checkpoint.
   */
  repartitionPurgeIntervalMs?: number;
  /**
   * How a task's writes are kept from landing beside those of its next owner. 'sequence': sequence headers,
   * checkpoints and the group's confirmation before each write (any client). 'transactional': each write is a
   * Kafka transaction of the task's own producer, which the next owner fences (a client that writes
   * transactions: the remote client).
   */
  exactlyOnce?: ExactlyOnceMode;
  /**
   * Bytes fetched at once, all processed in one turn of the event loop: bounds how long a backlog holds other
   * work up, and how many decoded records a fetch keeps alive (every garbage collection copies them).
   */
  fetchMaxBytes?: number;
  fetchMaxWaitMs?: number;
  /** Produced-but-unacknowledged output bytes allowed before fetching pauses (backpressure from sinks). */
  maxPendingOutputBytes?: number;
  /** A source partition with no records for this long stops holding downstream watermarks back. */
  idleTimeoutMs?: number;
  /** How long a task moved from another instance waits for it to let go before taking over anyway. */
  handoffTimeoutMs?: number;
  /** Where a task with no checkpoint starts. */
  startFrom?: 'earliest' | 'latest';
  /** Partitions for output and internal topics created here when no source partition count applies. */
  defaultPartitions?: number;
  maxGlobalTableRows?: number;
  metrics?: StreamsMetrics;
}

export const EXACTLY_ONCE_MODES = ['sequence', 'transactional'] as const;
export type ExactlyOnceMode = (typeof EXACTLY_ONCE_MODES)[number];

const DEFAULTS = {
  commitIntervalMs: 10_000,
  repartitionPurgeIntervalMs: REPARTITION_PURGE_INTERVAL_MS,
  exactlyOnce: 'sequence' as ExactlyOnceMode,
  // ~5,000 events of 200 bytes: ~15 ms of processing. 16 MiB took ~250 ms in one turn and cost more CPU.
  fetchMaxBytes: 1024 * 1024,
  fetchMaxWaitMs: 100,
  maxPendingOutputBytes: 32 * 1024 * 1024,
  idleTimeoutMs: 30_000,
  handoffTimeoutMs: 60_000,
  startFrom: 'earliest' as const,
  defaultPartitions: 4,
  maxGlobalTableRows: 1_000_000,
};

/** Changelog records serialised per turn of the event loop during a checkpoint, at most... */
const CHANGELOG_SLICE = 2_000;
/**
 * ...and for at most this long: 2,000 early-update accumulators with sketches took 80-1,100 ms to serialise
 * on a loaded machine (garbage collections included), and records arriving meanwhile waited for each slice.
 */
const CHANGELOG_TURN_MS = 1;
/**
 * A periodic checkpoint's slices start at least this far apart, so it takes a bounded share of the thread
 * however many records are waiting. Taken back to back, the slices of 100,000 changed windows (each slice
 * also appending to the log and making garbage) held back processing for ~0.5 s at 100,000 events/s: early
 * updates waited up to 250 ms at every checkpoint. Pacing lasts at most half the commit interval, after which
 * the rest goes back to back: a new owner takes checkpoints older than 2 x the interval (+ 1 s) as its owner's
 * death, so a live owner's markers must not fall that far apart. A checkpoint that releases tasks (rebalance,
 * close) is not paced: a new owner or the shutdown waits for it.
 */
const CHANGELOG_SLICE_SPACING_MS = 10;

/**
 * Lets timers and immediates run between two fetches. Without it, a port client's replies arriving back to back
 * (the next fetch's, the appends') kept the event loop in its message phase for up to 2 s at 50,000 events/s:
 * checkpoint timers and the checkpoint's slices (each awaiting an immediate) waited all that time.
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * A stream-processing application: build the pipeline with stream()/globalTable(), then start(). Its tasks
 * (one per input partition) are spread over every instance started with the same applicationId through a
 * consumer group; a partition's state moves with it on rebalance by way of its changelog.
 */
export class StreamsApp {
  readonly builder: TopologyBuilder;
  private readonly topology: Topology;
  readonly metrics: StreamsMetrics;
  private readonly settings: Required<Omit<StreamsConfig, 'client' | 'logger' | 'metrics' | 'applicationId'>>;
  private readonly tables: GlobalTableReader<unknown>[] = [];
  private readonly tasks = new Map<string, StreamTask>();
  private readonly partitions = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private membership: GroupMembership | null = null;
  /** What the coordinator gave us in the join under way (its first assignment is restored before joinGroup returns). */
  private joiningAssignment: HeldPartition[] = [];
  /** Every write of task records goes through it (see TaskWriter); set in start(). */
  private writer: TaskWriter | null = null;
  /** Deletes consumed repartition records after checkpoints; set in start(). */
  private purge: RepartitionPurge | null = null;
  private readonly sender: RecordSender;
  private running = false;
  private loop: Promise<void> | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  /** Checkpoints and assignment changes, one at a time. */
  private exclusive: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  /** Names this instance in checkpoints, so a task moved away and back is not waited for on itself. */
  private readonly instanceId = `${process.pid}-${Date.now().toString(36)}`;
  private readonly failed: Promise<Error>;
  private reportFailure: (error: Error) => void = () => undefined;

  constructor(private readonly config: StreamsConfig) {
    this.topology = new Topology(config.applicationId);
    this.builder = new TopologyBuilder(this.topology);
    this.metrics = config.metrics ?? new StreamsMetrics();
    this.settings = {
      commitIntervalMs: config.commitIntervalMs ?? DEFAULTS.commitIntervalMs,
      repartitionPurgeIntervalMs: config.repartitionPurgeIntervalMs ?? DEFAULTS.repartitionPurgeIntervalMs,
      exactlyOnce: config.exactlyOnce ?? DEFAULTS.exactlyOnce,
      fetchMaxBytes: config.fetchMaxBytes ?? DEFAULTS.fetchMaxBytes,
      fetchMaxWaitMs: config.fetchMaxWaitMs ?? DEFAULTS.fetchMaxWaitMs,
      maxPendingOutputBytes: config.maxPendingOutputBytes ?? DEFAULTS.maxPendingOutputBytes,
      idleTimeoutMs: config.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      handoffTimeoutMs: config.handoffTimeoutMs ?? DEFAULTS.handoffTimeoutMs,
      startFrom: config.startFrom ?? DEFAULTS.startFrom,
      defaultPartitions: config.defaultPartitions ?? DEFAULTS.defaultPartitions,
      maxGlobalTableRows: config.maxGlobalTableRows ?? DEFAULTS.maxGlobalTableRows,
    };
    this.failed = new Promise((resolve) => {
      this.reportFailure = resolve;
    });
    this.sender = this.chooseSender();
  }

  private chooseSender(): RecordSender {
    const { client } = this.config;
    if (this.settings.exactlyOnce === 'sequence') return new ProduceSender(client);
    if (!supportsTransactions(client)) {
      throw new LogClientError(
        'INVALID_ARGUMENT',
        "exactlyOnce 'transactional' needs a client that writes Kafka transactions (the remote client); the " +
          "embedded log has no other process's producers to fence: use 'sequence'",
      );
    }
    return new TransactionalSender(client, this.settings.handoffTimeoutMs);
  }

  stream<V>(topic: string, options: StreamOptions<V>): KStream<V> {
    return this.builder.stream(topic, options);
  }

  /** A table of the latest value per key of `topic`, held in full by every instance, for joins. */
  globalTable<T>(topic: string, options: { value: Serde<T> }): GlobalTable<T> {
    const table = new GlobalTableReader<T>(topic, options.value, this.settings.maxGlobalTableRows);
    this.tables.push(table as GlobalTableReader<unknown>);
    return table;
  }

  /** Resolves with the error that stopped processing (a sink that keeps failing, a state limit...). */
  get stopped(): Promise<Error> {
    return this.failed;
  }

  /** The tasks this instance runs now. */
  taskIds(): string[] {
    return [...this.tasks.keys()].sort();
  }

  /** Where each task this instance runs has processed its input partition up to (its next offset). */
  positions(): Array<{ topic: string; partition: number; nextOffset: number }> {
    return [...this.tasks.values()].map((task) => ({
      topic: task.source.topic,
      partition: task.partition,
      nextOffset: task.nextOffset,
    }));
  }

  /** Whether every task has processed its partition up to the end and every output is acknowledged. */
  async caughtUp(): Promise<boolean> {
    if (this.tasks.size === 0 || this.inFlight.size > 0) return false;
    for (const task of this.tasks.values()) {
      const { latest } = await this.config.client.offsets({
        topic: task.source.topic,
        partition: task.partition,
      });
      if (task.nextOffset < latest) return false;
    }
    return this.inFlight.size === 0;
  }

  async start(): Promise<void> {
    const { client, logger } = this.config;
    await this.createTopics();
    for (const table of this.tables) await table.start(client, logger);
    this.running = true;
    this.writer = new TaskWriter(
      this.sender,
      client.sharedGroups && this.sender.needsGroupConfirmation ? () => this.confirmAssignment() : null,
      (fenced) => this.fenced(fenced),
    );
    this.purge = new RepartitionPurge({
      client,
      logger,
      intervalMs: this.settings.repartitionPurgeIntervalMs,
      upstreamOf: this.upstreamCheckpoints(),
      runs: (task) => this.runs(task),
      confirm: client.sharedGroups ? () => this.confirmAssignment() : null,
    });
    this.membership = await client.joinGroup(this.config.applicationId, [...this.topology.sources.keys()], {
      assigned: (assigned) => this.serially(() => this.assign(assigned)),
      revoked: (revoked) => {
        // Stop processing them now; the checkpoint releasing them waits its turn behind any in progress.
        const leaving = this.detach(revoked);
        // Again in turn: tasks of an assignment still being restored just now are in the map only then.
        return this.serially(() => this.release([...leaving, ...this.detach(revoked)]));
      },
    });
    this.loop = this.run();
    this.scheduleCheckpoint();
    logger.info(
      { applicationId: this.config.applicationId, member: this.membership.memberId },
      'streams started',
    );
  }

  private async createTopics(): Promise<void> {
    const { client } = this.config;
    const { topology } = this;
    const userSources = [...topology.sources.values()].filter((source) => source.upstreamTopics === null);
    for (const source of userSources)
      this.partitions.set(source.topic, await client.partitionCount(source.topic));
    const widest = Math.max(this.settings.defaultPartitions, ...this.partitions.values());
    // Repartition topics are declared in graph order, so their upstream counts are known by the time we get there.
    for (const source of topology.sources.values()) {
      if (source.upstreamTopics === null) continue;
      const partitions = Math.max(...source.upstreamTopics.map((topic) => this.partitions.get(topic)!));
      const spec = { name: source.topic, partitions, config: REPARTITION_CONFIG };
      this.partitions.set(source.topic, await client.ensureTopic(spec));
      await this.upgradeRepartitionConfig(source.topic);
    }
    for (const source of topology.sources.values()) {
      await client.ensureTopic({
        name: this.checkpointTopic(source.topic),
        partitions: this.partitions.get(source.topic)!,
        config: { 'cleanup.policy': 'compact' },
      });
    }
    for (const [store, sourceTopic] of topology.stores) {
      await client.ensureTopic({
        name: topology.changelogTopic(store),
        partitions: this.partitions.get(sourceTopic)!,
        config: CHANGELOG_CONFIG,
      });
    }
    for (const sink of topology.sinks.values()) {
      if (this.partitions.has(sink.topic)) continue;
      const spec = {
        name: sink.topic,
        partitions: sink.partitions ?? widest,
        ...(sink.config ? { config: sink.config } : {}),
      };
      this.partitions.set(sink.topic, await client.ensureTopic(spec));
    }
    this.partitions.set(
      this.deadLetterTopic,
      await client.ensureTopic({ name: this.deadLetterTopic, partitions: 1 }),
    );
  }

  /**
   * Repartition topics created before they were purged kept the broker's retention and 1 GiB segments: a purge
   * frees no disk until a segment is wholly consumed, so an upgraded app brings them to Kafka Streams' configs.
   * A refusal (no ALTER_CONFIGS right on a cluster) only leaves the topic as it was.
   */
  private async upgradeRepartitionConfig(topic: string): Promise<void> {
    const { client, logger } = this.config;
    try {
      const changed = await client.alterTopicConfig(topic, REPARTITION_CONFIG);
      if (changed.length > 0)
        logger.info(
          { topic, changed, config: REPARTITION_CONFIG },
          'repartition topic configs brought up to date',
        );
    } catch (error) {
      logger.warn({ err: error, topic }, "could not set the repartition topic's configs; it keeps its own");
    }
  }

  /** Each repartition topic, with the checkpoint partitions of the tasks writing into it. */
  private upstreamCheckpoints(): Map<string, UpstreamCheckpoints[]> {
    const upstream = new Map<string, UpstreamCheckpoints[]>();
    for (const source of this.topology.sources.values()) {
      if (source.upstreamTopics === null) continue;
      upstream.set(
        source.topic,
        source.upstreamTopics.map((topic) => ({
          checkpointTopic: this.checkpointTopic(topic),
          partitions: this.partitions.get(topic)!,
        })),
      );
    }
    return upstream;
  }

  private get deadLetterTopic(): string {
    return `${this.config.applicationId}-dead-letter`;
  }

  private checkpointTopic(sourceTopic: string): string {
    return `${this.config.applicationId}-${sourceTopic}-checkpoint`;
  }

  private topicsFor(sourceTopic: string): TaskTopics {
    const changelogs = new Set(
      [...this.topology.stores.keys()].map((store) => this.topology.changelogTopic(store)),
    );
    const sinkPartitions = new Map<string, number>();
    for (const sink of this.topology.sinks.values()) {
      if (!changelogs.has(sink.topic)) sinkPartitions.set(sink.topic, this.partitions.get(sink.topic)!);
    }
    sinkPartitions.set(this.deadLetterTopic, this.partitions.get(this.deadLetterTopic)!);
    const repartitionTopics = [...this.topology.sources.values()]
      .filter((source) => source.upstreamTopics?.includes(sourceTopic))
      .map((source) => source.topic);
    for (const topic of repartitionTopics) sinkPartitions.set(topic, this.partitions.get(topic)!);
    return {
      sinkPartitions,
      checkpointTopic: this.checkpointTopic(sourceTopic),
      changelogTopic: (store) => this.topology.changelogTopic(store),
      repartitionTopics,
      deadLetterTopic: this.deadLetterTopic,
    };
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const next = this.exclusive.then(work);
    this.exclusive = next.catch(() => undefined);
    return next;
  }

  /** The partitions the group says we hold (see TaskWriter). */
  private confirmAssignment(): Promise<HeldPartition[]> {
    // Until joinGroup returns, the assignment it is restoring came from the coordinator just now.
    return this.membership?.confirmAssignment() ?? Promise.resolve(this.joiningAssignment);
  }

  private async assign(partitions: HeldPartition[]): Promise<void> {
    const { client, logger } = this.config;
    if (this.membership === null) this.joiningAssignment = partitions;
    const started = Date.now();
    const created: StreamTask[] = [];
    for (const { topic, partition, heldSince } of partitions) {
      const source = this.topology.sources.get(topic);
      if (!source || this.tasks.has(tpKey(topic, partition))) continue;
      const task = new StreamTask(
        this.config.applicationId,
        source,
        partition,
        heldSince,
        this.topicsFor(topic),
        this.metrics.taskObserver(),
        this.partitions,
        this.config.client.sharedGroups,
      );
      created.push(task);
    }
    await Promise.all(
      created.map(async (task) => {
        try {
          await this.sender.open(task, this.outputPartitions(task.source.topic));
        } catch (error) {
          // Another instance opened the task after us: it is the owner now.
          if (!(error instanceof ProducerFencedError)) throw error;
          task.fenced = true;
          this.fenced([task]);
          return;
        }
        await task.restore(
          client,
          (p) => this.startOffset(task.source.topic, p),
          this.handoff(),
          (records) => this.write([{ task, records }]),
        );
      }),
    );
    for (const task of created) {
      if (!task.fenced) this.tasks.set(tpKey(task.source.topic, task.partition), task);
    }
    if (created.length > 0) {
      logger.info(
        {
          tasks: created.map((task) => task.id),
          stateEntries: created.reduce((n, t) => n + t.stateEntries, 0),
          ms: Date.now() - started,
        },
        'tasks restored',
      );
    }
  }

  /** Every partition a task of this source topic may write outputs to. */
  private outputPartitions(sourceTopic: string): TopicPartition[] {
    return [...this.topicsFor(sourceTopic).sinkPartitions].flatMap(([topic, count]) =>
      Array.from({ length: count }, (_, partition) => ({ topic, partition })),
    );
  }

  private handoff(): Handoff {
    return {
      owner: this.instanceId,
      staleAfterMs: this.settings.commitIntervalMs * 2 + 1000,
      // A client whose groups nobody else can join never has a previous owner still running; a previous owner
      // whose producer the sender fenced can write nothing more, a release included.
      maxWaitMs:
        this.config.client.sharedGroups && this.sender.needsGroupConfirmation
          ? this.settings.handoffTimeoutMs
          : 0,
    };
  }

  private async startOffset(topic: string, partition: number): Promise<number> {
    const offsets = await this.config.client.offsets({ topic, partition });
    return this.settings.startFrom === 'earliest' ? offsets.earliest : offsets.latest;
  }

  /** Takes the tasks of these partitions out of processing. */
  private detach(partitions: TopicPartition[]): StreamTask[] {
    const leaving: StreamTask[] = [];
    for (const { topic, partition } of partitions) {
      const task = this.tasks.get(tpKey(topic, partition));
      if (!task) continue;
      this.tasks.delete(tpKey(topic, partition));
      leaving.push(task);
    }
    return leaving;
  }

  /** A last checkpoint saying they are released, written only if we still hold them (see TaskWriter). */
  private async release(leaving: StreamTask[]): Promise<void> {
    try {
      if (leaving.length > 0) await this.checkpoint(leaving, true);
    } finally {
      await Promise.all(leaving.map((task) => this.sender.close(task)));
    }
    this.config.logger.info({ tasks: leaving.map((task) => task.id) }, 'tasks revoked');
  }

  /** Tasks whose partitions the group gave to another instance while we still ran them. */
  private fenced(tasks: WritingTask[]): void {
    for (const task of tasks) {
      const key = tpKey(task.source.topic, task.partition);
      if (this.tasks.get(key) === task) this.tasks.delete(key);
      this.sender.close(task).catch((error: unknown) => {
        this.config.logger.warn({ err: error, task: task.id }, "closing a fenced task's producer failed");
      });
    }
    this.metrics.tasksFenced(tasks.length);
    this.config.logger.warn(
      { tasks: tasks.map((task) => task.id) },
      'tasks fenced: the group gave their partitions to another instance (as the group or, for transactional ' +
        'tasks, the cluster refusing their producer said); their unwritten records are dropped (the new owner ' +
        'reproduces them from the last checkpoint)',
    );
    if (!this.sender.needsGroupConfirmation && this.running) {
      this.serially(() => this.reopenIfStillHeld(tasks)).catch((error: unknown) => this.fail(error));
    }
  }

  /**
   * A producer the cluster refused is not always a new owner's doing: the coordinator also fences a producer
   * whose transaction outlived the transaction timeout (requestTimeoutMs). Asked now, the group says whether
   * the partitions are still ours, held without a break since the fenced tasks were made: such tasks are made
   * and restored again (their new producer fences the old). Partitions the group moved on are left alone,
   * and asking tells the membership so.
   */
  private async reopenIfStillHeld(tasks: WritingTask[]): Promise<void> {
    if (this.membership === null) return;
    const fencedSince = new Map(
      tasks.map((task) => [tpKey(task.source.topic, task.partition), task.heldSince]),
    );
    const stillHeld = (await this.membership.confirmAssignment()).filter(
      (p) => fencedSince.get(tpKey(p.topic, p.partition)) === p.heldSince,
    );
    if (stillHeld.length === 0 || !this.running) return;
    this.config.logger.warn(
      { partitions: stillHeld.map((p) => `${p.topic}-${p.partition}`) },
      'tasks whose producers were fenced are still ours in the group (a transaction outlived its timeout): ' +
        'restoring them again',
    );
    await this.assign(stillHeld);
  }

  private write(writes: TaskWrite[]): Promise<void> {
    return this.writer!.write(writes);
  }

  private async run(): Promise<void> {
    const { client } = this.config;
    const options = { maxBytes: this.settings.fetchMaxBytes, maxWaitMs: this.settings.fetchMaxWaitMs };
    while (this.running) {
      let tasks: StreamTask[] = [];
      try {
        while (this.inFlightBytes > this.settings.maxPendingOutputBytes) await Promise.race(this.inFlight);
        tasks = [...this.tasks.values()];
        if (tasks.length === 0) {
          await sleep(options.maxWaitMs);
          continue;
        }
        const readUpTo = new Map<StreamTask, number>();
        const records = await client.fetch(
          tasks.map((task) => ({
            topic: task.source.topic,
            partition: task.partition,
            offset: task.nextOffset,
          })),
          {
            ...options,
            readUpTo: (topic, partition, nextOffset) => {
              const task = this.tasks.get(tpKey(topic, partition));
              if (task) readUpTo.set(task, nextOffset);
            },
          },
        );
        this.processFetched(records);
        // After the records: offsets past them that hold none (transaction markers) are not asked for again.
        for (const [task, nextOffset] of readUpTo) task.skipTo(nextOffset);
        await yieldToEventLoop();
      } catch (error) {
        // Asking the group can fail too: the fetch's error is then the one to report.
        if (!(await this.fencedAfterPurge(error, tasks).catch(() => false))) this.fail(error);
      }
    }
  }

  /**
   * A fetch below a partition's log start is data loss, unless a task fetched for is no longer ours: frozen
   * past its session, this instance wakes with its old tasks while their new owner has purged what they
   * consumed (RepartitionPurge). True when one of them was revoked or fenced meanwhile, or the group says it
   * moved (such tasks are fenced, as a write would have found): the loop goes on with the tasks it has; a
   * task still ours out of range fails its next fetch again, and then the app.
   */
  private async fencedAfterPurge(error: unknown, fetched: StreamTask[]): Promise<boolean> {
    if (!(error instanceof LogClientError) || error.code !== 'OFFSET_OUT_OF_RANGE') return false;
    if (fetched.some((task) => !this.runs(task))) return this.movedOn(error);
    if (this.membership === null || !this.config.client.sharedGroups) return false;
    const held = new Map(
      (await this.membership.confirmAssignment()).map((p) => [tpKey(p.topic, p.partition), p.heldSince]),
    );
    const moved = fetched.filter(
      (task) => this.runs(task) && held.get(tpKey(task.source.topic, task.partition)) !== task.heldSince,
    );
    for (const task of moved) task.fenced = true;
    if (moved.length > 0) this.fenced(moved);
    return fetched.some((task) => !this.runs(task)) && this.movedOn(error);
  }

  private movedOn(error: LogClientError): true {
    this.config.logger.info(
      { err: error },
      'a fetch fell below a log start after tasks moved to another instance (which purged what they consumed); ' +
        'going on without them',
    );
    return true;
  }

  /** Whether the task is one this instance runs now: not revoked, fenced or replaced. */
  private runs(task: WritingTask): boolean {
    return !task.fenced && this.tasks.get(tpKey(task.source.topic, task.partition)) === task;
  }

  /** Processes a fetch and hands its outputs to the client in one synchronous step (see checkpoint()). */
  private processFetched(records: Awaited<ReturnType<LogClient['fetch']>>): void {
    // A fetch returns each partition's records together: hand each run to its task in one call. The runs go
    // from the last, each cut off the fetch before it is processed, so its records can die once it is done
    // (tasks are independent): held until the whole fetch was, they outlived scavenges and were promoted.
    let runEnd = records.length;
    while (runEnd > 0) {
      const last = records[runEnd - 1]!;
      let runStart = runEnd - 1;
      while (runStart > 0) {
        const record = records[runStart - 1]!;
        if (record.partition !== last.partition || record.topic !== last.topic) break;
        runStart--;
      }
      const run = records.slice(runStart, runEnd);
      records.length = runStart;
      this.tasks.get(tpKey(last.topic, last.partition))?.process(run);
      runEnd = runStart;
    }
    const writes: TaskWrite[] = [];
    let bytes = 0;
    for (const task of this.tasks.values()) {
      task.announceWatermark(this.settings.idleTimeoutMs);
      const taken = task.takeOutputs();
      if (taken.records.length === 0) continue;
      writes.push({ task, records: taken.records });
      bytes += taken.bytes;
    }
    if (writes.length > 0) this.produce(writes, bytes);
  }

  private produce(writes: TaskWrite[], bytes: number): void {
    for (const { records } of writes) this.metrics.recordsOut(records);
    this.inFlightBytes += bytes;
    const sent = this.write(writes).then(
      () => {
        this.inFlightBytes -= bytes;
        this.inFlight.delete(sent);
      },
      (error: unknown) => {
        this.inFlight.delete(sent);
        this.fail(error);
      },
    );
    this.inFlight.add(sent);
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.running = false;
    this.config.logger.error({ err: this.failure }, 'stream processing stopped');
    this.reportFailure(this.failure);
  }

  private scheduleCheckpoint(): void {
    this.checkpointTimer = setTimeout(() => {
      this.serially(() => this.checkpoint([...this.tasks.values()]))
        .catch((error: unknown) => this.fail(error))
        .finally(() => {
          if (this.running) this.scheduleCheckpoint();
        });
    }, this.settings.commitIntervalMs);
  }

  /**
   * Checkpoints tasks: snapshots are taken synchronously between two fetches, so every output of the records
   * before them has already been handed to the client; once those and the changelog entries are acknowledged,
   * the checkpoint markers are written, then progress is committed to the group for lag monitoring.
   */
  private async checkpoint(tasks: StreamTask[], released = false): Promise<void> {
    if (tasks.length === 0) return;
    const { client } = this.config;
    const owner = this.handoff().owner;
    const snapshots = tasks.map((task) => ({ task, snapshot: task.snapshot(owner, released) }));
    const before = [...this.inFlight];
    // Serialise and hand over the changelog a slice at a time, letting records be processed in between.
    const writes: Promise<void>[] = [];
    const paceUntilMs = released ? 0 : performance.now() + this.settings.commitIntervalMs / 2;
    for (const { task, snapshot } of snapshots) {
      for (
        let slice = snapshot.takeWithin(CHANGELOG_SLICE, CHANGELOG_TURN_MS);
        slice.length > 0;
        slice = snapshot.takeWithin(CHANGELOG_SLICE, CHANGELOG_TURN_MS)
      ) {
        const write = this.write([{ task, records: slice }]);
        // Awaited below with the others; until then a failure must not count as unhandled.
        write.catch(() => undefined);
        writes.push(write);
        await (performance.now() < paceUntilMs ? sleep(CHANGELOG_SLICE_SPACING_MS) : yieldToEventLoop());
      }
    }
    await Promise.all(writes);
    await Promise.all(before);
    if (this.failure) throw this.failure;
    await this.write(snapshots.map(({ task, snapshot }) => ({ task, records: [snapshot.marker] })));
    // A fenced task's marker was dropped; a released task is no longer ours to purge for.
    if (!released) {
      this.purge?.checkpointed(
        snapshots
          .filter(({ task }) => !task.fenced)
          .map(({ task, snapshot }) => ({ task, offset: snapshot.offset })),
      );
    }
    await this.commitProgress(tasks.filter((task) => !task.fenced));
    await Promise.all(tasks.map((task) => task.refreshOutputBounds(client)));
    await this.metrics.observeTasks(client, tasks);
  }

  /**
   * Commits positions to the group, for lag monitoring only: the checkpoints are what a task resumes from, so
   * a commit the group refuses (it is rebalancing; the partitions may have moved) is not a failure.
   */
  private async commitProgress(tasks: StreamTask[]): Promise<void> {
    try {
      await this.membership?.commit(
        tasks.map((task) => ({
          topic: task.source.topic,
          partition: task.partition,
          offset: task.nextOffset,
        })),
      );
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'COMMIT_FAILED')) throw error;
      this.config.logger.info({ err: error }, 'progress commit refused during a rebalance');
    }
  }

  /** Stops fetching, checkpoints every task and leaves the group (its partitions go to other instances). */
  async close(): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    if (wasRunning && !this.failure)
      await this.serially(() => this.checkpoint([...this.tasks.values()], true));
    await this.purge?.close();
    await this.membership?.leave();
    this.tasks.clear();
    for (const table of this.tables) await table.close();
    this.config.logger.info({ applicationId: this.config.applicationId }, 'streams stopped');
  }
}

export { taskIdOf };
