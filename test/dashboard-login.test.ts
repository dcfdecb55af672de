import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AlertEngine, parseRules } from '../src/alerts/index.js';
import type { HttpApi } from '../src/http/index.js';
import { SqliteAggregateStore } from '../src/store/index.js';
import { type BrowserSession, openBrowser, requireDashboard } from './support/browser.js';
import { startHttpApi, veraAndOtto } from './support/http-auth-api.js';

const WEB_DIST = path.resolve(import.meta.dirname, '..', 'web');
const WINDOW_MS = 10_000;

describe('dashboard login in a browser', { timeout: 120_000 }, () => {
  let tempDir: string;
  let store: SqliteAggregateStore;
  let engine: AlertEngine;
  let api: HttpApi;
  let session: BrowserSession;
  let base: string;

  before(async () => {
    requireDashboard();
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-dashboard-login-'));
    store = SqliteAggregateStore.open({ path: path.join(tempDir, 'aggregates.db') });
    engine = new AlertEngine({
      rules: parseRules([
        {
          name: 'RetransmitStorm',
          metric: 'edge_tcp_10s',
          field: 'retransmits',
          dimensions: ['edge'],
          comparator: '>',
          threshold: 500,
        },
      ]),
    });
    const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    engine.push({
      metric: 'edge_tcp_10s',
      dimensions: { edge: 'edge-017', site: 'par1' },
      windowStart,
      windowEnd: windowStart + WINDOW_MS,
      values: { retransmits: 900 },
      final: true,
      eventTime: windowStart + WINDOW_MS - 1,
    });
    assert.deepEqual(
      engine.alerts().map((alert) => alert.state),
      ['firing'],
    );
    api = await startHttpApi(store, engine, { staticDir: WEB_DIST, auth: await veraAndOtto() });
    base = `http://127.0.0.1:${api.address().port}`;
    session = await openBrowser({ width: 1400, height: 900 });
  });

  after(async () => {
    await session?.close().catch(() => undefined);
    await api?.close();
    await engine?.close();
    await store?.close();
    fs.rmSync(tempDir, { recursive: true, force: true });
  });

  async function logIn(user: string, password: string): Promise<void> {
    const { page } = session;
    await page.locator('form.login-form').waitFor();
    await page.locator('input[name="user"]').fill(user);
    await page.locator('input[name="password"]').fill(password);
    await page.locator('form.login-form button[type="submit"]').click();
    await page.locator('#user-name', { hasText: user }).waitFor();
  }

  const firingCard = '.alert-section[data-section="firing"] .alert-card[data-rule="RetransmitStorm"]';

  it('asks a viewer to log in, then shows alerts without silence buttons', async () => {
    const { page } = session;
    await page.goto(`${base}/alerts`, { waitUntil: 'load' });
    await page.locator('form.login-form').waitFor();
    assert.equal(await page.locator('nav.tabs').isVisible(), false, 'no tabs before login');
    assert.equal(await page.locator('#logout').isVisible(), false, 'nobody to log out');
    await session.screenshot('dashboard-login-form');
    await logIn('vera', 'vera password');
    assert.equal(await page.locator('#user-role').textContent(), 'viewer');
    await page.locator(firingCard).first().waitFor();
    assert.equal(await page.locator('button.silence').count(), 0);
    assert.match((await page.locator('.view-only').textContent()) ?? '', /needs the operator role/);
    await session.screenshot('dashboard-login-viewer');
  });

  it('logs out back to the login page, and lets an operator silence an alert', async () => {
    const { page } = session;
    await page.locator('#logout').click();
    await page.locator('form.login-form').waitFor();
    const cookies = await page.context().cookies();
    assert.equal(
      cookies.find((cookie) => cookie.name === 'edgestream_session'),
      undefined,
    );
    await logIn('otto', 'otto password');
    assert.equal(await page.locator('#user-role').textContent(), 'operator');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'edgestream_session');
    assert.deepEqual([cookie?.httpOnly, cookie?.sameSite], [true, 'Strict']);
    // The silence POST needs the session's X-CSRF-Token: the page sends it.
    await page.locator(`${firingCard} button.silence`).click();
    await page
      .locator('.alert-section[data-section="silenced"] .alert-card[data-silenced="true"]')
      .first()
      .waitFor();
    const { silences } = await store.listSilences({ nowMs: Date.now(), limit: 10, status: 'active' });
    assert.deepEqual(
      silences.map((silence) => silence.createdBy),
      ['otto'],
    );
    assert.deepEqual(
      session.errors.filter((error) => error.startsWith('page error')),
      [],
    );
  });
});
