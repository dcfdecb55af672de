import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ApiVersions } from '../protocol/apis/api-versions.js';
import {
  type ApiSchema,
  decodeRequest,
  encodeResponse,
  type Message,
  ProtocolError,
  peekRequestHeader,
} from '../protocol/index.js';
import { FrameReader, FrameSizeError, ResponseQueue } from './connection.js';

export interface RequestContext {
  apiVersion: number;
  clientId: string | null;
  clientHost: string;
  connectionId: number;
}

/** Handles one API. Client mistakes become Kafka error codes in the response; a throw closes the connection. */
export interface ApiHandler {
  schema: ApiSchema;
  /** null: send no response (produce with acks=0). */
  handle(body: Message, context: RequestContext): Promise<object | null> | object | null;
}

export interface RequestObserver {
  connectionOpened(): void;
  connectionClosed(): void;
  requestHandled(api: string, seconds: number): void;
  requestRejected(reason: string): void;
}

export interface KafkaServerOptions {
  handlers: ReadonlyMap<number, ApiHandler>;
  logger: Logger;
  observer: RequestObserver;
  /** socket.request.max.bytes */
  maxRequestBytes: number;
  maxConnections: number;
  /** Requests read but not yet answered on one connection before we stop reading from it. */
  maxInFlightPerConnection: number;
}

const UNSUPPORTED_VERSION = 35;
const CLOSE_GRACE_MS = 5000;

/** The Kafka TCP listener: framing, ordering, dispatch and the limits that keep one client from hurting others. */
export class KafkaServer {
  private readonly server: net.Server;
  private readonly connections = new Map<net.Socket, ResponseQueue>();
  private nextConnectionId = 1;

  constructor(private readonly options: KafkaServerOptions) {
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
    while ([...this.connections.values()].some((queue) => queue.size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const socket of this.connections.keys()) socket.destroy();
    await closed;
  }

  private accept(socket: net.Socket): void {
    const { logger, observer } = this.options;
    if (this.connections.size >= this.options.maxConnections) {
      observer.requestRejected('max_connections');
      logger.warn(
        { remote: socket.remoteAddress, limit: this.options.maxConnections },
        'connection refused: too many connections',
      );
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const connectionId = this.nextConnectionId++;
    const clientHost = socket.remoteAddress ?? 'unknown';
    const frames = new FrameReader(this.options.maxRequestBytes);
    const queue = new ResponseQueue(socket, () => {
      if (socket.isPaused() && queue.size < this.options.maxInFlightPerConnection / 2) socket.resume();
    });
    this.connections.set(socket, queue);
    observer.connectionOpened();
    socket.on('data', (chunk: Buffer) => {
      let complete: Buffer[];
      try {
        complete = frames.push(chunk);
      } catch (error) {
        this.reject(socket, error instanceof FrameSizeError ? 'bad_frame_size' : 'bad_frame', error);
        return;
      }
      for (const frame of complete) {
        if (socket.destroyed) return;
        this.dispatch(socket, queue, frame, { connectionId, clientHost });
      }
      if (queue.size >= this.options.maxInFlightPerConnection) socket.pause();
    });
    socket.on('error', (error) => logger.debug({ connectionId, err: error }, 'connection error'));
    socket.on('close', () => {
      this.connections.delete(socket);
      observer.connectionClosed();
    });
  }

  private dispatch(
    socket: net.Socket,
    queue: ResponseQueue,
    frame: Buffer,
    peer: { connectionId: number; clientHost: string },
  ): void {
    let peeked: ReturnType<typeof peekRequestHeader>;
    try {
      peeked = peekRequestHeader(frame);
    } catch (error) {
      this.reject(socket, 'short_header', error);
      return;
    }
    const { apiKey, apiVersion, correlationId } = peeked;
    const handler = this.options.handlers.get(apiKey);
    const respond = queue.reserve();
    if (!handler || apiVersion < handler.schema.versions[0] || apiVersion > handler.schema.versions[1]) {
      this.answerUnsupported(socket, respond, apiKey, apiVersion, correlationId);
      return;
    }
    const { schema } = handler;
    let request: ReturnType<typeof decodeRequest>;
    try {
      request = decodeRequest(frame, schema);
    } catch (error) {
      respond(null);
      this.reject(socket, 'malformed_request', error, { api: schema.name, apiVersion });
      return;
    }
    const context: RequestContext = { apiVersion, clientId: request.header.clientId, ...peer };
    const started = performance.now();
    const finish = (response: object | null) => {
      this.options.observer.requestHandled(schema.name, (performance.now() - started) / 1000);
      respond(
        response === null ? null : encodeResponse(schema, apiVersion, correlationId, response as Message),
      );
    };
    const fail = (error: unknown) => {
      respond(null);
      this.options.logger.error(
        { err: error, api: schema.name, apiVersion, ...peer },
        'request handler failed',
      );
      socket.destroy();
    };
    try {
      const result = handler.handle(request.body, context);
      if (result instanceof Promise) result.then(finish, fail);
      else finish(result);
    } catch (error) {
      fail(error);
    }
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
          errorCode: UNSUPPORTED_VERSION,
          apiKeys: this.apiRanges(),
        }),
      );
      return;
    }
    this.options.logger.info({ apiKey, apiVersion }, 'unsupported API or version; closing connection');
    const frame = Buffer.alloc(10);
    frame.writeInt32BE(6, 0);
    frame.writeInt32BE(correlationId, 4);
    frame.writeInt16BE(UNSUPPORTED_VERSION, 8);
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

  private reject(socket: net.Socket, reason: string, error: unknown, fields: object = {}): void {
    this.options.observer.requestRejected(reason);
    const level = error instanceof ProtocolError || error instanceof FrameSizeError ? 'info' : 'warn';
    this.options.logger[level](
      { reason, remote: socket.remoteAddress, err: error, ...fields },
      'closing connection after bad request',
    );
    socket.destroy();
  }
}
