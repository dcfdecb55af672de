import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { AlertEngine } from '../alerts/index.js';
import { SqliteAggregateStore } from '../store/index.js';
import type { ErrorBody } from './errors.js';
import { LiveFeed } from './live-feed.js';
import { HttpApi } from './server.js';

describe('silence matchers over the HTTP API (RE2 syntax)', () => {
  let tempDir: string;
  let store: SqliteAggregateStore;
  let api: HttpApi;
  let base: string;

  before(async () => {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-silence-matchers-'));
    store = SqliteAggregateStore.open({ path: path.join(tempDir, 'aggregates.db') });
    const alerts = new AlertEngine({ rules: [] });
    api = await HttpApi.start({
      host: '127.0.0.1',
      port: 0,
      store,
      alerts,
      cluster: null,
      registries: [],
      live: new LiveFeed({ maxClients: 1 }),
      logger: pino({ level: 'silent' }),
    });
    base = `http://127.0.0.1:${api.address().port}`;
  });

  after(async () => {
    await api.close();
    await store.close();
    fs.rmSync(tempDir, { recursive: true, force: true });
  });

  function postSilence(value: string): Promise<Response> {
    const nowMs = Date.now();
    const body = {
      matchers: [
        { label: 'site', value: 'par1' },
        { label: 'edge', op: '=~', value },
      ],
      startsAtMs: nowMs,
      endsAtMs: nowMs + 60_000,
      createdBy: 'test',
    };
    return fetch(`${base}/api/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  for (const pattern of ['(a)\\1', '(?=a)a']) {
    it(`refuses ${pattern} with BAD_BODY naming the field`, async () => {
      const response = await postSilence(pattern);
      assert.equal(response.status, 400);
      const { error } = (await response.json()) as ErrorBody;
      assert.equal(error.code, 'BAD_BODY');
      assert.match(error.message, /^silence matchers\.1\.value: expected an RE2 regex/);
    });
  }

  it('accepts RE2 syntax that JavaScript lacks, in the engine and the store alike', async () => {
    const response = await postSilence('(?i)EDGE-0[0-9]');
    assert.equal(response.status, 201, await response.clone().text());
    const listed = await fetch(`${base}/api/silences?status=active`);
    const { silences } = (await listed.json()) as { silences: Array<{ source: string }> };
    assert.deepEqual(
      silences.map((s) => s.source),
      ['store'],
    );
  });
});
