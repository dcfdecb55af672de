/**
 * Viewers of a live stream, run as a program inside a test network's namespace: `node viewer-fleet.js
 * '<json FleetPlan>'`. Each player fetches a 2 s segment from its edge server every 2 s (at once when the last
 * one came late, as a player catching up does) over keep-alive connections, with CMCD v1 keys in the query as
 * a CMCD-enabled player sends them, and reports each answer as a CMCD v2 response report (`e=rr` with `ttlb`
 * and `rc`) to the edge runtime's beacon endpoint, batched every `reportEveryMs`. Prints a JSON line per
 * second: segments fetched and reports accepted per edge.
 */
import http from 'node:http';
import { CMCD_EVENT_MODE, CMCD_MIME_TYPE, type Cmcd, encodeCmcd } from '@svta/cml-cmcd';

export interface FleetEdge {
  name: string;
  site: string;
  address: string;
  players: number;
}

export interface FleetPlan {
  edges: FleetEdge[];
  /** Where reports go; `edge` and `site` are added to its query. */
  beaconUrl: string;
  /** Extra headers of report requests (a beacon token). */
  beaconHeaders: Record<string, string>;
  stream: string;
  segmentMs: number;
  reportEveryMs: number;
}

const SEGMENT_TIMEOUT_MS = 20_000;

function main(): void {
  const plan = JSON.parse(process.argv[2] ?? '') as FleetPlan;
  const counts = new Map(plan.edges.map((edge) => [edge.name, { fetched: 0, failed: 0, reported: 0 }]));
  for (const edge of plan.edges) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: edge.players });
    const pending: string[] = [];
    const count = counts.get(edge.name)!;
    for (let player = 0; player < edge.players; player++) {
      void play(plan, edge, agent, `${edge.name}-viewer-${player}`, pending, count);
    }
    setInterval(() => void report(plan, edge, pending.splice(0), count), plan.reportEveryMs);
  }
  setInterval(() => process.stdout.write(`${JSON.stringify(Object.fromEntries(counts))}\n`), 1_000);
}

async function play(
  plan: FleetPlan,
  edge: FleetEdge,
  agent: http.Agent,
  session: string,
  reports: string[],
  count: { fetched: number; failed: number },
): Promise<void> {
  // Spread the players over a segment's time, as viewers who joined at different moments are.
  await sleep(Math.random() * plan.segmentMs);
  for (let sequence = 0; ; sequence++) {
    const startedAtMs = Date.now();
    const cid = `live/${plan.stream}`;
    const request: Cmcd = { br: [3200], bl: [8000], d: plan.segmentMs, ot: 'v', sid: session, cid };
    const path = `/seg/${sequence}.m4s?CMCD=${encodeURIComponent(encodeCmcd(request, { version: 1 }))}`;
    const status = await fetchSegment(edge.address, path, agent);
    const ttlbMs = Date.now() - startedAtMs;
    if (status === 0) count.failed++;
    else count.fetched++;
    reports.push(
      encodeCmcd(
        {
          e: 'rr',
          ts: startedAtMs,
          ttlb: ttlbMs,
          rc: status,
          ot: 'v',
          d: plan.segmentMs,
          sid: session,
          cid,
          url: path,
          v: 2,
        },
        { reportingMode: CMCD_EVENT_MODE },
      ),
    );
    await sleep(Math.max(0, startedAtMs + plan.segmentMs - Date.now()));
  }
}

/** The answer's status once its body has been read, 0 when the request failed. */
function fetchSegment(host: string, path: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get({ host, path, agent, timeout: SEGMENT_TIMEOUT_MS }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', () => resolve(0));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(0));
  });
}

async function report(
  plan: FleetPlan,
  edge: FleetEdge,
  lines: string[],
  count: { reported: number },
): Promise<void> {
  if (lines.length === 0) return;
  const url = new URL(plan.beaconUrl);
  url.searchParams.set('edge', edge.name);
  url.searchParams.set('site', edge.site);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': CMCD_MIME_TYPE, ...plan.beaconHeaders },
      body: lines.join('\n'),
    });
    if (response.ok) count.reported += lines.length;
    else process.stderr.write(`beacon refused: ${response.status} ${await response.text()}\n`);
  } catch (error) {
    process.stderr.write(`beacon failed: ${(error as Error).message}\n`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main();
