import type { Logger } from 'pino';
import { CoordinationError, type Coordinator } from './coordinator.js';
import { notifyAll } from './listeners.js';
import { Reconciler } from './reconciler.js';

export interface MembershipOptions {
  /** The directory of member nodes: each member is the ephemeral node `<dir>/<id>`. */
  dir: string;
  logger: Logger;
  /**
   * How long `join` waits for its node. A node left by our previous process (same id, older session) only
   * vanishes when that session times out, so the default is three session timeouts.
   */
  joinTimeoutMs?: number;
  /** Pause before another pass after a failed one (connection loss, timeout). */
  retryDelayMs?: number;
  /** Members read per view; the rest are left out with an error logged. */
  maxMembers?: number;
}

const DEFAULT_RETRY_DELAY_MS = 250;
const DEFAULT_MAX_MEMBERS = 1024;
const JOIN_TIMEOUT_SESSION_TIMEOUTS = 3;

function sameMembers(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, data] of a) {
    const other = b.get(id);
    if (other === undefined || !other.equals(data)) return false;
  }
  return true;
}

/**
 * Group membership with sessions: `join` keeps `<dir>/<id>` present as an ephemeral node of the current session
 * (re-created after an expiry brings a new one), `watchMembers` keeps a live view of every member's data.
 *
 * A node `<dir>/<id>` owned by another session is most likely ours from before a restart, whose session has
 * not timed out yet: we wait for it to vanish rather than delete it, because it may as well be a live process
 * started with the same id by mistake, and deleting its node would hide that.
 */
export class Membership {
  private self: { id: string; data: Buffer } | null = null;
  private registeredSessionId: string | null = null;
  private waitingForSessionId: string | null = null;
  private joinWaiters: Array<() => void> = [];
  private view: Map<string, Buffer> | null = null;
  private readonly viewListeners = new Set<(members: Map<string, Buffer>) => void>();
  private readonly reconciler: Reconciler;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly options: MembershipOptions,
  ) {
    this.reconciler = new Reconciler(coordinator, () => this.pass(), {
      what: `membership ${options.dir}`,
      retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
      logger: options.logger,
    });
  }

  /** Resolves once `<dir>/<id>` is ours; rejects with TIMEOUT after joinTimeoutMs (and stops trying). */
  async join(id: string, data: Buffer): Promise<void> {
    if (id === '' || id.includes('/'))
      throw new CoordinationError('UNEXPECTED', `member id ${JSON.stringify(id)}`);
    this.self = { id, data };
    this.registeredSessionId = null;
    const joinTimeoutMs =
      this.options.joinTimeoutMs ?? this.coordinator.sessionTimeoutMs * JOIN_TIMEOUT_SESSION_TIMEOUTS;
    let timer: NodeJS.Timeout | undefined;
    let resolveJoin: () => void = () => undefined;
    const joined = new Promise<void>((resolve, reject) => {
      resolveJoin = resolve;
      timer = setTimeout(() => {
        this.self = null;
        reject(
          new CoordinationError('TIMEOUT', `${this.memberPath(id)} not ours within ${joinTimeoutMs} ms`),
        );
      }, joinTimeoutMs);
    });
    this.joinWaiters.push(resolveJoin);
    this.reconciler.trigger();
    try {
      await joined;
    } finally {
      clearTimeout(timer);
      this.joinWaiters = this.joinWaiters.filter((waiter) => waiter !== resolveJoin);
    }
  }

  /** Deletes our member node (if it is ours) and stops re-creating it. */
  async leave(): Promise<void> {
    const self = this.self;
    this.self = null;
    this.registeredSessionId = null;
    if (self === null) return;
    const path = this.memberPath(self.id);
    const node = await this.coordinator.get(path);
    if (
      node !== null &&
      node.ephemeralOwner !== undefined &&
      node.ephemeralOwner === this.coordinator.sessionId()
    ) {
      await this.coordinator.delete(path, node.version);
    }
  }

  /**
   * Calls `onChange` with every member's id and data now (once read) and whenever they change. Returns the
   * unsubscribe function.
   */
  watchMembers(onChange: (members: Map<string, Buffer>) => void): () => void {
    this.viewListeners.add(onChange);
    if (this.view !== null) onChange(new Map(this.view));
    this.reconciler.trigger();
    return () => this.viewListeners.delete(onChange);
  }

  /** Leaves and stops watching. */
  async close(): Promise<void> {
    try {
      await this.leave();
    } finally {
      this.reconciler.stop();
      this.viewListeners.clear();
    }
  }

  private memberPath(id: string): string {
    return `${this.options.dir}/${id}`;
  }

  private async pass(): Promise<void> {
    if (this.self !== null) await this.register(this.self);
    if (this.viewListeners.size > 0) await this.refreshView();
  }

  private async register(self: { id: string; data: Buffer }): Promise<void> {
    const path = this.memberPath(self.id);
    const sessionId = this.coordinator.sessionId();
    const node = await this.coordinator.get(path, this.reconciler.trigger);
    if (node === null) {
      await this.coordinator.create(path, self.data, { ephemeral: true, parents: true });
      // The next pass confirms (and watches) the node, whoever created it.
      this.reconciler.trigger();
      return;
    }
    if (node.ephemeralOwner === undefined || node.ephemeralOwner !== sessionId) {
      if (this.waitingForSessionId !== node.ephemeralOwner) {
        this.waitingForSessionId = node.ephemeralOwner ?? null;
        this.options.logger.warn(
          { path, owner: node.ephemeralOwner ?? 'persistent node', sessionId },
          'member node held by another session; waiting for it to vanish (a previous run of this member, or a duplicate id)',
        );
      }
      return;
    }
    if (!node.data.equals(self.data)) await this.coordinator.set(path, self.data, node.version);
    if (this.registeredSessionId !== sessionId) {
      this.registeredSessionId = sessionId;
      this.waitingForSessionId = null;
      this.options.logger.info({ path, sessionId }, 'member registered');
    }
    for (const resolve of this.joinWaiters) resolve();
  }

  private async refreshView(): Promise<void> {
    const { dir } = this.options;
    const maxMembers = this.options.maxMembers ?? DEFAULT_MAX_MEMBERS;
    const ids = await this.coordinator.children(dir, this.reconciler.trigger);
    if (ids === null) {
      // Nothing watches a missing directory's children: create it, then read it again.
      await this.coordinator.create(dir, Buffer.alloc(0), { parents: true });
      this.reconciler.trigger();
      return;
    }
    if (ids.length > maxMembers) {
      this.options.logger.error(
        { dir, members: ids.length, maxMembers },
        'too many members; the view leaves some out',
      );
    }
    const read = ids.sort().slice(0, maxMembers);
    const nodes = await Promise.all(
      read.map((id) => this.coordinator.get(this.memberPath(id), this.reconciler.trigger)),
    );
    const members = new Map<string, Buffer>();
    read.forEach((id, index) => {
      // A member gone between the two reads is left out; the child watch brings another pass.
      const node = nodes[index];
      if (node !== undefined && node !== null) members.set(id, node.data);
    });
    if (this.view !== null && sameMembers(this.view, members)) return;
    this.view = members;
    notifyAll(this.viewListeners, new Map(members), this.options.logger, 'membership view');
  }
}
