import { errorBody } from './errors.js';
import type { QueryParams } from './params.js';
import type { LiveEvent, LiveEventType } from './types.js';

export const LIVE_EVENT_TYPES: readonly LiveEventType[] = ['window', 'alert'];

export interface LiveFeedOptions {
  /** Clients connected at most; more get a 503. */
  maxClients?: number;
  /** Events one client may have waiting while its socket is full; the oldest are dropped beyond this. */
  maxBufferedEvents?: number;
  /** Bytes of SSE frames one client may have waiting; the oldest are dropped beyond this. */
  maxBufferedBytes?: number;
  /** A comment sent this often so proxies and browsers keep idle streams open. */
  heartbeatIntervalMs?: number;
  /** Milliseconds the browser waits before reconnecting (the SSE `retry:` field). */
  reconnectDelayMs?: number;
}

/** Which events a client wants: by type, and window events of the listed metrics only (null: all). */
export interface LiveFilter {
  types: ReadonlySet<LiveEventType>;
  metrics: ReadonlySet<string> | null;
}

/** Metrics one live client may filter on. */
export const MAX_LIVE_METRICS = 32;

/** The part of http.ServerResponse a live client writes to; tests pass a fake with a controllable socket. */
export interface SseConnection {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): boolean;
  end(chunk?: string): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
}

export interface LiveFeedStats {
  clients: number;
  eventsPublished: number;
  /** Events dropped from slow clients' buffers since the feed was made. */
  eventsDropped: number;
  clientsRefused: number;
}

export function parseLiveFilter(query: QueryParams): LiveFilter {
  const types = query.optionalList('types', LIVE_EVENT_TYPES) ?? LIVE_EVENT_TYPES;
  const metrics =
    query.optionalString('metric') === undefined ? null : query.metricList('metric', MAX_LIVE_METRICS);
  return { types: new Set(types), metrics: metrics === null ? null : new Set(metrics) };
}

/** One SSE client: frames go straight to the socket until it pushes back, then into a bounded queue. */
class LiveClient {
  private readonly queue: string[] = [];
  /** Index of the oldest queued frame; the array is compacted when half of it is consumed. */
  private head = 0;
  private queuedBytes = 0;
  /** Drops not yet reported to this client. */
  private unreportedDrops = 0;
  private waitingForDrain = false;

  constructor(
    private readonly connection: SseConnection,
    readonly filter: LiveFilter,
    private readonly maxBufferedEvents: number,
    private readonly maxBufferedBytes: number,
    private readonly onDrop: (count: number) => void,
  ) {
    connection.on('drain', () => this.drain());
  }

  wants(event: LiveEvent): boolean {
    if (!this.filter.types.has(event.type)) return false;
    const { metrics } = this.filter;
    return metrics === null || event.type !== 'window' || metrics.has(metricOf(event.data) as string);
  }

  /** Writes now, or queues while the socket is full; never waits. */
  send(frame: string): void {
    if (!this.waitingForDrain) {
      this.writeOut(frame);
      return;
    }
    this.queue.push(frame);
    this.queuedBytes += Buffer.byteLength(frame);
    let dropped = 0;
    while (this.queuedCount() > this.maxBufferedEvents || this.queuedBytes > this.maxBufferedBytes) {
      this.queuedBytes -= Buffer.byteLength(this.shift());
      dropped++;
    }
    if (dropped > 0) {
      this.unreportedDrops += dropped;
      this.onDrop(dropped);
    }
  }

  /** A heartbeat only matters on an idle stream: a client whose socket is full has data coming. */
  heartbeat(): void {
    if (!this.waitingForDrain) this.writeOut(': heartbeat\n\n');
  }

  close(): void {
    this.connection.end();
  }

  private drain(): void {
    this.waitingForDrain = false;
    if (this.unreportedDrops > 0) {
      const notice = `event: dropped\ndata: ${JSON.stringify({ dropped: this.unreportedDrops })}\n\n`;
      this.unreportedDrops = 0;
      this.writeOut(notice);
    }
    while (!this.waitingForDrain && this.queuedCount() > 0) {
      const frame = this.shift();
      this.queuedBytes -= Buffer.byteLength(frame);
      this.writeOut(frame);
    }
  }

  private writeOut(frame: string): void {
    if (!this.connection.write(frame)) this.waitingForDrain = true;
  }

  private queuedCount(): number {
    return this.queue.length - this.head;
  }

  private shift(): string {
    const frame = this.queue[this.head]!;
    this.head++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return frame;
  }
}

/**
 * Fans live events out to Server-Sent Events clients. publish() is synchronous and does not wait for any
 * client: a slow client's frames queue up to its bound, then its oldest frames are dropped and it is told
 * how many (an `event: dropped` frame) once its socket drains.
 */
export class LiveFeed {
  private readonly clients = new Set<LiveClient>();
  private readonly maxClients: number;
  private readonly maxBufferedEvents: number;
  private readonly maxBufferedBytes: number;
  private readonly heartbeatIntervalMs: number;
  private readonly reconnectDelayMs: number;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private eventsPublished = 0;
  private eventsDropped = 0;
  private clientsRefused = 0;

  constructor(options: LiveFeedOptions = {}) {
    this.maxClients = options.maxClients ?? 200;
    this.maxBufferedEvents = options.maxBufferedEvents ?? 1000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 15_000;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 3000;
    for (const [name, value] of Object.entries({
      maxClients: this.maxClients,
      maxBufferedEvents: this.maxBufferedEvents,
      maxBufferedBytes: this.maxBufferedBytes,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      reconnectDelayMs: this.reconnectDelayMs,
    })) {
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`LiveFeed ${name}=${value}: expected an integer above 0`);
    }
  }

  publish(event: LiveEvent): void {
    this.eventsPublished++;
    let frame: string | null = null;
    for (const client of this.clients) {
      if (!client.wants(event)) continue;
      frame ??= `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
      client.send(frame);
    }
  }

  /**
   * Starts an event stream on `connection`, or answers 503 TOO_MANY_CLIENTS when the feed is full.
   * Returns whether the client was attached.
   */
  attach(connection: SseConnection, filter: LiveFilter): boolean {
    if (this.clients.size >= this.maxClients) {
      this.clientsRefused++;
      connection.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '10' });
      connection.end(
        JSON.stringify(
          errorBody(
            'TOO_MANY_CLIENTS',
            `the live feed serves at most ${this.maxClients} clients; retry later`,
          ),
        ),
      );
      return false;
    }
    connection.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Tells nginx-style proxies not to hold events back in their buffers.
      'x-accel-buffering': 'no',
    });
    const client = new LiveClient(
      connection,
      filter,
      this.maxBufferedEvents,
      this.maxBufferedBytes,
      (count) => {
        this.eventsDropped += count;
      },
    );
    this.clients.add(client);
    connection.on('close', () => this.detach(client));
    client.send(`retry: ${this.reconnectDelayMs}\n: connected\n\n`);
    this.heartbeatTimer ??= setInterval(() => this.heartbeat(), this.heartbeatIntervalMs).unref();
    return true;
  }

  /** Ends every client's stream (for shutdown); the feed accepts new clients afterwards. */
  disconnectAll(): void {
    for (const client of [...this.clients]) {
      this.detach(client);
      client.close();
    }
  }

  stats(): LiveFeedStats {
    return {
      clients: this.clients.size,
      eventsPublished: this.eventsPublished,
      eventsDropped: this.eventsDropped,
      clientsRefused: this.clientsRefused,
    };
  }

  private heartbeat(): void {
    for (const client of this.clients) client.heartbeat();
  }

  private detach(client: LiveClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0 && this.heartbeatTimer) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
    }
  }
}

function metricOf(data: unknown): unknown {
  return typeof data === 'object' && data !== null && 'metric' in data ? data.metric : undefined;
}
