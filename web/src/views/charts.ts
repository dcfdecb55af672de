import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { aggregates } from '../api.js';
import { h, replaceChildren, throttled } from '../dom.js';
import type { Fleet, Series } from '../fleet.js';
import { clockTime } from '../format.js';
import {
  DASHBOARD_WINDOW,
  DASHBOARD_WINDOW_MS,
  type Dimension,
  FAMILIES,
  type Family,
  metricName,
  seriesDimensions,
  seriesKey,
  seriesTitle,
} from '../metrics.js';
import { Timeline } from '../timeline.js';
import { chartsPath, link, type View, type ViewContext } from '../view.js';

const RANGES: ReadonlyArray<{ key: string; label: string; ms: number }> = [
  { key: '5m', label: '5 min', ms: 5 * 60_000 },
  { key: '15m', label: '15 min', ms: 15 * 60_000 },
  { key: '1h', label: '1 h', ms: 60 * 60_000 },
];
const RENDER_INTERVAL_MS = 1_000;
const PLOT_MIN_HEIGHT_PX = 240;
const PLOT_MAX_HEIGHT_PX = 560;
/** Windows kept beyond the range's own count: the one in progress and one arriving late. */
const SPARE_POINTS = 2;

interface ChartSpec {
  id: string;
  title: string;
  family: Family;
  unit: string;
  fields: ReadonlyArray<{ name: string; label: string; color: string }>;
}

const CHARTS: readonly ChartSpec[] = [
  {
    id: 'retransmits',
    title: 'TCP retransmits',
    family: 'tcp',
    unit: '%',
    fields: [{ name: 'retransmit_pct', label: 'retransmitted', color: '#f87171' }],
  },
  {
    id: 'rebuffer',
    title: 'Rebuffer ratio',
    family: 'qoe',
    unit: '%',
    fields: [{ name: 'rebuffer_pct', label: 'rebuffering', color: '#fbbf24' }],
  },
  {
    id: 'latency',
    title: 'Segment download time',
    family: 'qoe',
    unit: 'ms',
    fields: [
      { name: 'download_p50_ms', label: 'p50', color: '#34d399' },
      { name: 'download_p95_ms', label: 'p95', color: '#60a5fa' },
      { name: 'download_p99_ms', label: 'p99', color: '#c084fc' },
    ],
  },
];

interface Target {
  dimension: Dimension;
  id: string;
}

/**
 * Live charts of one site, edge server or stream (the charts of its families: a stream has player statistics
 * only): history from /api/aggregates, then every window from the live stream.
 */
export function mountCharts(container: HTMLElement, context: ViewContext, query: URLSearchParams): View {
  const target = targetOf(query, context.fleet.ranked('site'));
  const range = RANGES.find((candidate) => candidate.key === query.get('range')) ?? RANGES[0]!;
  const maxPoints = Math.ceil(range.ms / DASHBOARD_WINDOW_MS) + SPARE_POINTS;
  const timelines: Record<Family, Timeline> = {
    tcp: new Timeline(range.ms, maxPoints),
    qoe: new Timeline(range.ms, maxPoints),
  };
  const status = h('p', { class: 'status' });
  const grid = h('div', { class: 'charts' });
  const header = controls(context, target, range.key);
  replaceChildren(container, h('section', { class: 'page charts-page' }, header, status, grid));
  const picker = header.querySelector('select')!;
  let targetsShown = -1;
  const refreshTargets = () => {
    const known = (Object.keys(FAMILIES) as Dimension[]).reduce(
      (total, dimension) => total + context.fleet.ranked(dimension).length,
      0,
    );
    if (known === targetsShown) return;
    targetsShown = known;
    fillTargets(picker, context.fleet, target);
  };
  refreshTargets();
  const unsubscribeTargets = context.fleet.onChange(throttled(refreshTargets, RENDER_INTERVAL_MS));
  if (target === null) {
    status.textContent = 'Waiting for the first window results…';
    const unsubscribe = context.fleet.onChange(() => {
      if (context.fleet.ranked('site').length > 0) context.navigate(`/charts?${query}`);
    });
    return {
      destroy: () => {
        unsubscribe();
        unsubscribeTargets();
      },
    };
  }

  const families = FAMILIES[target.dimension];
  const panels = CHARTS.filter((spec) => families.includes(spec.family)).map(
    (spec) => new ChartPanel(spec, range.ms),
  );
  replaceChildren(grid, ...panels.map((panel) => panel.element));
  const render = () => {
    const nowMs = Date.now();
    for (const panel of panels) panel.update(timelines[panel.spec.family], nowMs);
  };
  const scheduleRender = throttled(render, RENDER_INTERVAL_MS);

  const load = async () => {
    const fromMs = Date.now() - range.ms;
    try {
      const responses = await Promise.all(
        families.map((family) =>
          aggregates({
            metric: metricName(target.dimension, family),
            windowSize: DASHBOARD_WINDOW,
            fromMs,
            dimensions: seriesDimensions(target.dimension, target.id),
            limit: maxPoints,
          }),
        ),
      );
      families.forEach((family, index) => {
        for (const point of responses[index]?.points ?? [])
          timelines[family].upsert(point.windowStartMs, point.values, point.final);
      });
      status.textContent = '';
    } catch (error) {
      status.textContent = `Could not load history: ${error instanceof Error ? error.message : String(error)}`;
    }
    render();
  };

  const unsubscribe = context.live.subscribe({
    window: (update) => {
      if (seriesKey(target.dimension, update.dimensions) !== target.id) return;
      const family = families.find((candidate) => update.metric === metricName(target.dimension, candidate));
      if (family === undefined) return;
      timelines[family].upsert(update.windowStart, update.values, update.final);
      scheduleRender();
    },
    resync: () => void load(),
  });
  const resize = new ResizeObserver(() => {
    for (const panel of panels) panel.resize();
  });
  resize.observe(grid);
  void load();
  return {
    destroy: () => {
      unsubscribe();
      unsubscribeTargets();
      resize.disconnect();
      for (const panel of panels) panel.destroy();
    },
  };
}

function targetOf(query: URLSearchParams, sites: Series[]): Target | null {
  const edge = query.get('edge');
  if (edge) return { dimension: 'edge', id: edge };
  const stream = query.get('stream');
  if (stream?.includes('/')) return { dimension: 'stream', id: stream };
  const site = query.get('site') ?? sites[0]?.id;
  return site ? { dimension: 'site', id: site } : null;
}

function controls(context: ViewContext, target: Target | null, rangeKey: string): HTMLElement {
  const select = h('select', {
    class: 'target',
    'aria-label': 'site, edge server or stream',
    onchange: (event: Event) => {
      const value = (event.target as HTMLSelectElement).value;
      const colon = value.indexOf(':');
      const next = { dimension: value.slice(0, colon) as Dimension, id: value.slice(colon + 1) };
      context.navigate(chartsPath(next, rangeKey));
    },
  });
  const rangeButtons = RANGES.map((candidate) =>
    link(
      context,
      chartsPath(target, candidate.key),
      { class: 'range', 'aria-current': candidate.key === rangeKey ? 'true' : null },
      candidate.label,
    ),
  );
  return h(
    'div',
    { class: 'controls' },
    h('h2', {}, target === null ? 'Charts' : seriesTitle(target)),
    select,
    h('div', { class: 'ranges', role: 'group', 'aria-label': 'time range' }, ...rangeButtons),
  );
}

/** Fills the target picker with every known site, edge server and stream, alphabetically (streams by site). */
function fillTargets(select: HTMLSelectElement, fleet: Fleet, target: Target | null): void {
  const option = (series: Series) =>
    h(
      'option',
      {
        value: `${series.dimension}:${series.id}`,
        selected: target?.dimension === series.dimension && target.id === series.id,
      },
      series.dimension === 'site' ? series.id : `${series.name} (${series.site})`,
    );
  const byName = (a: Series, b: Series) => a.id.localeCompare(b.id);
  const group = (label: string, dimension: Dimension) =>
    h('optgroup', { label }, ...fleet.ranked(dimension).sort(byName).map(option));
  replaceChildren(select, group('Sites', 'site'), group('Edge servers', 'edge'), group('Streams', 'stream'));
}

/** One uPlot chart; `data-points` on its element tells how many windows it shows (the browser test reads it). */
class ChartPanel {
  readonly element: HTMLElement;
  private readonly plotHost: HTMLElement;
  private readonly plot: uPlot;

  constructor(
    readonly spec: ChartSpec,
    private readonly rangeMs: number,
  ) {
    this.plotHost = h('div', { class: 'plot' });
    this.element = h(
      'figure',
      { class: 'chart', 'data-chart': spec.id, 'data-points': 0 },
      h(
        'figcaption',
        {},
        spec.title,
        h('span', { class: 'unit' }, ` (${spec.unit}, ${DASHBOARD_WINDOW} windows)`),
      ),
      this.plotHost,
    );
    const axisColor = '#cbd5e1';
    const gridColor = 'rgba(148, 163, 184, 0.15)';
    const axis = {
      stroke: axisColor,
      grid: { stroke: gridColor },
      ticks: { stroke: gridColor },
      font: '14px system-ui',
    };
    this.plot = new uPlot(
      {
        width: 600,
        height: PLOT_MIN_HEIGHT_PX,
        scales: {
          x: { time: true, range: () => this.xRange() },
          y: {
            range: (_plot, min, max) => [0, Math.max(max ?? 0, min ?? 0, spec.unit === '%' ? 1 : 100) * 1.1],
          },
        },
        axes: [
          {
            ...axis,
            // Room for a whole `01:04:30` label and a gap at the axis font size: 30 s ticks only when they fit.
            space: 70,
            // Seconds only when a tick falls between whole minutes.
            values: (_plot, ticks) => {
              const labelLength = ticks.every((tick) => tick % 60 === 0) ? 5 : 8;
              return ticks.map((tick) => clockTime(tick * 1000).slice(0, labelLength));
            },
          },
          {
            ...axis,
            size: 70,
            values: (_plot, ticks) => ticks.map((tick) => `${tick}${spec.unit === '%' ? '%' : ''}`),
          },
        ],
        series: [
          {},
          ...spec.fields.map((field) => ({
            label: field.label,
            stroke: field.color,
            width: 2,
            spanGaps: false,
            // A lone window (a chart just opened, a series just appeared) has no line: a dot shows it.
            points: { show: (plot: uPlot) => plot.data[0].length < 2 },
          })),
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      [[], ...spec.fields.map(() => [])],
      this.plotHost,
    );
  }

  update(timeline: Timeline, nowMs: number): void {
    const { times, values } = timeline.columns(
      this.spec.fields.map((field) => field.name),
      nowMs,
    );
    this.plot.setData([times, ...values]);
    this.element.setAttribute('data-points', String(times.length));
  }

  /** Fills the column's width, and a good part of the screen's height: tall on a wall, compact on a laptop. */
  resize(): void {
    const width = this.plotHost.clientWidth;
    const height = Math.round(
      Math.min(PLOT_MAX_HEIGHT_PX, Math.max(PLOT_MIN_HEIGHT_PX, window.innerHeight * 0.42)),
    );
    if (width > 0) this.plot.setSize({ width, height });
  }

  destroy(): void {
    this.plot.destroy();
  }

  private xRange(): [number, number] {
    const nowSeconds = Date.now() / 1000;
    return [nowSeconds - this.rangeMs / 1000, nowSeconds];
  }
}
