import { partitionForKey } from '../../client/partitioner.js';
import type { LogClient } from '../../client/types.js';
import type { AlertNotification, Notifier } from './notifier.js';

export interface TopicNotifierOptions {
  client: LogClient;
  topic?: string;
  /** Partitions to create the topic with when it is missing. */
  partitions?: number;
  /** Notifications waiting for the log at most; the oldest is dropped beyond it. */
  maxPending?: number;
  onError?: (error: Error) => void;
}

/**
 * Writes each notification as a JSON record keyed by its group, so one group's notifications stay in order in
 * one partition. Writes are chained, never awaited by the engine; when the log is slow the backlog is bounded.
 */
export class TopicNotifier implements Notifier {
  readonly name = 'topic';
  readonly topic: string;
  written = 0;
  dropped = 0;
  failed = 0;
  private readonly client: LogClient;
  private readonly createPartitions: number;
  private readonly maxPending: number;
  private readonly onError: (error: Error) => void;
  private pending: AlertNotification[] = [];
  private partitionCount: Promise<number> | null = null;
  private draining: Promise<void> | null = null;
  private closed = false;

  constructor(options: TopicNotifierOptions) {
    this.client = options.client;
    this.topic = options.topic ?? 'edgestream.alerts';
    this.createPartitions = options.partitions ?? 1;
    this.maxPending = options.maxPending ?? 1000;
    this.onError = options.onError ?? (() => {});
  }

  notify(notification: AlertNotification): void {
    if (this.closed) return;
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push(notification);
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        const partitions = await this.partitions();
        await this.client.produce(
          batch.map((notification) => {
            const key = Buffer.from(notification.groupKey);
            return {
              topic: this.topic,
              partition: partitionForKey(key, partitions),
              key,
              value: Buffer.from(JSON.stringify(notification)),
              timestamp: notification.sentAtMs,
            };
          }),
        );
        this.written += batch.length;
      } catch (error) {
        this.failed += batch.length;
        this.partitionCount = null;
        this.onError(error as Error);
      }
    }
  }

  private partitions(): Promise<number> {
    this.partitionCount ??= this.client.ensureTopic({ name: this.topic, partitions: this.createPartitions });
    return this.partitionCount;
  }
}
