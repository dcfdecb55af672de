import type { Logger } from 'pino';
import { CoordinationError, type Coordinator } from './coordinator.js';
import { notifyAll } from './listeners.js';
import { Reconciler } from './reconciler.js';

/**
 * What the winner holds. Fencing: every write the leader makes through `Coordinator.commit` carries
 * `{ op: 'check', path: epochPath, version: epochVersion }`. Only a candidate that wins bumps the epoch node
 * (atomically with creating the leader node), so once a newer leader has won the epoch node's version has
 * moved and a deposed leader's commit fails, even if that leader was paused and does not know yet.
 */
export interface Leadership {
  epoch: number;
  /** The epoch node's version right after this leader's bump. */
  epochVersion: number;
}

export interface ElectionOptions {
  /** The ephemeral leader node; its data is the leader's id (UTF-8). */
  path: string;
  /** The persistent epoch node: the epoch as decimal text, created as "0" when missing. */
  epochPath: string;
  candidateId: string;
  logger: Logger;
  /** Pause before another pass after a failed one (connection loss, timeout). */
  retryDelayMs?: number;
}

const DEFAULT_RETRY_DELAY_MS = 250;

function parseEpoch(data: Buffer, epochPath: string): number {
  const text = data.toString('utf8');
  const epoch = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(epoch)) {
    throw new CoordinationError('UNEXPECTED', `${epochPath} holds ${JSON.stringify(text)}, not an epoch`);
  }
  return epoch;
}

/**
 * Leader election with epochs, as Kafka's controller did on ZooKeeper: the winner creates the ephemeral leader
 * node and increments the epoch node in one multi-op. Leadership ends (callback with null) when the session
 * expires or closes, when the leader node is deleted, or on `resign()`. A disconnection alone ends nothing: the
 * session may still be alive, and every write the leader makes is fenced by the epoch anyway.
 */
export class Election {
  private campaigning = false;
  private lead: Leadership | null = null;
  private knownLeaderId: string | null = null;
  private readonly leadershipListeners = new Set<(lead: Leadership | null) => void>();
  private readonly leaderListeners = new Set<(leaderId: string | null) => void>();
  private readonly reconciler: Reconciler;
  private readonly unsubscribeState: () => void;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly options: ElectionOptions,
  ) {
    this.reconciler = new Reconciler(coordinator, () => this.pass(), {
      what: `election ${options.path}`,
      retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
      logger: options.logger,
    });
    this.unsubscribeState = coordinator.onState((state) => {
      // The ephemeral leader node died with the session.
      if (state === 'expired' || state === 'closed') this.loseLeadership(`session ${state}`);
    });
  }

  /** Starts campaigning (and watching the leader); the outcome arrives through the callbacks. */
  start(): void {
    this.campaigning = true;
    this.reconciler.trigger();
  }

  /** Called with the leadership when won and with null when lost. Returns the unsubscribe function. */
  onLeadership(listener: (lead: Leadership | null) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  /** Called when the leader's id changes (null: no leader right now). Returns the unsubscribe function. */
  onLeaderChange(listener: (leaderId: string | null) => void): () => void {
    this.leaderListeners.add(listener);
    return () => this.leaderListeners.delete(listener);
  }

  leadership(): Leadership | null {
    return this.lead;
  }

  leaderId(): string | null {
    return this.knownLeaderId;
  }

  /** Stops campaigning and gives leadership up: listeners hear null before the leader node is deleted. */
  async resign(): Promise<void> {
    this.campaigning = false;
    this.loseLeadership('resigned');
    const node = await this.coordinator.get(this.options.path);
    if (node !== null && this.isOurs(node.ephemeralOwner)) {
      await this.coordinator.delete(this.options.path, node.version);
    }
  }

  /** Resigns and stops watching. */
  async close(): Promise<void> {
    try {
      await this.resign();
    } finally {
      this.reconciler.stop();
      this.unsubscribeState();
    }
  }

  private isOurs(ephemeralOwner: string | undefined): boolean {
    return ephemeralOwner !== undefined && ephemeralOwner === this.coordinator.sessionId();
  }

  private async pass(): Promise<void> {
    const { path } = this.options;
    const node = await this.coordinator.get(path, this.reconciler.trigger);
    if (node === null) {
      this.setLeaderId(null);
      this.loseLeadership('leader node deleted');
      if (this.campaigning) await this.campaign();
      return;
    }
    this.setLeaderId(node.data.toString('utf8'));
    if (!this.isOurs(node.ephemeralOwner)) {
      this.loseLeadership(`${path} now held by another session`);
      return;
    }
    if (!this.campaigning) {
      // A campaign that was under way when we resigned won after all.
      await this.coordinator.delete(path, node.version);
      return;
    }
    if (this.lead === null) await this.takeLeadership();
  }

  /** Creates the leader node and bumps the epoch in one multi-op; a new pass reads the outcome either way. */
  private async campaign(): Promise<void> {
    const { path, epochPath, candidateId } = this.options;
    await this.coordinator.create(epochPath, Buffer.from('0'), { parents: true });
    const epochNode = await this.coordinator.get(epochPath);
    if (epochNode === null) throw new CoordinationError('UNEXPECTED', `${epochPath} vanished after creation`);
    const epoch = parseEpoch(epochNode.data, epochPath);
    // A multi-op creates no parents: the leader node's own must exist.
    const parent = path.slice(0, path.lastIndexOf('/'));
    if (parent !== '') await this.coordinator.create(parent, Buffer.alloc(0), { parents: true });
    await this.coordinator.commit([
      { op: 'create', path, data: Buffer.from(candidateId), ephemeral: true },
      { op: 'set', path: epochPath, data: Buffer.from(String(epoch + 1)), version: epochNode.version },
    ]);
    this.reconciler.trigger();
  }

  /**
   * Our session holds the leader node: read the epoch our winning multi-op wrote. Nobody else can bump it while
   * our node exists (bumping takes creating the node), and we confirm the node is still ours after the read.
   */
  private async takeLeadership(): Promise<void> {
    const { path, epochPath } = this.options;
    const sessionId = this.coordinator.sessionId();
    const epochNode = await this.coordinator.get(epochPath);
    const node = await this.coordinator.get(path);
    if (epochNode === null || node === null || !this.isOurs(node.ephemeralOwner)) return;
    if (this.coordinator.sessionId() !== sessionId || !this.campaigning || this.lead !== null) return;
    const lead = { epoch: parseEpoch(epochNode.data, epochPath), epochVersion: epochNode.version };
    this.lead = lead;
    this.options.logger.info({ path, candidateId: this.options.candidateId, ...lead }, 'won the election');
    notifyAll(this.leadershipListeners, lead, this.options.logger, 'leadership');
  }

  private loseLeadership(reason: string): void {
    if (this.lead === null) return;
    this.options.logger.warn({ path: this.options.path, ...this.lead, reason }, 'lost leadership');
    this.lead = null;
    notifyAll(this.leadershipListeners, null, this.options.logger, 'leadership');
  }

  private setLeaderId(leaderId: string | null): void {
    if (leaderId === this.knownLeaderId) return;
    this.knownLeaderId = leaderId;
    notifyAll(this.leaderListeners, leaderId, this.options.logger, 'leader change');
  }
}
