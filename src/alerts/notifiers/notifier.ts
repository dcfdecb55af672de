/** One alert inside a notification, shaped like Alertmanager's webhook payload. */
export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** ISO 8601: when the alert started firing. */
  startsAt: string;
  /** ISO 8601: when it resolved; Alertmanager's zero time while it is firing. */
  endsAt: string;
  fingerprint: string;
  /** The value that last breached; null for "no data" alerts. */
  value: number | null;
  /** Event time of the update that made the alert active, for detection latency. */
  eventTimeMs: number;
}

/** A group of alerts sent together (Alertmanager webhook payload, version 4, plus Edgestream fields). */
export interface AlertNotification {
  version: '4';
  groupKey: string;
  /** 'firing' while any alert in the group fires. */
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** Alerts left out because a notification holds at most MAX_ALERTS_PER_NOTIFICATION. */
  truncatedAlerts: number;
  alerts: NotifiedAlert[];
  /** Engine clock when the notification was made. */
  sentAtMs: number;
}

/**
 * A destination for notifications. notify() must return at once and never throw for delivery problems:
 * the engine calls it while evaluating window updates, and a slow receiver must not slow the pipeline.
 */
export interface Notifier {
  readonly name: string;
  notify(notification: AlertNotification): void;
  /** Stops accepting work and waits (bounded) for what is in flight. */
  close(): Promise<void>;
}

export const ALERTMANAGER_ZERO_TIME = '0001-01-01T00:00:00Z';
