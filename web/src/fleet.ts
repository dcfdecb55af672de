import { type ActiveAlert, activeAlerts, latestAggregates, type Values } from './api.js';
import type { LiveConnection, WindowUpdate } from './live.js';
import {
  DASHBOARD_METRICS,
  DASHBOARD_WINDOW,
  type Dimension,
  type Family,
  metricName,
  parseMetric,
  seriesKey,
  subjectOf,
} from './metrics.js';

/** Active alerts are re-read this often even without transitions, for values and silences. */
const ALERTS_REFRESH_MS = 5_000;
/** Transitions come in bursts (one per series); they are collapsed into one reload. */
const ALERTS_DEBOUNCE_MS = 250;
/** Series tracked at most per dimension: a misconfigured producer inventing edge ids cannot exhaust the page. */
const MAX_SERIES_PER_DIMENSION = 2_000;

export type Health = 'firing' | 'pending' | 'silenced' | 'healthy';

/** Health as text, so it reads without colour too. */
export const HEALTH_LABEL: Readonly<Record<Health, string>> = {
  firing: 'FIRING',
  pending: 'PENDING',
  silenced: 'SILENCED',
  healthy: 'OK',
};

/** The newest window of one family for one series, with the window before it for fields still warming up. */
interface LatestWindow {
  windowStart: number;
  values: Values;
  previous: Values | null;
}

export interface Series {
  dimension: Dimension;
  /** The edge server's id, the site's, or `site/stream` for a stream. */
  id: string;
  /** The edge server's id, the site's, or the stream's own name (`sports-1`). */
  name: string;
  site: string;
  tcp: LatestWindow | null;
  qoe: LatestWindow | null;
}

/** What the first load ranks by; it reads every series, so the order only matters beyond the limit. */
const RANK_FIELD: Readonly<Record<Family, string>> = { tcp: 'retransmit_pct', qoe: 'error_pct' };

/**
 * What ranks series of equal health, worst first: sites and edge servers by retransmitted share, then 5xx
 * share; streams (player events only) by rebuffer ratio, then 5xx share.
 */
const SEVERITY_FIELDS: Readonly<Record<Dimension, ReadonlyArray<readonly [Family, string]>>> = {
  edge: [
    ['tcp', 'retransmit_pct'],
    ['qoe', 'error_pct'],
  ],
  site: [
    ['tcp', 'retransmit_pct'],
    ['qoe', 'error_pct'],
  ],
  stream: [
    ['qoe', 'rebuffer_pct'],
    ['qoe', 'error_pct'],
  ],
};

const HEALTH_RANK: Readonly<Record<Health, number>> = { firing: 0, pending: 1, silenced: 2, healthy: 3 };

/**
 * What the page knows about the fleet: the latest 10 s window of every edge server, site and stream, and the
 * active alerts. Loaded from the API, then kept current by the live stream.
 */
export class Fleet {
  private readonly series = new Map<string, Series>();
  private alertList: ActiveAlert[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly alertListeners = new Set<() => void>();
  private alertReload: number | null = null;
  private lastError: string | null = null;

  constructor(private readonly live: LiveConnection) {}

  async start(): Promise<void> {
    this.live.subscribe({
      window: (update) => this.applyWindow(update),
      alert: () => this.scheduleAlertReload(),
      resync: () => void this.load(),
    });
    window.setInterval(() => void this.reloadAlerts(), ALERTS_REFRESH_MS);
    await this.load();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Only changes of the active alerts, for views that do not show window values. */
  onAlertsChange(listener: () => void): () => void {
    this.alertListeners.add(listener);
    return () => this.alertListeners.delete(listener);
  }

  /** Why the last API read failed, or null once one succeeds again. */
  get loadError(): string | null {
    return this.lastError;
  }

  get alerts(): readonly ActiveAlert[] {
    return this.alertList;
  }

  /** Sites, edge servers or streams, worst first: by health, then by their SEVERITY_FIELDS. */
  ranked(dimension: Dimension): Series[] {
    const list = [...this.series.values()].filter((series) => series.dimension === dimension);
    const health = new Map(list.map((series) => [series, HEALTH_RANK[this.health(series)]]));
    const severity = (a: Series, b: Series) => {
      for (const [family, name] of SEVERITY_FIELDS[dimension]) {
        const difference = (field(b, family, name) ?? -1) - (field(a, family, name) ?? -1);
        if (difference !== 0) return difference;
      }
      return 0;
    };
    return list.sort((a, b) => health.get(a)! - health.get(b)! || severity(a, b) || a.id.localeCompare(b.id));
  }

  /**
   * Alerts about this series itself (metrics.ts subjectOf): an edge server's carry its edge label, a stream's
   * its site and stream labels, a site's its site label only.
   */
  alertsOf(series: Series): ActiveAlert[] {
    return this.alertList.filter((alert) => {
      const subject = subjectOf(alert.labels);
      return subject?.dimension === series.dimension && subject.id === series.id;
    });
  }

  /** The rules alerting on this series, each once. */
  alertRules(series: Series): string[] {
    return [...new Set(this.alertsOf(series).map((alert) => alert.rule))];
  }

  health(series: Series): Health {
    const alerts = this.alertsOf(series);
    if (alerts.some((alert) => alert.state === 'firing' && alert.silencedBy === null)) return 'firing';
    if (alerts.some((alert) => alert.state === 'pending' && alert.silencedBy === null)) return 'pending';
    if (alerts.length > 0) return 'silenced';
    return 'healthy';
  }

  private async load(): Promise<void> {
    try {
      const latest = await Promise.all(
        DASHBOARD_METRICS.map(([dimension, family]) =>
          latestAggregates(
            metricName(dimension, family),
            DASHBOARD_WINDOW,
            RANK_FIELD[family],
            MAX_SERIES_PER_DIMENSION,
          ),
        ),
      );
      DASHBOARD_METRICS.forEach(([dimension, family], index) => {
        for (const point of latest[index]?.points ?? [])
          this.apply(dimension, family, point.dimensions, point.windowStartMs, point.values);
      });
      this.alertList = (await activeAlerts()).alerts;
      this.lastError = null;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
    }
    this.changed();
    this.alertsChanged();
  }

  private applyWindow(update: WindowUpdate): void {
    const parsed = parseMetric(update.metric);
    if (parsed === null) return;
    if (this.apply(parsed.dimension, parsed.family, update.dimensions, update.windowStart, update.values))
      this.changed();
  }

  private apply(
    dimension: Dimension,
    family: Family,
    dimensions: Record<string, string>,
    windowStart: number,
    values: Values,
  ): boolean {
    const id = seriesKey(dimension, dimensions);
    if (id === null) return false;
    const key = `${dimension}:${id}`;
    let series = this.series.get(key);
    if (series === undefined) {
      if (this.countOf(dimension) >= MAX_SERIES_PER_DIMENSION) return false;
      const name = dimension === 'stream' ? (dimensions.stream ?? id) : id;
      series = { dimension, id, name, site: dimensions.site ?? id, tcp: null, qoe: null };
      this.series.set(key, series);
    }
    const current = series[family];
    if (current === null || windowStart > current.windowStart)
      series[family] = { windowStart, values, previous: current?.values ?? null };
    else if (windowStart === current.windowStart) current.values = values;
    else return false;
    return true;
  }

  private countOf(dimension: Dimension): number {
    let total = 0;
    for (const series of this.series.values()) if (series.dimension === dimension) total++;
    return total;
  }

  private scheduleAlertReload(): void {
    if (this.alertReload !== null) return;
    this.alertReload = window.setTimeout(() => {
      this.alertReload = null;
      void this.reloadAlerts();
    }, ALERTS_DEBOUNCE_MS);
  }

  /** Reads the active alerts again; views that changed an alert (a new silence) call it too. */
  async reloadAlerts(): Promise<void> {
    try {
      this.alertList = (await activeAlerts()).alerts;
      this.lastError = null;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
    }
    this.changed();
    this.alertsChanged();
  }

  private alertsChanged(): void {
    for (const listener of this.alertListeners) listener();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

/** A field of the newest window, or of the one before while the newest has too few samples for it. */
export function field(series: Series, family: Family, name: string): number | null {
  const window = series[family];
  if (window === null) return null;
  return window.values[name] ?? window.previous?.[name] ?? null;
}
