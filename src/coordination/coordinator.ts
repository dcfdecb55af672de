/**
 * The small interface the cluster needs from a coordination service: sessions with ephemeral nodes, versioned
 * data with compare-and-set, one-shot watches and atomic multi-ops. No ZooKeeper type appears here, so another
 * service (etcd: leases, revisions, watches, transactions) can implement it later.
 */

/**
 * 'connected' also follows a 'disconnected' within the same session (watches and ephemeral nodes kept);
 * after 'expired' it means a NEW session: ephemeral nodes of the old one are gone and its watches never fire.
 */
export type SessionState = 'connected' | 'disconnected' | 'expired' | 'closed';

export interface Versioned {
  data: Buffer;
  /** Bumped by every set; what `set`, `delete` and the `check`/`set`/`delete` ops compare with. */
  version: number;
  /** The session that owns an ephemeral node (compare with `Coordinator.sessionId()`); absent for persistent nodes. */
  ephemeralOwner?: string;
}

export type CoordinationOp =
  | { op: 'check'; path: string; version: number }
  | { op: 'create'; path: string; data: Buffer; ephemeral?: boolean }
  /** version -1 = any */
  | { op: 'set'; path: string; data: Buffer; version: number }
  | { op: 'delete'; path: string; version: number };

export type CoordinationErrorCode =
  | 'CONNECTION_LOSS'
  | 'SESSION_EXPIRED'
  | 'TIMEOUT'
  /** Not sent: the service has been out of reach for longer than the lease (see `reachable`). Nothing applied. */
  | 'UNREACHABLE'
  | 'CLOSED'
  | 'UNEXPECTED';

/**
 * The outcome of a request is unknown to the caller for CONNECTION_LOSS and TIMEOUT (a write may have been
 * applied): re-read before retrying. UNREACHABLE was never sent. Conditions that simply did not hold (node exists, bad version) are not
 * errors; each method reports them in its result.
 */
export class CoordinationError extends Error {
  constructor(
    readonly code: CoordinationErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'CoordinationError';
  }
}

export interface Coordinator {
  /** Connects; resolves once a session is established; rejects after connectTimeoutMs. */
  start(): Promise<void>;
  /** Ends the session (its ephemeral nodes go at once) and emits 'closed'; every later request rejects with CLOSED. */
  close(): Promise<void>;
  /** The session timeout the servers granted once connected (the requested one before that). */
  readonly sessionTimeoutMs: number;
  /** The current session's id (hex), null while there is none; ephemeral nodes name it as their owner. */
  sessionId(): string | null;
  /**
   * performance.now() deadline before which the current session certainly has not expired on the servers:
   * the send time of the last request that got an answer + the negotiated session timeout * 0.9 (margin for
   * clock rate). Kept fresh by a cheap request every sessionTimeoutMs/4 while connected.
   */
  leaseDeadlineMs(): number;
  /**
   * False while the service is out of reach: not connected and no answer within the lease. Requests are then
   * refused at once (UNREACHABLE) instead of waiting for a timeout; a plain reconnect to another server, which
   * takes less than the lease, leaves it true.
   */
  reachable(): boolean;
  /**
   * Whether this process can vouch that nothing broke its session's continuity: false from the moment it
   * notices that it was itself frozen (the monotonic clock jumped by more than a third of the session
   * timeout between two observations: SIGSTOP, a long GC, a VM stall) or that its session expired, until a
   * request sent after that moment is answered in the current session. The servers being out of reach does
   * not make it false (Kafka's semantics: a broker that keeps running keeps its roles until told otherwise).
   * Checks the clock itself, so it is right in the first instant after a resume, before any timer has run.
   */
  sessionUnbroken(): boolean;
  /**
   * 'expired' is followed, once reconnected, by 'connected' with a NEW session (ephemeral nodes gone). Watches
   * set in the expired session are lost: owners must re-read (and re-watch) on 'connected' after 'expired'.
   * Returns the unsubscribe function.
   */
  onState(listener: (state: SessionState) => void): () => void;
  /** null if no node. The watch fires once on change or delete, or on creation when the node was absent. */
  get(path: string, watch?: () => void): Promise<Versioned | null>;
  /** null if no node. The watch fires once when a child is added or removed or the node is deleted. */
  children(path: string, watch?: () => void): Promise<string[] | null>;
  /** false if it exists already; parents: create missing parent nodes (persistent, empty). */
  create(path: string, data: Buffer, options?: { ephemeral?: boolean; parents?: boolean }): Promise<boolean>;
  /** The new version, or null when the version did not match or the node is gone. version -1 = any. */
  set(path: string, data: Buffer, version: number): Promise<number | null>;
  /** false when the node is gone, the version did not match or it has children. version -1 (default) = any. */
  delete(path: string, version?: number): Promise<boolean>;
  /** Atomic multi-op; false when a check/version/exists condition failed; throws CoordinationError on connection loss. */
  commit(ops: CoordinationOp[]): Promise<boolean>;
}

/**
 * Calls `reread` each time a new session follows an expired one: the watches set in the old session never
 * fire, so whoever keeps a copy of the shared state reads (and watches) it again. Returns the unsubscribe
 * function.
 */
export function onNewSession(coordinator: Coordinator, reread: () => void): () => void {
  let expired = false;
  return coordinator.onState((state) => {
    if (state === 'expired') expired = true;
    if (state === 'connected' && expired) {
      expired = false;
      reread();
    }
  });
}
