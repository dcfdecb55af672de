import type { AlertMetrics } from './metrics.js';
import {
  ALERTMANAGER_ZERO_TIME,
  type AlertNotification,
  type NotifiedAlert,
  type Notifier,
} from './notifiers/notifier.js';
import type { Route } from './rules.js';
import type { Silences } from './silences.js';
import type { AlertInstance, ErrorListener } from './types.js';

export const MAX_ALERTS_PER_NOTIFICATION = 1000;

interface AlertGroup {
  key: string;
  labels: Record<string, string>;
  /** Firing alerts, and resolved ones whose resolution is not sent yet. */
  alerts: Map<string, AlertInstance>;
  /** Fingerprints receivers were last told are firing. */
  notifiedFiring: Set<string>;
  /** When the group first had something to send; groupWait counts from here. */
  createdAtMs: number;
  lastFlushMs: number | null;
}

/**
 * Alertmanager's dispatch: alerts grouped by route labels, a group sent after groupWait, then at most every
 * groupInterval when its alerts change (never on every evaluation: de-duplication), and again every
 * repeatInterval while alerts still fire. Silenced alerts are kept in their group but left out of notifications.
 */
export class NotificationDispatcher {
  private readonly groups = new Map<string, AlertGroup>();
  private readonly changedGroups = new Set<AlertGroup>();

  constructor(
    private readonly route: Route,
    private readonly notifiers: readonly Notifier[],
    private readonly silences: Silences,
    private readonly metrics: AlertMetrics,
    private readonly onError: ErrorListener,
  ) {}

  /** Records that an alert started firing or resolved; sent by the next flushDue() when its group is due. */
  alertChanged(alert: AlertInstance, nowMs: number): void {
    const labels = this.groupLabels(alert);
    const key = JSON.stringify(labels);
    let group = this.groups.get(key);
    if (!group) {
      if (alert.state === 'resolved') return;
      group = {
        key,
        labels,
        alerts: new Map(),
        notifiedFiring: new Set(),
        createdAtMs: nowMs,
        lastFlushMs: null,
      };
      this.groups.set(key, group);
    }
    group.alerts.set(alert.fingerprint, alert);
    this.changedGroups.add(group);
  }

  /** Sends changed groups whose groupWait / groupInterval has passed. Cheap when nothing changed. */
  flushDue(nowMs: number): void {
    for (const group of this.changedGroups) {
      const dueAtMs =
        group.lastFlushMs === null
          ? group.createdAtMs + this.route.groupWait
          : group.lastFlushMs + this.route.groupInterval;
      if (nowMs >= dueAtMs) this.flush(group, nowMs, false);
    }
  }

  /** Periodic work: silences that started or ended change what a group shows; repeats of firing groups. */
  tick(nowMs: number): void {
    for (const group of this.groups.values()) {
      if (this.visibleSetChanged(group, nowMs)) this.changedGroups.add(group);
      else if (group.lastFlushMs !== null && nowMs >= group.lastFlushMs + this.route.repeatInterval)
        this.flush(group, nowMs, true);
    }
    this.flushDue(nowMs);
  }

  groupCount(): number {
    return this.groups.size;
  }

  private flush(group: AlertGroup, nowMs: number, repeat: boolean): void {
    this.changedGroups.delete(group);
    const firing: AlertInstance[] = [];
    const resolved: AlertInstance[] = [];
    for (const alert of group.alerts.values()) {
      const silenced = this.silences.silencedBy(alert.labels, nowMs) !== null;
      if (alert.state === 'firing') {
        if (!silenced) firing.push(alert);
      } else if (!silenced && group.notifiedFiring.has(alert.fingerprint)) {
        // Receivers only hear a resolution for an alert they were told about.
        resolved.push(alert);
      }
    }
    const isNews = resolved.length > 0 || firing.some((a) => !group.notifiedFiring.has(a.fingerprint));
    if (isNews || (repeat && firing.length > 0)) {
      this.send(this.notification(group, firing, resolved, nowMs));
      group.lastFlushMs = nowMs;
      group.notifiedFiring = new Set(firing.map((a) => a.fingerprint));
    }
    for (const [fingerprint, alert] of group.alerts)
      if (alert.state === 'resolved') group.alerts.delete(fingerprint);
    if (group.alerts.size === 0) this.groups.delete(group.key);
  }

  private visibleSetChanged(group: AlertGroup, nowMs: number): boolean {
    for (const alert of group.alerts.values()) {
      if (alert.state !== 'firing') continue;
      const visible = this.silences.silencedBy(alert.labels, nowMs) === null;
      if (visible !== group.notifiedFiring.has(alert.fingerprint)) return true;
    }
    return false;
  }

  private send(notification: AlertNotification): void {
    for (const notifier of this.notifiers) {
      try {
        notifier.notify(notification);
        this.metrics.notifications.inc({ notifier: notifier.name });
      } catch (error) {
        this.metrics.notifierErrors.inc({ notifier: notifier.name });
        this.onError(error as Error);
      }
    }
  }

  private groupLabels(alert: AlertInstance): Record<string, string> {
    const labels: Record<string, string> = {};
    for (const name of this.route.groupBy) {
      const value = alert.labels[name];
      if (value !== undefined) labels[name] = value;
    }
    return labels;
  }

  private notification(
    group: AlertGroup,
    firing: AlertInstance[],
    resolved: AlertInstance[],
    nowMs: number,
  ): AlertNotification {
    const all = [...firing, ...resolved];
    const included = all.slice(0, MAX_ALERTS_PER_NOTIFICATION);
    return {
      version: '4',
      groupKey: group.key,
      status: firing.length > 0 ? 'firing' : 'resolved',
      receiver: 'edgestream',
      groupLabels: { ...group.labels },
      commonLabels: common(included.map((a) => a.labels)),
      commonAnnotations: common(included.map((a) => a.annotations)),
      truncatedAlerts: all.length - included.length,
      alerts: included.map(toNotified),
      sentAtMs: nowMs,
    };
  }
}

function toNotified(alert: AlertInstance): NotifiedAlert {
  return {
    status: alert.state === 'firing' ? 'firing' : 'resolved',
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    startsAt: new Date(alert.firedAtMs ?? alert.activeAtMs).toISOString(),
    endsAt: alert.resolvedAtMs === null ? ALERTMANAGER_ZERO_TIME : new Date(alert.resolvedAtMs).toISOString(),
    fingerprint: alert.fingerprint,
    value: alert.value,
    eventTimeMs: alert.eventTimeMs,
  };
}

/** Label pairs every set shares. */
function common(sets: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, string> {
  const [first, ...rest] = sets;
  if (!first) return {};
  const shared: Record<string, string> = {};
  for (const [name, value] of Object.entries(first)) {
    if (rest.every((set) => set[name] === value)) shared[name] = value;
  }
  return shared;
}
