import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import type {
  AlertEvent,
  AlertEventQuery,
  AlertEventResult,
  AlertState,
  NewSilence,
  Silence,
  SilenceQuery,
  SilenceResult,
  StoredAlertEvent,
} from './types.js';
import {
  checkAlertEvent,
  checkLabels,
  checkResultSize,
  checkSilence,
  checkTime,
  type StoreLimits,
} from './validation.js';

interface AlertEventRow {
  id: number;
  fingerprint: string;
  rule: string;
  state: AlertState;
  atMs: number;
  value: number | null;
  labelsJson: string;
  annotationsJson: string;
}

interface SilenceRow {
  id: string;
  matchersJson: string;
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
  createdAtMs: number;
}

/** Alert transitions and silences in the store's SQLite file; callers map SQLite errors. */
export class SqliteAlertHistory {
  private readonly statements;

  constructor(
    private readonly db: Database.Database,
    private readonly limits: StoreLimits,
  ) {
    this.statements = {
      insertEvent: db.prepare(`
        INSERT INTO alert_event (fingerprint, rule, state, at_ms, value, labels_json, annotations_json)
        VALUES (@fingerprint, @rule, @state, @atMs, @value, @labelsJson, @annotationsJson)`),
      // Optional filters are NULL or JSON so one prepared statement serves every combination.
      events: db.prepare(`
        SELECT id, fingerprint, rule, state, at_ms AS atMs, value, labels_json AS labelsJson,
          annotations_json AS annotationsJson
        FROM alert_event e
        WHERE e.at_ms >= @fromMs AND e.at_ms < @toMs
          AND (@states IS NULL OR e.state IN (SELECT value FROM json_each(@states)))
          AND (@fingerprint IS NULL OR e.fingerprint = @fingerprint)
          AND (@rule IS NULL OR e.rule = @rule)
          AND NOT EXISTS (SELECT 1 FROM json_each(@labels) f
            WHERE json_extract(e.labels_json, '$.' || f.key) IS NOT f.value)
        ORDER BY e.at_ms, e.id
        LIMIT @limit`),
      insertSilence: db.prepare(`
        INSERT INTO silence (id, matchers_json, starts_at_ms, ends_at_ms, created_by, comment, created_at_ms)
        VALUES (@id, @matchersJson, @startsAtMs, @endsAtMs, @createdBy, @comment, @createdAtMs)`),
      upsertSilence: db.prepare(`
        INSERT INTO silence (id, matchers_json, starts_at_ms, ends_at_ms, created_by, comment, created_at_ms)
        VALUES (@id, @matchersJson, @startsAtMs, @endsAtMs, @createdBy, @comment, @createdAtMs)
        ON CONFLICT (id) DO UPDATE SET ends_at_ms = min(ends_at_ms, excluded.ends_at_ms),
          starts_at_ms = min(starts_at_ms, excluded.starts_at_ms)`),
      silences: db.prepare(`
        SELECT id, matchers_json AS matchersJson, starts_at_ms AS startsAtMs, ends_at_ms AS endsAtMs,
          created_by AS createdBy, comment, created_at_ms AS createdAtMs
        FROM silence
        WHERE CASE @status
          WHEN 'pending' THEN starts_at_ms > @nowMs
          WHEN 'active' THEN starts_at_ms <= @nowMs AND ends_at_ms > @nowMs
          WHEN 'expired' THEN ends_at_ms <= @nowMs
          ELSE 1 END
        ORDER BY starts_at_ms, id
        LIMIT @limit`),
      expireSilence: db.prepare<{ id: string; nowMs: number }>(`
        UPDATE silence SET ends_at_ms = @nowMs, starts_at_ms = min(starts_at_ms, @nowMs)
        WHERE id = @id AND ends_at_ms > @nowMs`),
      deleteEvents: db.prepare<[number]>('DELETE FROM alert_event WHERE at_ms < ?'),
      deleteSilences: db.prepare<[number]>('DELETE FROM silence WHERE ends_at_ms < ?'),
    };
  }

  append(events: readonly AlertEvent[]): void {
    if (events.length > this.limits.maxAlertEventsPerAppend) {
      throw new StoreError(
        'LIMIT_EXCEEDED',
        `${events.length} alert events in one append, at most ${this.limits.maxAlertEventsPerAppend}`,
      );
    }
    for (const event of events) checkAlertEvent(event, this.limits);
    this.db.transaction(() => {
      for (const event of events) {
        this.statements.insertEvent.run({
          fingerprint: event.fingerprint,
          rule: event.rule,
          state: event.state,
          atMs: event.atMs,
          value: event.value,
          labelsJson: JSON.stringify(event.labels),
          annotationsJson: JSON.stringify(event.annotations),
        });
      }
    })();
  }

  query(query: AlertEventQuery): AlertEventResult {
    checkTime('fromMs', query.fromMs);
    checkTime('toMs', query.toMs);
    checkLabels('label', query.labels ?? {}, this.limits.maxLabelsPerAlert, this.limits);
    const limit = checkResultSize(query.limit, this.limits);
    const rows = this.statements.events.all({
      fromMs: query.fromMs,
      toMs: query.toMs,
      states: query.states === undefined ? null : JSON.stringify(query.states),
      fingerprint: query.fingerprint ?? null,
      rule: query.rule ?? null,
      labels: JSON.stringify(query.labels ?? {}),
      limit: limit + 1,
    }) as AlertEventRow[];
    const events = rows.slice(0, limit).map(
      (row): StoredAlertEvent => ({
        id: row.id,
        fingerprint: row.fingerprint,
        rule: row.rule,
        state: row.state,
        atMs: row.atMs,
        value: row.value,
        labels: JSON.parse(row.labelsJson) as Record<string, string>,
        annotations: JSON.parse(row.annotationsJson) as Record<string, string>,
      }),
    );
    return { events, truncated: rows.length > limit };
  }

  createSilence(silence: NewSilence): Silence {
    checkSilence(silence, this.limits);
    const stored: Silence = {
      id: randomUUID(),
      matchers: silence.matchers.map((matcher) => ({ ...matcher })),
      startsAtMs: silence.startsAtMs,
      endsAtMs: silence.endsAtMs,
      createdBy: silence.createdBy,
      comment: silence.comment,
      createdAtMs: silence.createdAtMs,
    };
    this.statements.insertSilence.run({ ...stored, matchersJson: JSON.stringify(stored.matchers) });
    return stored;
  }

  /**
   * Stores a silence created elsewhere (another node of the site) under its own id. Seen again, it can only
   * end earlier: an expiry travels as the same silence with its end moved to when it was expired.
   */
  putSilence(silence: Silence): void {
    checkSilence(silence, this.limits);
    this.statements.upsertSilence.run({ ...silence, matchersJson: JSON.stringify(silence.matchers) });
  }

  listSilences(query: SilenceQuery): SilenceResult {
    checkTime('nowMs', query.nowMs);
    const limit = checkResultSize(query.limit, this.limits);
    const rows = this.statements.silences.all({
      status: query.status ?? null,
      nowMs: query.nowMs,
      limit: limit + 1,
    }) as SilenceRow[];
    const silences = rows.slice(0, limit).map(
      (row): Silence => ({
        id: row.id,
        matchers: JSON.parse(row.matchersJson) as Silence['matchers'],
        startsAtMs: row.startsAtMs,
        endsAtMs: row.endsAtMs,
        createdBy: row.createdBy,
        comment: row.comment,
        createdAtMs: row.createdAtMs,
      }),
    );
    return { silences, truncated: rows.length > limit };
  }

  expireSilence(id: string, nowMs: number): boolean {
    checkTime('nowMs', nowMs);
    return this.statements.expireSilence.run({ id, nowMs }).changes === 1;
  }

  /** Deletes events from before cutoffMs and silences that ended before it. */
  deleteOlderThan(cutoffMs: number): { alertEventsDeleted: number; silencesDeleted: number } {
    return this.db.transaction(() => ({
      alertEventsDeleted: this.statements.deleteEvents.run(cutoffMs).changes,
      silencesDeleted: this.statements.deleteSilences.run(cutoffMs).changes,
    }))();
  }
}
