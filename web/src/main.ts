import './styles.css';
import { logout, type Me, me } from './api.js';
import { Fleet } from './fleet.js';
import { LiveConnection, type LiveState } from './live.js';
import { mountLogin } from './login.js';
import { DASHBOARD_METRICS, metricName } from './metrics.js';
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
 * One stream with the metrics the dashboard shows (10 s windows of both families per edge server and per site,
 * of player events per stream) and alert transitions: the 1 s and 1 min windows would be most of the traffic
 * and are never drawn.
 */
const LIVE_METRICS = DASHBOARD_METRICS.map(([dimension, family]) => metricName(dimension, family));
const LIVE_URLS = [`/api/live?types=window,alert&metric=${LIVE_METRICS.join(',')}`];

const viewRoot = element('view');

/** The dashboard itself, once the server knows who is looking (or asks nobody). */
function startDashboard(identity: Me): void {
  document.body.dataset.page = 'app';
  showIdentity(identity);
  const live = new LiveConnection(LIVE_URLS);
  const fleet = new Fleet(live);
  let current: View | null = null;

  const context: ViewContext = {
    fleet,
    live,
    canSilence: identity.role !== 'viewer',
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

  function showFiringCount(): void {
    const badge = element('firing-count');
    const firing = fleet.alerts.filter(
      (alert) => alert.state === 'firing' && alert.silencedBy === null,
    ).length;
    badge.hidden = firing === 0;
    badge.textContent = String(firing);
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
}

/** The user and role in the header, with a logout button; nothing when the server asks nobody to log in. */
function showIdentity(identity: Me): void {
  const user = element('user');
  user.hidden = !identity.authEnabled;
  element('user-name').textContent = identity.user ?? '';
  element('user-role').textContent = identity.role;
  element('logout').addEventListener('click', async () => {
    await logout();
    location.reload();
  });
}

function showLiveState(state: LiveState): void {
  const indicator = element('live-state');
  indicator.dataset.state = state;
  const label = indicator.querySelector('.label');
  if (label) label.textContent = LIVE_STATE_LABEL[state];
}

function tickClock(): void {
  element('clock').textContent = new Date().toLocaleTimeString('en-GB', { hour12: false });
}

me().then(
  (identity) => {
    if (identity !== null) return startDashboard(identity);
    document.body.dataset.page = 'login';
    mountLogin(viewRoot, startDashboard);
  },
  (error: unknown) => {
    viewRoot.textContent = `Could not reach the server: ${error instanceof Error ? error.message : String(error)}`;
  },
);
