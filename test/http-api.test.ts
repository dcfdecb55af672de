import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { AlertEngine, parseRules } from '../src/alerts/index.js';
import { brokerClusterView, HttpApi, LiveFeed } from '../src/http/index.js';
import { SqliteAggregateStore } from '../src/store/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';

interface ErrorReply {
  error: { code: string; message: string };
}

const WINDOW_MS = 10_000;

describe('HTTP API against a broker, a SQLite store and an alert engine', () => {
  let running: RunningBroker;
  let store: SqliteAggregateStore;
  let engine: AlertEngine;
  let live: LiveFeed;
  let api: HttpApi;
  let base: string;
  let tempDir: string;
  const windowStartMs = Math.floor((Date.now() - 60_000) / WINDOW_MS) * WINDOW_MS;

  before(async () => {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-http-'));
    running = await startBroker();
    running.broker.logs.createTopic('telemetry', 2, {});
    await running.broker
      .embeddedLog()
      .commitOffsets('dashboards', [{ topic: 'telemetry', partition: 1, offset: 0 }]);
    store = SqliteAggregateStore.open({ path: path.join(tempDir, 'aggregates.db') });
    await store.writeAggregates(
      ['edge-001', 'edge-002'].map((edge, i) => ({
        metric: 'edge_10s',
        dimensions: { edge, site: 'par1' },
        windowStartMs,
        windowEndMs: windowStartMs + WINDOW_MS,
        values: { retransmits: 100 + i * 600, count: 10 },
        final: true,
      })),
    );
    engine = new AlertEngine({
      rules: parseRules([
        {
          name: 'EdgeRetransmitStorm',
          metric: 'edge_10s',
          field: 'retransmits',
          dimensions: ['edge'],
          comparator: '>',
          threshold: 500,
        },
      ]),
    });
    live = new LiveFeed({ maxClients: 2 });
    engine.onTransition((transition) => {
      void store.appendAlertEvents([transition]);
      live.publish({ type: 'alert', data: transition });
    });
    const staticDir = path.join(tempDir, 'web');
    fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Edgestream</title>');
    fs.writeFileSync(path.join(staticDir, 'assets', 'app.3f2a1b.js'), 'console.log("dashboard");');
    fs.writeFileSync(path.join(tempDir, 'secret.txt'), 'not for the web');
    api = await HttpApi.start({
      host: '127.0.0.1',
      port: 0,
      store,
      alerts: engine,
      cluster: brokerClusterView(running.broker),
      registries: [running.broker.metrics.registry, engine.metrics.registry],
      live,
      logger: pino({ level: 'silent' }),
      staticDir,
    });
    base = `http://127.0.0.1:${api.address().port}`;
  });

  after(async () => {
    await api.close();
    await engine.close();
    await store.close();
    await running.stop();
    fs.rmSync(tempDir, { recursive: true, force: true });
  });

  async function getJson<T>(pathAndQuery: string, expectedStatus = 200): Promise<T> {
    const response = await fetch(`${base}${pathAndQuery}`);
    assert.equal(response.status, expectedStatus, `${pathAndQuery}: ${response.status}`);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    return (await response.json()) as T;
  }

  async function expectError(
    pathAndQuery: string,
    status: number,
    code: string,
    init?: RequestInit,
  ): Promise<string> {
    const response = await fetch(`${base}${pathAndQuery}`, init);
    assert.equal(response.status, status, pathAndQuery);
    const body = (await response.json()) as ErrorReply;
    assert.equal(body.error.code, code, body.error.message);
    return body.error.message;
  }

  it('answers /health and merged /metrics', async () => {
    const health = await getJson<{
      status: string;
      reason: string | null;
      uptimeMs: number;
      cluster: boolean;
      coordination: unknown;
    }>('/health');
    assert.equal(health.status, 'ok');
    assert.ok(health.uptimeMs >= 0);
    // A single-node broker has no coordination service to report on.
    assert.deepEqual([health.reason, health.cluster, health.coordination], [null, true, null]);
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await metrics.text();
    assert.match(text, /edgestream_broker_connections/);
    assert.match(text, /edgestream_alerts_updates_evaluated_total/);
    assert.match(
      text,
      /edgestream_consumer_group_lag\{group="dashboards",topic="telemetry",partition="1"\} 0/,
    );
  });

  it('queries aggregate ranges with dimension filters and clear parameter errors', async () => {
    const from = new Date(windowStartMs - 1000).toISOString();
    const all = await getJson<{ points: Array<{ dimensions: Record<string, string> }>; truncated: boolean }>(
      `/api/aggregates?metric=edge_10s&windowSize=10s&from=${from}`,
    );
    assert.equal(all.points.length, 2);
    assert.equal(all.truncated, false);
    const one = await getJson<{ points: Array<{ values: Record<string, number> }> }>(
      `/api/aggregates?metric=edge_10s&windowSize=10000&from=${windowStartMs}&to=${Date.now()}&dim.edge=edge-002`,
    );
    assert.deepEqual(
      one.points.map((p) => p.values.retransmits),
      [700],
    );
    const limited = await getJson<{ points: unknown[]; truncated: boolean }>(
      `/api/aggregates?metric=edge_10s&windowSize=10s&from=${windowStartMs}&limit=1`,
    );
    assert.equal(limited.points.length, 1);
    assert.equal(limited.truncated, true);
    assert.match(await expectError('/api/aggregates?windowSize=10s', 400, 'BAD_PARAMETER'), /'metric'/);
    assert.match(await expectError('/api/aggregates?metric=edge_10s', 400, 'BAD_PARAMETER'), /'windowSize'/);
    assert.match(
      await expectError('/api/aggregates?metric=edge_10s&windowSize=10s&from=soon', 400, 'BAD_PARAMETER'),
      /'from'/,
    );
    assert.match(
      await expectError('/api/aggregates?metric=edge_10s&windowSize=10s&limit=-1', 400, 'BAD_PARAMETER'),
      /'limit'/,
    );
  });

  it('ranks the latest windows of each series', async () => {
    const worst = await getJson<{ points: Array<{ dimensions: Record<string, string> }> }>(
      '/api/aggregates/latest?metric=edge_10s&windowSize=10s&orderBy=retransmits&limit=1&dim.site=par1',
    );
    assert.deepEqual(
      worst.points.map((p) => p.dimensions.edge),
      ['edge-002'],
    );
    const best = await getJson<{ points: Array<{ dimensions: Record<string, string> }> }>(
      '/api/aggregates/latest?metric=edge_10s&windowSize=10s&orderBy=retransmits&ascending=true',
    );
    assert.deepEqual(
      best.points.map((p) => p.dimensions.edge),
      ['edge-001', 'edge-002'],
    );
    assert.match(
      await expectError('/api/aggregates/latest?metric=edge_10s&windowSize=10s', 400, 'BAD_PARAMETER'),
      /'orderBy'/,
    );
  });

  it('streams live events over SSE with type and metric filters', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/live?types=window,alert&metric=edge_10s`, {
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(received)) {
        const { value, done } = await reader.read();
        if (done) assert.fail(`stream ended before ${pattern}: ${received}`);
        received += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(/: connected/);
    live.publish({ type: 'window', data: { metric: 'player_10s', skipped: true } });
    live.publish({ type: 'window', data: { metric: 'edge_10s', windowStartMs } });
    engine.push({
      metric: 'edge_10s',
      dimensions: { edge: 'edge-002', site: 'par1' },
      windowStart: windowStartMs,
      windowEnd: windowStartMs + WINDOW_MS,
      values: { retransmits: 700 },
      final: true,
      eventTime: windowStartMs + WINDOW_MS - 1,
    });
    await readUntil(/event: alert\n/);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    assert.match(received, /event: window\ndata: \{"metric":"edge_10s"/);
    assert.doesNotMatch(received, /player_10s/);
    assert.match(received, /event: alert\ndata: \{[^\n]*"state":"firing"/);
  });

  it('refuses live clients beyond the limit with 503', async () => {
    const first = new AbortController();
    const second = new AbortController();
    const a = await fetch(`${base}/api/live`, { signal: first.signal });
    const b = await fetch(`${base}/api/live`, { signal: second.signal });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    await expectError('/api/live', 503, 'TOO_MANY_CLIENTS');
    first.abort();
    second.abort();
  });

  it('lists current alerts and their history', async () => {
    const current = await getJson<{
      alerts: Array<{ rule: string; state: string; labels: Record<string, string> }>;
    }>('/api/alerts');
    assert.equal(current.alerts.length, 1);
    assert.equal(current.alerts[0]!.rule, 'EdgeRetransmitStorm');
    assert.equal(current.alerts[0]!.state, 'firing');
    assert.equal(current.alerts[0]!.labels.edge, 'edge-002');
    const history = await getJson<{ events: Array<{ state: string }> }>(
      '/api/alerts/history?label.edge=edge-002',
    );
    assert.deepEqual(
      history.events.map((e) => e.state),
      ['firing'],
    );
    const empty = await getJson<{ events: unknown[] }>('/api/alerts/history?state=resolved');
    assert.deepEqual(empty.events, []);
    await expectError('/api/alerts/history?state=exploded', 400, 'BAD_PARAMETER');
  });

  it('creates, lists and expires silences, which silence matching alerts', async () => {
    const nowMs = Date.now();
    const created = await fetch(`${base}/api/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ label: 'edge', value: 'edge-00[0-9]', op: '=~' }],
        startsAtMs: nowMs - 1000,
        endsAtMs: nowMs + 3_600_000,
        createdBy: 'oncall@example.com',
        comment: 'maintenance',
      }),
    });
    assert.equal(created.status, 201);
    const { silence } = (await created.json()) as { silence: { id: string; status: string } };
    assert.equal(silence.status, 'active');
    const alerts = await getJson<{ alerts: Array<{ silencedBy: string | null }> }>('/api/alerts');
    assert.equal(alerts.alerts[0]!.silencedBy, silence.id);
    const listed = await getJson<{ silences: Array<{ id: string; matchers: unknown[] }> }>(
      '/api/silences?status=active',
    );
    assert.deepEqual(
      listed.silences.map((s) => s.id),
      [silence.id],
    );
    assert.deepEqual(listed.silences[0]!.matchers, [{ label: 'edge', op: '=~', value: 'edge-00[0-9]' }]);

    const deleted = await fetch(`${base}/api/silences/${silence.id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    const after = await getJson<{ alerts: Array<{ silencedBy: string | null }> }>('/api/alerts');
    assert.equal(after.alerts[0]!.silencedBy, null);
    await expectError(`/api/silences/${silence.id}`, 404, 'NOT_FOUND', { method: 'DELETE' });
    const expired = await getJson<{ silences: Array<{ id: string }> }>('/api/silences?status=expired');
    assert.deepEqual(
      expired.silences.map((s) => s.id),
      [silence.id],
    );
  });

  it('refuses bad silence bodies', async () => {
    const post = (body: string, contentType = 'application/json') => ({
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    const nowMs = Date.now();
    const valid = {
      matchers: [{ label: 'edge', value: 'edge-1' }],
      startsAtMs: nowMs,
      endsAtMs: nowMs + 1000,
      createdBy: 'me',
    };
    assert.match(
      await expectError(
        '/api/silences',
        400,
        'BAD_BODY',
        post(JSON.stringify({ ...valid, endsAtMs: nowMs - 1 })),
      ),
      /endsAtMs/,
    );
    assert.match(
      await expectError('/api/silences', 400, 'BAD_BODY', post(JSON.stringify({ ...valid, matchers: [] }))),
      /matchers/,
    );
    assert.match(
      await expectError('/api/silences', 400, 'BAD_BODY', post(JSON.stringify({ ...valid, createdBy: '' }))),
      /createdBy/,
    );
    await expectError('/api/silences', 400, 'BAD_BODY', post('{"matchers":'));
    await expectError(
      '/api/silences',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      post(JSON.stringify(valid), 'text/plain'),
    );
    const huge = JSON.stringify({ ...valid, comment: 'x'.repeat(70 * 1024) });
    await expectError('/api/silences', 413, 'BODY_TOO_LARGE', post(huge));
  });

  it('lists topics and consumer groups from the broker', async () => {
    const { topics } = await getJson<{
      topics: Array<{ name: string; partitions: Array<{ partition: number; logEndOffset: number }> }>;
    }>('/api/topics');
    const telemetry = topics.find((t) => t.name === 'telemetry');
    assert.deepEqual(
      telemetry?.partitions.map((p) => [p.partition, p.logEndOffset]),
      [
        [0, 0],
        [1, 0],
      ],
    );
    const { groups } = await getJson<{
      groups: Array<{ groupId: string; state: string; offsets: Array<{ partition: number; lag: number }> }>;
    }>('/api/groups');
    assert.deepEqual(groups, [
      {
        groupId: 'dashboards',
        state: 'Empty',
        protocolType: '',
        members: [],
        offsets: [
          {
            topic: 'telemetry',
            partition: 1,
            committedOffset: 0,
            processedOffset: null,
            highWatermark: 0,
            lag: 0,
          },
        ],
      },
    ]);
  });

  it('answers unknown routes and methods with JSON errors', async () => {
    await expectError('/api/nothing', 404, 'NOT_FOUND');
    const message = await expectError('/api/alerts', 405, 'METHOD_NOT_ALLOWED', { method: 'POST' });
    assert.match(message, /GET/);
    const response = await fetch(`${base}/api/silences`, { method: 'PUT' });
    assert.equal(response.headers.get('allow'), 'GET, HEAD, POST');
    await response.body?.cancel();
  });

  it('serves the dashboard files with caching and refuses traversal', async () => {
    const index = await fetch(`${base}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(await index.text(), /Edgestream/);
    const etag = index.headers.get('etag')!;
    const revalidated = await fetch(`${base}/index.html`, { headers: { 'if-none-match': etag } });
    assert.equal(revalidated.status, 304);
    const asset = await fetch(`${base}/assets/app.3f2a1b.js`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    await asset.body?.cancel();
    const appRoute = await fetch(`${base}/alerts/edge-002`);
    assert.match(await appRoute.text(), /Edgestream/, 'client-side routes get index.html');
    await expectError('/assets/missing.js', 404, 'NOT_FOUND');
    // fetch resolves a literal or %2e-encoded '..' itself; an encoded slash is what reaches the server.
    await expectError('/%2e%2e/secret.txt', 404, 'NOT_FOUND');
    await expectError('/assets/..%2f..%2fsecret.txt', 400, 'BAD_PARAMETER');
  });

  it('reports a 404 JSON error for cluster routes when no broker runs in the process', async () => {
    const bare = await HttpApi.start({
      host: '127.0.0.1',
      port: 0,
      store,
      alerts: engine,
      cluster: null,
      registries: [],
      live: new LiveFeed(),
      logger: pino({ level: 'silent' }),
    });
    try {
      const bareBase = `http://127.0.0.1:${bare.address().port}`;
      const topics = await fetch(`${bareBase}/api/topics`);
      assert.equal(topics.status, 404);
      assert.equal(((await topics.json()) as ErrorReply).error.code, 'CLUSTER_UNAVAILABLE');
      const root = await fetch(`${bareBase}/`);
      assert.equal(root.status, 404, 'no static files without a staticDir');
      await root.body?.cancel();
    } finally {
      await bare.close();
    }
  });
});
