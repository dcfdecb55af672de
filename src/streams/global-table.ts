import type { Logger } from 'pino';
import type { ConsumedRecord, LogClient } from '../client/types.js';
import type { GlobalTable } from './dsl.js';
import type { Serde } from './serdes.js';

const POLL_OPTIONS = { maxBytes: 4 * 1024 * 1024, maxWaitMs: 500 };

/**
 * A topic held in full by every instance, latest value per key (a tombstone deletes): the side of a
 * stream-table join that maps e.g. an edge server to its site. Loaded completely before the pipeline starts,
 * then kept current in the background; a join sees the table as of when the record is processed.
 */
export class GlobalTableReader<T> implements GlobalTable<T> {
  private readonly rows = new Map<string, T>();
  private positions: number[] = [];
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    readonly topic: string,
    private readonly valueSerde: Serde<T>,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  get(key: string): T | undefined {
    return this.rows.get(key);
  }

  /** Loads the topic up to its current end, then follows it until close(). */
  async start(client: LogClient, logger: Logger): Promise<void> {
    const partitions = await client.partitionCount(this.topic);
    const ends: number[] = [];
    for (let partition = 0; partition < partitions; partition++) {
      const offsets = await client.offsets({ topic: this.topic, partition });
      this.positions.push(offsets.earliest);
      ends.push(offsets.latest);
    }
    while (this.positions.some((position, partition) => position < ends[partition]!)) {
      await this.poll(client, 0);
    }
    logger.info({ topic: this.topic, rows: this.rows.size }, 'global table loaded');
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.poll(client, POLL_OPTIONS.maxWaitMs);
        } catch (error) {
          logger.error({ topic: this.topic, err: error }, 'global table update failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    })();
  }

  private async poll(client: LogClient, maxWaitMs: number): Promise<void> {
    const requests = this.positions.map((offset, partition) => ({ topic: this.topic, partition, offset }));
    const readUpTo = new Map<number, number>();
    const records = await client.fetch(requests, {
      maxBytes: POLL_OPTIONS.maxBytes,
      maxWaitMs,
      readUpTo: (_topic, partition, nextOffset) => readUpTo.set(partition, nextOffset),
    });
    this.apply(records);
    // Past offsets that hold no record (transaction markers), or loading would wait for them forever.
    for (const [partition, nextOffset] of readUpTo)
      this.positions[partition] = Math.max(this.positions[partition]!, nextOffset);
  }

  private apply(records: ConsumedRecord[]): void {
    for (const record of records) {
      if (record.offset < this.positions[record.partition]!) continue;
      this.positions[record.partition] = record.offset + 1;
      if (record.key === null) continue;
      const key = record.key.toString('utf8');
      if (record.value === null) {
        this.rows.delete(key);
        continue;
      }
      if (!this.rows.has(key) && this.rows.size >= this.maxEntries) {
        throw new Error(`global table '${this.topic}' would exceed ${this.maxEntries} rows`);
      }
      this.rows.set(key, this.valueSerde.deserialize(record.value));
    }
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
