import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { parseEdgestreamConfig } from '../src/cli/config.js';
import { EdgestreamRuntime } from '../src/cli/runtime.js';
import { partitionForKey } from '../src/client/partitioner.js';
import type { ConsumedRecord } from '../src/client/types.js';
import { newToken } from '../src/security/index.js';
import type { QoeEvent } from '../src/simulate/telemetry.js';
import { run } from './support/processes.js';

const JSON_V2 = 'application/vnd.kafka.json.v2+json';
const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';
const ACCEPT_V2 = 'application/vnd.kafka.v2+json';
const PLAYER = 'https://player.example.com';
const PARTITIONS = 4;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function request(
  base: string,
  pathAndQuery: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const response = await fetch(`${base}${pathAndQuery}`, init);
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, text, json };
}

function produce(
  base: string,
  topic: string,
  contentType: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return request(base, `/topics/${topic}`, {
    method: 'POST',
    headers: { 'content-type': contentType, accept: ACCEPT_V2, ...headers },
    body: JSON.stringify(body),
  });
}

/** Every record of `topic` as kcat (librdkafka) reads it: partition, offset, key and value. */
async function kcatRecords(bootstrap: string, topic: string) {
  const result = await run('kcat', ['-b', bootstrap, '-C', '-t', topic, '-e', '-q', '-f', '%p|%o|%k|%s\\n'], {
    timeoutMs: 30_000,
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [partition, offset, key, value] = line.split('|');
      return { partition: Number(partition), offset: Number(offset), key: key!, value: value! };
    });
}

async function startRuntime(dataDir: string, overrides: Record<string, unknown>): Promise<EdgestreamRuntime> {
  const config = parseEdgestreamConfig({
    dataDir,
    broker: { listen: '127.0.0.1:0', autoCreateTopics: false },
    http: { listen: '127.0.0.1:0' },
    monitor: { workers: 1 },
    notifiers: [{ kind: 'log' }],
    ...overrides,
  });
  return EdgestreamRuntime.start(config, pino({ level: 'warn' }));
}

function baseOf(runtime: EdgestreamRuntime): string {
  const { host, port } = runtime.http!.address();
  return `http://${host}:${port}`;
}

function bootstrapOf(runtime: EdgestreamRuntime): string {
  const { host, port } = runtime.broker.listenerAddresses.get('PLAINTEXT')!;
  return `${host}:${port}`;
}

/** The QoE events in cdn.qoe for `session`, read through the runtime's own client. */
async function qoeEvents(
  runtime: EdgestreamRuntime,
  session: string,
): Promise<{ records: ConsumedRecord[]; events: QoeEvent[] }> {
  const partitions = await runtime.client.partitionCount('cdn.qoe');
  const records = await runtime.client.fetch(
    Array.from({ length: partitions }, (_, partition) => ({ topic: 'cdn.qoe', partition, offset: 0 })),
    { maxBytes: 8 * 1024 * 1024, maxWaitMs: 0 },
  );
  const mine = records.filter((r) => (JSON.parse(r.value!.toString()) as QoeEvent).session === session);
  return { records: mine, events: mine.map((r) => JSON.parse(r.value!.toString()) as QoeEvent) };
}

describe('HTTP ingest on the runtime: REST proxy and player beacons', { timeout: 180_000 }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-ingest-'));
  let runtime: EdgestreamRuntime;
  let base: string;

  before(async () => {
    runtime = await startRuntime(dataDir, {
      ingest: {
        restProxy: { maxBodyBytes: 4096, maxRecordsPerRequest: 50 },
        beacons: { site: 'ams1', edge: 'edge-default', allowedOrigins: [PLAYER] },
      },
    });
    base = baseOf(runtime);
    await runtime.client.ensureTopic({ name: 'rest.json', partitions: PARTITIONS });
    await runtime.client.ensureTopic({ name: 'rest.binary', partitions: PARTITIONS });
  });

  after(async () => {
    await runtime?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('produces JSON records, answers their offsets in record order, and kcat reads them back', async () => {
    const records = [
      { key: 'edge-1', value: { n: 1 } },
      { key: 'edge-2', value: { n: 2 } },
      { key: 'edge-1', value: { n: 3 } },
      { value: { n: 4 }, partition: 3 },
    ];
    const reply = await produce(base, 'rest.json', JSON_V2, { records });
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.headers.get('content-type') ?? '', /application\/vnd\.kafka\.v2\+json/);
    const body = reply.json as {
      key_schema_id: null;
      offsets: Array<{ partition: number; offset: number; error_code: null }>;
    };
    assert.equal(body.key_schema_id, null);
    const edge1 = partitionForKey(Buffer.from('"edge-1"'), PARTITIONS);
    const edge2 = partitionForKey(Buffer.from('"edge-2"'), PARTITIONS);
    assert.deepEqual(
      body.offsets.map((o) => o.partition),
      [edge1, edge2, edge1, 3],
      'keyed records go where the Kafka partitioner puts their key',
    );
    const consumed = await kcatRecords(bootstrapOf(runtime), 'rest.json');
    assert.equal(consumed.length, records.length);
    for (const [i, offset] of body.offsets.entries()) {
      const found = consumed.find((c) => c.partition === offset.partition && c.offset === offset.offset);
      assert.ok(found, `record ${i} at ${offset.partition}/${offset.offset}`);
      assert.equal(found.value, JSON.stringify(records[i]!.value));
      assert.equal(found.key, records[i]!.key === undefined ? '' : JSON.stringify(records[i]!.key));
    }
  });

  it('produces base64 binary records, also to a partition named in the path', async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const first = await produce(base, 'rest.binary', BINARY_V2, {
      records: [{ key: b64('k1'), value: b64('v1') }, { value: b64('v2') }],
    });
    assert.equal(first.status, 200, first.text);
    const toTwo = await request(base, '/topics/rest.binary/partitions/2', {
      method: 'POST',
      headers: { 'content-type': BINARY_V2 },
      body: JSON.stringify({ records: [{ value: b64('p2-a') }, { value: b64('p2-b') }] }),
    });
    assert.equal(toTwo.status, 200, toTwo.text);
    const offsets = (toTwo.json as { offsets: Array<{ partition: number; offset: number }> }).offsets;
    assert.deepEqual(
      offsets.map((o) => o.partition),
      [2, 2],
    );
    assert.equal(offsets[1]!.offset, offsets[0]!.offset + 1);
    const consumed = await kcatRecords(bootstrapOf(runtime), 'rest.binary');
    const k1 = consumed.find((c) => c.key === 'k1');
    assert.equal(k1?.value, 'v1');
    assert.equal(k1?.partition, partitionForKey(Buffer.from('k1'), PARTITIONS));
    const p2 = consumed.filter((c) => c.value.startsWith('p2-')).map((c) => [c.partition, c.offset, c.value]);
    assert.deepEqual(p2, [
      [2, offsets[0]!.offset, 'p2-a'],
      [2, offsets[1]!.offset, 'p2-b'],
    ]);
  });

  it("takes docs/ingest.md's curl request as written (no npm client speaks REST Proxy v2)", async () => {
    await runtime.client.ensureTopic({ name: 'devices', partitions: 8 });
    const result = await run('curl', [
      '-s',
      '-X',
      'POST',
      `${base}/topics/devices`,
      '-H',
      'Content-Type: application/vnd.kafka.json.v2+json',
      '-H',
      'Accept: application/vnd.kafka.v2+json',
      '-d',
      '{"records":[{"key":"edge-017","value":{"temp":41.5}},{"value":{"temp":40.1},"partition":3}]}',
    ]);
    assert.equal(result.status, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { offsets: Array<{ partition: number; offset: number }> };
    assert.deepEqual(answer.offsets, [
      { partition: partitionForKey(Buffer.from('"edge-017"'), 8), offset: 0, error_code: null, error: null },
      { partition: 3, offset: 0, error_code: null, error: null },
    ]);
  });

  it('lists topics and describes one, as REST clients ask before producing', async () => {
    const topics = await request(base, '/topics', { headers: { accept: ACCEPT_V2 } });
    assert.equal(topics.status, 200);
    assert.ok((topics.json as string[]).includes('rest.json'));
    const one = await request(base, '/topics/rest.json');
    assert.equal(one.status, 200);
    assert.equal((one.json as { partitions: unknown[] }).partitions.length, PARTITIONS);
    const missing = await request(base, '/topics/nope');
    assert.deepEqual([missing.status, (missing.json as { error_code: number }).error_code], [404, 40401]);
  });

  it("refuses in REST Proxy's error format: unknown topic, partition, content type, size, base64", async () => {
    const expectError = (reply: Reply, status: number, errorCode: number) => {
      assert.equal(reply.status, status, reply.text);
      const body = reply.json as { error_code: number; message: string };
      assert.equal(body.error_code, errorCode, reply.text);
      assert.ok(body.message.length > 0);
    };
    expectError(await produce(base, 'no.such.topic', JSON_V2, { records: [{ value: 1 }] }), 404, 40401);
    expectError(
      await produce(base, 'rest.json', JSON_V2, { records: [{ value: 1, partition: 9 }] }),
      404,
      40402,
    );
    expectError(
      await produce(base, 'rest.json', 'application/vnd.kafka.avro.v2+json', { records: [{ value: 1 }] }),
      415,
      415,
    );
    expectError(
      await produce(base, 'rest.json', JSON_V2, { records: [{ value: 'x'.repeat(5000) }] }),
      413,
      413,
    );
    expectError(
      await produce(base, 'rest.json', JSON_V2, { records: Array(51).fill({ value: 1 }) }),
      422,
      422,
    );
    const badBase64 = await produce(base, 'rest.binary', BINARY_V2, { records: [{ value: 'not base64!' }] });
    expectError(badBase64, 422, 422);
    assert.match((badBase64.json as { message: string }).message, /records\[0\]\.value/);
    expectError(await produce(base, 'rest.json', JSON_V2, { rows: [] }), 422, 422);
    const { text } = await request(base, '/metrics');
    assert.match(text, /edgestream_http_ingest_requests_total\{path="rest_proxy",status="404"\} 3/);
    assert.match(text, /edgestream_http_ingest_requests_total\{path="rest_proxy",status="415"\} 1/);
    assert.match(text, /edgestream_http_ingest_records_total\{path="rest_proxy",result="appended"\} 10/);
  });

  it('takes CMCD v2 reports as text and JSON into cdn.qoe as segment and rebuffer_end events', async () => {
    const text = [
      'e=rr,ot=v,rc=200,ttlb=412,br=(3200;v),bl=(21300;v),sid="cmcd-text",cid="live/sports-1",ts=1700000000000',
      'e=ps,sta=p,sid="cmcd-text"',
      'e=rr,ot=v,rc=503,ttlb=900,bsd=(750;v),sid="cmcd-text",cid="live/sports-1",ts=1700000001000',
    ].join('\n');
    const reply = await request(base, '/beacons/cmcd?edge=edge-017', {
      method: 'POST',
      headers: { 'content-type': 'application/cmcd', origin: PLAYER },
      body: text,
    });
    assert.equal(reply.status, 204, reply.text);
    assert.equal(reply.headers.get('access-control-allow-origin'), PLAYER);
    const { records, events } = await qoeEvents(runtime, 'cmcd-text');
    assert.deepEqual(
      events.map((e) => [e.type, e.edge, e.site, e.stream, e.ts]),
      [
        // A segment at its download's end (ts + ttlb), a rebuffer at its request's start.
        ['segment', 'edge-017', 'ams1', 'sports-1', 1700000000412],
        ['segment', 'edge-017', 'ams1', 'sports-1', 1700000001900],
        ['rebuffer_end', 'edge-017', 'ams1', 'sports-1', 1700000001000],
      ],
    );
    assert.ok(records.every((r) => r.key?.toString() === 'edge-017'));
    assert.ok(
      records.every(
        (r) => r.partition === partitionForKey(Buffer.from('edge-017'), r.partition + 1 > 0 ? 8 : 8),
      ),
    );

    const json = await request(base, '/beacons/cmcd', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ e: 'rr', ot: 'v', rc: 200, ttlb: 300, bsd: 120, sid: 'cmcd-json', br: 1800 }]),
    });
    assert.equal(json.status, 204, json.text);
    const fromJson = await qoeEvents(runtime, 'cmcd-json');
    assert.deepEqual(
      fromJson.events.map((e) => [e.type, e.edge]),
      [
        ['segment', 'edge-default'],
        ['rebuffer_end', 'edge-default'],
      ],
    );

    const query = encodeURIComponent('ot=v,rc=200,ttlb=250,sid="cmcd-query"');
    const viaQuery = await request(base, `/beacons/cmcd?CMCD=${query}&edge=edge-3`, { method: 'POST' });
    assert.equal(viaQuery.status, 204, viaQuery.text);
    assert.deepEqual(
      (await qoeEvents(runtime, 'cmcd-query')).events.map((e) => e.type),
      ['segment'],
    );
  });

  it('takes batched QoE JSON beacons, filling ts, site and edge, and names a bad field', async () => {
    const before = Date.now();
    const reply = await request(base, '/beacons/qoe?edge=edge-9', {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: PLAYER },
      body: JSON.stringify([
        { type: 'session_start', stream: 'sports-2', session: 'qoe-1', startupMs: 900, bitrateKbps: 3500 },
        {
          type: 'rebuffer_end',
          stream: 'sports-2',
          session: 'qoe-1',
          durationMs: 400,
          ts: 1700000000000,
          edge: 'edge-1',
        },
      ]),
    });
    assert.equal(reply.status, 204, reply.text);
    const { events } = await qoeEvents(runtime, 'qoe-1');
    // Different edges, different partitions: found by type, not by fetch order.
    const start = events.find((e) => e.type === 'session_start');
    const rebuffer = events.find((e) => e.type === 'rebuffer_end');
    assert.deepEqual([start?.edge, start?.site], ['edge-9', 'ams1']);
    assert.ok((start?.ts ?? 0) >= before);
    assert.deepEqual([rebuffer?.edge, rebuffer?.ts], ['edge-1', 1700000000000]);

    const bad = await request(base, '/beacons/qoe', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { type: 'session_end', stream: 's', session: 'qoe-2', playedMs: 1 },
        { type: 'segment', stream: 's', session: 'qoe-2', downloadMs: 'slow' },
      ]),
    });
    assert.equal(bad.status, 400);
    assert.match((bad.json as { error: { message: string } }).error.message, /^events\[1\]\./);
    assert.deepEqual((await qoeEvents(runtime, 'qoe-2')).events, [], 'a bad beacon appends nothing');
  });

  it('answers CORS preflights for allowed origins only, and refuses beacons from other pages', async () => {
    const allowed = await request(base, '/beacons/qoe', {
      method: 'OPTIONS',
      headers: { origin: PLAYER, 'access-control-request-method': 'POST' },
    });
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), PLAYER);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
    const refused = await request(base, '/beacons/qoe', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
    const post = await request(base, '/beacons/qoe', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ type: 'rebuffer_start', stream: 's', session: 'evil' }),
    });
    assert.equal(post.status, 403);
    assert.deepEqual((await qoeEvents(runtime, 'evil')).events, []);
  });
});

describe('HTTP ingest with authentication on', { timeout: 120_000 }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-ingest-auth-'));
  const operator = newToken();
  const viewer = newToken();
  const BEACON_TOKEN = 'beacon-token-0123456789';
  let runtime: EdgestreamRuntime;
  let base: string;

  before(async () => {
    runtime = await startRuntime(dataDir, {
      broker: { listen: '127.0.0.1:0', autoCreateTopics: true, defaultPartitions: 2 },
      http: {
        listen: '127.0.0.1:0',
        auth: {
          enabled: true,
          tokens: [
            { name: 'producer', role: 'operator', tokenHash: operator.tokenHash },
            { name: 'reader', role: 'viewer', tokenHash: viewer.tokenHash },
          ],
        },
      },
      ingest: { beacons: { token: BEACON_TOKEN } },
    });
    base = baseOf(runtime);
  });

  after(async () => {
    await runtime?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses the REST proxy without a token or with a viewer one, accepts an operator token', async () => {
    const body = { records: [{ value: { ok: true } }] };
    const none = await produce(base, 'auth.topic', JSON_V2, body);
    assert.deepEqual([none.status, (none.json as { error_code: number }).error_code], [401, 40101]);
    const read = await produce(base, 'auth.topic', JSON_V2, body, {
      authorization: `Bearer ${viewer.token}`,
    });
    assert.deepEqual([read.status, (read.json as { error_code: number }).error_code], [403, 40301]);
    const ok = await produce(base, 'auth.topic', JSON_V2, body, {
      authorization: `Bearer ${operator.token}`,
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(
      await runtime.client.partitionCount('auth.topic'),
      2,
      'auto-created with the broker default',
    );
  });

  it('takes beacons only with the beacon token', async () => {
    const beacon = JSON.stringify({ type: 'rebuffer_start', stream: 's', session: 'tok' });
    const headers = { 'content-type': 'application/json' };
    const without = await request(base, '/beacons/qoe', { method: 'POST', headers, body: beacon });
    assert.equal(without.status, 401);
    const withToken = await request(base, `/beacons/qoe?token=${BEACON_TOKEN}`, {
      method: 'POST',
      headers,
      body: beacon,
    });
    assert.equal(withToken.status, 204, withToken.text);
  });
});
