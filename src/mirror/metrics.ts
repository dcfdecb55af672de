import { Counter, Gauge, Registry } from 'prom-client';

/** Prometheus metrics of one mirror (its own registry unless given one, so several mirrors fit a process). */
export class MirrorMetrics {
  readonly registry: Registry;
  readonly lagRecords: Gauge<'topic' | 'partition'>;
  readonly lagSeconds: Gauge<'topic' | 'partition'>;
  readonly retentionAtRisk: Gauge<'topic' | 'partition'>;
  readonly recordsSent: Counter<'topic'>;
  readonly bytesSent: Counter<'topic'>;
  readonly recordsFiltered: Counter<'topic'>;
  readonly skippedByRetention: Counter<'topic' | 'partition'>;
  readonly linkUp: Gauge;
  readonly reconnects: Counter;
  /** Totals kept beside the counters so status() and tests need not scrape. */
  isLinkUp = false;
  readonly totals = {
    recordsSent: 0,
    bytesSent: 0,
    recordsFiltered: 0,
    skippedByRetention: 0,
    reconnects: 0,
  };

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    const partitionLabels = ['topic', 'partition'] as const;
    this.lagRecords = new Gauge({
      name: 'edgestream_mirror_lag_records',
      help: 'Source records not forwarded yet, per source partition',
      labelNames: partitionLabels,
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'edgestream_mirror_lag_seconds',
      help: 'Age of the newest forwarded record while records wait (0 when caught up), per source partition',
      labelNames: partitionLabels,
      registers,
    });
    this.retentionAtRisk = new Gauge({
      name: 'edgestream_mirror_retention_at_risk',
      help: '1 while the backlog nears the source retention limit, per source partition',
      labelNames: partitionLabels,
      registers,
    });
    this.recordsSent = new Counter({
      name: 'edgestream_mirror_records_sent_total',
      help: 'Records forwarded and acknowledged by the target, per source topic',
      labelNames: ['topic'],
      registers,
    });
    this.bytesSent = new Counter({
      name: 'edgestream_mirror_bytes_sent_total',
      help: 'Key, value and header bytes forwarded and acknowledged by the target, per source topic',
      labelNames: ['topic'],
      registers,
    });
    this.recordsFiltered = new Counter({
      name: 'edgestream_mirror_records_filtered_total',
      help: 'Records the topic filter or sampling chose not to forward, per source topic',
      labelNames: ['topic'],
      registers,
    });
    this.skippedByRetention = new Counter({
      name: 'edgestream_mirror_records_skipped_by_retention_total',
      help: 'Records the source deleted (retention) before they could be forwarded, per source partition',
      labelNames: partitionLabels,
      registers,
    });
    this.linkUp = new Gauge({
      name: 'edgestream_mirror_link_up',
      help: '1 while the mirror forwards, 0 while it waits to reconnect',
      registers,
    });
    this.reconnects = new Counter({
      name: 'edgestream_mirror_reconnects_total',
      help: 'Times the link was lost and the mirror started reconnecting',
      registers,
    });
    this.linkUp.set(0);
  }

  setLinkUp(up: boolean): void {
    this.isLinkUp = up;
    this.linkUp.set(up ? 1 : 0);
  }

  sent(topic: string, records: number, bytes: number): void {
    this.recordsSent.inc({ topic }, records);
    this.bytesSent.inc({ topic }, bytes);
    this.totals.recordsSent += records;
    this.totals.bytesSent += bytes;
  }

  filtered(topic: string, records: number): void {
    this.recordsFiltered.inc({ topic }, records);
    this.totals.recordsFiltered += records;
  }

  skipped(topic: string, partition: number, records: number): void {
    this.skippedByRetention.inc({ topic, partition: String(partition) }, records);
    this.totals.skippedByRetention += records;
  }

  reconnecting(): void {
    this.reconnects.inc();
    this.totals.reconnects += 1;
    this.setLinkUp(false);
  }
}
