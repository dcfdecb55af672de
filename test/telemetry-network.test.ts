import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type EdgeSite, nextAlert, startEdgeSite } from './support/edge-site.js';
import { type TestNetwork as Network, networkTestsUnavailable, TestNetwork } from './support/netns.js';
import { startNginx } from './support/nginx.js';
import type { Background } from './support/processes.js';
import type { FleetPlan } from './support/viewer-fleet.js';

/**
 * The flagship case on a real network and real kernels: edge servers (nginx) in their own network namespaces
 * serve 2 s segments to viewers in another one, each edge runs `edgestream agent` reading its kernel's TCP
 * state, the viewers report every download as CMCD v2 response reports to the edge runtime's beacon endpoint,
 * and the runtime (in a namespace of its own) raises its default alerts at a webhook. Faults are made in the
 * kernel, not in data: packets lost on one edge server's link, one site's link throttled.
 */

const bin = path.resolve(import.meta.dirname, '..', '..', 'bin', 'edgestream.js');
const support = path.resolve(import.meta.dirname, 'support');
const SITE_HOST = { name: 'site', octet: 1 };
const EDGES = [
  { name: 'edge-a', site: 'ams1', octet: 11, players: 200 },
  { name: 'edge-b', site: 'ams1', octet: 12, players: 200 },
  // Enough viewers that a throttled link still completes the 100 downloads a second a site's percentile needs.
  { name: 'edge-c', site: 'fra1', octet: 13, players: 600 },
];
const VIEWERS_HOST = { name: 'viewers', octet: 100 };
/** Every edge's uplink: room for its viewers, and a realistic rate that keeps the two cores for the rest. */
const UPLINK_KBIT = 100_000;
/**
 * edge-c's link throttled: 150 segments a second where its viewers ask 300, so requests queue in the token
 * bucket and take about 4 s, while still completing more than the 100 a second a percentile needs.
 */
const THROTTLED_KBIT = 24_000;
const THROTTLED_QUEUE_MS = 4_000;
/** A 20 KB object: a low rung of a ladder, so hundreds of segments a second fit in the uplinks. */
const SEGMENT_BYTES = 20_000;
const SEGMENT_MS = 2_000;

describe('telemetry from real kernels and viewers on a network', { timeout: 240_000 }, () => {
  let skip: string | null = null;
  let network: Network;
  let dir: string;
  const processes: Background[] = [];
  let site: EdgeSite;

  before(async () => {
    skip = await networkTestsUnavailable();
    if (skip) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-netns-'));
    network = await TestNetwork.create('et', [
      SITE_HOST,
      ...EDGES.map(({ name, octet }) => ({ name, octet })),
      VIEWERS_HOST,
    ]);
    site = await startEdgeSite(network, 'site', dir);
    processes.push(...site.processes);
    fs.writeFileSync(path.join(dir, 'seg.bin'), Buffer.alloc(SEGMENT_BYTES, 7));
    for (const edge of EDGES) {
      await network.throttle(edge.name, UPLINK_KBIT, 200);
      start(
        await startNginx(
          network,
          edge.name,
          dir,
          { root: dir, serverLines: ['location /seg/ { try_files /seg.bin =404; }'] },
          'viewers',
        ),
      );
      start(
        network.spawn(edge.name, 'node', [
          bin,
          'agent',
          '--brokers',
          site.kafka,
          '--edge',
          edge.name,
          '--site',
          edge.site,
          '--port',
          '80',
          '--interval',
          '1s',
          '--spool-dir',
          path.join(dir, `spool-${edge.name}`),
        ]),
      );
    }
    const plan: FleetPlan = {
      edges: EDGES.map(({ name, site: edgeSite, players }) => ({
        name,
        site: edgeSite,
        address: network.address(name),
        players,
      })),
      beaconUrl: `${site.http}/beacons/cmcd`,
      beaconHeaders: {},
      stream: 'sports-1',
      segmentMs: SEGMENT_MS,
      reportEveryMs: 500,
    };
    start(network.spawn('viewers', 'node', [path.join(support, 'viewer-fleet.js'), JSON.stringify(plan)]));
    // Warm up: every edge's TCP samples and every site's downloads in the windows before a fault is made.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
  });

  after(async () => {
    for (const process of processes.reverse()) await process.stop('SIGTERM').catch(() => undefined);
    if (network) await network.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function start(process: Background): Background {
    processes.push(process);
    return process;
  }

  it('raises nothing while the network is healthy', (t) => {
    if (skip) return t.skip(skip);
    assert.deepEqual(
      site.alerts().filter((alert) => alert.status === 'firing'),
      [],
      'no alert after the warm-up',
    );
  });

  it("5% of one edge server's packets lost: RetransmitStorm for that server and no other, resolved when it ends", async (t) => {
    if (skip) return t.skip(skip);
    const madeAtMs = Date.now();
    await network.dropOutgoing('edge-a', 5);
    const firing = await nextAlert(site, 'RetransmitStorm', 'firing', 30_000);
    const detectionMs = firing.atMs - madeAtMs;
    t.diagnostic(`RetransmitStorm detected ${detectionMs} ms after the loss began`);
    assert.equal(firing.labels.edge, 'edge-a');
    assert.equal(firing.labels.site, 'ams1');
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await network.stopDropping('edge-a');
    const resolvedAfterMs = Date.now();
    const resolved = await nextAlert(site, 'RetransmitStorm', 'resolved', 60_000);
    t.diagnostic(`RetransmitStorm resolved ${resolved.atMs - resolvedAfterMs} ms after the loss ended`);
    assert.equal(resolved.labels.edge, 'edge-a');
    const storms = site.alerts().filter((alert) => alert.alertname === 'RetransmitStorm');
    assert.deepEqual([...new Set(storms.map((alert) => alert.labels.edge))], ['edge-a'], 'no other edge');
  });

  it("one site's link throttled: SiteLatencyHigh for that site and no other, resolved when it ends", async (t) => {
    if (skip) return t.skip(skip);
    const madeAtMs = Date.now();
    await network.throttle('edge-c', THROTTLED_KBIT, THROTTLED_QUEUE_MS);
    const firing = await nextAlert(site, 'SiteLatencyHigh', 'firing', 30_000);
    t.diagnostic(`SiteLatencyHigh detected ${firing.atMs - madeAtMs} ms after the throttle began`);
    assert.equal(firing.labels.site, 'fra1');
    await network.throttle('edge-c', UPLINK_KBIT, 200);
    const resolvedAfterMs = Date.now();
    const resolved = await nextAlert(site, 'SiteLatencyHigh', 'resolved', 60_000);
    t.diagnostic(`SiteLatencyHigh resolved ${resolved.atMs - resolvedAfterMs} ms after the throttle ended`);
    const latency = site.alerts().filter((alert) => alert.alertname === 'SiteLatencyHigh');
    assert.deepEqual([...new Set(latency.map((alert) => alert.labels.site))], ['fra1'], 'no other site');
  });
});
