import type { Logger } from 'pino';
import { Backoff } from '../client/backoff.js';
import { headerValue, newestRecordFromTail, settledTails } from '../client/partition-tail.js';
import { partitionForKey } from '../client/partitioner.js';
import type { ConsumedRecord, LogClient, OutgoingRecord } from '../client/types.js';
import type { SequencedRecord, Spool } from './spool.js';

/**
 * Sends the spool to the brokers in order, exactly once across broker outages and agent restarts. Every record
 * carries a provenance header `<spool id>:<sequence>`; before sending (at start, and after any failed send,
 * which may have appended part of its records) the forwarder reads back the tail of each partition it writes
 * and skips what is already there, as the mirror does. The idempotent producer keeps retries within a
 * connection from writing twice.
 */

export const AGENT_PROVENANCE_HEADER = 'es.agent.src';

export const FORWARDER_LIMITS = {
  /** Records and bytes per produce call. */
  sendRecordsMax: 5_000,
  sendBytesMax: 4 * 1024 * 1024,
  /**
   * Records looked at back from a partition's end for this agent's newest one; other edges write to the same
   * partitions, and an agent whose last record is further back than this sends what its spool holds unacked
   * again (docs/agent.md).
   */
  resumeRecordsBackMax: 50_000,
  /** Pause between two reads of the tails that must agree before resuming. */
  resumeSettleMs: 500,
  resumeSettleRoundsMax: 20,
  retryBaseMs: 500,
  retryCapMs: 10_000,
} as const;

export interface ForwarderOptions {
  client: LogClient;
  spool: Spool;
  /** The record key of every record: the edge server id. */
  edge: string;
  topics: readonly string[];
  /** Partitions of topics the forwarder creates; existing topics are used as they are. */
  partitions: number;
  logger: Logger;
}

export interface ForwarderStats {
  sentRecords: number;
  /** Records found already written at a resume, not sent again. */
  skippedRecords: number;
  failedSends: number;
  connected: boolean;
}

export class Forwarder {
  private readonly key: Buffer;
  private readonly partitionOf = new Map<string, number>();
  /** Per topic, the newest sequence known written; null until the tails were read (again). */
  private written: Map<string, number> | null = null;
  private readonly backoff = new Backoff(FORWARDER_LIMITS.retryBaseMs, FORWARDER_LIMITS.retryCapMs);
  private readonly counts: ForwarderStats = {
    sentRecords: 0,
    skippedRecords: 0,
    failedSends: 0,
    connected: false,
  };
  private wake: () => void = () => undefined;
  private closing = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(private readonly options: ForwarderOptions) {
    this.key = Buffer.from(options.edge, 'utf8');
  }

  stats(): ForwarderStats {
    return { ...this.counts };
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** New records were spooled. */
  notify(): void {
    this.wake();
  }

  /** Sends what it can within `drainMs` (a clean shutdown empties the spool when the brokers are there). */
  async close(drainMs: number): Promise<void> {
    this.closing = true;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    // A send to unreachable brokers can take the client's whole retry budget; closing the client ends it.
    await Promise.race([this.loop, new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    this.abort.abort();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        if (!this.written) await this.resume();
        const sent = await this.sendPending();
        if (!this.counts.connected) this.options.logger.info({}, 'sending to the brokers');
        this.counts.connected = true;
        this.backoff.reset();
        if (sent === 0) {
          if (this.closing) return;
          await this.waitForWork();
        }
      } catch (error) {
        this.counts.failedSends += 1;
        // Part of a failed send may be written: read the tails again before the next one.
        this.written = null;
        if (this.counts.connected || this.counts.failedSends === 1) {
          // Once per outage: the spool's counts in the periodic stats line say how it goes on.
          const reason = error instanceof Error ? error.message : String(error);
          this.options.logger.warn({ reason }, 'cannot send to the brokers; events stay in the spool');
        }
        this.counts.connected = false;
        if (this.closing) return;
        await this.sleep(this.backoff.nextDelayMs());
      }
    }
  }

  /** Reads this agent's newest record in each partition it writes, until two reads agree. */
  private async resume(): Promise<void> {
    const { client, topics, partitions } = this.options;
    for (const topic of topics) {
      if (this.partitionOf.has(topic)) continue;
      const count = await client.ensureTopic({ name: topic, partitions });
      this.partitionOf.set(topic, partitionForKey(this.key, count));
    }
    const tails = await settledTails(
      () => Promise.all(topics.map((topic) => this.newestWritten(topic))),
      (a, b) => a.every((seq, i) => seq === b[i]),
      {
        settleMs: FORWARDER_LIMITS.resumeSettleMs,
        roundsMax: FORWARDER_LIMITS.resumeSettleRoundsMax,
        sleep: (ms) => this.sleep(ms),
      },
    );
    this.written = new Map(topics.map((topic, i) => [topic, tails[i]!]));
  }

  /** The sequence of this spool's newest record in the topic's partition, or -1 when none is found. */
  private async newestWritten(topic: string): Promise<number> {
    const { spool, client } = this.options;
    const prefix = `${spool.id}:`;
    const own = (record: ConsumedRecord) =>
      headerValue(record.headers, AGENT_PROVENANCE_HEADER)?.toString('latin1').startsWith(prefix) === true;
    const partition = { topic, partition: this.partitionOf.get(topic)! };
    const { record } = await newestRecordFromTail(
      client,
      partition,
      own,
      FORWARDER_LIMITS.resumeRecordsBackMax,
    );
    if (!record) return -1;
    return Number(
      headerValue(record.headers, AGENT_PROVENANCE_HEADER)!.toString('latin1').slice(prefix.length),
    );
  }

  /** One produce call of the oldest pending records; returns how many it sent or skipped. */
  private async sendPending(): Promise<number> {
    const { spool, client } = this.options;
    const pending = await spool.read(
      spool.acked,
      FORWARDER_LIMITS.sendRecordsMax,
      FORWARDER_LIMITS.sendBytesMax,
    );
    if (pending.length === 0) return 0;
    const written = this.written!;
    const fresh = pending.filter((record) => record.seq > (written.get(record.topic) ?? -1));
    this.counts.skippedRecords += pending.length - fresh.length;
    if (fresh.length > 0) {
      await client.produce(fresh.map((record) => this.outgoing(record)));
      for (const record of fresh) written.set(record.topic, record.seq);
      this.counts.sentRecords += fresh.length;
    }
    await spool.ack(pending.at(-1)!.seq);
    return pending.length;
  }

  private outgoing(record: SequencedRecord): OutgoingRecord {
    return {
      topic: record.topic,
      partition: this.partitionOf.get(record.topic)!,
      key: this.key,
      value: Buffer.from(record.value, 'utf8'),
      timestamp: record.ts,
      headers: [
        {
          key: AGENT_PROVENANCE_HEADER,
          value: Buffer.from(`${this.options.spool.id}:${record.seq}`, 'latin1'),
        },
      ],
    };
  }

  private waitForWork(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.abort.signal.removeEventListener('abort', done);
        this.wake = () => undefined;
        resolve();
      };
      this.wake = done;
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', done);
        this.wake = () => undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      // A notify() during a backoff does not cut it short, but close() does.
      this.abort.signal.addEventListener('abort', done, { once: true });
      if (this.closing) done();
    });
  }
}
