import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { ApiVersions } from '../protocol/apis/api-versions.js';
import { SaslAuthenticate } from '../protocol/apis/sasl-authenticate.js';
import { SaslHandshake } from '../protocol/apis/sasl-handshake.js';
import {
  ErrorCode,
  encodeResponse,
  FrameSizeError,
  ProtocolError,
  peekRequestHeader,
} from '../protocol/index.js';
import {
  certificatePrincipal,
  type ReloadingTlsContext,
  SaslAuthenticationError,
  SaslSession,
  type SaslSettings,
} from '../security/index.js';
import type { ApiHandler, DecodedRequest, EncodeResponse, Reply, RequestContext } from './api-handler.js';
import { type ClientQuotas, clientBacksOff } from './client-quotas.js';
import { ClientSession } from './client-session.js';
import type { ListenerAddress, SecurityProtocol } from './config.js';
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
  /** A SASL exchange completed with `mechanism`, or failed (`reason`: the error's kind). */
  authenticationSucceeded(listener: SecurityProtocol): void;
  authenticationFailed(listener: SecurityProtocol, reason: string): void;
  /** A TLS handshake that did not complete (bad certificate, wrong protocol, ...). */
  tlsHandshakeFailed(listener: SecurityProtocol): void;
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
  /** The certificate of SSL and SASL_SSL listeners; null when there are none. */
  tls: ReloadingTlsContext | null;
  /** SASL on SASL_PLAINTEXT and SASL_SSL listeners; null when there are none. */
  sasl: SaslSettings | null;
  /** Client quotas: the request quota is enforced here, the byte rates in Produce and Fetch. */
  quotas: ClientQuotas;
}

/** The requests a SASL listener serves before authentication (and after its session expired). */
const AUTHENTICATION_APIS: ReadonlySet<number> = new Set([
  ApiVersions.apiKey,
  SaslHandshake.apiKey,
  SaslAuthenticate.apiKey,
]);

const CLOSE_GRACE_MS = 5000;

/** One ms of handling in one second is 0.1% of a thread: the unit request_percentage is measured in. */
const PERCENT_PER_MS = 100 / 1000;

/** What a log line says of a connection (never its session, which holds the SASL settings). */
interface Peer {
  connectionId: number;
  clientHost: string;
}

/** The Kafka TCP listener: framing, ordering, dispatch and the limits that keep one client from hurting others. */
/** At most this many log lines about client-caused failures per window; the metrics count them all. */
const CLIENT_FAULT_LINES_PER_WINDOW = 20;
const CLIENT_FAULT_WINDOW_MS = 10_000;

export class KafkaServer {
  private readonly servers: net.Server[] = [];
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
  }

  /** Opens one listener; SSL and SASL_SSL listeners speak TLS with the configured certificate. */
  listen(listener: ListenerAddress): Promise<net.AddressInfo> {
    const { protocol } = listener;
    let server: net.Server;
    if (protocol === 'SSL' || protocol === 'SASL_SSL') {
      const context = this.options.tls;
      if (!context) throw new Error(`listener ${protocol} needs a TLS certificate`);
      const secure = tls.createServer(context.serverOptions(protocol === 'SSL'), (socket) =>
        this.accept(socket, protocol),
      );
      secure.on('tlsClientError', (error, socket) => {
        this.options.observer.tlsHandshakeFailed(protocol);
        this.clientFaults.log((l) =>
          l.info({ listener: protocol, remote: socket.remoteAddress, err: error }, 'TLS handshake failed'),
        );
      });
      context.follow(secure);
      server = secure;
    } else {
      server = net.createServer((socket) => this.accept(socket, protocol));
    }
    if ((protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') && !this.options.sasl) {
      throw new Error(`listener ${protocol} needs SASL settings`);
    }
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: listener.host, port: listener.port }, () => {
        server.off('error', reject);
        resolve(server.address() as net.AddressInfo);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish (bounded), then closes every connection. */
  async close(): Promise<void> {
    this.options.tls?.close();
    const closed = Promise.all(
      this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while ([...this.connections].some((c) => c.inFlight > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const connection of this.connections) connection.socket.destroy();
    await closed;
  }

  /** Lines about client-caused failures and refusals: a few per window (see LogThrottle). */
  private readonly clientFaults: LogThrottle;

  private accept(socket: net.Socket, listener: SecurityProtocol): void {
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
    const sasl =
      listener === 'SASL_PLAINTEXT' || listener === 'SASL_SSL'
        ? new SaslSession(this.options.sasl!, socket.remoteAddress ?? 'unknown')
        : null;
    const peer: Peer = {
      connectionId: this.nextConnectionId++,
      clientHost: socket.remoteAddress ?? 'unknown',
    };
    const session = new ClientSession(listener, sasl, verifiedCertificatePrincipal(socket), peer.clientHost);
    const connection: Connection = new Connection(socket, this.budget, {
      maxFrameBytes: this.options.maxRequestBytes,
      maxInFlight: this.options.maxInFlightPerConnection,
      idleMs: this.options.connectionsMaxIdleMs,
      onFrame: (frame) => this.dispatch(connection, frame, peer, session),
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
  private dispatch(connection: Connection, frame: Buffer, peer: Peer, session: ClientSession): void {
    const respond = connection.reserveResponse(frame);
    const fail = (stage: RequestStage, error: unknown, fields: object = {}) => {
      respond(null);
      this.failed(connection, stage, error, { ...peer, ...fields });
    };
    const { sasl } = session;
    if (sasl?.expectsBareToken) {
      this.authenticateBareToken(connection, sasl, frame, peer, session.listener, respond);
      return;
    }
    let peeked: ReturnType<typeof peekRequestHeader>;
    try {
      peeked = peekRequestHeader(frame);
    } catch (error) {
      fail('decode', error);
      return;
    }
    const { apiKey, apiVersion, correlationId } = peeked;
    if (sasl?.mustAuthenticate(Date.now()) && !AUTHENTICATION_APIS.has(apiKey)) {
      respond(null);
      this.options.observer.requestRejected('unauthenticated');
      this.clientFaults.log((l) =>
        l.info(
          { ...peer, listener: session.listener, apiKey },
          sasl.principal === null
            ? 'request before SASL authentication; closing connection'
            : 'request after the SASL session expired (connections.max.reauth.ms); closing connection',
        ),
      );
      connection.socket.destroy();
      return;
    }
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
    const context: RequestContext = {
      apiVersion,
      clientId: request.header.clientId,
      ...peer,
      session,
      throttleTimeMs: 0,
    };
    const started = performance.now();
    /** Time the handler held the event loop (Kafka's request-handler thread time), when a quota needs it. */
    let handlingMs = 0;
    const finish = (encode: EncodeResponse | null) => {
      this.options.observer.requestHandled(schema.name, (performance.now() - started) / 1000);
      if (handlingMs > 0) this.throttleRequest(context, handlingMs);
      const throttleMs = context.throttleTimeMs;
      if (throttleMs > 0) connection.mute(throttleMs);
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
      if (throttleMs > 0 && !clientBacksOff(apiKey, apiVersion)) {
        // A client from before KIP-219 is held back by its response's delay, as Kafka does.
        setTimeout(() => this.answer(connection, session, respond, chunks), throttleMs).unref();
      } else {
        this.answer(connection, session, respond, chunks);
      }
    };
    let result: Reply<EncodeResponse>;
    try {
      result = request.handle(context);
    } catch (error) {
      fail('handle', error, fields);
      return;
    }
    if (this.options.quotas.enforces('request')) handlingMs = performance.now() - started;
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
   * A SASL token framed on its own, as clients send them after a v0 SaslHandshake: answered the same way, or
   * the connection is closed (after the throttle's delay) when authentication fails.
   */
  private authenticateBareToken(
    connection: Connection,
    sasl: SaslSession,
    token: Buffer,
    peer: Peer,
    listener: SecurityProtocol,
    respond: (chunks: Buffer[] | null) => void,
  ): void {
    sasl.authenticate(token, Date.now()).then(
      ({ response, complete }) => {
        if (complete) this.options.observer.authenticationSucceeded(listener);
        const size = Buffer.alloc(4);
        size.writeInt32BE(response.length);
        respond([size, response]);
      },
      (error: unknown) => {
        if (!(error instanceof SaslAuthenticationError)) {
          respond(null);
          this.failed(connection, 'handle', error, peer);
          return;
        }
        this.authenticationFailed(listener, peer.clientHost, error);
        respond(null);
        connection.socket.destroy();
      },
    );
  }

  /** Sends a handled request's response; a failed authentication's closes the connection after it. */
  private answer(
    connection: Connection,
    session: ClientSession,
    respond: (chunks: Buffer[] | null) => void,
    chunks: Buffer[],
  ): void {
    respond(chunks);
    if (session.closeAfterResponse) connection.socket.end();
  }

  /**
   * Records the request's handling time against the client's request_percentage quota (100 is one thread
   * busy the whole time) and raises its throttle if it went over.
   */
  private throttleRequest(context: RequestContext, handlingMs: number): void {
    const throttleMs = this.options.quotas.record(
      'request',
      context.session.principal,
      context.clientId,
      handlingMs * PERCENT_PER_MS,
    );
    if (throttleMs > context.throttleTimeMs) context.throttleTimeMs = throttleMs;
  }

  /** Counts and logs a failed authentication, without anything secret (the error names no password). */
  authenticationFailed(listener: SecurityProtocol, clientHost: string, error: SaslAuthenticationError): void {
    this.options.observer.authenticationFailed(listener, 'invalid');
    this.clientFaults.log((l) =>
      l.warn({ listener, remote: clientHost, reason: error.message }, 'SASL authentication failed'),
    );
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

/** The principal of a TLS client's certificate, if it sent one that verified against the CA. */
function verifiedCertificatePrincipal(socket: net.Socket): string | null {
  if (!(socket instanceof tls.TLSSocket) || !socket.authorized) return null;
  const certificate = socket.getPeerX509Certificate();
  return certificate ? certificatePrincipal(certificate.subject) : null;
}
