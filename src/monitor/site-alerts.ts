import type { AlertSnapshot, AlertTransition } from '../alerts/types.js';
import type { Silence } from '../store/types.js';
import type { SiteAlertRecord } from './site-topics.js';

/** Alerts held for the site view at most; beyond it new ones are counted and left out. */
const MAX_SITE_ALERTS = 100_000;
/** Silences remembered (the alert engine holds at most 1 000 at once). */
const MAX_SITE_SILENCES = 10_000;

interface Entry {
  /** The node whose alert engine holds the alert. */
  node: number;
  transition: AlertTransition;
  activeAtMs: number;
}

export interface SiteAlertBoardOptions {
  /** Nodes alive now; null while unknown (then every node counts as alive). */
  liveNodes(): ReadonlySet<number> | null;
  /** The silence muting an alert with these labels now, as this node's alert engine sees it. */
  silencedBy(labels: Readonly<Record<string, string>>, nowMs: number): string | null;
}

/**
 * The pending and firing alerts of the whole site, from the transitions every node's alert engine publishes.
 * An alert is shown while the node holding it is alive: when a node goes, the node that takes over its series
 * evaluates them afresh and reports what still holds. Also remembers the site's silences by id, so any node
 * can expire a silence another node created.
 */
export class SiteAlertBoard {
  private readonly entries = new Map<string, Entry>();
  private readonly silences = new Map<string, Silence>();
  leftOut = 0;

  constructor(private readonly options: SiteAlertBoardOptions) {}

  apply(record: SiteAlertRecord): void {
    if (record.reset) {
      for (const [fingerprint, entry] of this.entries)
        if (entry.node === record.node) this.entries.delete(fingerprint);
    }
    for (const transition of record.transitions) {
      const previous = this.entries.get(transition.fingerprint);
      if (transition.state === 'resolved') {
        // Only the node holding the alert resolves it: a late record from an earlier holder changes nothing.
        if (previous?.node === record.node) this.entries.delete(transition.fingerprint);
        continue;
      }
      if (previous === undefined && this.entries.size >= MAX_SITE_ALERTS) {
        this.leftOut++;
        continue;
      }
      const activeAtMs =
        transition.state === 'firing' && previous?.node === record.node
          ? previous.activeAtMs
          : transition.atMs;
      this.entries.set(transition.fingerprint, { node: record.node, transition, activeAtMs });
    }
  }

  rememberSilence(silence: Silence): void {
    if (!this.silences.has(silence.id) && this.silences.size >= MAX_SITE_SILENCES) {
      // The oldest by insertion goes: it has most likely ended long ago.
      const oldest = this.silences.keys().next().value;
      if (oldest !== undefined) this.silences.delete(oldest);
    }
    this.silences.set(silence.id, silence);
  }

  silence(id: string): Silence | undefined {
    return this.silences.get(id);
  }

  alerts(nowMs: number): AlertSnapshot[] {
    const live = this.options.liveNodes();
    const snapshots: AlertSnapshot[] = [];
    for (const { node, transition, activeAtMs } of this.entries.values()) {
      if (live !== null && !live.has(node)) continue;
      snapshots.push({
        fingerprint: transition.fingerprint,
        rule: transition.rule,
        state: transition.state,
        sinceMs: transition.atMs,
        activeAtMs,
        value: transition.value,
        labels: { ...transition.labels },
        annotations: { ...transition.annotations },
        silencedBy: this.options.silencedBy(transition.labels, nowMs),
      });
    }
    return snapshots;
  }
}
