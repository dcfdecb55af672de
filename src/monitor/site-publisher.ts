import type { AlertTransition } from '../alerts/types.js';
import type { LogClient } from '../client/types.js';
import type { AggregateWrite, Silence } from '../store/types.js';
import type { MonitorOutput } from './monitor.js';
import { encodeAlerts, encodeSilence, encodeWindows, type SiteTopics } from './site-topics.js';

/** Rows per record: about 250 bytes each, so a record stays well under Kafka's 1 MB message.max.bytes. */
const ROWS_PER_RECORD = 1_000;

/**
 * Where a node's monitoring output goes on a cluster: to the site topics, which every node follows into its
 * own store (SiteFeed), instead of straight into this node's store, which would then hold only its share.
 */
export class SitePublisher implements MonitorOutput {
  constructor(
    private readonly client: LogClient,
    private readonly topics: SiteTopics,
    private readonly nodeId: number,
  ) {}

  async writeAggregates(rows: readonly AggregateWrite[]): Promise<{ written: number }> {
    const timestamp = Date.now();
    const records = [];
    for (let at = 0; at < rows.length; at += ROWS_PER_RECORD) {
      const value = encodeWindows(rows.slice(at, at + ROWS_PER_RECORD));
      records.push({ topic: this.topics.windows, partition: 0, key: null, value, timestamp });
    }
    await this.client.produce(records);
    return { written: rows.length };
  }

  async appendAlertEvents(transitions: readonly AlertTransition[]): Promise<void> {
    await this.publishAlerts(false, transitions);
  }

  /** Before this node's alert engine starts: whatever it reported in an earlier life is no longer held. */
  async announceAlertEngineStart(): Promise<void> {
    await this.publishAlerts(true, []);
  }

  async publishSilence(silence: Silence): Promise<void> {
    await this.client.produce([
      {
        topic: this.topics.silences,
        partition: 0,
        key: Buffer.from(silence.id),
        value: encodeSilence(silence),
        timestamp: Date.now(),
      },
    ]);
  }

  private async publishAlerts(reset: boolean, transitions: readonly AlertTransition[]): Promise<void> {
    const value = encodeAlerts({ node: this.nodeId, reset, transitions });
    await this.client.produce([
      { topic: this.topics.alerts, partition: 0, key: null, value, timestamp: Date.now() },
    ]);
  }
}
