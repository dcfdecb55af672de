import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  AlertEngine,
  type AlertNotification,
  parseRules,
  WebhookNotifier,
  type WindowUpdate,
} from '../src/alerts/index.js';

interface Receiver {
  url: string;
  received: Array<{ atMs: number; body: AlertNotification }>;
  attempts: number[];
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1; `respond` decides per attempt (1-based) what to answer. */
async function startReceiver(respond: (attempt: number, res: ServerResponse) => boolean): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const attempts: number[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      attempts.push(Date.now());
      if (!respond(attempts.length, res)) return;
      received.push({
        atMs: Date.now(),
        body: JSON.parse(Buffer.concat(chunks).toString()) as AlertNotification,
      });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    received,
    attempts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const rules = parseRules([
  {
    name: 'EdgeRetransmitStorm',
    metric: 'edge_10s',
    field: 'retransmits',
    dimensions: ['edge'],
    comparator: '>',
    threshold: 500,
    annotations: { summary: 'Retransmits on {{ $labels.edge }} at {{ $value }}' },
  },
]);

function storm(edge: string, retransmits: number): WindowUpdate {
  return {
    metric: 'edge_10s',
    dimensions: { edge },
    windowStart: 0,
    windowEnd: 10_000,
    values: { retransmits },
    final: false,
    eventTime: 5,
  };
}

describe('webhook notifier', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('retries with exponential backoff until the receiver recovers', async () => {
    const receiver = await startReceiver((attempt, res) => {
      if (attempt > 2) return true;
      res.writeHead(503).end();
      return false;
    });
    cleanups.push(receiver.close);
    const webhook = new WebhookNotifier({ url: receiver.url, initialBackoffMs: 100, random: () => 1 });
    cleanups.push(() => webhook.close());
    const engine = new AlertEngine({ rules, notifiers: [webhook] });
    engine.push(storm('edge-17', 612));
    await waitFor(() => webhook.stats().delivered === 1);
    const [first, second, third] = receiver.attempts;
    // With random() = 1 the jittered delay is the full exponential one: 100 ms, then 200 ms.
    assert.ok(second! - first! >= 95, `first backoff ${second! - first!} ms`);
    assert.ok(third! - second! >= 195, `second backoff ${third! - second!} ms`);
    const { body } = receiver.received[0]!;
    assert.equal(body.status, 'firing');
    assert.deepEqual(body.groupLabels, { alertname: 'EdgeRetransmitStorm' });
    assert.equal(body.alerts[0]!.labels.edge, 'edge-17');
    assert.equal(body.alerts[0]!.annotations.summary, 'Retransmits on edge-17 at 612');
    assert.deepEqual(webhook.stats(), { delivered: 1, failedAttempts: 2, dropped: 0, givenUp: 0, queued: 0 });
  });

  it('never blocks evaluation while the receiver hangs, and bounds its queue by dropping the oldest', async () => {
    const hanging = await startReceiver(() => false);
    cleanups.push(hanging.close);
    const webhook = new WebhookNotifier({ url: hanging.url, timeoutMs: 60_000, maxQueue: 3 });
    cleanups.push(() => webhook.close());
    const engine = new AlertEngine({ rules, notifiers: [webhook], route: { groupBy: ['edge'] } });
    const startedMs = performance.now();
    for (let edge = 0; edge < 10; edge++) engine.push(storm(`edge-${edge}`, 600 + edge));
    const elapsedMs = performance.now() - startedMs;
    assert.ok(elapsedMs < 100, `10 evaluations took ${elapsedMs} ms`);
    assert.equal(engine.alerts().filter((a) => a.state === 'firing').length, 10);
    await waitFor(() => hanging.attempts.length === 1);
    // One notification in flight, three waiting, six dropped oldest-first.
    assert.deepEqual(webhook.stats(), { delivered: 0, failedAttempts: 0, dropped: 6, givenUp: 0, queued: 3 });
  });

  it('times out an attempt that hangs and delivers on the retry', async () => {
    const receiver = await startReceiver((attempt) => attempt > 1);
    cleanups.push(receiver.close);
    const webhook = new WebhookNotifier({ url: receiver.url, timeoutMs: 200, initialBackoffMs: 10 });
    cleanups.push(() => webhook.close());
    const engine = new AlertEngine({ rules, notifiers: [webhook] });
    engine.push(storm('edge-3', 700));
    await waitFor(() => webhook.stats().delivered === 1);
    assert.equal(webhook.stats().failedAttempts, 1);
    assert.equal(webhook.stats().delivered, 1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
