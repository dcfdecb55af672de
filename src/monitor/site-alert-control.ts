import type { Logger } from 'pino';
import type { AlertControl, AlertEngine } from '../alerts/engine.js';
import type { SilenceInput } from '../alerts/rules.js';
import type { Silence as EngineSilence, Silences } from '../alerts/silences.js';
import type { AlertSnapshot } from '../alerts/types.js';
import type { Silence } from '../store/types.js';
import type { SiteAlertBoard } from './site-alerts.js';
import type { SitePublisher } from './site-publisher.js';

const PUBLISH_ATTEMPTS = 30;
const PUBLISH_RETRY_DELAY_MS = 1_000;

/**
 * The alerts of a cluster node's HTTP API: the whole site's alerts (SiteAlertBoard), and silences that this
 * node's engine applies at once and every other node's engine applies from the silences topic.
 */
export class SiteAlertControl implements AlertControl {
  private publishing: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: AlertEngine,
    private readonly board: SiteAlertBoard,
    private readonly publisher: SitePublisher,
    private readonly logger: Logger,
  ) {}

  get silences(): Silences {
    return this.engine.silences;
  }

  /** This node's engine: the series it evaluates. */
  stats(): ReturnType<AlertEngine['stats']> {
    return this.engine.stats();
  }

  alerts(): AlertSnapshot[] {
    return this.board.alerts(Date.now());
  }

  addSilence(input: SilenceInput): EngineSilence {
    const silence = this.engine.addSilence(input);
    this.publish(silence);
    return silence;
  }

  expireSilence(id: string): boolean {
    const expired = this.engine.expireSilence(id);
    const silence = this.engine.silences.list().find((s) => s.id === id);
    if (expired && silence) this.publish(silence);
    return expired;
  }

  /** Waits for the silences still being published. */
  async close(): Promise<void> {
    await this.publishing;
  }

  /**
   * In the background, retried for a while: the API has answered already, and this node applies the silence
   * whatever happens; the other nodes get it once the cluster takes the record.
   */
  private publish(silence: EngineSilence): void {
    const stored: Silence = {
      id: silence.id,
      matchers: silence.matchers.map((m) => ({ name: m.label, op: m.op, value: m.value })),
      startsAtMs: silence.startsAtMs,
      endsAtMs: silence.endsAtMs,
      createdBy: silence.createdBy,
      comment: silence.comment,
      createdAtMs: this.board.silence(silence.id)?.createdAtMs ?? Date.now(),
    };
    this.board.rememberSilence(stored);
    this.publishing = this.publishing.then(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.publisher.publishSilence(stored);
          return;
        } catch (error) {
          if (attempt === PUBLISH_ATTEMPTS) {
            this.logger.error({ err: error, silence: stored.id }, 'silence not sent to the other nodes');
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, PUBLISH_RETRY_DELAY_MS));
        }
      }
    });
  }
}
