import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LogClient, OutgoingRecord } from '../client/types.js';
import type { SerdeError } from './serdes.js';
import type { StreamTask, TaskObserver } from './task.js';

/** Prometheus metrics of a streams application (one registry, so several apps can run in a process). */
export class StreamsMetrics {
  readonly registry: Registry;
  private readonly recordsInTotal: Counter<'topic'>;
  private readonly recordsInByTopic = new Map<string, number>();
  private readonly recordsOutTotal: Counter<'topic'>;
  private readonly lateTotal: Counter<'store'>;
  private readonly deserializationErrors: Counter<'topic'>;
  private readonly latency: Histogram;
  private readonly lag: Gauge<'topic' | 'partition'>;
  private readonly watermarkDelay: Gauge<'task'>;
  private readonly stateEntries: Gauge<'store'>;
  private readonly fencedTotal: Counter;
  private readonly duplicatesTotal: Counter<'topic'>;
  lateRecords = 0;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.recordsInTotal = new Counter({
      name: 'edgestream_streams_records_in_total',
      help: 'Records processed, per input topic',
      labelNames: ['topic'],
      registers,
    });
    this.recordsOutTotal = new Counter({
      name: 'edgestream_streams_records_out_total',
      help: 'Records produced (outputs, repartitioned records, markers), per topic',
      labelNames: ['topic'],
      registers,
    });
    this.lateTotal = new Counter({
      name: 'edgestream_streams_late_records_total',
      help: 'Records too late for every window they belonged to, per store',
      labelNames: ['store'],
      registers,
    });
    this.deserializationErrors = new Counter({
      name: 'edgestream_streams_deserialization_errors_total',
      help: 'Records the value serde could not decode (sent to the dead-letter topic), per topic',
      labelNames: ['topic'],
      registers,
    });
    this.fencedTotal = new Counter({
      name: 'edgestream_streams_tasks_fenced_total',
      help: 'Tasks this instance stopped writing for because the group gave their partitions to another',
      registers,
    });
    this.duplicatesTotal = new Counter({
      name: 'edgestream_streams_duplicates_skipped_total',
      help: 'Repartitioned records skipped as second copies of a sequence already processed, per topic',
      labelNames: ['topic'],
      registers,
    });
    this.latency = new Histogram({
      name: 'edgestream_streams_processing_latency_seconds',
      help: 'Record timestamp to processed, sampled per fetched batch',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.lag = new Gauge({
      name: 'edgestream_streams_lag_records',
      help: 'Records in the input partition not processed yet, as of the last checkpoint',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.watermarkDelay = new Gauge({
      name: 'edgestream_streams_watermark_delay_seconds',
      help: 'Wall clock minus event-time watermark, per task, as of the last checkpoint',
      labelNames: ['task'],
      registers,
    });
    this.stateEntries = new Gauge({
      name: 'edgestream_streams_state_entries',
      help: 'Entries held in each state store, as of the last checkpoint',
      labelNames: ['store'],
      registers,
    });
  }

  /** Records processed from `topic` by this instance, read without going through the registry. */
  recordsProcessed(topic: string): number {
    return this.recordsInByTopic.get(topic) ?? 0;
  }

  taskObserver(): TaskObserver {
    return {
      recordsIn: (topic, count) => {
        this.recordsInByTopic.set(topic, (this.recordsInByTopic.get(topic) ?? 0) + count);
        this.recordsInTotal.inc({ topic }, count);
      },
      late: (store) => {
        this.lateRecords++;
        this.lateTotal.inc({ store });
      },
      deserializationError: (topic: string, _error: SerdeError) => this.deserializationErrors.inc({ topic }),
      processingLatencyMs: (latencyMs) => this.latency.observe(Math.max(0, latencyMs) / 1000),
      duplicatesSkipped: (topic, count) => this.duplicatesTotal.inc({ topic }, count),
    };
  }

  tasksFenced(count: number): void {
    this.fencedTotal.inc(count);
  }

  recordsOut(records: OutgoingRecord[]): void {
    let topic = '';
    let count = 0;
    for (const record of records) {
      if (record.topic !== topic) {
        if (count > 0) this.recordsOutTotal.inc({ topic }, count);
        topic = record.topic;
        count = 0;
      }
      count++;
    }
    if (count > 0) this.recordsOutTotal.inc({ topic }, count);
  }

  async observeTasks(client: LogClient, tasks: StreamTask[]): Promise<void> {
    const now = Date.now();
    const stores = new Map<string, number>();
    await Promise.all(
      tasks.map(async (task) => {
        const { latest } = await client.offsets({ topic: task.source.topic, partition: task.partition });
        this.lag.set(
          { topic: task.source.topic, partition: String(task.partition) },
          Math.max(0, latest - task.nextOffset),
        );
        const watermark = task.currentWatermark;
        if (Number.isFinite(watermark)) this.watermarkDelay.set({ task: task.id }, (now - watermark) / 1000);
        for (const [store, size] of task.storeSizes) stores.set(store, (stores.get(store) ?? 0) + size);
      }),
    );
    for (const [store, size] of stores) this.stateEntries.set({ store }, size);
  }
}
