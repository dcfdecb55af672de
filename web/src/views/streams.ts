import { h } from '../dom.js';
import { type Fleet, field, HEALTH_LABEL, type Series } from '../fleet.js';
import { count, millis, percent } from '../format.js';
import { plural, type Row, table } from '../table.js';
import { chartsPath, link, type ViewContext } from '../view.js';

/** Rows drawn at most, the worst streams: the table stays readable at a glance on a wall screen. */
export const MAX_STREAM_ROWS = 25;

const HEADINGS = ['stream', 'site', 'health', 'active sessions', 'rebuffering', 'p95 download', '5xx'];

/**
 * The streams (live channels at a site) as one table, `streams` already worst first (Fleet.ranked): health
 * from their alerts, the latest 10 s window's player statistics, and a link to each stream's charts.
 */
export function streamsTable(fleet: Fleet, streams: readonly Series[], context: ViewContext): HTMLElement {
  const shown = streams.slice(0, MAX_STREAM_ROWS);
  return h(
    'div',
    { class: 'stream-table', 'data-testid': 'stream-table' },
    shown.length === 0
      ? h('p', { class: 'muted' }, 'No stream windows yet (stream_qoe_10s).')
      : table(
          HEADINGS,
          shown.map((series) => row(fleet, series, context)),
        ),
    shown.length === 0
      ? null
      : h(
          'p',
          { class: 'muted table-note' },
          streams.length > shown.length
            ? `The ${shown.length} worst of ${plural(streams.length, 'stream')} (the charts list them all). `
            : '',
          'Latest 10 s window; – where it has too few samples for the statistic.',
        ),
  );
}

function row(fleet: Fleet, series: Series, context: ViewContext): Row {
  const health = fleet.health(series);
  const alertNames = fleet.alertRules(series);
  return {
    attributes: { 'data-kind': series.dimension, 'data-id': series.id, 'data-health': health },
    cells: [
      link(
        context,
        chartsPath(series),
        { class: 'stream-name', title: `${series.name} at ${series.site}: open its charts` },
        series.name,
      ),
      series.site,
      h(
        'span',
        {
          class: 'state',
          'data-state': health,
          title: alertNames.length > 0 ? alertNames.join(', ') : null,
        },
        alertNames.length > 0 ? `${HEALTH_LABEL[health]} · ${alertNames.join(', ')}` : HEALTH_LABEL[health],
      ),
      count(field(series, 'qoe', 'active_sessions')),
      percent(field(series, 'qoe', 'rebuffer_pct')),
      millis(field(series, 'qoe', 'download_p95_ms')),
      percent(field(series, 'qoe', 'error_pct')),
    ],
  };
}
