import fs from 'node:fs';
import path from 'node:path';
import type { TestNetwork } from './netns.js';
import { type Background, until } from './processes.js';
import type { ReceivedAlert } from './webhook-receiver.js';

const BIN = path.resolve(import.meta.dirname, '..', '..', '..', 'bin', 'edgestream.js');
const SUPPORT = import.meta.dirname;
export const SITE_KAFKA_PORT = 9092;
export const SITE_HTTP_PORT = 8080;
const WEBHOOK_PORT = 9000;

/** The edge runtime of a test network, with a webhook receiver beside it. */
export interface EdgeSite {
  /** Kafka bootstrap address of the runtime, for agents on other hosts. */
  kafka: string;
  /** Base URL of its HTTP port, e.g. http://10.199.0.1:8080. */
  http: string;
  /** Every alert notification received so far, in order. */
  alerts(): ReceivedAlert[];
  /** The processes started, for the test to stop. */
  processes: Background[];
}

/**
 * Starts `edgestream start` on the network's host `host`, its default rules notifying a webhook receiver that
 * runs on the same host (the test process cannot listen inside a namespace). `configLines` are added to its
 * edgestream.yaml. HTTP authentication is off: the network is private to the test, and nothing but beacons
 * is asked of the API.
 */
export async function startEdgeSite(
  network: TestNetwork,
  host: string,
  dir: string,
  configLines: readonly string[] = [],
): Promise<EdgeSite> {
  const address = network.address(host);
  const processes: Background[] = [];
  const webhook = network.spawn(host, 'node', [
    path.join(SUPPORT, 'webhook-printer.js'),
    String(WEBHOOK_PORT),
  ]);
  processes.push(webhook);
  await until(() => webhook.stdout.includes('listening'), 20_000, 'the webhook receiver');
  const config = path.join(dir, 'edgestream.yaml');
  fs.writeFileSync(
    config,
    [
      `dataDir: ${path.join(dir, 'state')}`,
      'broker:',
      `  listen: ${address}:${SITE_KAFKA_PORT}`,
      'http:',
      `  listen: ${address}:${SITE_HTTP_PORT}`,
      '  auth:',
      '    enabled: false',
      'notifiers:',
      '  - kind: webhook',
      `    url: http://127.0.0.1:${WEBHOOK_PORT}/alerts`,
      '    timeout: 2s',
      ...configLines,
      '',
    ].join('\n'),
  );
  const runtime = network.spawn(host, 'node', [BIN, 'start', '--config', config]);
  processes.push(runtime);
  try {
    await until(() => runtime.stdout.includes('edgestream started'), 60_000, 'the edge runtime');
  } catch (error) {
    throw new Error(`${(error as Error).message}; it wrote: ${runtime.stderr.slice(-2_000)}`);
  }
  return {
    kafka: `${address}:${SITE_KAFKA_PORT}`,
    http: `http://${address}:${SITE_HTTP_PORT}`,
    alerts: () =>
      webhook.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as ReceivedAlert),
    processes,
  };
}

/** Waits for the first alert named `alertname` with `status` received after the call. */
export async function nextAlert(
  site: EdgeSite,
  alertname: string,
  status: ReceivedAlert['status'],
  timeoutMs: number,
): Promise<ReceivedAlert> {
  const seen = site.alerts().length;
  let found: ReceivedAlert | undefined;
  await until(
    () => {
      found = site
        .alerts()
        .slice(seen)
        .find((alert) => alert.alertname === alertname && alert.status === status);
      return found !== undefined;
    },
    timeoutMs,
    `${alertname} ${status}`,
  );
  return found!;
}
