import type { Logger } from 'pino';
import type { AlertNotification, Notifier } from './notifier.js';

/** One structured log line per notification. */
export class LogNotifier implements Notifier {
  readonly name = 'log';

  constructor(private readonly logger: Logger) {}

  notify(notification: AlertNotification): void {
    const level = notification.status === 'firing' ? 'warn' : 'info';
    this.logger[level](
      {
        event: 'alert_notification',
        status: notification.status,
        groupKey: notification.groupKey,
        groupLabels: notification.groupLabels,
        alerts: notification.alerts.map((alert) => ({
          status: alert.status,
          fingerprint: alert.fingerprint,
          labels: alert.labels,
          annotations: alert.annotations,
          value: alert.value,
          startsAt: alert.startsAt,
          endsAt: alert.endsAt,
        })),
        truncatedAlerts: notification.truncatedAlerts,
      },
      `alerts ${notification.status}: ${notification.alerts.map((a) => a.labels.alertname).join(', ')}`,
    );
  }

  async close(): Promise<void> {
    this.logger.flush();
  }
}
