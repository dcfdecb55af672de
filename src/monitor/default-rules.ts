import type { RuleInput } from '../alerts/rules.js';

/**
 * Rules for the CDN edge, used when the config names none. Thresholds sit far from healthy values of the
 * simulated fleet (docs/telemetry.md: 0.2% retransmits, 0.1% 5xx, p95 downloads around 1 s) and far below the
 * faults, so partial early windows do not page and real faults page within their first window. Rules watch the
 * 1 s windows: detection within a second is the point; keepFiringFor rides out a flapping link.
 */
export const DEFAULT_MONITOR_RULES: readonly RuleInput[] = [
  {
    name: 'RetransmitStorm',
    metric: 'edge_tcp_1s',
    dimensions: ['site', 'edge'],
    field: 'retransmit_pct',
    comparator: '>',
    threshold: 3,
    keepFiringFor: '20s',
    severity: 'critical',
    labels: { team: 'edge-network' },
    annotations: {
      summary: 'TCP retransmits on {{ $labels.edge }} ({{ $labels.site }}) at {{ $value }}% of segments',
      description:
        'More than 3% of segments sent by {{ $labels.edge }} in the last second were retransmitted.',
    },
  },
  {
    name: 'OriginErrors',
    metric: 'site_qoe_1s',
    dimensions: ['site'],
    field: 'error_pct',
    comparator: '>',
    threshold: 5,
    keepFiringFor: '10s',
    severity: 'critical',
    labels: { team: 'origin' },
    annotations: {
      summary: '{{ $value }}% of segment requests at {{ $labels.site }} answered 5xx',
    },
  },
  {
    name: 'SiteLatencyHigh',
    metric: 'site_qoe_1s',
    dimensions: ['site'],
    field: 'download_p95_ms',
    comparator: '>',
    threshold: 2_500,
    keepFiringFor: '10s',
    severity: 'warning',
    labels: { team: 'edge-network' },
    annotations: {
      summary: 'p95 segment download at {{ $labels.site }} is {{ $value }} ms',
    },
  },
  {
    kind: 'noData',
    name: 'EdgeSilent',
    metric: 'edge_tcp_1s',
    dimensions: ['site', 'edge'],
    absentFor: '5s',
    severity: 'critical',
    labels: { team: 'edge-ops' },
    annotations: {
      summary: '{{ $labels.edge }} ({{ $labels.site }}) has sent no telemetry for 5 s',
    },
  },
];
