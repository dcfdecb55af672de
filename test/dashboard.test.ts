import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { parseEdgestreamConfig } from '../src/cli/config.js';
import { EdgestreamRuntime } from '../src/cli/runtime.js';
import {
  attributeOf,
  type BrowserSession,
  openBrowser,
  requireDashboard,
  waitUntil,
} from './support/browser.js';

/** The storm starts this long after the simulator, when the dashboard is already open. */
const FAULT_START_MS = 8_000;

interface SilenceListing {
  silences: Array<{
    status: string;
    createdBy: string;
    matchers: Array<{ label: string; op: string; value: string }>;
  }>;
}

interface GroupListing {
  groups: Array<{
    groupId: string;
    offsets: Array<{
      topic: string;
      partition: number;
      committedOffset: number | null;
      processedOffset: number | null;
    }>;
  }>;
}

describe('dashboard in a browser against the demo', { timeout: 180_000 }, () => {
  let runtime: EdgestreamRuntime;
  let session: BrowserSession;
  let baseUrl: string;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-dashboard-'));

  before(async () => {
    requireDashboard();
    const config = parseEdgestreamConfig({
      dataDir,
      broker: { listen: '127.0.0.1:0' },
      http: { listen: '127.0.0.1:0' },
      monitor: { commitInterval: '2s' },
      simulator: {
        enabled: true,
        rate: 5_000,
        edges: 20,
        sites: 4,
        seed: 42,
        scenario: 'retransmit-storm',
        faultStart: `${FAULT_START_MS}ms`,
        faultDuration: '120s',
      },
    });
    runtime = await EdgestreamRuntime.start(config, pino({ level: 'warn' }));
    const address = runtime.http!.address();
    baseUrl = `http://127.0.0.1:${address.port}`;
    session = await openBrowser({ width: 1600, height: 1000 });
  });

  after(async () => {
    await session?.close().catch(() => undefined);
    await runtime?.close().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('loads the overview with a tile per site and edge server and a live stream', async () => {
    const { page } = session;
    const response = await page.goto(`${baseUrl}/`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    assert.equal(response?.headers()['cache-control'], 'no-cache');
    await page.locator('#live-state[data-state="live"]').waitFor({ timeout: 10_000 });
    await waitUntil(
      '20 edge tiles',
      () => page.locator('.tile[data-kind="edge"]').count(),
      (n) => n === 20,
      20_000,
    );
    // Site windows are other records than edge windows: under load they can arrive a moment later.
    await waitUntil(
      '4 site tiles',
      () => page.locator('.tile[data-kind="site"]').count(),
      (n) => n === 4,
      20_000,
    );
    const script = await page.locator('script[type="module"]').getAttribute('src');
    const asset = await fetch(`${baseUrl}${script}`);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    await session.screenshot('overview');
    assert.deepEqual(session.errors, []);
  });

  it('lists the streams of each site with their player statistics, and charts one stream', async () => {
    const { page } = session;
    await page.locator('nav a[data-tab="overview"]').click();
    const rows = page.locator('.stream-table tr[data-kind="stream"]');
    // The simulator's channels (sports-1 draws the most viewers) at each of the 4 sites.
    const sports = page.locator('.stream-table tr[data-kind="stream"][data-id$="/sports-1"]');
    await waitUntil(
      'sports-1 at every site',
      () => sports.count(),
      (n) => n === 4,
      20_000,
    );
    const row = sports.first();
    const cells = async () => (await row.locator('td').allTextContents()).map((text) => text.trim());
    const [name, site, health, sessions, rebuffer, p95, errors] = await waitUntil(
      "sports-1's player statistics",
      cells,
      (texts) => /^[\d,]+$/.test(texts[3] ?? '') && /%$/.test(texts[4] ?? '') && / ms$/.test(texts[5] ?? ''),
      20_000,
    );
    assert.equal(name, 'sports-1');
    assert.equal(`${site}/${name}`, await row.getAttribute('data-id'));
    assert.match(health ?? '', /^(OK|FIRING|PENDING|SILENCED)/);
    assert.ok(Number(sessions?.replaceAll(',', '')) > 0, `active sessions of sports-1: ${sessions}`);
    assert.match(rebuffer ?? '', /^\d+\.\d{2}%$/);
    assert.match(p95 ?? '', /^[\d,]+ ms$/);
    assert.match(errors ?? '', /^\d+\.\d{2}%$/);
    const shown = await rows.count();
    assert.ok(shown >= 8 && shown <= 25, `between one site's channels and the row limit: ${shown}`);
    const healthOrder = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-health')));
    const rank = ['firing', 'pending', 'silenced', 'healthy'];
    assert.deepEqual(
      healthOrder,
      [...healthOrder].sort((a, b) => rank.indexOf(a ?? '') - rank.indexOf(b ?? '')),
      'worst health first',
    );
    await session.screenshot('overview-streams');

    const id = (await row.getAttribute('data-id'))!;
    await row.locator('a.stream-name').click();
    await page.waitForURL(`**/charts?stream=${encodeURIComponent(id)}`);
    assert.equal(await page.locator('.controls h2').textContent(), `Stream sports-1 at ${site}`);
    const points = (chart: string) => attributeOf(page, `.chart[data-chart="${chart}"]`, 'data-points');
    const first = Number(
      await waitUntil(
        `points on ${id}'s rebuffer chart`,
        () => points('rebuffer'),
        (n) => Number(n) > 0,
        15_000,
      ),
    );
    // stream_qoe_10s is on the live feed: the next window adds a point without reloading.
    await waitUntil(
      `a live point on ${id}'s rebuffer chart`,
      () => points('rebuffer'),
      (n) => Number(n) > first,
      25_000,
    );
    assert.ok(Number(await points('latency')) > 0, `points on ${id}'s latency chart`);
    assert.equal(
      await page.locator('.chart[data-chart="retransmits"]').count(),
      0,
      'no TCP chart for a stream',
    );
    assert.equal(await page.locator('select.target option:checked').textContent(), `sports-1 (${site})`);
    await session.screenshot('charts-stream');
    assert.deepEqual(session.errors, []);
  });

  it('charts receive live points', async () => {
    const { page } = session;
    await page.locator('nav a[data-tab="charts"]').click();
    const points = () => attributeOf(page, '.chart[data-chart="retransmits"]', 'data-points');
    const first = Number(
      await waitUntil('points on the retransmits chart', points, (n) => Number(n) > 0, 20_000),
    );
    // A new 10 s window starts at most 10 s later; its first early result adds a point.
    await waitUntil('a live point on the retransmits chart', points, (n) => Number(n) > first, 25_000);
    for (const id of ['rebuffer', 'latency']) {
      const points = Number(await page.locator(`.chart[data-chart="${id}"]`).getAttribute('data-points'));
      assert.ok(points > 0, `the ${id} chart has points`);
    }
    assert.equal(await page.locator('.chart canvas').count(), 3);
    await session.screenshot('charts');
    assert.deepEqual(session.errors, []);
  });

  it('shows the injected retransmit storm as firing, and silencing it from the UI works', async () => {
    const { page } = session;
    const fault = runtime.simulator!.stats().faults[0]!;
    await page.locator('nav a[data-tab="alerts"]').click();
    const firing = page.locator(
      `.alert-section[data-section="firing"] .alert-card[data-rule="RetransmitStorm"][data-state="firing"]`,
    );
    // The storm starts 8 s after the simulator; detection on 1 s windows takes about a second more.
    await firing.first().waitFor({ timeout: 30_000 });
    const labels = await firing.first().locator('.chip').allTextContents();
    assert.ok(
      labels.includes(`edge=${fault.target}`),
      `the alert names the storm's edge: ${labels.join(' ')}`,
    );
    await session.screenshot('alerts-firing');

    await page.locator('nav a[data-tab="overview"]').click();
    const stormTile = `.tile[data-kind="edge"][data-id="${fault.target}"]`;
    await waitUntil(
      `${fault.target}'s tile shown as firing`,
      () => attributeOf(page, stormTile, 'data-health'),
      (health) => health === 'firing',
      10_000,
    );
    assert.equal(
      await page.locator('.tile[data-kind="edge"]').first().getAttribute('data-id'),
      fault.target,
      'the firing edge server leads the worst offenders',
    );
    await session.screenshot('overview-storm');

    await page.locator('nav a[data-tab="alerts"]').click();
    await firing.first().locator('select.silence-duration').selectOption({ label: '15 min' });
    await firing.first().locator('button.silence').click();
    const silenced = page.locator(
      `.alert-section[data-section="silenced"] .alert-card[data-rule="RetransmitStorm"][data-silenced="true"]`,
    );
    await silenced.first().waitFor({ timeout: 10_000 });
    await page
      .locator('.alert-section[data-section="silences"] .silence-card')
      .first()
      .waitFor({ timeout: 10_000 });
    assert.equal(await firing.count(), 0, 'no unsilenced RetransmitStorm left under Firing');

    const listing = (await (await fetch(`${baseUrl}/api/silences?status=active`)).json()) as SilenceListing;
    const made = listing.silences.find((silence) => silence.createdBy === 'dashboard');
    assert.ok(made, `an active silence from the dashboard: ${JSON.stringify(listing)}`);
    assert.ok(made.matchers.some((m) => m.label === 'edge' && m.op === '=' && m.value === fault.target));
    assert.ok(made.matchers.some((m) => m.label === 'alertname' && m.value === 'RetransmitStorm'));
    await session.screenshot('alerts-silenced');

    await page.locator('nav a[data-tab="overview"]').click();
    await waitUntil(
      `${fault.target}'s tile shown as silenced`,
      () => attributeOf(page, stormTile, 'data-health'),
      (health) => health === 'silenced',
      10_000,
    );

    await page.locator(stormTile).click();
    await page.waitForURL(`**/charts?edge=${fault.target}`);
    await waitUntil(
      `points on ${fault.target}'s retransmits chart`,
      () => attributeOf(page, '.chart[data-chart="retransmits"]', 'data-points'),
      (points) => Number(points) > 0,
      10_000,
    );
    await session.screenshot('charts-storm-edge');
    assert.deepEqual(session.errors, []);
  });

  it('lists the demo topics with throughput and the consumer group with its lag on the broker page', async () => {
    const { page } = session;
    await page.locator('nav a[data-tab="broker"]').click();
    for (const topic of ['cdn.tcp', 'cdn.qoe'])
      await page.locator(`.topic-card[data-topic="${topic}"]`).waitFor();
    // Throughput needs two polls of the offsets, 2 s apart.
    await waitUntil(
      'produce throughput of cdn.tcp',
      () => attributeOf(page, '.topic-card[data-topic="cdn.tcp"] .throughput', 'data-throughput'),
      (rate) => Number(rate) > 0,
      10_000,
    );
    const group = page.locator(`.group-card[data-group="${runtime.config.monitor.applicationId}"]`);
    await group.waitFor();
    assert.ok(Number(await group.getAttribute('data-lag')) >= 0);
    for (const topic of ['cdn.tcp', 'cdn.qoe']) {
      const row = group.locator(`tr[data-topic="${topic}"]`);
      assert.equal(await row.count(), 1, `the group's lag on ${topic}`);
      assert.match(
        (await row.locator('td').last().textContent()) ?? '',
        /^\d[\d,]*$/,
        `numeric lag on ${topic}`,
      );
    }
    await session.screenshot('broker');
    assert.deepEqual(session.errors, []);
  });

  it("shows the pipelines' worker threads as the group's members and their lag from what they processed", async () => {
    const { page } = session;
    const { monitor: monitorConfig, simulator } = runtime.config;
    const group = page.locator(`.group-card[data-group="${monitorConfig.applicationId}"]`);
    await group.locator('summary').click();
    const workers = runtime.monitor!.pipelines.members().length;
    await waitUntil(
      `${workers} worker threads as members`,
      () => group.locator('tr.group-member').count(),
      (members) => members === workers,
      10_000,
    );
    for (const member of await group.locator('tr.group-member').all())
      assert.deepEqual((await member.locator('td').allTextContents()).slice(1), [
        'edgestream-pipelines',
        'in-process',
      ]);
    assert.equal(await group.locator('.state').textContent(), 'Stable');
    const headings = await group.locator('details table').last().locator('th').allTextContents();
    assert.deepEqual(headings, ['topic', 'partition', 'committed', 'processed', 'high watermark', 'lag']);
    // Lag from the checkpoint commits reaches a whole commit interval of input; from what the workers
    // processed (a heartbeat ago) it stays well below once they have caught up.
    const commitIntervalInput = (monitorConfig.commitInterval / 1000) * simulator.rate;
    await waitUntil(
      `total lag below ${commitIntervalInput} (one commit interval of input)`,
      async () => Number(await group.getAttribute('data-lag')),
      (lag) => lag < commitIntervalInput,
      30_000,
    );
    const { groups } = (await (await fetch(`${baseUrl}/api/groups`)).json()) as GroupListing;
    const offsets = groups.find((g) => g.groupId === monitorConfig.applicationId)?.offsets ?? [];
    assert.ok(offsets.length > 0, 'the pipelines report offsets');
    for (const offset of offsets) {
      const where = `${offset.topic}[${offset.partition}]`;
      assert.notEqual(offset.processedOffset, null, `a processed offset for ${where}`);
      if (offset.committedOffset !== null && offset.processedOffset !== null)
        assert.ok(
          offset.processedOffset >= offset.committedOffset,
          `processed at least committed on ${where}`,
        );
    }
    await session.screenshot('broker-pipelines-group');
    assert.deepEqual(session.errors, []);
  });
});
