import type { AlertNotification, Notifier } from '../alerts/notifiers/notifier.js';
import type { FaultKind } from '../simulate/scenarios.js';
import type { FaultReport } from '../simulate/simulator.js';

/** The default rule (src/monitor/default-rules.ts) that each simulated fault must set off. */
export const EXPECTED_ALERT: Readonly<Record<FaultKind, string>> = {
  'retransmit-storm': 'RetransmitStorm',
  'flapping-link': 'RetransmitStorm',
  'origin-5xx': 'OriginErrors',
  'latency-spike': 'SiteLatencyHigh',
  'dying-edge': 'EdgeSilent',
};

/**
 * Alerts a fault also sets off because its effect really reaches them, besides its expected one: a latency
 * spike slows segment downloads until the site's players stall.
 */
export const CONSEQUENT_ALERTS: Readonly<Partial<Record<FaultKind, readonly string[]>>> = {
  'latency-spike': ['RebufferRatioHigh'],
};

export interface AlertSighting {
  alertname: string;
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  /** Wall clock when the notification reached us. */
  atMs: number;
}

/** Keeps every alert of every notification with the time it arrived: how the demo and tests see alerting. */
export class RecordingNotifier implements Notifier {
  readonly name = 'recording';
  readonly sightings: AlertSighting[] = [];
  private readonly maxSightings: number;

  constructor(maxSightings = 100_000) {
    this.maxSightings = maxSightings;
  }

  notify(notification: AlertNotification): void {
    const atMs = Date.now();
    for (const alert of notification.alerts) {
      if (this.sightings.length >= this.maxSightings) this.sightings.shift();
      this.sightings.push({
        alertname: alert.labels.alertname ?? '',
        labels: alert.labels,
        status: alert.status,
        atMs,
      });
    }
  }

  async close(): Promise<void> {}
}

export interface FaultDetection {
  fault: string;
  kind: FaultKind;
  target: string;
  expectedAlert: string;
  /** First faulty event produced (or, for a silent edge, first event withheld) -> firing notification, ms. */
  detectionLatencyMs: number | null;
  resolved: boolean;
}

/** Whether an alert's labels point at the fault's target: its edge server, or its site as a whole. */
export function alertMatchesFault(
  labels: Record<string, string>,
  fault: Pick<FaultReport, 'dimension' | 'target'>,
) {
  return fault.dimension === 'edge'
    ? labels.edge === fault.target
    : labels.site === fault.target && labels.edge === undefined;
}

/** Whether the fault accounts for the alert: its expected alert or one of its consequences, on its target. */
export function faultExplains(
  fault: Pick<FaultReport, 'kind' | 'dimension' | 'target'>,
  alert: { alertname: string; labels: Record<string, string> },
): boolean {
  const explained = [EXPECTED_ALERT[fault.kind], ...(CONSEQUENT_ALERTS[fault.kind] ?? [])];
  return explained.includes(alert.alertname) && alertMatchesFault(alert.labels, fault);
}

/** Pairs each injected fault with the first firing (and any later resolved) notification of its expected alert. */
export function detectFaults(
  faults: readonly FaultReport[],
  sightings: readonly AlertSighting[],
): FaultDetection[] {
  return faults.map((fault) => {
    const expectedAlert = EXPECTED_ALERT[fault.kind];
    const mine = sightings.filter(
      (sighting) =>
        sighting.alertname === expectedAlert &&
        alertMatchesFault(sighting.labels, fault) &&
        sighting.atMs >= (fault.firstEventSentAtMs ?? Number.POSITIVE_INFINITY),
    );
    const firing = mine.find((sighting) => sighting.status === 'firing');
    const resolved =
      firing !== undefined && mine.some((s) => s.status === 'resolved' && s.atMs >= firing.atMs);
    return {
      fault: fault.id,
      kind: fault.kind,
      target: fault.target,
      expectedAlert,
      detectionLatencyMs:
        firing === undefined || fault.firstEventSentAtMs === null
          ? null
          : firing.atMs - fault.firstEventSentAtMs,
      resolved,
    };
  });
}
