import type { Logger } from 'pino';
import { CoordinationError, type Coordinator } from '../coordination/index.js';
import { encodeNode, MAX_OFFLINE_REPLICAS_REPORTED, type OfflineReplicaReport, Paths } from './zk-layout.js';

export type ReportedReplica = OfflineReplicaReport['replicas'][number];

/** Pause before another try after ZooKeeper refused or could not be reached. */
const RETRY_DELAY_MS = 250;

/**
 * Keeps this broker's report of damaged replicas (`/brokers/offline_replicas/<id>`) equal to what it is
 * told: an ephemeral node of the current session while there is something to report, none otherwise. As
 * Kafka's log dir event notification, it is how the controller learns of damage only this broker can see.
 * One pass at a time; a failed pass, a watch on the node and a new session each bring another, so the node
 * is re-created after an expiry took it.
 */
export class OfflineReplicaReporter {
  private desired: ReportedReplica[] = [];
  private running = false;
  private again = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The session whose older node we wait out, so that is logged once. */
  private waitingForSession: string | null = null;
  private stopWatchingSession: () => void = () => undefined;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly brokerId: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopWatchingSession = this.coordinator.onState((state) => {
      if (state === 'connected') this.trigger();
    });
  }

  /** Reports exactly these replicas from now on (an empty list clears the report). */
  report(replicas: readonly ReportedReplica[]): void {
    if (replicas.length > MAX_OFFLINE_REPLICAS_REPORTED) {
      this.logger.error(
        { replicas: replicas.length, max: MAX_OFFLINE_REPLICAS_REPORTED },
        'too many damaged replicas to report; the report leaves some out',
      );
    }
    this.desired = [...replicas]
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
      .slice(0, MAX_OFFLINE_REPLICAS_REPORTED)
      .map((replica) => ({ ...replica }));
    this.trigger();
  }

  /** Stops updating; the node goes with the session when the broker closes it. */
  close(): void {
    this.closed = true;
    this.stopWatchingSession();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Bound once, so ZooKeeper's client holds one watcher for the node rather than one per pass. */
  private readonly trigger = (): void => {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  };

  private async run(): Promise<void> {
    this.running = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    do {
      this.again = false;
      try {
        await this.pass();
      } catch (error) {
        if (!(error instanceof CoordinationError)) throw error;
        if (error.code === 'CLOSED') break;
        this.logger.debug({ err: error }, 'offline replica report not written yet; retrying');
        this.retryTimer = setTimeout(this.trigger, RETRY_DELAY_MS);
        this.retryTimer.unref();
        break;
      }
    } while (this.again && !this.closed);
    this.running = false;
  }

  private async pass(): Promise<void> {
    const path = Paths.offlineReplicaReport(this.brokerId);
    const replicas = this.desired;
    const node = await this.coordinator.get(path, this.trigger);
    const sessionId = this.coordinator.sessionId();
    const ours = node?.ephemeralOwner !== undefined && node.ephemeralOwner === sessionId;
    if (replicas.length === 0) {
      // A node of an earlier session (this broker before a restart) goes when that session expires.
      if (node && ours && (await this.coordinator.delete(path, node.version)))
        this.logger.info({ path }, 'offline replica report cleared');
      return;
    }
    const data = encodeNode<OfflineReplicaReport>({ version: 1, replicas });
    if (!node) {
      if (await this.coordinator.create(path, data, { ephemeral: true, parents: true }))
        this.logger.info({ path, replicas }, 'offline replica report written');
      // The next pass confirms (and watches) the node, whoever created it.
      this.again = true;
      return;
    }
    if (!ours) {
      // Most likely this broker's node from before a restart: its session's expiry deletes it, the watch
      // set above brings the next pass. Deleting it would hide a second live broker with the same id.
      if (this.waitingForSession !== (node.ephemeralOwner ?? 'persistent')) {
        this.waitingForSession = node.ephemeralOwner ?? 'persistent';
        this.logger.warn(
          { path, owner: node.ephemeralOwner ?? 'persistent node', sessionId },
          'offline replica report held by another session; waiting for it to vanish',
        );
      }
      return;
    }
    this.waitingForSession = null;
    if (node.data.equals(data)) return;
    if ((await this.coordinator.set(path, data, node.version)) !== null)
      this.logger.info({ path, replicas }, 'offline replica report written');
    else this.again = true;
  }
}
