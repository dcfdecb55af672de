import fs from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ConsumedRecord, LogClient } from '../client/types.js';
import type { AggregateStore, AggregateWrite, Silence } from '../store/types.js';
import {
  decodeAlerts,
  decodeSilence,
  decodeWindows,
  type SiteAlertRecord,
  SiteRecordError,
  type SiteTopics,
} from './site-topics.js';

const FETCH_MAX_BYTES = 4 * 1024 * 1024;
const FETCH_MAX_WAIT_MS = 500;
const RETRY_DELAY_MS = 1_000;

export interface SiteFeedListener {
  windows(rows: readonly AggregateWrite[]): void;
  alerts(record: SiteAlertRecord): void;
  silence(silence: Silence): void;
}

export interface SiteFeedOptions {
  client: LogClient;
  topics: SiteTopics;
  store: AggregateStore;
  /** Where the feed keeps how far it has read, so a restarted node does not read it all again. */
  positionsFile: string;
  listener: SiteFeedListener;
  logger: Logger;
}

export interface SiteFeedStats {
  records: number;
  /** Records that were not what a node writes, skipped. */
  refused: number;
  /** Offsets read up to, per topic. */
  positions: Record<string, number>;
}

const positionsSchema = z.record(z.string(), z.number().int().nonnegative());

/**
 * Follows the site topics into this node's store and live views, so the dashboard of any node shows the whole
 * site. Each record is applied before the next is read; positions are saved after each fetch. A node that
 * crashes reads the last fetch again: window rows are upserts and silences can only end earlier, so only an
 * alert transition may be stored twice in the history.
 */
export class SiteFeed {
  private readonly positions = new Map<string, number>();
  private running = false;
  private loop: Promise<void> | null = null;
  private records = 0;
  private refused = 0;

  private constructor(private readonly options: SiteFeedOptions) {}

  /** Reads what is there (so the node starts with the site as it is), then follows. */
  static async start(options: SiteFeedOptions): Promise<SiteFeed> {
    const feed = new SiteFeed(options);
    const { client } = options;
    const saved = readPositions(options.positionsFile, options.logger);
    const ends = new Map<string, number>();
    for (const topic of feed.topicNames()) {
      const { earliest, latest } = await client.offsets({ topic, partition: 0 });
      // Retention may have removed what a long-stopped node had not read; a replaced log may be shorter.
      feed.positions.set(topic, Math.min(Math.max(saved[topic] ?? earliest, earliest), latest));
      ends.set(topic, latest);
    }
    while (feed.topicNames().some((topic) => feed.positions.get(topic)! < ends.get(topic)!)) {
      await feed.poll(0);
    }
    feed.running = true;
    feed.loop = feed.follow();
    return feed;
  }

  stats(): SiteFeedStats {
    return { records: this.records, refused: this.refused, positions: Object.fromEntries(this.positions) };
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
    this.savePositions();
  }

  private topicNames(): string[] {
    const { windows, alerts, silences } = this.options.topics;
    return [windows, alerts, silences];
  }

  private async follow(): Promise<void> {
    while (this.running) {
      try {
        await this.poll(FETCH_MAX_WAIT_MS);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'reading the site topics failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    }
  }

  private async poll(maxWaitMs: number): Promise<void> {
    const requests = this.topicNames().map((topic) => ({
      topic,
      partition: 0,
      offset: this.positions.get(topic)!,
    }));
    const records = await this.options.client.fetch(requests, { maxBytes: FETCH_MAX_BYTES, maxWaitMs });
    for (const record of records) {
      if (record.offset < this.positions.get(record.topic)!) continue;
      await this.apply(record);
      this.positions.set(record.topic, record.offset + 1);
      this.records++;
    }
    if (records.length > 0) this.savePositions();
  }

  private async apply(record: ConsumedRecord): Promise<void> {
    const { topics, store, listener, logger } = this.options;
    try {
      if (record.topic === topics.windows) {
        const rows = decodeWindows(record.value, record.topic, record.offset);
        await store.writeAggregates(rows);
        listener.windows(rows);
      } else if (record.topic === topics.alerts) {
        const alerts = decodeAlerts(record.value, record.topic, record.offset);
        if (alerts.transitions.length > 0) await store.appendAlertEvents(alerts.transitions);
        listener.alerts(alerts);
      } else if (record.topic === topics.silences) {
        // A tombstone (compaction tools may write them) removes nothing: silences end, they are not deleted.
        if (record.value === null) return;
        const silence = decodeSilence(record.value, record.topic, record.offset);
        await store.putSilence(silence);
        listener.silence(silence);
      }
    } catch (error) {
      // A record the store or the engine refuses is skipped: stopping here would stop the site view for good.
      this.refused++;
      logger.warn(
        { err: error, topic: record.topic, offset: record.offset },
        error instanceof SiteRecordError ? 'site record skipped' : 'site record refused',
      );
    }
  }

  private savePositions(): void {
    const file = this.options.positionsFile;
    const temporary = `${file}.tmp`;
    try {
      fs.writeFileSync(temporary, JSON.stringify(Object.fromEntries(this.positions)));
      fs.renameSync(temporary, file);
    } catch (error) {
      this.options.logger.warn({ err: error, file }, 'saving the site feed positions failed');
    }
  }
}

function readPositions(file: string, logger: Logger): Record<string, number> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    return positionsSchema.parse(JSON.parse(text));
  } catch (error) {
    logger.warn(
      { err: error, file },
      'site feed positions unreadable; reading the site topics from the start',
    );
    return {};
  }
}
