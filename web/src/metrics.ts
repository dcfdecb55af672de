/**
 * The monitoring pipeline's metric names (docs/monitoring.md): `<dimension>_<family>_<window>`, e.g.
 * `edge_tcp_10s`. The dashboard reads the 10 s tumbling windows: short enough to follow a fault, long enough
 * that every ratio and percentile has its minimum sample count on a single edge server.
 */

export type Dimension = 'edge' | 'site';
export type Family = 'tcp' | 'qoe';

export const DASHBOARD_WINDOW = '10s';
export const DASHBOARD_WINDOW_MS = 10_000;

export function metricName(dimension: Dimension, family: Family): string {
  return `${dimension}_${family}_${DASHBOARD_WINDOW}`;
}

/** The dimension and family of a dashboard metric, or null for metrics the dashboard does not show. */
export function parseMetric(metric: string): { dimension: Dimension; family: Family } | null {
  const match = /^(edge|site)_(tcp|qoe)_(.+)$/.exec(metric);
  if (match === null || match[3] !== DASHBOARD_WINDOW) return null;
  return { dimension: match[1] as Dimension, family: match[2] as Family };
}

/** The series a window belongs to: the edge server's id, or the site's. */
export function seriesKey(dimension: Dimension, dimensions: Record<string, string>): string | null {
  return (dimension === 'edge' ? dimensions.edge : dimensions.site) ?? null;
}
