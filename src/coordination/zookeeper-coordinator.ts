// node-zookeeper-client 1.1.3 is pure JavaScript (its only dependencies are async and underscore, nothing to
// compile) and does support sessions with negotiated timeouts, ephemeral nodes, one-shot data/child/exists
// watches (re-set after a reconnect within the session) and multi ops, but with gaps we close here: requests
// queued while disconnected wait forever (each of ours has a timeout), it has no read timeout (a frozen server
// holds it forever, so a heartbeat that times out drops the connection), an expired client stays dead (we open
// a new one), its Transaction turns version 0 into -1 ("any"; we write the versions ourselves), and it keeps
// a half-read response across a reconnect, then reads the new server's bytes as its rest and throws from the
// socket's data handler, ending the process (guardFraming below).
import { type EventEmitter, once } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  type Client,
  type ConnectionManager,
  CreateMode,
  createClient,
  Exception,
  type Stat,
} from 'node-zookeeper-client';
import type { Logger } from 'pino';
import {
  CoordinationError,
  type CoordinationErrorCode,
  type CoordinationOp,
  type Coordinator,
  type SessionState,
  type Versioned,
} from './coordinator.js';
import { notifyAll } from './listeners.js';
import { PauseDetector } from './pause-detector.js';

export interface ZooKeeperCoordinatorOptions {
  /** host:port[,host:port...][/chroot] */
  connectString: string;
  /** Requested; the servers clamp it to [2, 20] ticks by default. */
  sessionTimeoutMs: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  logger: Logger;
}

/** Share of the negotiated session timeout a lease may use: our clock may run slower than the servers'. */
const LEASE_CLOCK_MARGIN = 0.9;
/** Heartbeats per session timeout: the lease stays at least 3/4 of a session timeout ahead while connected. */
const HEARTBEATS_PER_SESSION_TIMEOUT = 4;
/**
 * A gap in our own clock longer than this share of the session timeout means the process was frozen: far
 * longer than any event-loop delay of a running broker, and short enough that the session (whose servers
 * count the whole gap) cannot have expired unnoticed through the pause alone.
 */
const PAUSE_SHARE_OF_SESSION_TIMEOUT = 1 / 3;
/**
 * The library waits a random time up to this after trying every server once; its default (1 s) would make a
 * client whose server died wait longer than our short test session timeouts allow.
 */
const RECONNECT_SPIN_DELAY_MS = 200;
/** A node that keeps appearing and vanishing between our get and exists calls: give up after this many rounds. */
const MAX_GET_ROUNDS = 3;

/** Conditions the servers answered with that the methods report as results, not as errors. */
const ANSWERED_CONDITIONS = new Set([
  Exception.NO_NODE,
  Exception.NODE_EXISTS,
  Exception.BAD_VERSION,
  Exception.NOT_EMPTY,
]);

/**
 * once(), rejected after timeoutMs or on abort(). A plain timer: with AbortSignal.any([AbortSignal.timeout(),
 * ...]) start() waited forever in a long test run on Node 20.20 (the timeout signal, held only by the combined
 * one, apparently collected before it fired).
 */
function onceWithin(
  emitter: EventEmitter,
  event: string,
  timeoutMs: number,
): { done: Promise<unknown[]>; abort: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const done = once(emitter, event, { signal: controller.signal }).finally(() => clearTimeout(timer));
  return { done, abort: () => controller.abort() };
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: Exception };

function failed(error: Exception): { ok: false; error: Exception } {
  return { ok: false, error };
}

function versioned(data: Buffer | null | undefined, stat: Stat): Versioned {
  const result: Versioned = { data: data ?? Buffer.alloc(0), version: stat.version };
  // A persistent node's owner is session 0.
  if (stat.ephemeralOwner.some((byte) => byte !== 0))
    result.ephemeralOwner = stat.ephemeralOwner.toString('hex');
  return result;
}

export class ZooKeeperCoordinator implements Coordinator {
  private client: Client | null = null;
  private connected = false;
  private currentSessionId: string | null = null;
  private negotiatedSessionTimeoutMs: number | null = null;
  /** performance.now() at which the last request the current session got an answer to was sent. */
  private lastAnsweredSendMs = Number.NEGATIVE_INFINITY;
  /**
   * performance.now() of the last sign of the servers: an answer's send time, a connect, an expiry, or the
   * start. The service counts as out of reach once this is older than the lease while disconnected.
   */
  private lastContactMs = Number.NEGATIVE_INFINITY;
  /** performance.now() at which the last session expiry was noticed. */
  private expiredAtMs = Number.NEGATIVE_INFINITY;
  private readonly pauses = new PauseDetector(
    () => this.sessionTimeoutMs * PAUSE_SHARE_OF_SESSION_TIMEOUT,
    (pausedMs) => this.onPause(pausedMs),
  );
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatInFlight = false;
  private closed = false;
  /** Gives up a start() still waiting for its first session when close() comes first. */
  private abortConnect: (() => void) | null = null;
  private readonly listeners = new Set<(state: SessionState) => void>();

  constructor(private readonly options: ZooKeeperCoordinatorOptions) {}

  get sessionTimeoutMs(): number {
    return this.negotiatedSessionTimeoutMs ?? this.options.sessionTimeoutMs;
  }

  sessionId(): string | null {
    return this.currentSessionId;
  }

  leaseDeadlineMs(): number {
    return this.lastAnsweredSendMs + this.sessionTimeoutMs * LEASE_CLOCK_MARGIN;
  }

  reachable(): boolean {
    return (
      this.connected || performance.now() <= this.lastContactMs + this.sessionTimeoutMs * LEASE_CLOCK_MARGIN
    );
  }

  sessionUnbroken(): boolean {
    const pauseEndMs = this.pauses.observe();
    return this.lastAnsweredSendMs >= Math.max(pauseEndMs, this.expiredAtMs);
  }

  onState(listener: (state: SessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    if (this.closed) throw new CoordinationError('CLOSED', 'start after close');
    if (this.client !== null) throw new CoordinationError('UNEXPECTED', 'started twice');
    this.pauses.start();
    this.lastContactMs = performance.now();
    const client = this.openClient();
    const connected = onceWithin(client, 'connected', this.options.connectTimeoutMs);
    this.abortConnect = connected.abort;
    try {
      await connected.done;
    } catch (error) {
      if (this.client === client) this.client = null;
      this.pauses.stop();
      await this.closeClient(client);
      if (this.closed) throw new CoordinationError('CLOSED', 'closed while connecting', { cause: error });
      throw new CoordinationError(
        'TIMEOUT',
        `no session with ${this.options.connectString} within ${this.options.connectTimeoutMs} ms`,
        { cause: error },
      );
    } finally {
      this.abortConnect = null;
    }
    this.scheduleHeartbeat();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abortConnect?.();
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.pauses.stop();
    const client = this.client;
    this.client = null;
    this.connected = false;
    this.currentSessionId = null;
    this.lastAnsweredSendMs = Number.NEGATIVE_INFINITY;
    if (client !== null) await this.closeClient(client);
    this.emit('closed');
  }

  async get(path: string, watch?: () => void): Promise<Versioned | null> {
    for (let round = 0; round < MAX_GET_ROUNDS; round++) {
      const outcome = await this.call<Versioned>('get', path, (client, answer) =>
        client.getData(path, watch, (error, data, stat) =>
          answer(error ? failed(error) : { ok: true, value: versioned(data, stat!) }),
        ),
      );
      if (outcome.ok) return outcome.value;
      if (outcome.error.getCode() !== Exception.NO_NODE) throw this.failure(outcome.error, 'get', path);
      if (watch === undefined) return null;
      // getData leaves no watch on a missing node; an exists watch fires when it is created.
      const exists = await this.call<boolean>('exists', path, (client, answer) =>
        client.exists(path, watch, (error, stat) =>
          answer(error ? failed(error) : { ok: true, value: stat !== null && stat !== undefined }),
        ),
      );
      if (!exists.ok) throw this.failure(exists.error, 'exists', path);
      // Created between the two calls: read it (the watch is now a data watch on it).
      if (!exists.value) return null;
    }
    throw new CoordinationError(
      'UNEXPECTED',
      `${path} kept appearing and vanishing for ${MAX_GET_ROUNDS} reads`,
    );
  }

  async children(path: string, watch?: () => void): Promise<string[] | null> {
    const outcome = await this.call<string[]>('children', path, (client, answer) =>
      client.getChildren(path, watch, (error, children) =>
        answer(error ? failed(error) : { ok: true, value: children ?? [] }),
      ),
    );
    if (outcome.ok) return outcome.value;
    if (outcome.error.getCode() === Exception.NO_NODE) return null;
    throw this.failure(outcome.error, 'children', path);
  }

  async create(
    path: string,
    data: Buffer,
    options: { ephemeral?: boolean; parents?: boolean } = {},
  ): Promise<boolean> {
    const mode = options.ephemeral === true ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT;
    const attempt = () =>
      this.call<true>('create', path, (client, answer) =>
        client.create(path, data, mode, (error) => answer(error ? failed(error) : { ok: true, value: true })),
      );
    let outcome = await attempt();
    if (!outcome.ok && outcome.error.getCode() === Exception.NO_NODE && options.parents === true) {
      await this.createParents(path);
      outcome = await attempt();
    }
    if (outcome.ok) return true;
    if (outcome.error.getCode() === Exception.NODE_EXISTS) return false;
    throw this.failure(outcome.error, 'create', path);
  }

  async set(path: string, data: Buffer, version: number): Promise<number | null> {
    const outcome = await this.call<number>('set', path, (client, answer) =>
      client.setData(path, data, version, (error, stat) =>
        answer(error ? failed(error) : { ok: true, value: stat!.version }),
      ),
    );
    if (outcome.ok) return outcome.value;
    if (ANSWERED_CONDITIONS.has(outcome.error.getCode())) return null;
    throw this.failure(outcome.error, 'set', path);
  }

  async delete(path: string, version = -1): Promise<boolean> {
    const outcome = await this.call<true>('delete', path, (client, answer) =>
      client.remove(path, version, (error) => answer(error ? failed(error) : { ok: true, value: true })),
    );
    if (outcome.ok) return true;
    if (ANSWERED_CONDITIONS.has(outcome.error.getCode())) return false;
    throw this.failure(outcome.error, 'delete', path);
  }

  async commit(ops: CoordinationOp[]): Promise<boolean> {
    const what = ops.map((op) => `${op.op} ${op.path}`).join(', ');
    const outcome = await this.call<true>('commit', what, (client, answer) => {
      const transaction = client.transaction();
      for (const op of ops) {
        if (op.op === 'check') transaction.check(op.path, op.version);
        else if (op.op === 'create') {
          transaction.create(
            op.path,
            op.data,
            op.ephemeral === true ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT,
          );
        } else if (op.op === 'set') transaction.setData(op.path, op.data, op.version);
        else transaction.remove(op.path, op.version);
      }
      // The library's builder writes `version || -1`, turning "exactly version 0" into "any version": a check
      // on a fresh node would always pass. Its ops are plain records serialized as they are, so set them here.
      ops.forEach((op, index) => {
        const written = transaction.ops[index];
        if (op.op !== 'create' && written !== undefined) written.version = op.version;
      });
      transaction.commit((error) => answer(error ? failed(error) : { ok: true, value: true }));
    });
    if (outcome.ok) return true;
    if (ANSWERED_CONDITIONS.has(outcome.error.getCode())) return false;
    throw this.failure(outcome.error, 'commit', what);
  }

  /** mkdir -p of the parent of `path`, with persistent empty nodes. */
  private async createParents(path: string): Promise<void> {
    const parent = path.slice(0, path.lastIndexOf('/'));
    if (parent === '') return;
    const outcome = await this.call<true>('create parents', parent, (client, answer) =>
      client.mkdirp(parent, (error) => answer(error ? failed(error) : { ok: true, value: true })),
    );
    if (!outcome.ok) throw this.failure(outcome.error, 'create parents', parent);
  }

  /**
   * Sends one request on the current client, bounded by requestTimeoutMs (the library would keep a request
   * queued for as long as it is disconnected), or refuses it at once while the service is out of reach. An
   * answer from the servers, even a refusal, moves the lease.
   */
  private call<T>(
    what: string,
    path: string,
    send: (client: Client, answer: (outcome: Outcome<T>) => void) => void,
  ): Promise<Outcome<T>> {
    const client = this.client;
    if (this.closed)
      return Promise.reject(new CoordinationError('CLOSED', `${what} ${path}: coordinator closed`));
    if (client === null)
      return Promise.reject(new CoordinationError('UNEXPECTED', `${what} ${path}: not started`));
    if (!this.reachable()) {
      return Promise.reject(
        new CoordinationError('UNREACHABLE', `${what} ${path}: ${this.unreachableReason()}`),
      );
    }
    const sentAtMs = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new CoordinationError(
            this.closed ? 'CLOSED' : 'TIMEOUT',
            `${what} ${path}: no answer within ${this.options.requestTimeoutMs} ms`,
          ),
        );
      }, this.options.requestTimeoutMs);
      send(client, (outcome) => {
        clearTimeout(timer);
        const answered = outcome.ok || ANSWERED_CONDITIONS.has(outcome.error.getCode());
        if (answered && client === this.client) {
          this.lastAnsweredSendMs = Math.max(this.lastAnsweredSendMs, sentAtMs);
          this.lastContactMs = Math.max(this.lastContactMs, sentAtMs);
        }
        resolve(outcome);
      });
    });
  }

  /** Why requests are refused while the service is out of reach, for the operator reading an error. */
  private unreachableReason(): string {
    const silentMs = Math.round(performance.now() - this.lastContactMs);
    return `ZooKeeper (${this.options.connectString}) has not answered for ${silentMs} ms`;
  }

  /**
   * The process was frozen: the servers may have expired its session and others taken its roles meanwhile.
   * Ask them at once; their answer to a request sent from now on confirms the session (sessionUnbroken).
   */
  private onPause(pausedMs: number): void {
    this.options.logger.warn(
      {
        pausedMs: Math.round(pausedMs),
        sessionId: this.currentSessionId,
        sessionTimeoutMs: this.sessionTimeoutMs,
      },
      'this process was paused (SIGSTOP, GC or VM stall): its session is unconfirmed until ZooKeeper answers again',
    );
    this.heartbeat(true);
  }

  private failure(error: Exception, what: string, path: string): CoordinationError {
    let code: CoordinationErrorCode = 'UNEXPECTED';
    if (this.closed) code = 'CLOSED';
    else if (error.getCode() === Exception.CONNECTION_LOSS) code = 'CONNECTION_LOSS';
    else if (error.getCode() === Exception.SESSION_EXPIRED) code = 'SESSION_EXPIRED';
    else if (error.getCode() === Exception.OPERATION_TIMEOUT) code = 'TIMEOUT';
    return new CoordinationError(code, `${what} ${path}: ${error.message}`, { cause: error });
  }

  private openClient(): Client {
    const client = createClient(this.options.connectString, {
      sessionTimeout: this.options.sessionTimeoutMs,
      spinDelay: RECONNECT_SPIN_DELAY_MS,
      // No retries inside the library: after a connection loss a write's outcome is unknown, the caller decides.
      retries: 0,
    });
    this.client = client;
    guardFraming(client, this.options.logger);
    client.on('connected', () => {
      if (client !== this.client) return;
      this.connected = true;
      this.lastContactMs = performance.now();
      this.currentSessionId = client.getSessionId().toString('hex');
      this.negotiatedSessionTimeoutMs = client.getSessionTimeout();
      this.options.logger.info(
        { sessionId: this.currentSessionId, sessionTimeoutMs: this.negotiatedSessionTimeoutMs },
        'coordination session connected',
      );
      this.emit('connected');
      // The connect answer does not move the lease (we do not know when the library sent it): a request does.
      this.heartbeat();
    });
    client.on('disconnected', () => {
      if (client !== this.client) return;
      this.connected = false;
      this.options.logger.warn({ sessionId: this.currentSessionId }, 'coordination session disconnected');
      this.emit('disconnected');
    });
    client.on('expired', () => {
      if (client !== this.client) return;
      this.onExpired(client);
    });
    client.connect();
    return client;
  }

  /** The library never recovers from expiry: a new client brings a new session ('connected' follows). */
  private onExpired(client: Client): void {
    this.options.logger.warn({ sessionId: this.currentSessionId }, 'coordination session expired');
    this.connected = false;
    this.currentSessionId = null;
    this.lastAnsweredSendMs = Number.NEGATIVE_INFINITY;
    this.expiredAtMs = performance.now();
    this.lastContactMs = this.expiredAtMs;
    client.connectionManager.socket?.destroy();
    if (!this.closed) this.openClient();
    this.emit('expired');
  }

  private async closeClient(client: Client): Promise<void> {
    const socket = client.connectionManager.socket;
    client.close();
    // The server answers closeSession (dropping our ephemeral nodes at once) and closes the connection; bounded
    // because a server that stopped answering would never close it.
    if (socket !== undefined && !socket.destroyed) {
      await onceWithin(socket, 'close', this.options.requestTimeoutMs).done.catch(() => undefined);
    }
    client.connectionManager.socket?.destroy();
  }

  private scheduleHeartbeat(): void {
    if (this.closed) return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeat();
      this.scheduleHeartbeat();
    }, this.sessionTimeoutMs / HEARTBEATS_PER_SESSION_TIMEOUT);
  }

  /**
   * A cheap read that keeps the lease fresh; one that times out on a live connection means a frozen server.
   * `now`: even if one is in flight (sent before a pause, its answer confirms nothing).
   */
  private heartbeat(now = false): void {
    const client = this.client;
    if (!this.connected || (this.heartbeatInFlight && !now) || client === null) return;
    this.heartbeatInFlight = true;
    this.call<true>('heartbeat', '/', (current, answer) =>
      current.exists('/', undefined, (error) => answer(error ? failed(error) : { ok: true, value: true })),
    )
      .catch((error: unknown) => {
        if (!(error instanceof CoordinationError) || error.code !== 'TIMEOUT') return;
        if (client !== this.client || !this.connected) return;
        this.options.logger.warn(
          { sessionId: this.currentSessionId },
          'server stopped answering; reconnecting',
        );
        // The library then tries the next server of the connect string within the same session.
        client.connectionManager.socket?.destroy();
      })
      .finally(() => {
        this.heartbeatInFlight = false;
      });
  }

  private emit(state: SessionState): void {
    notifyAll(this.listeners, state, this.options.logger, `coordination state ${state}`);
  }
}

/**
 * The library reads each response frame into `pendingBuffer` and never clears it when a connection drops,
 * so a frame cut by a server crash is completed with the next server's first bytes; what it parses from
 * them then throws out of the socket's data handler (an uncaught "Unknown code"). Each connection starts
 * with an empty frame here, and a response the library cannot parse drops the connection (the library then
 * fails the requests in flight with CONNECTION_LOSS and reconnects) instead of ending the process.
 */
function guardFraming(client: Client, logger: Logger): void {
  const manager = client.connectionManager;
  const onSocketData = manager.onSocketData;
  const onSocketClosed = manager.onSocketClosed;
  manager.onSocketClosed = function (this: ConnectionManager, hasError: boolean): void {
    this.pendingBuffer = null;
    onSocketClosed.call(this, hasError);
  };
  manager.onSocketData = function (this: ConnectionManager, buffer: Buffer): void {
    try {
      onSocketData.call(this, buffer);
    } catch (error) {
      logger.error({ err: error }, 'unreadable response from the coordination service; reconnecting');
      this.pendingBuffer = null;
      this.socket?.destroy();
    }
  };
}
