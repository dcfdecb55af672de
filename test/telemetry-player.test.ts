import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserSession, openBrowser } from './support/browser.js';
import { type EdgeSite, nextAlert, startEdgeSite } from './support/edge-site.js';
import { networkTestsUnavailable, TestNetwork } from './support/netns.js';
import { startNginx } from './support/nginx.js';
import { type Background, eventually, run } from './support/processes.js';

/**
 * A real player on a real network: a video made with ffmpeg, served as DASH by nginx on an edge server in its
 * own network namespace, played by dash.js in headless Chromium in another namespace with CMCD v2 on: every
 * segment response is reported (`e=rr`, with the rebuffering since the last request in `bsd`) to the edge
 * runtime's beacon endpoint. Throttling the edge server's link below the video's bitrate makes the players
 * stall; their reports reach the QoE topic and the per-stream rebuffering alert fires for that stream.
 */

const root = path.resolve(import.meta.dirname, '..', '..');
const DASH_JS = path.join(root, 'node_modules', 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js');
const EDGE = { name: 'edge-p', site: 'fra1', octet: 13 };
const STREAM = 'match-7';
/** Enough players that a 10 s window holds the minute of played time a rebuffering ratio needs. */
const PLAYERS = 12;
const VIDEO_KBIT = 300;
/** Room for every player at full rate, with margin. */
const HEALTHY_UPLINK_KBIT = 20_000;
/**
 * Half of what the players need together: each stalls about as long as it plays, and still fetches (and so
 * reports) a segment every few seconds. Much less and the reports, which come with each segment, dry up.
 */
const THROTTLED_UPLINK_KBIT = (PLAYERS * VIDEO_KBIT) / 2;

describe('a real player with CMCD on a throttled link', { timeout: 300_000 }, () => {
  let skip: string | null = null;
  let network: TestNetwork | undefined;
  let dir: string;
  let browser: BrowserSession | undefined;
  let site: EdgeSite;
  const processes: Background[] = [];

  before(async () => {
    skip = await networkTestsUnavailable();
    if (skip) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-player-'));
    const media = path.join(dir, 'media');
    fs.mkdirSync(media);
    await makeDash(media);
    fs.copyFileSync(DASH_JS, path.join(media, 'dash.all.min.js'));
    network = await TestNetwork.create('ep', [
      { name: 'site', octet: 1 },
      { name: EDGE.name, octet: EDGE.octet },
      { name: 'viewers', octet: 100 },
    ]);
    const edge = network.address(EDGE.name);
    fs.writeFileSync(path.join(media, 'index.html'), playerPage());
    site = await startEdgeSite(network, 'site', dir, [
      'ingest:',
      '  beacons:',
      `    allowedOrigins: [http://${edge}]`,
    ]);
    processes.push(...site.processes);
    await network.throttle(EDGE.name, HEALTHY_UPLINK_KBIT, 200);
    const noFavicon = 'location = /favicon.ico { return 204; }';
    start(await startNginx(network, EDGE.name, dir, { root: media, serverLines: [noFavicon] }, 'viewers'));
    browser = await openBrowser({
      width: 1280,
      height: 720,
      executablePath: network.commandIn('viewers', '/usr/bin/chromium', dir),
    });
    const beacon = `${site.http}/beacons/cmcd?edge=${EDGE.name}&site=${EDGE.site}`;
    await browser.page.goto(
      `http://${edge}/index.html?players=${PLAYERS}&stream=${STREAM}&beacon=${encodeURIComponent(beacon)}`,
    );
  });

  after(async () => {
    await browser?.close();
    for (const process of processes.reverse()) await process.stop('SIGTERM').catch(() => undefined);
    await network?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function start(process: Background): Background {
    processes.push(process);
    return process;
  }

  it('plays, stalls when the link is throttled, and RebufferRatioHigh fires for that stream', async (t) => {
    if (skip) return t.skip(skip);
    const page = browser!.page;
    await eventually(
      async () => (await page.evaluate<number[]>('playedSeconds()')).every((seconds) => seconds > 6),
      60_000,
      'every player playing',
    );
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    assert.deepEqual(
      site.alerts().filter((alert) => alert.status === 'firing'),
      [],
      'no alert while the link carries every player',
    );
    const throttledAtMs = Date.now();
    await network!.throttle(EDGE.name, THROTTLED_UPLINK_KBIT, 1_000);
    const firing = await nextAlert(site, 'RebufferRatioHigh', 'firing', 90_000);
    t.diagnostic(`RebufferRatioHigh fired ${firing.atMs - throttledAtMs} ms after the throttle began`);
    assert.equal(firing.labels.stream, STREAM);
    assert.equal(firing.labels.site, EDGE.site);
    const stalls = await page.evaluate<number[]>('stalls()');
    assert.ok(
      stalls.some((count) => count > 0),
      `the players stalled: ${stalls.join(', ')}`,
    );
    await browser!.screenshot('player-throttled');
    const restoredAtMs = Date.now();
    await network!.throttle(EDGE.name, HEALTHY_UPLINK_KBIT, 200);
    const resolved = await nextAlert(site, 'RebufferRatioHigh', 'resolved', 90_000);
    t.diagnostic(`RebufferRatioHigh resolved ${resolved.atMs - restoredAtMs} ms after the throttle ended`);
    assert.deepEqual(browser!.errors, [], 'no page errors');
  });
});

/** 3 minutes of a test pattern at VIDEO_KBIT in 2 s segments, as a static DASH presentation. */
async function makeDash(media: string): Promise<void> {
  const result = await run(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x180:rate=25',
      '-t',
      '180',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-b:v',
      `${VIDEO_KBIT}k`,
      '-maxrate',
      `${VIDEO_KBIT}k`,
      '-bufsize',
      `${VIDEO_KBIT}k`,
      '-g',
      '50',
      '-keyint_min',
      '50',
      '-sc_threshold',
      '0',
      '-f',
      'dash',
      '-seg_duration',
      '2',
      '-use_template',
      '1',
      '-use_timeline',
      '0',
      path.join(media, 'manifest.mpd'),
    ],
    { timeoutMs: 120_000 },
  );
  if (result.status !== 0) throw new Error(`ffmpeg failed: ${result.stderr}`);
}

/**
 * The viewers' page: PLAYERS dash.js players of one stream, each with CMCD v2 on (keys in the query of every
 * request, and a response report per segment to the beacon URL), a small buffer as live players keep, and
 * hooks for the test: seconds played and stalls per player.
 */
function playerPage(): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Edgestream test player</title>
<script src="dash.all.min.js"></script>
<style>body{margin:0;background:#111;color:#eee;font:14px sans-serif}video{width:300px;margin:4px}</style>
</head><body><div id="players"></div><script>
const params = new URLSearchParams(location.search);
const stream = params.get('stream');
const videos = [];
const stallCounts = [];
for (let i = 0; i < Number(params.get('players')); i++) {
  const video = document.createElement('video');
  video.muted = true;
  document.getElementById('players').appendChild(video);
  videos.push(video);
  stallCounts.push(0);
  let playedOnce = false;
  video.addEventListener('playing', () => { playedOnce = true; });
  video.addEventListener('waiting', () => { if (playedOnce) stallCounts[i]++; });
  const player = dashjs.MediaPlayer().create();
  player.updateSettings({
    streaming: {
      buffer: { bufferTimeDefault: 4, bufferTimeAtTopQuality: 4, bufferTimeAtTopQualityLongForm: 4, initialBufferLevel: 2 },
      cmcd: {
        enabled: true,
        version: 2,
        sid: 'viewer-' + i,
        cid: 'live/' + stream,
        mode: 'query',
        // A target reports only the keys it names: these are what the monitoring reads of a response report.
        eventTargets: [{
          url: params.get('beacon'),
          events: ['rr'],
          enabledKeys: ['e', 'ts', 'ttlb', 'rc', 'ot', 'd', 'br', 'bl', 'bsd', 'sid', 'cid', 'url', 'v'],
          batchSize: 1,
          interval: 0,
        }],
      },
    },
  });
  // Absolute: dash.js's CMCD code builds URL objects from request URLs, which a relative MPD URL leaves relative.
  player.initialize(video, new URL('manifest.mpd', location.href).href, true);
}
window.playedSeconds = () => videos.map((video) => video.currentTime);
window.stalls = () => stallCounts.slice();
</script></body></html>
`;
}
