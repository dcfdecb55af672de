/**
 * The monitoring pipeline's metric names (docs/monitoring.md): `<dimension>_<family>_<window>`, e.g.
 * `edge_tcp_10s`. The dashboard reads the 10 s tumbling windows: short enough to follow a fault, long enough
 * that every ratio and percentile has its minimum sample count on a single edge server.
 */

export type Dimension = 'edge' | 'site' | 'stream';
export type Family = 'tcp' | 'qoe';

/** The families each dimension is aggregated for: streams (live channels) from player events only. */
export const FAMILIES: Readonly<Record<Dimension, readonly Family[]>> = {
  edge: ['tcp', 'qoe'],
  site: ['tcp', 'qoe'],
  stream: ['qoe'],
};

export const DASHBOARD_WINDOW = '10s';
export const DASHBOARD_WINDOW_MS = 10_000;

export function metricName(dimension: Dimension, family: Family): string {
  return `${dimension}_${family}_${DASHBOARD_WINDOW}`;
}

/** Every metric the dashboard shows, as [dimension, family] pairs. */
export const DASHBOARD_METRICS: ReadonlyArray<readonly [Dimension, Family]> = (
  Object.keys(FAMILIES) as Dimension[]
).flatMap((dimension) => FAMILIES[dimension].map((family) => [dimension, family] as const));

/** The dimension and family of a dashboard metric, or null for metrics the dashboard does not show. */
export function parseMetric(metric: string): { dimension: Dimension; family: Family } | null {
  const match = /^(edge|site|stream)_(tcp|qoe)_(.+)$/.exec(metric);
  if (match === null || match[3] !== DASHBOARD_WINDOW) return null;
  const dimension = match[1] as Dimension;
  const family = match[2] as Family;
  return FAMILIES[dimension].includes(family) ? { dimension, family } : null;
}

/** The series a window belongs to: the edge server's id, the site's, or `site/stream` for a stream. */
export function seriesKey(dimension: Dimension, dimensions: Record<string, string>): string | null {
  if (dimension === 'stream')
    return dimensions.site === undefined || dimensions.stream === undefined
      ? null
      : `${dimensions.site}/${dimensions.stream}`;
  return dimensions[dimension] ?? null;
}

/** The dimensions that select one series, the inverse of seriesKey: {edge}, {site} or {site, stream}. */
export function seriesDimensions(dimension: Dimension, id: string): Record<string, string> {
  if (dimension !== 'stream') return { [dimension]: id };
  // A stream's name is the last path segment of its content id: it has no slash, a site name might.
  const slash = id.lastIndexOf('/');
  return { site: id.slice(0, slash), stream: id.slice(slash + 1) };
}

/**
 * The series an alert is about, from its labels: an edge server when it has an `edge` label, a stream when it
 * has `site` and `stream`, else a site. An edge server's or a stream's alert is not its whole site's.
 */
export function subjectOf(labels: Record<string, string>): { dimension: Dimension; id: string } | null {
  const dimension: Dimension =
    labels.edge !== undefined ? 'edge' : labels.stream !== undefined ? 'stream' : 'site';
  const id = seriesKey(dimension, labels);
  return id === null ? null : { dimension, id };
}

const DIMENSION_LABEL: Readonly<Record<Dimension, string>> = {
  edge: 'Edge server',
  site: 'Site',
  stream: 'Stream',
};

/** What a series is called in a heading: `Edge server edge-003`, `Site ams1`, `Stream sports-1 at ams1`. */
export function seriesTitle(series: { dimension: Dimension; id: string }): string {
  if (series.dimension !== 'stream') return `${DIMENSION_LABEL[series.dimension]} ${series.id}`;
  const { site, stream } = seriesDimensions(series.dimension, series.id);
  return `${DIMENSION_LABEL.stream} ${stream} at ${site}`;
}
