import type { RuleInput } from '../alerts/rules.js';

/**
 * Segment downloads a stream's 10 s window must hold before its early updates are judged for rebuffering.
 * A minute of media (MIN_SAMPLES.mediaMs) comes within the first second of a window for a popular channel, and
 * then one viewer's 4 s stall is over 5%: the fault-free demo paged so for small channels. Over five simulated
 * fleets of 300 s (seeds 1-5) early ratios over 5% (up to 8.3%) came with at most 66 segments, and from 150
 * segments on they stayed under 2.7%; full windows of the smallest channels hold 170 or more. Final windows
 * are judged whatever their count, so a stream with few viewers (a dozen players stalling,
 * test/telemetry-player.test.ts) still alerts, one window later.
 */
export const REBUFFER_EARLY_MIN_SEGMENTS = 150;

/**
 * Rules for the CDN edge, used when the config names none. Thresholds sit far from healthy values of the
 * simulated fleet (docs/telemetry.md: 0.2% retransmits, 0.1% 5xx, p95 downloads around 1 s) and far below the
 * faults, so partial early windows do not page and real faults page within their first window. Rules watch the
 * 1 s windows: detection within a second is the point; keepFiringFor rides out a flapping link. Rebuffering is
 * watched per stream over 10 s: a channel's viewers are what a broadcaster asks about.
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
    name: 'RebufferRatioHigh',
    metric: 'stream_qoe_10s',
    dimensions: ['site', 'stream'],
    field: 'rebuffer_pct',
    comparator: '>',
    // Healthy channels of the simulated fleet stay under 0.5%; 5% is a stall of 3 s in every minute
    // watched. Ten seconds hold enough played time (at least a minute, MIN_SAMPLES) to tell; a partial window
    // only once it holds REBUFFER_EARLY_MIN_SEGMENTS segment downloads.
    threshold: 5,
    earlyMinSamples: { field: 'segments', atLeast: REBUFFER_EARLY_MIN_SEGMENTS },
    keepFiringFor: '20s',
    severity: 'warning',
    labels: { team: 'video' },
    annotations: {
      summary:
        'Viewers of {{ $labels.stream }} at {{ $labels.site }} spend {{ $value }}% of their time rebuffering',
      description:
        'Stall time over stall plus played time of the stream at the site in the last 10 s is above 5%.',
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
