import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_TOPIC_CONFIG,
  parseTopicConfig,
  type TopicConfig,
  type TopicConfigOverrides,
} from './config.js';
import { ioError, isNodeError, LogError } from './errors.js';
import type { Logger } from './logger.js';
import { OpenFileLimiter } from './open-files.js';
import { PartitionLog, type RetentionResult } from './partition-log.js';
import { fsyncDirectory, type SegmentWriter, writeFileAtomic } from './segment.js';

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const TOPIC_FILE = 'topic.json';
const LOCK_FILE = '.lock';
/** Kafka's topic id: 16 bytes, here in hex; all zeros is Kafka's "no id". */
const TOPIC_ID = /^[0-9a-f]{32}$/;
const ZERO_TOPIC_ID = '0'.repeat(32);
export const MAX_PARTITIONS_PER_TOPIC = 10_000;
/** Segment files open at once by default: leaves the rest of the process's descriptor limit to sockets. */
export const DEFAULT_MAX_OPEN_SEGMENTS = 4096;

export interface LogManagerOptions {
  dataDir: string;
  logger: Logger;
  /** Broker-wide defaults under which per-topic overrides apply. */
  defaults?: Partial<TopicConfig>;
  /**
   * Segment files open at once over all partitions (default DEFAULT_MAX_OPEN_SEGMENTS); the least recently
   * used are closed to stay under it and reopened when next read or written.
   */
  maxOpenSegments?: number;
  /**
   * Bound on what one batch's records may inflate to when decoded in this process: ListOffsets by
   * timestamp, compaction and in-process consumers (default DEFAULT_MAX_DECOMPRESSED_BYTES, 64 MiB).
   */
  maxDecompressedBytes?: number;
  writer?: SegmentWriter;
  now?: () => number;
  /** producer.id.expiration.ms of every partition (PartitionLogOptions.producerIdExpirationMs). */
  producerIdExpirationMs?: number;
}

/** What one run of the retention loop did: segments deleted by retention and compaction's work. */
export interface MaintenanceResult extends RetentionResult {
  compactedPartitions: number;
  /** Segments compaction rewrote or removed. */
  compactedSegments: number;
  compactedRecords: number;
  /** Producers forgotten past producer.id.expiration.ms. */
  expiredProducers: number;
}

export interface TopicDescription {
  name: string;
  /** 16 bytes, hex: Kafka's topic id, new for every creation of a name. */
  topicId: string;
  partitions: number;
  config: TopicConfig;
  /** Keys set for this topic, as opposed to inherited defaults. */
  overrides: TopicConfigOverrides;
}

interface TopicState {
  topicId: string;
  overrides: TopicConfigOverrides;
  config: TopicConfig;
  partitions: PartitionLog[];
}

interface TopicFile {
  topicId?: string;
  partitions: number;
  config: TopicConfigOverrides;
}

/** Every topic partition under one data directory, with per-topic config persisted beside the data. */
export class LogManager {
  private readonly topicsDir: string;
  private readonly trashDir: string;
  private defaults: TopicConfig;
  private readonly files: OpenFileLimiter;
  private readonly topicStates = new Map<string, TopicState>();
  private retentionTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(private readonly options: LogManagerOptions) {
    this.topicsDir = path.join(options.dataDir, 'topics');
    this.trashDir = path.join(options.dataDir, 'trash');
    this.defaults = { ...DEFAULT_TOPIC_CONFIG, ...options.defaults };
    this.files = new OpenFileLimiter(options.maxOpenSegments ?? DEFAULT_MAX_OPEN_SEGMENTS);
  }

  static open(options: LogManagerOptions): LogManager {
    const manager = new LogManager(options);
    try {
      fs.mkdirSync(manager.topicsDir, { recursive: true });
      fs.rmSync(manager.trashDir, { recursive: true, force: true });
    } catch (error) {
      throw ioError(error, `prepare data directory ${options.dataDir}`);
    }
    acquireLock(options.dataDir);
    try {
      manager.loadTopics();
    } catch (error) {
      releaseLock(options.dataDir);
      throw error;
    }
    return manager;
  }

  private loadTopics(): void {
    for (const name of fs.readdirSync(this.topicsDir)) {
      const topicDir = path.join(this.topicsDir, name);
      const file = readTopicFile(path.join(topicDir, TOPIC_FILE));
      if (!file) {
        this.options.logger.warn({ dir: topicDir }, 'removing topic directory left by an interrupted create');
        fs.rmSync(topicDir, { recursive: true, force: true });
        continue;
      }
      const config = parseTopicConfig(file.config, this.defaults);
      const partitions = Array.from({ length: file.partitions }, (_, p) =>
        this.openPartition(name, p, config),
      );
      const topicId = file.topicId ?? newTopicId();
      this.topicStates.set(name, { topicId, overrides: file.config, config, partitions });
    }
  }

  private openPartition(topic: string, partition: number, config: TopicConfig): PartitionLog {
    return PartitionLog.open({
      dir: path.join(this.topicsDir, topic, String(partition)),
      config,
      files: this.files,
      logger: this.options.logger,
      maxDecompressedBytes: this.options.maxDecompressedBytes,
      ...(this.options.writer ? { writer: this.options.writer } : {}),
      ...(this.options.now ? { now: this.options.now } : {}),
      ...(this.options.producerIdExpirationMs === undefined
        ? {}
        : { producerIdExpirationMs: this.options.producerIdExpirationMs }),
    });
  }

  topicNames(): string[] {
    return [...this.topicStates.keys()].sort();
  }

  hasTopic(name: string): boolean {
    return this.topicStates.has(name);
  }

  describeTopic(name: string): TopicDescription {
    const state = this.state(name);
    return {
      name,
      topicId: state.topicId,
      partitions: state.partitions.length,
      config: state.config,
      overrides: { ...state.overrides },
    };
  }

  /**
   * Creates a topic with a fresh id or, for a replica of a topic created elsewhere, with `topicId` (32
   * lowercase hex digits) so that every replica of it carries the same id.
   */
  createTopic(
    name: string,
    partitions: number,
    overrides: TopicConfigOverrides = {},
    topicId: string = newTopicId(),
  ): TopicDescription {
    this.ensureOpen();
    validateTopicName(name);
    if (!TOPIC_ID.test(topicId) || topicId === ZERO_TOPIC_ID) {
      throw new LogError(
        'INVALID_CONFIG',
        `topic id ${JSON.stringify(topicId)} must be 32 lowercase hex digits, not all zero`,
      );
    }
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS_PER_TOPIC) {
      throw new LogError(
        'INVALID_CONFIG',
        `partitions=${partitions} is invalid: expected 1..${MAX_PARTITIONS_PER_TOPIC}`,
      );
    }
    if (this.topicStates.has(name))
      throw new LogError('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`);
    const config = parseTopicConfig(overrides, this.defaults);
    const topicDir = path.join(this.topicsDir, name);
    const logs: PartitionLog[] = [];
    try {
      fs.mkdirSync(topicDir);
      for (let p = 0; p < partitions; p++) logs.push(this.openPartition(name, p, config));
      writeFileAtomic(
        path.join(topicDir, TOPIC_FILE),
        JSON.stringify({ topicId, partitions, config: overrides }),
      );
      fsyncDirectory(topicDir);
      fsyncDirectory(this.topicsDir);
    } catch (error) {
      for (const log of logs) void log.close({ discard: true });
      fs.rmSync(topicDir, { recursive: true, force: true });
      throw error instanceof LogError ? error : ioError(error, `create topic ${name}`);
    }
    this.topicStates.set(name, { topicId, overrides: { ...overrides }, config, partitions: logs });
    return this.describeTopic(name);
  }

  /**
   * Grows the topic to `partitions` (CreatePartitions): the new partitions' logs first, then the topic
   * file, so a crash part way reopens the topic at its old count (the new directories are opened empty
   * again on the next attempt). Never fewer partitions: Kafka cannot shrink a topic either.
   */
  addPartitions(name: string, partitions: number): TopicDescription {
    this.ensureOpen();
    const state = this.state(name);
    const current = state.partitions.length;
    if (!Number.isInteger(partitions) || partitions <= current || partitions > MAX_PARTITIONS_PER_TOPIC) {
      throw new LogError(
        'INVALID_CONFIG',
        `partitions=${partitions} is invalid for '${name}': expected ${current + 1}..${MAX_PARTITIONS_PER_TOPIC}`,
      );
    }
    const added: PartitionLog[] = [];
    try {
      for (let p = current; p < partitions; p++) added.push(this.openPartition(name, p, state.config));
      this.writeTopicFile(name, state.topicId, partitions, state.overrides);
    } catch (error) {
      for (const log of added) void log.close({ discard: true });
      throw error instanceof LogError ? error : ioError(error, `add partitions to ${name}`);
    }
    state.partitions.push(...added);
    return this.describeTopic(name);
  }

  /**
   * Replaces the broker-wide defaults (dynamic broker configs): every topic's config is made again from its
   * overrides over them and applied to its live partitions.
   */
  setDefaults(defaults: TopicConfig): void {
    this.ensureOpen();
    this.defaults = { ...defaults };
    for (const state of this.topicStates.values()) {
      state.config = parseTopicConfig(state.overrides, this.defaults);
      for (const log of state.partitions) log.setConfig(state.config);
    }
  }

  /** Throws INVALID_CONFIG naming the first bad key, as alterTopicConfig would (validateOnly). */
  validateOverrides(overrides: TopicConfigOverrides): void {
    parseTopicConfig(overrides, this.defaults);
  }

  /** Replaces the topic's overrides; validated before anything changes. */
  alterTopicConfig(name: string, overrides: TopicConfigOverrides): TopicDescription {
    this.ensureOpen();
    const state = this.state(name);
    const config = parseTopicConfig(overrides, this.defaults);
    this.writeTopicFile(name, state.topicId, state.partitions.length, overrides);
    state.overrides = { ...overrides };
    state.config = config;
    for (const log of state.partitions) log.setConfig(config);
    return this.describeTopic(name);
  }

  /** Removes the topic at once from view; its files are moved aside and deleted. */
  async deleteTopic(name: string): Promise<void> {
    this.ensureOpen();
    const state = this.state(name);
    this.topicStates.delete(name);
    await Promise.all(state.partitions.map((log) => log.close({ discard: true })));
    const trashed = path.join(this.trashDir, `${name}-${process.hrtime.bigint()}`);
    try {
      fs.mkdirSync(this.trashDir, { recursive: true });
      fs.renameSync(path.join(this.topicsDir, name), trashed);
      fsyncDirectory(this.topicsDir);
      await fs.promises.rm(trashed, { recursive: true, force: true });
    } catch (error) {
      throw ioError(error, `delete topic ${name}`);
    }
  }

  /** The partition's log, or null when the topic or the partition does not exist. */
  partitionIfExists(topic: string, partition: number): PartitionLog | null {
    return this.topicStates.get(topic)?.partitions[partition] ?? null;
  }

  partition(topic: string, partition: number): PartitionLog {
    const log = this.topicStates.get(topic)?.partitions[partition];
    if (!log) throw new LogError('UNKNOWN_TOPIC_OR_PARTITION', `no partition ${topic}-${partition}`);
    return log;
  }

  /**
   * Rolls expired active segments, applies retention where cleanup.policy includes delete, compacts
   * where it includes compact and the dirty ratio is reached, and forgets expired producer ids (Kafka checks
   * those on a timer of its own, every 10 minutes; this pass is more frequent and costs a map walk), on
   * every partition.
   */
  runRetention(): MaintenanceResult {
    const total: MaintenanceResult = {
      deletedSegments: 0,
      deletedBytes: 0,
      compactedPartitions: 0,
      compactedSegments: 0,
      compactedRecords: 0,
      expiredProducers: 0,
    };
    for (const [name, state] of this.topicStates) {
      state.partitions.forEach((log, p) => {
        try {
          log.rollIfExpired();
          total.expiredProducers += log.expireProducers();
          const result = log.applyRetention();
          total.deletedSegments += result.deletedSegments;
          total.deletedBytes += result.deletedBytes;
        } catch (error) {
          this.options.logger.error({ topic: name, partition: p, err: error }, 'retention failed');
        }
        try {
          const compaction = log.compactIfDue();
          if (compaction) {
            total.compactedPartitions++;
            total.compactedSegments += compaction.segmentsCleaned;
            total.compactedRecords += compaction.recordsRemoved;
          }
        } catch (error) {
          this.options.logger.error({ topic: name, partition: p, err: error }, 'compaction failed');
        }
      });
    }
    return total;
  }

  startRetention(intervalMs: number): void {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.retentionTimer = setInterval(() => this.runRetention(), intervalMs);
    this.retentionTimer.unref();
  }

  get openSegmentFiles(): number {
    return this.files.openCount;
  }

  /** Segment files opened since start, reopens after eviction included: steady growth means churn. */
  get openedSegmentFiles(): number {
    return this.files.openedTotal;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    const logs = [...this.topicStates.values()].flatMap((state) => state.partitions);
    const results = await Promise.allSettled(logs.map((log) => log.close()));
    releaseLock(this.options.dataDir);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  }

  private writeTopicFile(
    name: string,
    topicId: string,
    partitions: number,
    overrides: TopicConfigOverrides,
  ): void {
    const file: TopicFile = { topicId, partitions, config: overrides };
    writeFileAtomic(path.join(this.topicsDir, name, TOPIC_FILE), JSON.stringify(file));
  }

  private state(name: string): TopicState {
    const state = this.topicStates.get(name);
    if (!state) throw new LogError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
    return state;
  }

  private ensureOpen(): void {
    if (this.closed) throw new LogError('LOG_CLOSED', `log manager for ${this.options.dataDir} is closed`);
  }
}

function newTopicId(): string {
  return randomUUID().replaceAll('-', '');
}

export function validateTopicName(name: string): void {
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new LogError(
      'INVALID_TOPIC',
      `topic name ${JSON.stringify(name)} is invalid: expected 1-249 characters of [a-zA-Z0-9._-], not '.' or '..'`,
    );
  }
}

function readTopicFile(file: string): TopicFile | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    if (isNodeError(error, 'ENOENT')) return null;
    throw new LogError('INVALID_CONFIG', `${file} is unreadable: ${(error as Error).message}`);
  }
  const value = parsed as Partial<TopicFile>;
  const validConfig =
    typeof value.config === 'object' &&
    value.config !== null &&
    Object.values(value.config).every((v) => typeof v === 'string');
  if (!Number.isInteger(value.partitions) || (value.partitions ?? 0) < 1 || !validConfig) {
    throw new LogError(
      'INVALID_CONFIG',
      `${file}: expected {"partitions": <integer >= 1>, "config": {<key>: <string>}}`,
    );
  }
  return value as TopicFile;
}

/** One process per data directory: a second broker on the same files would corrupt them. */
function acquireLock(dataDir: string): void {
  const lockPath = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if (!isNodeError(error, 'EEXIST')) throw ioError(error, `lock ${dataDir}`);
    }
    const holder = Number(fs.readFileSync(lockPath, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new LogError('IO_ERROR', `data directory ${dataDir} is in use by process ${holder}`);
    }
    fs.rmSync(lockPath, { force: true });
  }
  throw new LogError('IO_ERROR', `could not lock data directory ${dataDir}`);
}

function releaseLock(dataDir: string): void {
  fs.rmSync(path.join(dataDir, LOCK_FILE), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isNodeError(error, 'EPERM');
  }
}
