import { h, replaceChildren, throttled } from '../dom.js';
import { type Fleet, field, type Health, type Series } from '../fleet.js';
import { millis, percent } from '../format.js';
import type { View, ViewContext } from '../view.js';

const RENDER_INTERVAL_MS = 1_000;

const HEALTH_LABEL: Readonly<Record<Health, string>> = {
  firing: 'FIRING',
  pending: 'PENDING',
  silenced: 'SILENCED',
  healthy: 'OK',
};

/** Sites and edge servers as tiles coloured by health, worst offenders first. */
export function mountOverview(container: HTMLElement, context: ViewContext): View {
  const summary = h('div', { class: 'summary' });
  const sites = h('div', { class: 'tiles tiles-sites', 'data-testid': 'site-tiles' });
  const edges = h('div', { class: 'tiles tiles-edges', 'data-testid': 'edge-tiles' });
  const status = h('p', { class: 'status' });
  replaceChildren(
    container,
    h(
      'section',
      { class: 'page overview' },
      summary,
      status,
      h('h2', {}, 'Sites'),
      sites,
      h('h2', {}, 'Edge servers'),
      edges,
    ),
  );
  const render = () => {
    const { fleet } = context;
    const siteList = fleet.ranked('site');
    const edgeList = fleet.ranked('edge');
    replaceChildren(summary, ...summaryCards(fleet, siteList, edgeList));
    status.textContent =
      fleet.loadError ?? (edgeList.length === 0 ? 'Waiting for the first window results…' : '');
    replaceChildren(sites, ...siteList.map((series) => tile(fleet, series, context)));
    replaceChildren(edges, ...edgeList.map((series) => tile(fleet, series, context)));
  };
  const scheduleRender = throttled(render, RENDER_INTERVAL_MS);
  const unsubscribe = context.fleet.onChange(scheduleRender);
  render();
  return { destroy: unsubscribe };
}

function summaryCards(fleet: Fleet, sites: Series[], edges: Series[]): HTMLElement[] {
  const firing = fleet.alerts.filter((alert) => alert.state === 'firing' && alert.silencedBy === null).length;
  const pending = fleet.alerts.filter(
    (alert) => alert.state === 'pending' && alert.silencedBy === null,
  ).length;
  const silenced = fleet.alerts.filter((alert) => alert.silencedBy !== null).length;
  const card = (label: string, value: number, tone: string) =>
    h(
      'div',
      { class: `summary-card tone-${tone}` },
      h('span', { class: 'value' }, String(value)),
      h('span', { class: 'label' }, label),
    );
  return [
    card('sites', sites.length, 'neutral'),
    card('edge servers', edges.length, 'neutral'),
    card('firing', firing, firing > 0 ? 'firing' : 'healthy'),
    card('pending', pending, pending > 0 ? 'pending' : 'neutral'),
    card('silenced', silenced, silenced > 0 ? 'silenced' : 'neutral'),
  ];
}

function tile(fleet: Fleet, series: Series, context: ViewContext): HTMLElement {
  const health = fleet.health(series);
  const href = `/charts?${series.dimension}=${encodeURIComponent(series.id)}`;
  const alertNames = [...new Set(fleet.alertsOf(series).map((alert) => alert.rule))];
  return h(
    'a',
    {
      class: 'tile',
      href,
      'data-kind': series.dimension,
      'data-id': series.id,
      'data-health': health,
      title: `${series.id}: open its charts`,
      onclick: (event: Event) => {
        event.preventDefault();
        context.navigate(href);
      },
    },
    h(
      'div',
      { class: 'tile-head' },
      h('span', { class: 'tile-name' }, series.id),
      h('span', { class: 'tile-health' }, HEALTH_LABEL[health]),
    ),
    series.dimension === 'edge' ? h('div', { class: 'tile-site' }, series.site) : null,
    h(
      'dl',
      { class: 'tile-metrics' },
      metric('retrans', percent(field(series, 'tcp', 'retransmit_pct'))),
      metric('5xx', percent(field(series, 'qoe', 'error_pct'))),
      metric('p95', millis(field(series, 'qoe', 'download_p95_ms'))),
      metric('rebuffer', percent(field(series, 'qoe', 'rebuffer_pct'))),
    ),
    alertNames.length > 0 ? h('div', { class: 'tile-alerts' }, alertNames.join(', ')) : null,
  );
}

function metric(label: string, value: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  fragment.append(h('dt', {}, label), h('dd', {}, value));
  return fragment;
}
