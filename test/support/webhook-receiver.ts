import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertNotification } from '../../src/alerts/notifiers/notifier.js';

/** One alert of a notification, with when it arrived. */
export interface ReceivedAlert {
  atMs: number;
  alertname: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
}

/**
 * A local Alertmanager-style webhook receiver: keeps every alert of every notification it is sent, and tells
 * `onAlert` of each as it comes.
 */
export class WebhookReceiver {
  readonly received: ReceivedAlert[] = [];
  private server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const notification = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertNotification;
      for (const alert of notification.alerts) {
        const received: ReceivedAlert = {
          atMs: Date.now(),
          alertname: alert.labels.alertname ?? '',
          status: alert.status,
          labels: alert.labels,
        };
        this.received.push(received);
        this.onAlert(received);
      }
      response.writeHead(200).end();
    });
  });

  constructor(private readonly onAlert: (alert: ReceivedAlert) => void = () => undefined) {}

  /** Listens on 127.0.0.1 (port 0: a free one); resolves to the URL to configure. */
  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/alerts`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
