import type { Logger } from 'pino';
import { Backoff } from '../client/backoff.js';
import type { PartitionBatches } from '../client/batch-records.js';
import { settledTails } from '../client/partition-tail.js';
import type { BatchTargetClient, BatchWriter, EncodedRecords, TopicPartition } from '../client/types.js';
import { MirrorError } from './errors.js';
import { forwardRead } from './forward-batches.js';
import { MirrorMetrics } from './metrics.js';
import {
  checkTopicName,
  MIRROR_LIMITS,
  type MirrorOptions,
  resolveSettings,
  type Settings,
  wholeMatch,
} from './options.js';
import type { TopicPolicy } from './policy.js';
import { ProvenanceWriter, provenancePrefix } from './provenance.js';
import { readTail, sameTail, type TargetTail } from './target-tail.js';
import { mapLimited, settledWithin, sleep } from './waiting.js';

export { MIRROR_DEFAULTS, MIRROR_LIMITS, type MirrorOptions } from './options.js';

/** One source partition and where forwarding stands. */
interface PartitionLink {
  source: TopicPartition;
  /** Writes the provenance header of `source`'s records. */
  provenance: ProvenanceWriter;
  targetTopic: string;
  policy: TopicPolicy | undefined;
  /** The next source offset to fetch (runs ahead of `acked` by the batch being produced). */
  fetchPosition: number;
  /** Every source offset below this is on the target (or was filtered out or lost to retention). */
  acked: number;
  /** Timestamp of the newest record on the target, for lag in seconds. */
  lastForwardedTimestamp: number | null;
  atRisk: boolean;
}

/** What one produce carried, applied to the links once the target acknowledged it. */
interface Shipment {
  produced: Promise<unknown>;
  advances: Map<PartitionLink, Advance>;
}

/** One fetch from the source: per partition, the batches a read_committed reader keeps. */
type SourceRead = PartitionBatches[];

/** How far one shipment moves one link, and what it carried for the metrics. */
interface Advance {
  to: number;
  timestamp: number | null;
  records: number;
  bytes: number;
  filtered: number;
}

export interface MirrorPartitionStatus {
  topic: string;
  partition: number;
  targetTopic: string;
  /** Every source offset below this has been dealt with. */
  forwardedUpTo: number;
}

export interface MirrorStatus {
  linkUp: boolean;
  partitions: MirrorPartitionStatus[];
  totals: MirrorMetrics['totals'];
}

/**
 * Forwards topics from a source log to a target cluster, exactly once per record across restarts of either
 * side. Each forwarded record carries its source position in a header; on (re)connect the mirror reads the
 * last record of every target partition and resumes right after the source offset it names. While the target
 * is unreachable the source log is the buffer: the mirror backs off and resumes from the target's tail.
 */
export class Mirror {
  readonly metrics: MirrorMetrics;
  private readonly settings: Settings;
  private readonly logger: Logger;
  private readonly links = new Map<string, PartitionLink>();
  private readonly knownTopics = new Set<string>();
  private readonly abort = new AbortController();
  private readonly backoff: Backoff;
  private readonly closingClients = new Set<Promise<void>>();
  private target: BatchTargetClient | null = null;
  /** The target client's writer: transactional when the mirror forwards in transactions, else idempotent. */
  private writer: BatchWriter | null = null;
  private running: Promise<void> | null = null;
  private failure: unknown = null;
  private nextTopicRefreshAt = 0;
  private nextLagRefreshAt = 0;

  constructor(private readonly options: MirrorOptions) {
    this.settings = resolveSettings(options);
    this.logger = options.logger;
    this.metrics = options.metrics ?? new MirrorMetrics();
    this.backoff = new Backoff(this.settings.backoffBaseMs, this.settings.backoffCapMs);
  }

  /** Starts forwarding in the background; an unreachable source or target is waited for, not an error. */
  async start(): Promise<void> {
    if (this.running) throw new Error('the mirror is already started');
    this.running = this.run();
  }

  /** Resolves when close() finished; rejects with the MirrorError that stopped the mirror on its own. */
  async whenStopped(): Promise<void> {
    await this.running;
    if (this.failure) throw this.failure;
  }

  /**
   * Finishes the produce in flight unless the target is away, then closes the target clients it opened (not
   * the source), waiting for them at most closeTimeoutMs.
   */
  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.dropTarget();
    const closed = await settledWithin(Promise.allSettled(this.closingClients), this.settings.closeTimeoutMs);
    if (!closed) {
      this.logger.warn(
        { clients: this.closingClients.size, timeoutMs: this.settings.closeTimeoutMs },
        'target clients did not close in time; left to the process exit',
      );
    }
  }

  status(): MirrorStatus {
    return {
      linkUp: this.metrics.isLinkUp,
      partitions: [...this.links.values()].map((link) => ({
        ...link.source,
        targetTopic: link.targetTopic,
        forwardedUpTo: link.acked,
      })),
      totals: { ...this.metrics.totals },
    };
  }

  private get closing(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.closing) {
      try {
        if (!this.target) await this.connect();
        await this.forward(this.target!, this.writer!);
      } catch (caught) {
        const error = asPermanent(caught);
        if (error instanceof MirrorError) {
          this.failure = error;
          this.logger.error({ err: error }, 'mirror stopped');
          this.abort.abort();
          break;
        }
        if (this.closing) break;
        await this.linkLost(error);
      }
    }
    this.metrics.setLinkUp(false);
  }

  private async linkLost(error: unknown): Promise<void> {
    const wasUp = this.metrics.isLinkUp;
    this.dropTarget();
    this.metrics.reconnecting();
    const delayMs = this.backoff.nextDelayMs();
    this.logger.warn(
      { err: error, delayMs, wasUp },
      wasUp ? 'mirror link lost; retrying' : 'mirror cannot connect; retrying',
    );
    // The source is still there: keep lag and retention warnings current while the target is away.
    await this.refreshLag().catch(() => undefined);
    await sleep(delayMs, this.abort.signal);
  }

  /** Closing a client whose cluster is gone can take its timeouts; nobody waits for it but close(). */
  private dropTarget(): void {
    const target = this.target;
    this.target = null;
    // The client closes its writers with it.
    this.writer = null;
    if (!target) return;
    const closing = target.close().catch(() => undefined);
    this.closingClients.add(closing);
    void closing.then(() => this.closingClients.delete(closing));
  }

  private async connect(): Promise<void> {
    const target = this.options.connectTarget();
    this.target = target;
    await this.refreshTopics(target);
    // Before the tails are read: in transactions, from here on no earlier mirror's request can be appended
    // behind them.
    this.writer = target.batchWriter(this.options.transactionalId ?? null);
    await this.writer.init();
    await this.resumeFromTarget(target, [...this.links.values()]);
    await this.refreshLag();
    this.metrics.setLinkUp(true);
    this.logger.info({ partitions: this.links.size }, 'mirror link up');
  }

  /** Adds source topics that appeared (or that a pattern now matches) and creates their target topics. */
  private async refreshTopics(target: BatchTargetClient): Promise<PartitionLink[]> {
    this.nextTopicRefreshAt = Date.now() + this.settings.topicRefreshIntervalMs;
    const added: PartitionLink[] = [];
    for (const topic of await this.sourceTopics()) {
      if (this.knownTopics.has(topic)) continue;
      const partitions = await this.sourcePartitionCount(topic);
      if (partitions === null) continue;
      const targetTopic = `${this.options.prefix}${topic}`;
      checkTopicName(targetTopic);
      if (this.links.size + partitions > MIRROR_LIMITS.maxPartitions) {
        throw new MirrorError(
          'INVALID_OPTIONS',
          `forwarding '${topic}' would make ${this.links.size + partitions} partitions; the limit is ` +
            `${MIRROR_LIMITS.maxPartitions}`,
        );
      }
      const targetPartitions = await target.ensureTopic({ name: targetTopic, partitions });
      if (targetPartitions < partitions) {
        throw new MirrorError(
          'TARGET_TOO_FEW_PARTITIONS',
          `target topic '${targetTopic}' has ${targetPartitions} partitions but source '${topic}' has ` +
            `${partitions}: partition N goes to partition N, so it needs at least as many`,
        );
      }
      const policy = this.options.policies?.find((rule) => wholeMatch(rule.topics, topic))?.policy;
      for (let partition = 0; partition < partitions; partition += 1) {
        const link: PartitionLink = {
          source: { topic, partition },
          provenance: new ProvenanceWriter(Buffer.from(provenancePrefix({ topic, partition }), 'latin1')),
          targetTopic,
          policy,
          fetchPosition: 0,
          acked: 0,
          lastForwardedTimestamp: null,
          atRisk: false,
        };
        this.links.set(`${topic}:${partition}`, link);
        added.push(link);
      }
      this.knownTopics.add(topic);
      this.logger.info({ topic, targetTopic, partitions }, 'mirroring topic');
    }
    return added;
  }

  /** Null for a named topic the source does not have yet: it is looked for again at the next refresh. */
  private async sourcePartitionCount(topic: string): Promise<number | null> {
    try {
      return await this.options.source.partitionCount(topic);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'UNKNOWN_TOPIC') throw error;
      this.logger.warn({ topic }, 'source topic does not exist yet; it is forwarded once it does');
      return null;
    }
  }

  private async sourceTopics(): Promise<string[]> {
    const { topics, listSourceTopics } = this.options;
    if (Array.isArray(topics)) return topics;
    const names = await listSourceTopics!();
    return names.filter((name) => !name.startsWith('__') && wholeMatch(topics, name)).sort();
  }

  /**
   * Reads where every partition stands on the target. A transactional mirror reads once: the earlier
   * producers are fenced. Otherwise twice with a pause between, until both reads agree: a produce request the
   * previous process (or client) sent just before dying may still be appended, and resuming before it lands
   * would send its records a second time.
   */
  private async resumeFromTarget(target: BatchTargetClient, links: PartitionLink[]): Promise<void> {
    const tails =
      this.options.transactionalId !== undefined
        ? await this.readTails(target, links)
        : await settledTails(
            () => this.readTails(target, links),
            (current, previous) => current.every((tail, i) => sameTail(tail, previous[i]!)),
            {
              settleMs: this.settings.resumeSettleMs,
              roundsMax: MIRROR_LIMITS.maxSettleRounds,
              sleep: (ms) => sleep(ms, this.abort.signal),
            },
          );
    for (const [i, link] of links.entries()) await this.resumeAt(link, tails[i]!);
  }

  private async resumeAt(link: PartitionLink, tail: TargetTail | null): Promise<void> {
    const { earliest } = await this.options.source.offsets(link.source);
    if (tail === null) {
      // Nothing forwarded yet: everything the source still has is new to the target, and nothing is lost.
      link.acked = earliest;
      link.lastForwardedTimestamp = null;
    } else {
      link.acked = tail.nextSourceOffset;
      link.lastForwardedTimestamp = tail.timestamp;
      this.skipDeletedRecords(link, earliest);
    }
    link.fetchPosition = link.acked;
  }

  private readTails(target: BatchTargetClient, links: PartitionLink[]): Promise<Array<TargetTail | null>> {
    return mapLimited(links, MIRROR_LIMITS.tailReadConcurrency, (link) => readTail(target, link));
  }

  /** Counts and logs the records retention deleted before they could be forwarded, and moves past them. */
  private skipDeletedRecords(link: PartitionLink, sourceEarliest: number): void {
    if (link.acked >= sourceEarliest) return;
    const lost = sourceEarliest - link.acked;
    const { topic, partition } = link.source;
    this.metrics.skipped(topic, partition, lost);
    this.logger.error(
      { topic, partition, fromOffset: link.acked, toOffset: sourceEarliest - 1, records: lost },
      'source retention deleted records before they were forwarded; they are skipped',
    );
    link.acked = sourceEarliest;
    link.fetchPosition = Math.max(link.fetchPosition, sourceEarliest);
  }

  /** Fetch the next batch while the previous one is being produced; one produce in flight at a time. */
  private async forward(target: BatchTargetClient, writer: BatchWriter): Promise<void> {
    let inFlight: Shipment | null = null;
    try {
      while (!this.closing) {
        await this.housekeeping(target);
        const read = await this.fetchSource();
        if (inFlight) {
          await this.settle(inFlight);
          inFlight = null;
        }
        if (read === null) {
          await this.skipAllDeletedRecords();
          continue;
        }
        inFlight = this.ship(writer, read);
      }
    } finally {
      // The batch in flight is seen through before this client is dropped, also when the source failed: the
      // library would otherwise still send it after the next client resumed from the target's tail.
      if (inFlight) await this.settle(inFlight).catch(() => undefined);
    }
  }

  private async housekeeping(target: BatchTargetClient): Promise<void> {
    const now = Date.now();
    if (now >= this.nextTopicRefreshAt) {
      const added = await this.refreshTopics(target);
      if (added.length > 0) await this.resumeFromTarget(target, added);
    }
    if (now >= this.nextLagRefreshAt) await this.refreshLag();
  }

  /** Null when a requested offset is no longer in the source log. */
  private async fetchSource(): Promise<SourceRead | null> {
    const links = [...this.links.values()];
    if (links.length === 0) {
      await sleep(this.settings.fetchMaxWaitMs, this.abort.signal);
      return [];
    }
    try {
      return await this.options.source.fetchBatches(
        links.map((link) => ({ ...link.source, offset: link.fetchPosition })),
        { maxBytes: this.settings.fetchMaxBytes, maxWaitMs: this.settings.fetchMaxWaitMs },
      );
    } catch (error) {
      if ((error as { code?: unknown }).code === 'OFFSET_OUT_OF_RANGE') return null;
      throw error;
    }
  }

  private async skipAllDeletedRecords(): Promise<void> {
    for (const link of this.links.values()) {
      this.skipDeletedRecords(link, (await this.options.source.offsets(link.source)).earliest);
    }
  }

  /**
   * Re-frames the batches read for their target partitions (filtered, each record tagged with its
   * provenance; see forwardRead) and starts writing them. Offsets that hold no record (transaction markers,
   * aborted records) are passed with the records after them.
   */
  private ship(writer: BatchWriter, reads: SourceRead): Shipment {
    const batches: EncodedRecords[] = [];
    const advances: Shipment['advances'] = new Map();
    // Every read is re-framed before any link moves: a batch that cannot be (a codec this process lacks)
    // fails the shipment with the positions as they were.
    for (const read of reads) {
      const link = this.links.get(`${read.topic}:${read.partition}`);
      if (!link) continue;
      const forwarded = forwardRead(
        read,
        link.fetchPosition,
        {
          topic: link.targetTopic,
          partition: read.partition,
          sourceTopic: read.topic,
          policy: link.policy,
          provenance: link.provenance,
        },
        MIRROR_LIMITS.maxForwardedBatchBytes,
      );
      const to = Math.max(link.fetchPosition, forwarded.nextOffset ?? 0, read.endOffset);
      if (to === link.fetchPosition) continue;
      batches.push(...forwarded.batches);
      advances.set(link, {
        to,
        timestamp: forwarded.timestamp,
        records: forwarded.records,
        bytes: forwarded.bytes,
        filtered: forwarded.filtered,
      });
    }
    for (const [link, advance] of advances) link.fetchPosition = advance.to;
    const produced = writer.write(batches);
    // Always awaited by settle(); this keeps a failure that comes before that from counting as unhandled.
    produced.catch(() => undefined);
    return { produced, advances };
  }

  private async settle(shipment: Shipment): Promise<void> {
    if (!(await this.acknowledged(shipment.produced))) return;
    // Reset only once the target took records: a target that accepts connections but fails every produce
    // keeps the backoff growing.
    this.backoff.reset();
    for (const [link, advance] of shipment.advances) {
      link.acked = advance.to;
      if (advance.timestamp !== null) link.lastForwardedTimestamp = advance.timestamp;
      if (advance.records > 0) this.metrics.sent(link.source.topic, advance.records, advance.bytes);
      if (advance.filtered > 0) this.metrics.filtered(link.source.topic, advance.filtered);
    }
  }

  /**
   * Waits for the target's acknowledgement. The client library holds a produce while the target is away and
   * sends it when the target returns, so the request is never abandoned (a second copy could then be
   * appended after it): the link is reported down meanwhile and lag and retention warnings stay current.
   * False when the mirror closes first: the request's fate is then read from the target tail on the next start.
   */
  private async acknowledged(produced: Promise<unknown>): Promise<boolean> {
    const startedAt = Date.now();
    let stalled = false;
    let acknowledged = false;
    try {
      for (;;) {
        if (await settledWithin(produced, this.settings.produceStallMs, this.abort.signal)) {
          await produced;
          acknowledged = true;
          return true;
        }
        if (this.closing) return false;
        if (!stalled) {
          stalled = true;
          this.metrics.setLinkUp(false);
          this.logger.warn({ waitedMs: Date.now() - startedAt }, 'target does not acknowledge; link down');
        }
        await this.refreshLag().catch(() => undefined);
      }
    } finally {
      if (stalled && acknowledged) {
        this.metrics.setLinkUp(true);
        this.logger.info({ waitedMs: Date.now() - startedAt }, 'target acknowledged again; link up');
      }
    }
  }

  /** Lag per partition from the source's offsets, and the warning when the backlog nears retention. */
  private async refreshLag(): Promise<void> {
    this.nextLagRefreshAt = Date.now() + this.settings.lagRefreshIntervalMs;
    const links = [...this.links.values()];
    const offsets = await mapLimited(links, MIRROR_LIMITS.tailReadConcurrency, (link) =>
      this.options.source.offsets(link.source),
    );
    const now = Date.now();
    for (const [i, link] of links.entries()) {
      const { earliest, latest } = offsets[i]!;
      const labels = { topic: link.source.topic, partition: String(link.source.partition) };
      const lagRecords = Math.max(0, latest - link.acked);
      this.metrics.lagRecords.set(labels, lagRecords);
      const lagMs =
        lagRecords > 0 && link.lastForwardedTimestamp !== null ? now - link.lastForwardedTimestamp : 0;
      this.metrics.lagSeconds.set(labels, Math.max(0, lagMs) / 1000);
      this.checkRetentionRisk(link, { earliest, latest, lagRecords, lagMs });
    }
  }

  /**
   * At risk when the backlog's age nears the source's retention.ms, or when retention is already deleting
   * (the log start moved) and the backlog is most of what the log still holds.
   */
  private checkRetentionRisk(
    link: PartitionLink,
    state: { earliest: number; latest: number; lagRecords: number; lagMs: number },
  ): void {
    const { retentionWarnRatio } = this.settings;
    const retained = state.latest - state.earliest;
    const byShare = state.earliest > 0 && retained > 0 && state.lagRecords >= retentionWarnRatio * retained;
    const retentionMs = this.options.sourceRetentionMs;
    const byAge = retentionMs !== undefined && state.lagMs >= retentionWarnRatio * retentionMs;
    const atRisk = byShare || byAge;
    const { topic, partition } = link.source;
    this.metrics.retentionAtRisk.set({ topic, partition: String(partition) }, atRisk ? 1 : 0);
    if (atRisk && !link.atRisk) {
      this.logger.warn(
        {
          topic,
          partition,
          backlogRecords: state.lagRecords,
          retainedRecords: retained,
          backlogMs: state.lagMs,
        },
        'mirror backlog nears the source retention limit: records will be lost if the link stays down',
      );
    } else if (!atRisk && link.atRisk) {
      this.logger.info({ topic, partition }, 'mirror backlog is clear of the source retention limit again');
    }
    link.atRisk = atRisk;
  }
}

/**
 * Errors no reconnect can cure: a record the target client refuses (too large for the target, a timestamp it
 * cannot carry). Retrying would loop forever and skipping would lose the record silently, so the mirror stops.
 */
function asPermanent(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'MESSAGE_TOO_LARGE' && code !== 'INVALID_ARGUMENT') return error;
  return new MirrorError('RECORD_REFUSED', `the target client refused a record: ${(error as Error).message}`);
}
