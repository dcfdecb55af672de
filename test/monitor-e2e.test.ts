import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { parseEdgestreamConfig } from '../src/cli/config.js';
import { alertMatchesFault, EXPECTED_ALERT, faultExplains } from '../src/cli/fault-detection.js';
import { EdgestreamRuntime } from '../src/cli/runtime.js';
import type { FaultReport } from '../src/simulate/simulator.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const RATE = 5_000;

async function startDemo(dataDir: string, webhook: string, scenario: string): Promise<EdgestreamRuntime> {
  const config = parseEdgestreamConfig({
    dataDir,
    broker: { listen: '127.0.0.1:0' },
    http: { listen: '127.0.0.1:0' },
    monitor: { commitInterval: '5s' },
    notifiers: [{ kind: 'webhook', url: webhook, timeout: '2s' }],
    simulator: {
      enabled: true,
      rate: RATE,
      edges: 20,
      sites: 4,
      seed: 42,
      scenario,
      faultStart: '5s',
      faultDuration: '10s',
      faultStagger: '3s',
    },
  });
  return EdgestreamRuntime.start(config, pino({ level: 'warn' }));
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return true;
}

describe('monitoring end to end: simulator -> broker -> pipelines -> alerting -> webhook', () => {
  const dirs: string[] = [];
  const receivers: WebhookReceiver[] = [];
  const runtimes: EdgestreamRuntime[] = [];

  after(async () => {
    for (const runtime of runtimes) await runtime.close().catch(() => undefined);
    for (const receiver of receivers) await receiver.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run(scenario: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-e2e-'));
    dirs.push(dir);
    const receiver = new WebhookReceiver();
    receivers.push(receiver);
    const runtime = await startDemo(dir, await receiver.start(), scenario);
    runtimes.push(runtime);
    return { runtime, receiver, simulator: runtime.simulator! };
  }

  it('raises the expected alert with the right labels for every fault, and each resolves after its fault', async () => {
    const { runtime, receiver, simulator } = await run('all');
    const fleet = simulator.fleet;
    const siteOf = new Map(fleet.edges.map((edge) => [edge.id, edge.site]));
    const faults = () => simulator.stats().faults;
    const seen = (fault: FaultReport, status: 'firing' | 'resolved') =>
      receiver.received.some(
        (r) =>
          r.status === status &&
          r.alertname === EXPECTED_ALERT[fault.kind] &&
          alertMatchesFault(r.labels, fault),
      );
    const allResolved = await until(() => faults().every((fault) => seen(fault, 'resolved')), 120_000);
    const received = [...receiver.received];
    const stats = simulator.stats();
    await runtime.close();
    runtimes.splice(runtimes.indexOf(runtime), 1);

    assert.equal(stats.faults.length, 5);
    for (const fault of stats.faults) {
      const expected = EXPECTED_ALERT[fault.kind];
      const firing = received.find(
        (r) => r.status === 'firing' && r.alertname === expected && alertMatchesFault(r.labels, fault),
      );
      assert.ok(firing, `${fault.id}: no firing ${expected} alert; received ${JSON.stringify(received)}`);
      const site = fault.dimension === 'edge' ? siteOf.get(fault.target) : fault.target;
      assert.equal(firing.labels.site, site, `${fault.id}: site label`);
      if (fault.dimension === 'edge')
        assert.equal(firing.labels.edge, fault.target, `${fault.id}: edge label`);
      assert.ok(firing.labels.severity, `${fault.id}: severity label`);
      assert.ok(
        firing.atMs >= fault.firstEventSentAtMs!,
        `${fault.id}: fired before the first faulty event was produced`,
      );
      const resolved = received.find(
        (r) =>
          r.status === 'resolved' &&
          r.alertname === expected &&
          alertMatchesFault(r.labels, fault) &&
          r.atMs > firing.atMs,
      );
      assert.ok(resolved, `${fault.id}: ${expected} never resolved`);
    }
    assert.ok(allResolved, 'every alert resolved within the time allowed');
    const unexpected = received.filter(
      (r) => r.status === 'firing' && !stats.faults.some((fault) => faultExplains(fault, r)),
    );
    assert.deepEqual(unexpected, [], 'alerts fired where no fault was injected');
    const flapping = stats.faults.find((fault) => fault.kind === 'flapping-link')!;
    const flappingFirings = received.filter(
      (r) => r.status === 'firing' && r.alertname === 'RetransmitStorm' && r.labels.edge === flapping.target,
    );
    const flappingResolutions = received.filter(
      (r) =>
        r.status === 'resolved' && r.alertname === 'RetransmitStorm' && r.labels.edge === flapping.target,
    );
    assert.equal(flappingResolutions.length, 1, 'keepFiringFor holds a flapping link as one alert');
    assert.ok(flappingFirings.length >= 1);
  });

  it('fires nothing in a fault-free control run', async () => {
    const { runtime, receiver, simulator } = await run('none');
    // Twenty seconds of telemetry at the full rate; a loaded machine may send less in the time allowed.
    await until(() => simulator.stats().eventsProduced >= RATE * 20, 40_000);
    const produced = simulator.stats().eventsProduced;
    const updates = runtime.monitor!.stats().windowUpdates;
    await runtime.close();
    runtimes.splice(runtimes.indexOf(runtime), 1);
    assert.ok(produced >= RATE * 5, `the control run produced only ${produced} events`);
    assert.ok(updates > 0, 'the pipelines produced window results');
    assert.deepEqual(receiver.received, [], 'no alert in a healthy fleet');
  });
});
