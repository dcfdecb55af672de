import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DenialCounter } from './access.js';
import type { QuotaKind, ThrottleObserver } from './client-quotas.js';
import type { RequestObserver, RequestStage } from './server.js';

/** Prometheus metrics of one broker; one registry per broker so tests can run several in a process. */
export class BrokerMetrics implements RequestObserver, DenialCounter, ThrottleObserver {
  readonly registry = new Registry();
  private readonly connections = new Gauge({
    name: 'edgestream_broker_connections',
    help: 'Open client connections',
    registers: [this.registry],
  });
  private readonly requestSeconds = new Histogram({
    name: 'edgestream_broker_request_duration_seconds',
    help: 'Time from a request being read to its response being ready, per API',
    labelNames: ['api'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  private readonly rejected = new Counter({
    name: 'edgestream_broker_rejected_requests_total',
    help: 'Requests or connections refused, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly requestErrors = new Counter({
    name: 'edgestream_broker_request_errors_total',
    help: 'Requests that closed their connection because decoding, handling or encoding them failed',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  private readonly authentications = new Counter({
    name: 'edgestream_broker_authentications_total',
    help: 'SASL authentications per listener and result (succeeded, or the reason they failed)',
    labelNames: ['listener', 'result'],
    registers: [this.registry],
  });
  private readonly tlsHandshakeFailures = new Counter({
    name: 'edgestream_broker_tls_handshake_failures_total',
    help: 'TLS handshakes that did not complete, per listener',
    labelNames: ['listener'],
    registers: [this.registry],
  });
  private readonly authorizationDenials = new Counter({
    name: 'edgestream_broker_authorization_denied_total',
    help: 'Checks the ACLs refused that the client was told of, per API and resource type',
    labelNames: ['api', 'resource_type'],
    registers: [this.registry],
  });
  private readonly throttledRequests = new Counter({
    name: 'edgestream_broker_throttled_requests_total',
    help: 'Requests whose client went over its quota and was throttled, per quota kind (produce, fetch, request)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly throttleTimeMs = new Counter({
    name: 'edgestream_broker_throttle_time_ms_total',
    help: 'Throttle time given to clients over their quotas, in ms, per quota kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly idleClosed = new Counter({
    name: 'edgestream_broker_idle_connections_closed_total',
    help: 'Connections closed after connections.max.idle.ms without traffic',
    registers: [this.registry],
  });
  readonly bytesIn = new Counter({
    name: 'edgestream_broker_bytes_in_total',
    help: 'Record batch bytes appended, per topic',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  readonly recordsIn = new Counter({
    name: 'edgestream_broker_records_in_total',
    help: 'Records appended, per topic',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  readonly bytesOut = new Counter({
    name: 'edgestream_broker_bytes_out_total',
    help: 'Record batch bytes served to fetches, per topic',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  readonly recordsOut = new Counter({
    name: 'edgestream_broker_records_out_total',
    help: 'Records served to fetches (counted from batch headers), per topic',
    labelNames: ['topic'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'edgestream_' });
  }

  /** Consumer lag per group and partition, computed when scraped. */
  registerLag(collect: () => Array<{ group: string; topic: string; partition: number; lag: number }>): void {
    new Gauge({
      name: 'edgestream_consumer_group_lag',
      help: 'High watermark minus committed offset, per group and partition',
      labelNames: ['group', 'topic', 'partition'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const row of collect()) {
          this.set({ group: row.group, topic: row.topic, partition: String(row.partition) }, row.lag);
        }
      },
    });
  }

  observeRequestBuffers(read: () => { reservedBytes: number; waitingConnections: number }): void {
    new Gauge({
      name: 'edgestream_broker_request_buffer_bytes',
      help: 'Request bytes reserved from queued.max.request.bytes over all connections',
      registers: [this.registry],
      collect() {
        this.set(read().reservedBytes);
      },
    });
    new Gauge({
      name: 'edgestream_broker_request_buffer_waiting_connections',
      help: 'Connections not read until queued.max.request.bytes has room for their next request',
      registers: [this.registry],
      collect() {
        this.set(read().waitingConnections);
      },
    });
  }

  connectionOpened(): void {
    this.connections.inc();
  }

  connectionClosed(): void {
    this.connections.dec();
  }

  requestHandled(api: string, seconds: number): void {
    this.requestSeconds.observe({ api }, seconds);
  }

  authenticationSucceeded(listener: string): void {
    this.authentications.inc({ listener, result: 'succeeded' });
  }

  authenticationFailed(listener: string, reason: string): void {
    this.authentications.inc({ listener, result: reason });
  }

  tlsHandshakeFailed(listener: string): void {
    this.tlsHandshakeFailures.inc({ listener });
  }

  requestRejected(reason: string): void {
    this.rejected.inc({ reason });
  }

  requestFailed(stage: RequestStage): void {
    this.requestErrors.inc({ stage });
  }

  authorizationDenied(api: string, resourceType: string): void {
    this.authorizationDenials.inc({ api, resource_type: resourceType });
  }

  throttled(kind: QuotaKind, throttleMs: number): void {
    this.throttledRequests.inc({ kind });
    this.throttleTimeMs.inc({ kind }, throttleMs);
  }

  connectionIdleClosed(): void {
    this.idleClosed.inc();
  }
}
