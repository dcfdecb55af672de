import './styles.css';
import { Fleet } from './fleet.js';
import { LiveConnection, type LiveState } from './live.js';
import { metricName } from './metrics.js';
import type { View, ViewContext } from './view.js';
import { mountAlerts } from './views/alerts.js';
import { mountBroker } from './views/broker.js';
import { mountCharts } from './views/charts.js';
import { mountOverview } from './views/overview.js';

const LIVE_STATE_LABEL: Readonly<Record<LiveState, string>> = {
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting…',
};

type Route = 'overview' | 'charts' | 'alerts' | 'broker';

function routeOf(pathname: string): Route {
  if (pathname.startsWith('/charts')) return 'charts';
  if (pathname.startsWith('/alerts')) return 'alerts';
  if (pathname.startsWith('/broker')) return 'broker';
  return 'overview';
}

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`index.html has no #${id}`);
  return found;
}

/**
 * One stream with the metrics the dashboard shows (10 s windows of both families, per edge server and per site)
 * and alert transitions: the 1 s and 1 min windows would be most of the traffic and are never drawn.
 */
const LIVE_METRICS = (['edge', 'site'] as const).flatMap((dimension) =>
  (['tcp', 'qoe'] as const).map((family) => metricName(dimension, family)),
);
const LIVE_URLS = [`/api/live?types=window,alert&metric=${LIVE_METRICS.join(',')}`];

const live = new LiveConnection(LIVE_URLS);
const fleet = new Fleet(live);
const viewRoot = element('view');
let current: View | null = null;

const context: ViewContext = {
  fleet,
  live,
  navigate(path: string) {
    if (path !== `${location.pathname}${location.search}`) history.pushState(null, '', path);
    show();
  },
};

function show(): void {
  current?.destroy();
  const route = routeOf(location.pathname);
  for (const tab of document.querySelectorAll<HTMLElement>('[data-tab]'))
    tab.setAttribute('aria-current', String(tab.dataset.tab === route));
  const query = new URLSearchParams(location.search);
  current =
    route === 'charts'
      ? mountCharts(viewRoot, context, query)
      : route === 'alerts'
        ? mountAlerts(viewRoot, context)
        : route === 'broker'
          ? mountBroker(viewRoot, context)
          : mountOverview(viewRoot, context);
}

function showLiveState(state: LiveState): void {
  const indicator = element('live-state');
  indicator.dataset.state = state;
  const label = indicator.querySelector('.label');
  if (label) label.textContent = LIVE_STATE_LABEL[state];
}

function showFiringCount(): void {
  const badge = element('firing-count');
  const firing = fleet.alerts.filter((alert) => alert.state === 'firing' && alert.silencedBy === null).length;
  badge.hidden = firing === 0;
  badge.textContent = String(firing);
}

function tickClock(): void {
  element('clock').textContent = new Date().toLocaleTimeString('en-GB', { hour12: false });
}

for (const link of document.querySelectorAll<HTMLAnchorElement>('a[data-route]'))
  link.addEventListener('click', (event) => {
    event.preventDefault();
    context.navigate(link.getAttribute('href') ?? '/');
  });
window.addEventListener('popstate', show);
live.onState(showLiveState);
fleet.onAlertsChange(showFiringCount);
tickClock();
window.setInterval(tickClock, 1_000);
live.start();
show();
void fleet.start();
