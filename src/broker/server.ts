import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ApiVersions } from '../protocol/apis/api-versions.js';
import {
  ErrorCode,
  encodeResponse,
  FrameSizeError,
  ProtocolError,
  peekRequestHeader,
} from '../protocol/index.js';
import type { ApiHandler, DecodedRequest, EncodeResponse, Reply, RequestContext } from './api-handler.js';
import { Connection, RequestBufferBudget } from './connection.js';
import { LogThrottle } from './log-throttle.js';

/** Where a request failed: reading it, in its handler, or writing its response. */
export type RequestStage = 'decode' | 'handle' | 'encode';

export interface RequestObserver {
  connectionOpened(): void;
  connectionClosed(): void;
  connectionIdleClosed(): void;
  requestHandled(api: string, seconds: number): void;
  requestRejected(reason: string): void;
  /** A request that closed its connection because it failed at `stage`. */
  requestFailed(stage: RequestStage): void;
  /** Called once: how to read the request buffer budget when scraped. */
  observeRequestBuffers(read: () => { reservedBytes: number; waitingConnections: number }): void;
}

export interface KafkaServerOptions {
  handlers: ReadonlyMap<number, ApiHandler>;
  logger: Logger;
  observer: RequestObserver;
  /** socket.request.max.bytes */
  maxRequestBytes: number;
  /** queued.max.request.bytes: request bytes held over all connections; at least maxRequestBytes. */
  maxRequestBufferBytesTotal: number;
  maxConnections: number;
  /** Requests read but not yet answered on one connection before we stop reading from it. */
  maxInFlightPerConnection: number;
  /** connections.max.idle.ms */
  connectionsMaxIdleMs: number;
}

const CLOSE_GRACE_MS = 5000;

interface Peer {
  connectionId: number;
  clientHost: string;
}

/** The Kafka TCP listener: framing, ordering, dispatch and the limits that keep one client from hurting others. */
/** At most this many log lines about client-caused failures per window; the metrics count them all. */
const CLIENT_FAULT_LINES_PER_WINDOW = 20;
const CLIENT_FAULT_WINDOW_MS = 10_000;

export class KafkaServer {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private readonly budget: RequestBufferBudget;
  private nextConnectionId = 1;

  constructor(private readonly options: KafkaServerOptions) {
    this.clientFaults = new LogThrottle(
      options.logger,
      CLIENT_FAULT_LINES_PER_WINDOW,
      CLIENT_FAULT_WINDOW_MS,
    );
    if (options.maxRequestBufferBytesTotal < options.maxRequestBytes) {
      throw new Error(
        `maxRequestBufferBytesTotal=${options.maxRequestBufferBytesTotal} must be at least ` +
          `maxRequestBytes=${options.maxRequestBytes}, or a largest request could never be read`,
      );
    }
    this.budget = new RequestBufferBudget(options.maxRequestBufferBytesTotal);
    options.observer.observeRequestBuffers(() => ({
      reservedBytes: this.budget.usedBytes,
      waitingConnections: this.budget.waitingCount,
    }));
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish (bounded), then closes every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while ([...this.connections].some((c) => c.inFlight > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const connection of this.connections) connection.socket.destroy();
    await closed;
  }

  /** Lines about client-caused failures and refusals: a few per window (see LogThrottle). */
  private readonly clientFaults: LogThrottle;

  private accept(socket: net.Socket): void {
    const { logger, observer } = this.options;
    if (this.connections.size >= this.options.maxConnections) {
      observer.requestRejected('max_connections');
      this.clientFaults.log((l) =>
        l.warn(
          { remote: socket.remoteAddress, limit: this.options.maxConnections },
          'connection refused: too many connections',
        ),
      );
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const peer: Peer = {
      connectionId: this.nextConnectionId++,
      clientHost: socket.remoteAddress ?? 'unknown',
    };
    const connection: Connection = new Connection(socket, this.budget, {
      maxFrameBytes: this.options.maxRequestBytes,
      maxInFlight: this.options.maxInFlightPerConnection,
      idleMs: this.options.connectionsMaxIdleMs,
      onFrame: (frame) => this.dispatch(connection, frame, peer),
      onReadError: (error) => {
        if (error instanceof FrameSizeError) this.reject(socket, 'bad_frame_size', error);
        else this.failed(connection, 'decode', error, peer);
      },
      onIdle: () => {
        observer.connectionIdleClosed();
        this.clientFaults.log((l) =>
          l.info(
            { ...peer, idleMs: this.options.connectionsMaxIdleMs },
            'closing connection: idle longer than connections.max.idle.ms',
          ),
        );
        socket.destroy();
      },
    });
    this.connections.add(connection);
    observer.connectionOpened();
    socket.on('error', (error) => logger.debug({ ...peer, err: error }, 'connection error'));
    socket.on('close', () => {
      this.connections.delete(connection);
      observer.connectionClosed();
    });
  }

  /**
   * Reads, handles and answers one request. Every path calls `respond` exactly once; any error closes this
   * connection only, is counted by stage and logged, and never escapes as an exception or a rejection.
   */
  private dispatch(connection: Connection, frame: Buffer, peer: Peer): void {
    const respond = connection.reserveResponse(frame);
    const fail = (stage: RequestStage, error: unknown, fields: object = {}) => {
      respond(null);
      this.failed(connection, stage, error, { ...peer, ...fields });
    };
    let peeked: ReturnType<typeof peekRequestHeader>;
    try {
      peeked = peekRequestHeader(frame);
    } catch (error) {
      fail('decode', error);
      return;
    }
    const { apiKey, apiVersion, correlationId } = peeked;
    const handler = this.options.handlers.get(apiKey);
    if (!handler || apiVersion < handler.schema.versions[0] || apiVersion > handler.schema.versions[1]) {
      this.answerUnsupported(connection.socket, respond, apiKey, apiVersion, correlationId);
      return;
    }
    const { schema } = handler;
    const fields = { api: schema.name, apiVersion };
    let request: DecodedRequest;
    try {
      request = handler.decode(frame);
    } catch (error) {
      fail('decode', error, fields);
      return;
    }
    const context: RequestContext = { apiVersion, clientId: request.header.clientId, ...peer };
    const started = performance.now();
    const finish = (encode: EncodeResponse | null) => {
      this.options.observer.requestHandled(schema.name, (performance.now() - started) / 1000);
      if (encode === null) {
        respond(null);
        return;
      }
      let chunks: Buffer[];
      try {
        chunks = encode();
      } catch (error) {
        fail('encode', error, fields);
        return;
      }
      respond(chunks);
    };
    let result: Reply<EncodeResponse>;
    try {
      result = request.handle(context);
    } catch (error) {
      fail('handle', error, fields);
      return;
    }
    // finish guards its own encoding; these catch anything else, so nothing escapes as a rejection or throw.
    if (result instanceof Promise) {
      result
        .then(finish, (error: unknown) => fail('handle', error, fields))
        .catch((error: unknown) => fail('encode', error, fields));
      return;
    }
    try {
      finish(result);
    } catch (error) {
      fail('encode', error, fields);
    }
  }

  /**
   * Closes the connection of a request that failed at `stage`: counted, logged, and nothing else affected. A
   * request that breaks the protocol is the client's doing; anything else, the broker's.
   */
  private failed(connection: Connection, stage: RequestStage, error: unknown, fields: object): void {
    this.options.observer.requestFailed(stage);
    const level = stage === 'decode' && error instanceof ProtocolError ? 'info' : 'error';
    this.clientFaults.log((l) =>
      l[level]({ stage, err: error, ...fields }, `request failed at ${stage}; closing connection`),
    );
    connection.socket.destroy();
  }

  /**
   * ApiVersions at a version we do not know gets a v0 answer listing ours (KIP-511), so the client can retry.
   * Any other unknown API or version gets UNSUPPORTED_VERSION in place of a body and the connection closes,
   * because the client cannot read a response it did not expect.
   */
  private answerUnsupported(
    socket: net.Socket,
    respond: (chunks: Buffer[] | null) => void,
    apiKey: number,
    apiVersion: number,
    correlationId: number,
  ): void {
    this.options.observer.requestRejected('unsupported_version');
    if (apiKey === ApiVersions.apiKey) {
      respond(
        encodeResponse(ApiVersions, 0, correlationId, {
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
          apiKeys: this.apiRanges(),
        }),
      );
      return;
    }
    this.clientFaults.log((l) =>
      l.info({ apiKey, apiVersion }, 'unsupported API or version; closing connection'),
    );
    const frame = Buffer.alloc(10);
    frame.writeInt32BE(6, 0);
    frame.writeInt32BE(correlationId, 4);
    frame.writeInt16BE(ErrorCode.UNSUPPORTED_VERSION, 8);
    respond([frame]);
    socket.end();
  }

  apiRanges(): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
    return [...this.options.handlers.values()]
      .map(({ schema }) => ({
        apiKey: schema.apiKey,
        minVersion: schema.versions[0],
        maxVersion: schema.versions[1],
      }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  private reject(socket: net.Socket, reason: string, error: unknown): void {
    this.options.observer.requestRejected(reason);
    this.clientFaults.log((l) =>
      l.info({ reason, remote: socket.remoteAddress, err: error }, 'closing connection after bad request'),
    );
    socket.destroy();
  }
}
