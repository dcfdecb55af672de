import { Counter, Histogram, Registry } from 'prom-client';

/** The HTTP doors into the log, as the `path` label names them (a fixed set: never a raw URL). */
export type IngestPath = 'rest_proxy' | 'beacons_cmcd' | 'beacons_qoe';

/** Records and events taken in over HTTP, exposed at /metrics beside the broker's. */
export class IngestMetrics {
  readonly registry = new Registry();
  readonly records: Counter<'path' | 'result'>;
  readonly bytes: Counter<'path'>;
  readonly requests: Counter<'path' | 'status'>;
  readonly produceLatency: Histogram<'path'>;

  constructor() {
    const registers = [this.registry];
    this.records = new Counter({
      name: 'edgestream_http_ingest_records_total',
      help: 'Records (REST proxy) and QoE events (beacons) handed to the log over HTTP, by result: appended or failed',
      labelNames: ['path', 'result'],
      registers,
    });
    this.bytes = new Counter({
      name: 'edgestream_http_ingest_bytes_total',
      help: 'Request body bytes read by the HTTP ingest endpoints',
      labelNames: ['path'],
      registers,
    });
    this.requests = new Counter({
      name: 'edgestream_http_ingest_requests_total',
      help: 'HTTP ingest requests answered, by HTTP status',
      labelNames: ['path', 'status'],
      registers,
    });
    this.produceLatency = new Histogram({
      name: 'edgestream_http_ingest_produce_latency_seconds',
      help: 'From handing the records to the log to their acknowledgement (durable)',
      labelNames: ['path'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  /** Appends `count` records, timing the append and counting them by how it ended. */
  async timed<T>(path: IngestPath, count: number, append: () => Promise<T>): Promise<T> {
    const stop = this.produceLatency.startTimer({ path });
    try {
      const result = await append();
      this.records.inc({ path, result: 'appended' }, count);
      return result;
    } catch (error) {
      this.records.inc({ path, result: 'failed' }, count);
      throw error;
    } finally {
      stop();
    }
  }
}
