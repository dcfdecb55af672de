import { h, replaceChildren, throttled } from '../dom.js';
import { type Fleet, field, HEALTH_LABEL, type Series } from '../fleet.js';
import { millis, percent } from '../format.js';
import { chartsPath, link, type View, type ViewContext } from '../view.js';
import { streamsTable } from './streams.js';

const RENDER_INTERVAL_MS = 1_000;

/** Sites and edge servers as tiles coloured by health, streams as a table, worst offenders first. */
export function mountOverview(container: HTMLElement, context: ViewContext): View {
  const summary = h('div', { class: 'summary' });
  const sites = h('div', { class: 'tiles tiles-sites', 'data-testid': 'site-tiles' });
  const streams = h('div', { class: 'streams' });
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
      h('h2', {}, 'Streams'),
      streams,
      h('h2', {}, 'Edge servers'),
      edges,
    ),
  );
  const render = () => {
    const { fleet } = context;
    const siteList = fleet.ranked('site');
    const edgeList = fleet.ranked('edge');
    const streamList = fleet.ranked('stream');
    replaceChildren(summary, ...summaryCards(fleet, siteList, edgeList, streamList));
    status.textContent =
      fleet.loadError ?? (edgeList.length === 0 ? 'Waiting for the first window results…' : '');
    replaceChildren(sites, ...siteList.map((series) => tile(fleet, series, context)));
    replaceChildren(streams, streamsTable(fleet, streamList, context));
    replaceChildren(edges, ...edgeList.map((series) => tile(fleet, series, context)));
  };
  const scheduleRender = throttled(render, RENDER_INTERVAL_MS);
  const unsubscribe = context.fleet.onChange(scheduleRender);
  render();
  return { destroy: unsubscribe };
}

function summaryCards(fleet: Fleet, sites: Series[], edges: Series[], streams: Series[]): HTMLElement[] {
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
    card('streams', streams.length, 'neutral'),
    card('firing', firing, firing > 0 ? 'firing' : 'healthy'),
    card('pending', pending, pending > 0 ? 'pending' : 'neutral'),
    card('silenced', silenced, silenced > 0 ? 'silenced' : 'neutral'),
  ];
}

function tile(fleet: Fleet, series: Series, context: ViewContext): HTMLElement {
  const health = fleet.health(series);
  const alertNames = fleet.alertRules(series);
  return link(
    context,
    chartsPath(series),
    {
      class: 'tile',
      'data-kind': series.dimension,
      'data-id': series.id,
      'data-health': health,
      title: `${series.id}: open its charts`,
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
