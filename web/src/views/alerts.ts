import {
  type ActiveAlert,
  type AlertEvent,
  alertHistory,
  createSilence,
  expireSilence,
  type Silence,
  silences,
} from '../api.js';
import { h, replaceChildren, throttled } from '../dom.js';
import { alertValue, dateTime, duration } from '../format.js';
import { seriesTitle, subjectOf } from '../metrics.js';
import { chartsPath, link, type View, type ViewContext } from '../view.js';

const SILENCE_DURATIONS: ReadonlyArray<{ label: string; ms: number }> = [
  { label: '15 min', ms: 15 * 60_000 },
  { label: '1 h', ms: 60 * 60_000 },
  { label: '4 h', ms: 4 * 60 * 60_000 },
  { label: '24 h', ms: 24 * 60 * 60_000 },
];
const DEFAULT_SILENCE_MS = 60 * 60_000;
const HISTORY_RANGE_MS = 24 * 60 * 60_000;
/** Resolved transitions read per refresh; the history is read forward from the newest one seen. */
const HISTORY_PAGE = 1_000;
/** Resolved alerts shown at most; the history API holds more. */
const RESOLVED_SHOWN = 50;
/** History and silences are re-read this often; active alerts follow the live stream. */
const REFRESH_MS = 5_000;
const RENDER_INTERVAL_MS = 500;
/** Cards drawn per section at most, so an alert storm across the fleet cannot stall the page. */
const MAX_CARDS_PER_SECTION = 200;
/** The API's limit for a silence comment. */
const MAX_COMMENT_CHARS = 1024;

/** Firing, pending, silenced and resolved alerts with their details; silences can be made and expired here. */
export function mountAlerts(container: HTMLElement, context: ViewContext): View {
  let silenceList: Silence[] = [];
  let resolved: AlertEvent[] = [];
  let resolvedSinceMs = Date.now() - HISTORY_RANGE_MS;
  let error: string | null = null;
  /** What the page shows now; a refresh that changes nothing leaves the DOM (and open pickers) alone. */
  let shownSignature = '';
  /** The silence duration picked per alert, kept across re-renders. */
  const pickedDurationMs = new Map<string, number>();
  const status = h('p', { class: 'status', role: 'status' });
  const body = h('div', { class: 'alert-sections' });
  const viewOnly = context.canSilence
    ? null
    : h(
        'p',
        { class: 'muted view-only' },
        'View only: creating and expiring silences needs the operator role.',
      );
  replaceChildren(container, h('section', { class: 'page alerts-page' }, status, viewOnly, body));

  const render = () => {
    const alerts = context.fleet.alerts;
    const signature = JSON.stringify([alerts, silenceList, resolved, error, context.fleet.loadError]);
    if (signature === shownSignature) return;
    shownSignature = signature;
    const unsilenced = alerts.filter((alert) => alert.silencedBy === null);
    status.textContent = error ?? context.fleet.loadError ?? '';
    replaceChildren(
      body,
      section(
        'Firing',
        'firing',
        unsilenced.filter((alert) => alert.state === 'firing'),
        activeCard,
      ),
      section(
        'Pending',
        'pending',
        unsilenced.filter((alert) => alert.state === 'pending'),
        activeCard,
      ),
      section(
        'Silenced',
        'silenced',
        alerts.filter((alert) => alert.silencedBy !== null),
        activeCard,
      ),
      section(
        'Silences',
        'silences',
        silenceList.filter((silence) => silence.status !== 'expired'),
        silenceCard,
      ),
      section('Resolved (last 24 h)', 'resolved', resolved, (event) => resolvedCard(event, context)),
    );
  };
  const scheduleRender = throttled(render, RENDER_INTERVAL_MS);

  const refresh = async () => {
    try {
      const [silenceResponse, history] = await Promise.all([
        silences(),
        alertHistory({ fromMs: resolvedSinceMs, state: 'resolved', limit: HISTORY_PAGE }),
      ]);
      silenceList = silenceResponse.silences;
      const known = new Set(resolved.map((event) => event.id));
      const oldestMs = Date.now() - HISTORY_RANGE_MS;
      resolved = [...resolved, ...history.events.filter((event) => !known.has(event.id))]
        .filter((event) => event.atMs >= oldestMs)
        .sort((a, b) => b.atMs - a.atMs)
        .slice(0, RESOLVED_SHOWN);
      // The next read starts at the newest event seen (same-millisecond events are told apart by id); a
      // truncated page is followed by the next one on the following refresh.
      resolvedSinceMs = history.events.reduce(
        (newest, event) => Math.max(newest, event.atMs),
        resolvedSinceMs,
      );
      error = null;
    } catch (caught) {
      error = `Could not load silences or history: ${messageOf(caught)}`;
    }
    scheduleRender();
  };

  const activeCard = (alert: ActiveAlert) => {
    const durationSelect = h(
      'select',
      {
        class: 'silence-duration',
        'aria-label': 'silence for',
        onchange: () => pickedDurationMs.set(alert.fingerprint, Number(durationSelect.value)),
      },
      ...SILENCE_DURATIONS.map((choice) =>
        h(
          'option',
          {
            value: choice.ms,
            selected: choice.ms === (pickedDurationMs.get(alert.fingerprint) ?? DEFAULT_SILENCE_MS),
          },
          choice.label,
        ),
      ),
    );
    const silenceButton = h(
      'button',
      {
        type: 'button',
        class: 'silence',
        onclick: async () => {
          silenceButton.disabled = true;
          try {
            await silence(alert, Number(durationSelect.value));
            await Promise.all([context.fleet.reloadAlerts(), refresh()]);
          } catch (caught) {
            error = `Could not silence ${alert.rule}: ${messageOf(caught)}`;
            silenceButton.disabled = false;
            scheduleRender();
          }
        },
      },
      'Silence',
    );
    const actions =
      alert.silencedBy !== null
        ? h(
            'div',
            { class: 'actions' },
            h('span', { class: 'muted' }, `silenced by ${alert.silencedBy.slice(0, 8)}`),
          )
        : context.canSilence
          ? h('div', { class: 'actions' }, durationSelect, silenceButton)
          : null;
    return card(
      context,
      {
        fingerprint: alert.fingerprint,
        rule: alert.rule,
        state: alert.state,
        silenced: alert.silencedBy !== null,
        value: alert.value,
        atLabel: `since ${dateTime(alert.sinceMs)} (${duration(Date.now() - alert.sinceMs)})`,
        labels: alert.labels,
        annotations: alert.annotations,
      },
      actions,
    );
  };

  const silenceCard = (item: Silence) => {
    const expireButton = h(
      'button',
      {
        type: 'button',
        class: 'expire',
        onclick: async () => {
          expireButton.disabled = true;
          try {
            await expireSilence(item.id);
            await Promise.all([context.fleet.reloadAlerts(), refresh()]);
          } catch (caught) {
            error = `Could not expire the silence: ${messageOf(caught)}`;
            expireButton.disabled = false;
            scheduleRender();
          }
        },
      },
      'Expire',
    );
    const nowMs = Date.now();
    const timing =
      item.status === 'pending'
        ? `starts in ${duration(item.startsAtMs - nowMs)}`
        : `ends in ${duration(item.endsAtMs - nowMs)} (${dateTime(item.endsAtMs)})`;
    return h(
      'article',
      { class: 'card silence-card', 'data-silence': item.id, 'data-status': item.status },
      h(
        'div',
        { class: 'card-head' },
        h('span', { class: 'card-title' }, `Silence ${item.id.slice(0, 8)}`),
        h('span', { class: 'state', 'data-state': 'silenced' }, item.status.toUpperCase()),
      ),
      h(
        'div',
        { class: 'labels' },
        ...item.matchers.map((m) => h('span', { class: 'chip' }, `${m.label}${m.op}${m.value}`)),
      ),
      h(
        'p',
        { class: 'meta' },
        `${timing} · by ${item.createdBy}${item.source === 'config' ? ' · from config' : ''}`,
      ),
      item.comment ? h('p', { class: 'annotation' }, item.comment) : null,
      item.source === 'store' && context.canSilence ? h('div', { class: 'actions' }, expireButton) : null,
    );
  };

  const unsubscribeFleet = context.fleet.onAlertsChange(scheduleRender);
  const unsubscribeLive = context.live.subscribe({
    alert: () => void refresh(),
    resync: () => void refresh(),
  });
  const timer = window.setInterval(() => void refresh(), REFRESH_MS);
  render();
  void refresh();
  return {
    destroy: () => {
      unsubscribeFleet();
      unsubscribeLive();
      window.clearInterval(timer);
    },
  };
}

/** A silence matching exactly this alert: every one of its labels, as Alertmanager's "silence" button does. */
async function silence(alert: ActiveAlert, forMs: number): Promise<void> {
  const nowMs = Date.now();
  const summary = alert.annotations.summary ?? alert.rule;
  await createSilence({
    matchers: Object.entries(alert.labels).map(([label, value]) => ({ label, op: '=', value })),
    startsAtMs: nowMs,
    endsAtMs: nowMs + forMs,
    createdBy: 'dashboard',
    comment: `Silenced from the dashboard: ${summary}`.slice(0, MAX_COMMENT_CHARS),
  });
}

function section<T>(
  title: string,
  kind: string,
  items: readonly T[],
  toCard: (item: T) => HTMLElement,
): HTMLElement {
  const shown = items.slice(0, MAX_CARDS_PER_SECTION);
  return h(
    'section',
    { class: 'alert-section', 'data-section': kind },
    h('h2', {}, title, h('span', { class: 'count' }, String(items.length))),
    shown.length > 0
      ? h('div', { class: 'cards' }, ...shown.map(toCard))
      : h('p', { class: 'muted empty' }, 'None'),
    items.length > shown.length
      ? h('p', { class: 'muted' }, `${items.length - shown.length} more not shown`)
      : null,
  );
}

interface CardFields {
  fingerprint: string;
  rule: string;
  state: string;
  silenced: boolean;
  value: number | null;
  atLabel: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function card(context: ViewContext, fields: CardFields, actions: HTMLElement | null): HTMLElement {
  const { labels, annotations } = fields;
  const shownLabels = Object.entries(labels).filter(([name]) => name !== 'alertname');
  const subject = subjectOf(labels);
  return h(
    'article',
    {
      class: 'card alert-card',
      'data-fingerprint': fields.fingerprint,
      'data-rule': fields.rule,
      'data-state': fields.state,
      'data-silenced': String(fields.silenced),
    },
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'card-title' }, fields.rule),
      h(
        'span',
        { class: 'state', 'data-state': fields.silenced ? 'silenced' : fields.state },
        fields.silenced ? `${fields.state.toUpperCase()} · SILENCED` : fields.state.toUpperCase(),
      ),
    ),
    subject === null
      ? null
      : link(
          context,
          chartsPath(subject),
          { class: 'subject', 'data-dimension': subject.dimension, title: 'open its charts' },
          seriesTitle(subject),
        ),
    annotations.summary ? h('p', { class: 'summary-line' }, annotations.summary) : null,
    annotations.description ? h('p', { class: 'annotation' }, annotations.description) : null,
    h(
      'div',
      { class: 'labels' },
      ...shownLabels.map(([name, value]) => h('span', { class: 'chip' }, `${name}=${value}`)),
    ),
    h('p', { class: 'meta' }, `value ${alertValue(fields.value)} · ${fields.atLabel}`),
    actions,
  );
}

function resolvedCard(event: AlertEvent, context: ViewContext): HTMLElement {
  return card(
    context,
    {
      fingerprint: event.fingerprint,
      rule: event.rule,
      state: 'resolved',
      silenced: false,
      value: event.value,
      atLabel: `resolved ${dateTime(event.atMs)} (${duration(Date.now() - event.atMs)} ago)`,
      labels: event.labels,
      annotations: event.annotations,
    },
    null,
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
