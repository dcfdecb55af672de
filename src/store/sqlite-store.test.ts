import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import { SCHEMA_VERSION } from './sqlite-schema.js';
import { SqliteAggregateStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { AggregateWrite, AlertEvent, FieldValues } from './types.js';

const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-store-test-'));
after(() => fs.rmSync(baseDir, { recursive: true, force: true }));

let fileCounter = 0;
function freshPath(): string {
  fileCounter++;
  return path.join(baseDir, `store-${fileCounter}.db`);
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** A minute boundary far from zero, so "older than an hour" has room on both sides. */
const T0 = 1_700_000_040_000;

const fieldRollups: SqliteStoreOptions['fieldRollups'] = {
  retransmits: { kind: 'sum' },
  retransmitRate: { kind: 'mean' },
  activeSessions: { kind: 'last' },
};

function openStore(overrides: Partial<SqliteStoreOptions> = {}): SqliteAggregateStore {
  return SqliteAggregateStore.open({ path: freshPath(), fieldRollups, ...overrides });
}

function window10s(
  startMs: number,
  values: FieldValues,
  dimensions: Record<string, string> = { edge: 'edge-17', site: 'par1' },
  final = true,
): AggregateWrite {
  return {
    metric: 'edge.tcp',
    dimensions,
    windowStartMs: startMs,
    windowEndMs: startMs + 10_000,
    values,
    final,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string, mentions?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected StoreError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (mentions !== undefined) assert.ok(error.message.includes(mentions), error.message);
    return true;
  });
}

describe('SqliteAggregateStore aggregates', () => {
  it('replaces early updates with later ones and the final, and ignores early updates after the final', async () => {
    const store = openStore();
    const first = await store.writeAggregates([window10s(T0, { count: 3 }, undefined, false)]);
    assert.deepEqual(first, { written: 1, ignoredAfterFinal: 0, ignoredTooOld: 0 });
    await store.writeAggregates([window10s(T0, { count: 7 }, undefined, false)]);
    await store.writeAggregates([window10s(T0, { count: 9 }, undefined, true)]);
    const replay = await store.writeAggregates([window10s(T0, { count: 9 }, undefined, true)]);
    assert.equal(replay.written, 1);
    const stale = await store.writeAggregates([window10s(T0, { count: 4 }, undefined, false)]);
    assert.deepEqual(stale, { written: 0, ignoredAfterFinal: 1, ignoredTooOld: 0 });

    const result = await store.queryRange({
      metric: 'edge.tcp',
      fromMs: T0,
      toMs: T0 + MINUTE_MS,
      windowSizeMs: 10_000,
    });
    assert.equal(result.points.length, 1);
    assert.deepEqual(result.points[0], {
      dimensions: { edge: 'edge-17', site: 'par1' },
      windowStartMs: T0,
      windowEndMs: T0 + 10_000,
      values: { count: 9 },
      final: true,
      coveredMs: 10_000,
    });
    await store.close();
  });

  it('treats dimension order as irrelevant: one series per label set', async () => {
    const store = openStore();
    await store.writeAggregates([
      window10s(T0, { count: 1 }, { edge: 'edge-1', site: 'par1' }, false),
      window10s(T0, { count: 2 }, { site: 'par1', edge: 'edge-1' }, true),
    ]);
    const result = await store.queryRange({
      metric: 'edge.tcp',
      fromMs: 0,
      toMs: T0 + 1,
      windowSizeMs: 10_000,
    });
    assert.deepEqual(
      result.points.map((point) => point.values),
      [{ count: 2 }],
    );
    await store.close();
  });

  it('answers range queries by dimension filters and time bounds, ordered by time then dimensions', async () => {
    const store = openStore();
    const rows: AggregateWrite[] = [];
    for (const site of ['par1', 'fra2']) {
      for (const edge of ['edge-1', 'edge-2']) {
        for (let i = 0; i < 6; i++) rows.push(window10s(T0 + i * 10_000, { count: i }, { edge, site }));
      }
    }
    // The same metric at another window size is another lineage and never mixes in.
    rows.push({ ...window10s(T0, { count: 99 }), windowEndMs: T0 + MINUTE_MS });
    await store.writeAggregates(rows);

    const par1 = await store.queryRange({
      metric: 'edge.tcp',
      dimensions: { site: 'par1' },
      fromMs: T0 + 10_000,
      toMs: T0 + 30_000,
      windowSizeMs: 10_000,
    });
    assert.deepEqual(
      par1.points.map((point) => [point.windowStartMs - T0, point.dimensions.edge, point.values.count]),
      [
        [10_000, 'edge-1', 1],
        [10_000, 'edge-2', 1],
        [20_000, 'edge-1', 2],
        [20_000, 'edge-2', 2],
      ],
    );
    assert.equal(par1.truncated, false);

    const one = await store.queryRange({
      metric: 'edge.tcp',
      dimensions: { site: 'fra2', edge: 'edge-2' },
      fromMs: 0,
      toMs: T0 + HOUR_MS,
      windowSizeMs: 10_000,
    });
    assert.equal(one.points.length, 6);
    assert.ok(
      one.points.every((point) => point.dimensions.site === 'fra2' && point.dimensions.edge === 'edge-2'),
    );

    const none = await store.queryRange({
      metric: 'edge.tcp',
      dimensions: { site: 'nowhere' },
      fromMs: 0,
      toMs: T0 + HOUR_MS,
      windowSizeMs: 10_000,
    });
    assert.deepEqual(none, { points: [], truncated: false });

    const minute = await store.queryRange({
      metric: 'edge.tcp',
      fromMs: 0,
      toMs: T0 + HOUR_MS,
      windowSizeMs: MINUTE_MS,
    });
    assert.deepEqual(
      minute.points.map((point) => point.values.count),
      [99],
    );

    const limited = await store.queryRange({
      metric: 'edge.tcp',
      fromMs: 0,
      toMs: T0 + HOUR_MS,
      windowSizeMs: 10_000,
      limit: 5,
    });
    assert.equal(limited.points.length, 5);
    assert.equal(limited.truncated, true);
    assert.equal(limited.points[4]?.windowStartMs, T0 + 10_000);
    await store.close();
  });

  it('lists the latest window of each series ranked by a field, with limit and staleness cut-off', async () => {
    const store = openStore();
    await store.writeAggregates([
      window10s(T0, { retransmits: 900 }, { edge: 'edge-1', site: 'par1' }),
      window10s(T0 + 10_000, { retransmits: 5 }, { edge: 'edge-1', site: 'par1' }),
      window10s(T0 + 10_000, { retransmits: 40 }, { edge: 'edge-2', site: 'par1' }),
      window10s(T0 + 10_000, { retransmits: 700 }, { edge: 'edge-3', site: 'fra2' }),
      window10s(T0 + 10_000, { count: 1 }, { edge: 'edge-4', site: 'fra2' }),
      window10s(T0 - HOUR_MS, { retransmits: 10_000 }, { edge: 'edge-dead', site: 'fra2' }),
    ]);
    const worst = await store.latest({
      metric: 'edge.tcp',
      windowSizeMs: 10_000,
      orderByField: 'retransmits',
      notBeforeMs: T0 - MINUTE_MS,
      limit: 10,
    });
    assert.deepEqual(
      worst.points.map((point) => [point.dimensions.edge, point.values.retransmits]),
      [
        ['edge-3', 700],
        ['edge-2', 40],
        ['edge-1', 5],
        ['edge-4', undefined],
      ],
    );
    assert.equal(worst.truncated, false);

    const best = await store.latest({
      metric: 'edge.tcp',
      dimensions: { site: 'par1' },
      windowSizeMs: 10_000,
      orderByField: 'retransmits',
      ascending: true,
      limit: 1,
    });
    assert.deepEqual(
      best.points.map((point) => point.dimensions.edge),
      ['edge-1'],
    );
    assert.equal(best.truncated, true);

    const withDead = await store.latest({
      metric: 'edge.tcp',
      windowSizeMs: 10_000,
      orderByField: 'retransmits',
      limit: 1,
    });
    assert.equal(withDead.points[0]?.dimensions.edge, 'edge-dead');
    await store.close();
  });

  it('rejects invalid rows and oversized batches with clear errors, writing nothing of the batch', async () => {
    const store = openStore({ limits: { maxRowsPerWrite: 3, maxSeries: 2 } });
    await rejectsWith(store.writeAggregates([window10s(T0, { p95: Number.NaN })]), 'INVALID_ARGUMENT', 'p95');
    await rejectsWith(
      store.writeAggregates([window10s(T0, { count: 1 }, { 'bad name': 'x' })]),
      'INVALID_ARGUMENT',
      'bad name',
    );
    const four = [0, 1, 2, 3].map((i) => window10s(T0 + i * 10_000, { count: i }));
    await rejectsWith(store.writeAggregates(four), 'LIMIT_EXCEEDED', 'at most 3');
    const threeSeries = ['a', 'b', 'c'].map((edge) => window10s(T0, { count: 1 }, { edge }));
    await rejectsWith(store.writeAggregates(threeSeries), 'LIMIT_EXCEEDED', 'maxSeries 2');
    const afterRollback = await store.queryRange({
      metric: 'edge.tcp',
      fromMs: 0,
      toMs: T0 + 1,
      windowSizeMs: 10_000,
    });
    assert.deepEqual(afterRollback.points, []);
    // The rolled-back series were forgotten, so two new ones still fit.
    const ok = await store.writeAggregates(threeSeries.slice(1));
    assert.equal(ok.written, 2);
    await rejectsWith(
      store.queryRange({ metric: 'edge.tcp', fromMs: 0, toMs: 1, windowSizeMs: 10_000, limit: 1_000_000 }),
      'LIMIT_EXCEEDED',
    );
    await store.close();
    await rejectsWith(store.writeAggregates([]), 'STORE_CLOSED');
  });
});

describe('SqliteAggregateStore downsampling and retention', () => {
  const tiers = [
    { olderThanMs: HOUR_MS, bucketMs: MINUTE_MS },
    { olderThanMs: DAY_MS, bucketMs: 10 * MINUTE_MS },
  ];

  /** Five of the six 10 s windows of the minute at T0 (the 30 s window is missing). */
  const minuteOfWindows: FieldValues[] = [
    {
      count: 10,
      retransmits: 1,
      min: 5,
      max: 50,
      avg: 20,
      p95: 40,
      retransmitRate: 0.1,
      activeSessions: 100,
    },
    {
      count: 30,
      retransmits: 2,
      min: 3,
      max: 80,
      avg: 40,
      p95: 70,
      retransmitRate: 0.2,
      activeSessions: 110,
    },
    { count: 0, retransmits: 0, avg: 0, retransmitRate: 0, activeSessions: 120 },
    { count: 20, retransmits: 4, min: 9, max: 60, avg: 10, p95: 55, retransmitRate: 0.4, activeSessions: 90 },
    { count: 40, retransmits: 8, min: 1, max: 30, avg: 25, p95: 28, retransmitRate: 0.8, activeSessions: 95 },
  ];
  const offsetsMs = [0, 10_000, 20_000, 40_000, 50_000];
  const expectedMinute = {
    count: 100,
    retransmits: 15,
    min: 1,
    max: 80,
    // Weighted by count: (10*20 + 30*40 + 0 + 20*10 + 40*25) / 100.
    avg: 26,
    // Percentiles cannot be merged exactly: the largest part is an upper bound.
    p95: 70,
    // Weighted by covered time, each window 10 s: (0.1 + 0.2 + 0 + 0.4 + 0.8) / 5.
    retransmitRate: 0.3,
    activeSessions: 95,
  };

  function writeMinute(store: SqliteAggregateStore, startMs: number, edge = 'edge-17') {
    return store.writeAggregates(
      minuteOfWindows.map((values, i) => window10s(startMs + offsetsMs[i]!, values, { edge, site: 'par1' })),
    );
  }

  function assertValuesClose(actual: FieldValues | undefined, expected: Record<string, number>): void {
    assert.ok(actual !== undefined);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
    for (const [field, value] of Object.entries(expected)) {
      assert.ok(Math.abs(actual[field]! - value) < 1e-9, `${field}: ${actual[field]} != ${value}`);
    }
  }

  it('merges fine windows per field rule, both at read time (stepMs) and when rolling up old data', async () => {
    const store = openStore({ downsampleTiers: tiers });
    await writeMinute(store, T0);
    const query = { metric: 'edge.tcp', fromMs: T0, toMs: T0 + MINUTE_MS, windowSizeMs: 10_000 };

    const stepped = await store.queryRange({ ...query, stepMs: MINUTE_MS });
    assert.equal(stepped.points.length, 1);
    assertValuesClose(stepped.points[0]?.values, expectedMinute);
    assert.equal(stepped.points[0]?.coveredMs, 50_000);

    const nothingOldYet = await store.maintain(T0 + HOUR_MS);
    assert.equal(nothingOldYet.rowsRolledUp, 0);

    const result = await store.maintain(T0 + MINUTE_MS + HOUR_MS);
    assert.equal(result.rowsRolledUp, 5);
    assert.equal(result.bucketsWritten, 1);
    assert.equal(result.pending, false);

    const rolled = await store.queryRange(query);
    assert.equal(rolled.points.length, 1);
    const point = rolled.points[0]!;
    assert.equal(point.windowStartMs, T0);
    assert.equal(point.windowEndMs, T0 + MINUTE_MS);
    assert.equal(point.coveredMs, 50_000);
    assert.equal(point.final, true);
    assertValuesClose(point.values, expectedMinute);

    // A replay of an already merged window would be counted twice, so it is refused.
    const replay = await store.writeAggregates([window10s(T0 + 30_000, { count: 5 })]);
    assert.deepEqual(replay, { written: 0, ignoredAfterFinal: 0, ignoredTooOld: 1 });
    await store.close();
  });

  it('rolls minute buckets into ten-minute buckets after a day, weighting means by covered time', async () => {
    const store = openStore({ downsampleTiers: tiers });
    await writeMinute(store, T0);
    // A complete second minute: six windows, rate 0.6 each, so 60 s weight against the first minute's 50 s.
    await store.writeAggregates(
      [0, 1, 2, 3, 4, 5].map((i) =>
        window10s(T0 + MINUTE_MS + i * 10_000, { count: 1, retransmitRate: 0.6 }),
      ),
    );
    await store.maintain(T0 + 2 * MINUTE_MS + HOUR_MS);
    const result = await store.maintain(T0 + 20 * MINUTE_MS + DAY_MS);
    assert.equal(result.rowsRolledUp, 2);
    const tenMinutes = await store.queryRange({
      metric: 'edge.tcp',
      fromMs: 0,
      toMs: T0 + DAY_MS,
      windowSizeMs: 10_000,
    });
    assert.equal(tenMinutes.points.length, 1);
    const point = tenMinutes.points[0]!;
    assert.equal(point.windowEndMs - point.windowStartMs, 10 * MINUTE_MS);
    assert.equal(point.windowStartMs, Math.floor(T0 / (10 * MINUTE_MS)) * 10 * MINUTE_MS);
    assert.equal(point.coveredMs, 110_000);
    assert.equal(point.values.count, 106);
    assert.ok(Math.abs(point.values.retransmitRate! - (0.3 * 50 + 0.6 * 60) / 110) < 1e-9);
    await store.close();
  });

  it('keeps only the aligned windows of a hopping series when rolling up', async () => {
    const store = openStore({ downsampleTiers: tiers });
    // 60 s windows advancing by 10 s: six overlapping windows per minute; only minute-aligned ones tile time.
    const rows: AggregateWrite[] = [];
    for (let startMs = T0; startMs < T0 + 3 * MINUTE_MS; startMs += 10_000) {
      rows.push({
        metric: 'edge.tcp.1m',
        dimensions: { edge: 'edge-17' },
        windowStartMs: startMs,
        windowEndMs: startMs + MINUTE_MS,
        values: { count: 60 },
        final: true,
      });
    }
    await store.writeAggregates(rows);
    const stepped = await store.queryRange({
      metric: 'edge.tcp.1m',
      fromMs: T0,
      toMs: T0 + 3 * MINUTE_MS,
      windowSizeMs: MINUTE_MS,
      stepMs: 10 * MINUTE_MS,
    });
    // T0's three minutes share one 10 min bucket; the unaligned hops are left out, not added.
    assert.deepEqual(
      stepped.points.map((point) => point.values.count),
      [180],
    );
    // The 1 min tier leaves 1 min windows alone; the 10 min tier takes them.
    const hourLater = await store.maintain(T0 + 20 * MINUTE_MS + HOUR_MS);
    assert.equal(hourLater.rowsRolledUp + hourLater.hoppingRowsDropped, 0);
    const dayLater = await store.maintain(T0 + 20 * MINUTE_MS + DAY_MS);
    assert.equal(dayLater.rowsRolledUp, 3);
    assert.equal(dayLater.hoppingRowsDropped, 15);
    const rolled = await store.queryRange({
      metric: 'edge.tcp.1m',
      fromMs: 0,
      toMs: T0 + DAY_MS,
      windowSizeMs: MINUTE_MS,
    });
    assert.deepEqual(
      rolled.points.map((point) => point.values.count),
      [180],
    );
    await store.close();
  });

  it('stops a downsampled read at the scan limit without returning a partial bucket', async () => {
    const store = openStore({ limits: { maxRowsScannedPerQuery: 8 } });
    await store.writeAggregates(
      Array.from({ length: 12 }, (_, i) => window10s(T0 + i * 10_000, { count: 1 })),
    );
    const result = await store.queryRange({
      metric: 'edge.tcp',
      fromMs: T0,
      toMs: T0 + 2 * MINUTE_MS,
      windowSizeMs: 10_000,
      stepMs: MINUTE_MS,
    });
    assert.equal(result.truncated, true);
    assert.deepEqual(
      result.points.map((point) => [point.windowStartMs - T0, point.values.count]),
      [[0, 6]],
    );
    await store.close();
  });

  it('spreads a large rollup over calls within the row budget with the same result as one call', async () => {
    const store = openStore({ downsampleTiers: tiers, limits: { maxRowsPerMaintain: 3 } });
    await writeMinute(store, T0);
    const first = await store.maintain(T0 + MINUTE_MS + HOUR_MS);
    assert.equal(first.rowsRolledUp, 3);
    assert.equal(first.pending, true);
    const second = await store.maintain(T0 + MINUTE_MS + HOUR_MS);
    assert.equal(second.rowsRolledUp, 2);
    assert.equal(second.pending, false);
    const rolled = await store.queryRange({
      metric: 'edge.tcp',
      fromMs: 0,
      toMs: T0 + DAY_MS,
      windowSizeMs: 10_000,
    });
    assert.equal(rolled.points.length, 1);
    assertValuesClose(rolled.points[0]?.values, expectedMinute);
    await store.close();
  });

  it('deletes aggregates, alert events and ended silences beyond retention', async () => {
    const store = openStore({
      downsampleTiers: [],
      aggregateRetentionMs: DAY_MS,
      alertRetentionMs: 2 * DAY_MS,
    });
    await writeMinute(store, T0);
    await writeMinute(store, T0 + DAY_MS);
    await store.appendAlertEvents([alertEvent('firing', T0), alertEvent('resolved', T0 + 3 * DAY_MS)]);
    await store.createSilence({ ...silenceInput(T0), endsAtMs: T0 + MINUTE_MS });
    const result = await store.maintain(T0 + DAY_MS + 30 * MINUTE_MS);
    assert.equal(result.aggregatesDeleted, 5);
    assert.equal(result.alertEventsDeleted, 0);
    const left = await store.queryRange({
      metric: 'edge.tcp',
      fromMs: 0,
      toMs: T0 + 2 * DAY_MS,
      windowSizeMs: 10_000,
    });
    assert.equal(left.points.length, 5);
    assert.ok(left.points.every((point) => point.windowStartMs >= T0 + DAY_MS));

    const later = await store.maintain(T0 + 2 * DAY_MS + HOUR_MS);
    assert.equal(later.aggregatesDeleted, 5);
    assert.equal(later.alertEventsDeleted, 1);
    assert.equal(later.silencesDeleted, 1);
    await store.close();
  });

  it('rejects tiers that do not nest', () => {
    assert.throws(
      () =>
        openStore({
          downsampleTiers: [
            { olderThanMs: HOUR_MS, bucketMs: MINUTE_MS },
            { olderThanMs: DAY_MS, bucketMs: 90_000 },
          ],
        }),
      /must be a multiple of 60000/,
    );
  });
});

function alertEvent(
  state: AlertEvent['state'],
  atMs: number,
  labels: Record<string, string> = { edge: 'edge-17', severity: 'page' },
): AlertEvent {
  return {
    fingerprint: `retransmits:${labels.edge}`,
    rule: 'RetransmitStorm',
    state,
    atMs,
    value: state === 'resolved' ? 12 : 812,
    labels,
    annotations: { summary: `retransmits on ${labels.edge}` },
  };
}

function silenceInput(nowMs: number) {
  return {
    matchers: [{ name: 'edge', value: 'edge-17', op: '=' as const }],
    startsAtMs: nowMs,
    endsAtMs: nowMs + HOUR_MS,
    createdBy: 'oncall@example.com',
    comment: 'maintenance on edge-17',
    createdAtMs: nowMs,
  };
}

describe('SqliteAggregateStore alerts and silences', () => {
  it('appends alert transitions and queries them by time, state, labels and fingerprint', async () => {
    const store = openStore();
    await store.appendAlertEvents([
      alertEvent('pending', T0),
      alertEvent('firing', T0 + 10_000),
      alertEvent('pending', T0 + 15_000, { edge: 'edge-3', severity: 'ticket' }),
      alertEvent('resolved', T0 + MINUTE_MS),
    ]);
    const all = await store.queryAlertEvents({ fromMs: T0, toMs: T0 + HOUR_MS });
    assert.deepEqual(
      all.events.map((event) => [event.state, event.labels.edge]),
      [
        ['pending', 'edge-17'],
        ['firing', 'edge-17'],
        ['pending', 'edge-3'],
        ['resolved', 'edge-17'],
      ],
    );
    assert.deepEqual(all.events[1], {
      ...alertEvent('firing', T0 + 10_000),
      id: all.events[1]!.id,
    });

    const firingOrResolved = await store.queryAlertEvents({
      fromMs: T0,
      toMs: T0 + HOUR_MS,
      states: ['firing', 'resolved'],
      labels: { edge: 'edge-17' },
    });
    assert.deepEqual(
      firingOrResolved.events.map((event) => event.state),
      ['firing', 'resolved'],
    );
    const bySeverity = await store.queryAlertEvents({
      fromMs: T0,
      toMs: T0 + HOUR_MS,
      labels: { severity: 'ticket' },
    });
    assert.deepEqual(
      bySeverity.events.map((event) => event.labels.edge),
      ['edge-3'],
    );
    const byFingerprint = await store.queryAlertEvents({
      fromMs: T0 + 5_000,
      toMs: T0 + MINUTE_MS,
      fingerprint: 'retransmits:edge-17',
    });
    assert.deepEqual(
      byFingerprint.events.map((event) => event.state),
      ['firing'],
    );
    const limited = await store.queryAlertEvents({ fromMs: T0, toMs: T0 + HOUR_MS, limit: 2 });
    assert.equal(limited.events.length, 2);
    assert.equal(limited.truncated, true);
    await rejectsWith(
      store.appendAlertEvents([{ ...alertEvent('firing', T0), value: Number.NaN }]),
      'INVALID_ARGUMENT',
    );
    await store.close();
  });

  it('creates, lists by status and expires silences', async () => {
    const store = openStore();
    const active = await store.createSilence(silenceInput(T0));
    const future = await store.createSilence({ ...silenceInput(T0 + HOUR_MS), comment: 'later' });
    const ended = await store.createSilence({ ...silenceInput(T0 - 2 * HOUR_MS), comment: 'over' });
    const ids = async (status?: 'pending' | 'active' | 'expired') =>
      (await store.listSilences({ nowMs: T0 + MINUTE_MS, ...(status ? { status } : {}) })).silences.map(
        (s) => s.id,
      );

    assert.deepEqual(await ids('active'), [active.id]);
    assert.deepEqual(await ids('pending'), [future.id]);
    assert.deepEqual(await ids('expired'), [ended.id]);
    assert.deepEqual(await ids(), [ended.id, active.id, future.id]);
    const listed = await store.listSilences({ nowMs: T0, status: 'active' });
    assert.deepEqual(listed.silences[0], active);

    assert.equal(await store.expireSilence(active.id, T0 + MINUTE_MS), true);
    assert.equal(await store.expireSilence(active.id, T0 + MINUTE_MS), false);
    assert.equal(await store.expireSilence('no-such-silence', T0), false);
    assert.deepEqual(await ids('active'), []);
    assert.deepEqual(await ids('expired'), [ended.id, active.id]);

    await rejectsWith(
      store.createSilence({ ...silenceInput(T0), matchers: [] }),
      'INVALID_ARGUMENT',
      'matchers',
    );
    await rejectsWith(
      store.createSilence({ ...silenceInput(T0), matchers: [{ name: 'edge', value: '(', op: '=~' }] }),
      'INVALID_ARGUMENT',
      'regex',
    );
    await store.close();
  });
});

describe('SqliteAggregateStore files', () => {
  it('keeps aggregates, alerts, silences and downsampling watermarks across reopen', async () => {
    const file = freshPath();
    const options = { path: file, downsampleTiers: [{ olderThanMs: HOUR_MS, bucketMs: MINUTE_MS }] };
    const first = SqliteAggregateStore.open(options);
    await first.writeAggregates([window10s(T0, { count: 4 }), window10s(T0 + 10_000, { count: 6 })]);
    await first.appendAlertEvents([alertEvent('firing', T0)]);
    const silence = await first.createSilence(silenceInput(T0));
    await first.maintain(T0 + MINUTE_MS + HOUR_MS);
    await first.close();

    const second = SqliteAggregateStore.open(options);
    const points = await second.queryRange({
      metric: 'edge.tcp',
      fromMs: 0,
      toMs: T0 + DAY_MS,
      windowSizeMs: 10_000,
    });
    assert.deepEqual(
      points.points.map((point) => point.values.count),
      [10],
    );
    assert.equal((await second.queryAlertEvents({ fromMs: 0, toMs: T0 + 1 })).events.length, 1);
    assert.deepEqual((await second.listSilences({ nowMs: T0, status: 'active' })).silences, [silence]);
    const replay = await second.writeAggregates([window10s(T0, { count: 4 })]);
    assert.equal(replay.ignoredTooOld, 1);
    await second.writeAggregates([window10s(T0 + DAY_MS, { count: 1 }, { edge: 'edge-new' })]);
    await second.close();
  });

  it('names the path when the file is not a database', () => {
    const file = freshPath();
    fs.writeFileSync(file, Buffer.alloc(8192, 'garbage! '));
    assert.throws(
      () => SqliteAggregateStore.open({ path: file }),
      (error: unknown) =>
        error instanceof StoreError && error.code === 'CORRUPT_DATABASE' && error.message.includes(file),
    );
  });

  it('names the path when the database cannot be opened for writing', () => {
    const directory = path.join(baseDir, 'a-directory.db');
    fs.mkdirSync(directory);
    assert.throws(
      () => SqliteAggregateStore.open({ path: directory }),
      (error: unknown) =>
        error instanceof StoreError &&
        error.code === 'DATABASE_UNWRITABLE' &&
        error.message.includes(directory),
    );
  });

  it('refuses a schema version newer than it understands', async () => {
    const file = freshPath();
    await SqliteAggregateStore.open({ path: file }).close();
    const raw = new Database(file);
    raw.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
    raw.close();
    assert.throws(
      () => SqliteAggregateStore.open({ path: file }),
      (error: unknown) =>
        error instanceof StoreError &&
        error.code === 'SCHEMA_TOO_NEW' &&
        error.message.includes(file) &&
        error.message.includes(`version ${SCHEMA_VERSION + 1}`),
    );
  });

  it('refuses a SQLite database that is not a store', () => {
    const file = freshPath();
    const raw = new Database(file);
    raw.exec('CREATE TABLE something_else (x INTEGER)');
    raw.close();
    assert.throws(
      () => SqliteAggregateStore.open({ path: file }),
      /CORRUPT_DATABASE: .*not an Edgestream store/,
    );
  });
});
