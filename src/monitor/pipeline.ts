import type { WindowUpdate } from '../alerts/series.js';
import type { Aggregation } from '../streams/aggregations.js';
import type { KGroupedStream, KStream, TopologyBuilder } from '../streams/dsl.js';
import type { Duration } from '../streams/duration.js';
import { toMillis } from '../streams/duration.js';
import { mergingPartials, type Partial } from '../streams/pre-aggregate.js';
import { json, type Serde } from '../streams/serdes.js';
import type { TaskProgress } from '../streams/topology.js';
import type { AggregateOptions } from '../streams/window-aggregate-processor.js';
import type { WindowResult } from '../streams/window-operator.js';
import { type FixedWindows, hopping, tumbling } from '../streams/windows.js';
import { type CdnWindow, qoeStats, tcpStats } from './cdn-stats.js';
import {
  type QoeMeasurement,
  qoeTelemetrySerde,
  type TcpMeasurement,
  tcpTelemetrySerde,
} from './measurement.js';
import { measurementPartialSerde, qoeMeasurementSerde, tcpMeasurementSerde } from './measurement-codec.js';

/**
 * The dimensions the CDN is aggregated by: one edge server, all edge servers of a site, or one stream (a live
 * channel) at a site, for player events only (what a broadcaster asks about: "is my channel rebuffering?").
 */
export type MonitorDimension = 'edge' | 'site' | 'stream';

/** The dimensions a window is computed for unless its spec names them. */
export const DEFAULT_WINDOW_DIMENSIONS: readonly MonitorDimension[] = ['edge', 'site'];

/** Each telemetry topic feeds its own family of statistics, so per-edge grouping needs no repartition. */
export type MonitorFamily = 'tcp' | 'qoe';

export interface MonitorWindowSpec {
  /** Suffix of the metric name: `edge_tcp_10s`, `site_qoe_1m`. */
  name: string;
  size: Duration;
  /** Hopping windows advance by less than their size; omitted, the windows tumble. */
  advance?: Duration;
  /** Early results while the window is open (default); false: only the final result of each window. */
  early?: boolean;
  /** What it is computed for; default edge and site. `stream` applies to player events only. */
  dimensions?: readonly MonitorDimension[];
}

export interface MonitorPipelineOptions {
  tcpTopic: string;
  qoeTopic: string;
  /** Final window results, as JSON records keyed by the series (`edge_tcp_10s/edge-007`). */
  aggregatesTopic: string;
  windows: readonly MonitorWindowSpec[];
  /** How far behind the newest event of a partition an event may arrive and still count. */
  maxOutOfOrderness: Duration;
  /** Every early and final window result, in the order the pipeline produced them. */
  onWindow: (update: WindowUpdate) => void;
  /**
   * Default true: site and stream windows are fed partial aggregates (see buildFamily). False: every
   * measurement goes through the site repartition, as before; the final results are the same.
   */
  preAggregate?: boolean;
}

/**
 * 1-second windows for detection, 10-second tumbling and 1-minute hopping (by 10 s, final results only) windows
 * for dashboards and history: a fault that starts late in a 10 s window moves its ratios only slowly, while a 1 s window breaches
 * within a fraction of a second (docs/monitoring.md).
 */
export const DEFAULT_MONITOR_WINDOWS: readonly MonitorWindowSpec[] = [
  { name: '1s', size: '1s' },
  // Per stream too: a channel's rebuffering ratio needs more played time than one second holds.
  { name: '10s', size: '10s', dimensions: ['edge', 'site', 'stream'] },
  // Six overlapping minutes per record: their early results would be most of the pipeline's output, and
  // nothing alerts on them.
  { name: '1m', size: '1m', advance: '10s', early: false },
];

/** What the aggregates topic carries per final window. */
export interface AggregateRecord {
  metric: string;
  dimensions: Record<string, string>;
  windowStart: number;
  windowEnd: number;
  values: Record<string, number | null>;
}

export function metricName(dimension: MonitorDimension, family: MonitorFamily, window: string): string {
  return `${dimension}_${family}_${window}`;
}

/** The key a dimension's windows are grouped by: `edge-007`, `ams1`, `ams1/sports-1`. */
function groupKey(dimension: MonitorDimension, dimensions: Record<string, string>): string {
  return dimension === 'stream' ? `${dimensions.site}/${dimensions.stream}` : dimensions[dimension]!;
}

function fixedWindows(spec: MonitorWindowSpec): FixedWindows {
  return spec.advance === undefined ? tumbling(spec.size) : hopping(spec.size, spec.advance);
}

function toUpdate(
  metric: string,
  dimension: MonitorDimension,
  result: WindowResult<CdnWindow<object>>,
  eventTime: number,
  task?: TaskProgress,
): WindowUpdate {
  const { site } = result.result;
  const dimensions: Record<string, string> =
    dimension === 'edge'
      ? { site, edge: result.key }
      : dimension === 'site'
        ? { site: result.key }
        : { site, stream: result.key.slice(site.length + 1) };
  return {
    metric,
    dimensions,
    windowStart: result.window.start,
    windowEnd: result.window.end,
    values: result.result.values as Record<string, number | null>,
    final: result.final,
    eventTime,
    ...(task === undefined ? {} : { source: { task: task.taskId, watermark: task.watermark } }),
  };
}

/**
 * The OTT monitoring pipelines. Each telemetry topic is projected to measurements and aggregated per edge server
 * (the record key already, so in place) and per site (through a repartition topic) over every configured window.
 * Each aggregate hands early and final results to `onWindow` (alerting, the store, live views) and writes final
 * results to the aggregates topic exactly once.
 */
export function buildMonitorTopology(builder: TopologyBuilder, options: MonitorPipelineOptions): void {
  if (options.windows.length === 0) throw new Error('monitor pipelines need at least one window');
  const maxOutOfOrderness = toMillis(options.maxOutOfOrderness);
  const tcp = builder.stream(options.tcpTopic, {
    value: tcpTelemetrySerde,
    timestamp: (m: TcpMeasurement) => m.ts,
    maxOutOfOrderness,
  });
  const qoe = builder.stream(options.qoeTopic, {
    value: qoeTelemetrySerde,
    timestamp: (m: QoeMeasurement) => m.ts,
    maxOutOfOrderness,
  });
  buildFamily(options, 'tcp', tcp, tcpMeasurementSerde, null, (sizeMs) => tcpStats(sizeMs));
  buildFamily(
    options,
    'qoe',
    qoe,
    qoeMeasurementSerde,
    (m) => `${m.site}/${m.stream}`,
    () => qoeStats(),
  );
}

/** A dimension's windowed aggregate over some windows, whatever its input records are. */
type WindowedAggregate<V> = (
  windows: FixedWindows,
  options: AggregateOptions,
) => KStream<WindowResult<CdnWindow<V>>>;

/** How much event time an early site or stream result may lag the measurements behind it. */
const PARTIAL_FLUSH_MS = 100;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The pre-aggregation bucket: at most a second and a divisor of every window's size and advance, so each
 * partial lies in exactly the windows of its measurements.
 */
function partialBucketMs(windows: readonly MonitorWindowSpec[]): number {
  let bucketMs = 1000;
  for (const spec of windows) {
    const { sizeMs, advanceMs } = fixedWindows(spec);
    bucketMs = gcd(gcd(bucketMs, sizeMs), advanceMs);
  }
  return bucketMs;
}

/**
 * One family's aggregates. Per edge in place (the record key); per site through one repartition by site,
 * which per-stream grouping shares: a stream key `site/stream` refines the site key. Unless
 * `options.preAggregate` is false, measurements are folded into partials per stream key (or site) and 1 s
 * bucket before the repartition, and the site and stream windows merge partials instead of adding
 * measurements: a few partials per 100 ms of event time cross the broker instead of every measurement.
 */
function buildFamily<M extends { site: string }, A, V extends object>(
  options: MonitorPipelineOptions,
  family: MonitorFamily,
  measurements: KStream<M>,
  /** How measurements travel through the repartition by site (and are read back from it after an upgrade). */
  repartitionSerde: Serde<M>,
  streamKey: ((m: M) => string) | null,
  /** Accumulators must not depend on the window size (only results may): partials feed every size. */
  aggregation: (windowSizeMs: number) => Aggregation<M, A, CdnWindow<V>>,
): void {
  const byEdge = measurements.groupByKey({ name: `${family}-by-edge` });
  const aggregates = new Map<MonitorDimension, WindowedAggregate<V>>([
    [
      'edge',
      (windows, aggregateOptions) =>
        byEdge.windowedBy(windows).aggregate(aggregation(windows.sizeMs), aggregateOptions),
    ],
  ]);
  const bySite = measurements.selectKey((m) => m.site);
  if (options.preAggregate === false) {
    const repartitioned = bySite.repartition({ name: `${family}-by-site`, value: repartitionSerde });
    const perRecord = (grouped: KGroupedStream<M>): WindowedAggregate<V> => {
      return (windows, aggregateOptions) =>
        grouped.windowedBy(windows).aggregate(aggregation(windows.sizeMs), aggregateOptions);
    };
    aggregates.set('site', perRecord(repartitioned.groupByKey({ name: `${family}-by-site` })));
    if (streamKey !== null) {
      const byStream = repartitioned.refineKey(streamKey).groupByKey({ name: `${family}-by-stream` });
      aggregates.set('stream', perRecord(byStream));
    }
  } else {
    const bucketMs = partialBucketMs(options.windows);
    const partialKey = streamKey ?? ((m: M) => m.site);
    const partialAggregation = aggregation(bucketMs);
    const partials = bySite
      .preAggregate(partialAggregation, {
        name: `${family}-site-partials`,
        bucket: bucketMs,
        flushEvery: gcd(bucketMs, PARTIAL_FLUSH_MS),
        keyOf: partialKey,
      })
      .repartition({
        name: `${family}-by-site`,
        value: measurementPartialSerde(repartitionSerde, partialAggregation, partialKey),
      });
    const merging = (grouped: KGroupedStream<Partial<A>>): WindowedAggregate<V> => {
      return (windows, aggregateOptions) =>
        grouped
          .windowedBy(windows)
          .aggregate(mergingPartials(aggregation(windows.sizeMs), windows, bucketMs), aggregateOptions);
    };
    aggregates.set('site', merging(partials.groupByKey({ name: `${family}-by-site` })));
    if (streamKey !== null) {
      const byStream = partials
        .refineKey((partial) => partial.key)
        .groupByKey({ name: `${family}-by-stream` });
      aggregates.set('stream', merging(byStream));
    }
  }
  const aggregateRecord = json<AggregateRecord>();
  for (const spec of options.windows) {
    const windows = fixedWindows(spec);
    for (const dimension of spec.dimensions ?? DEFAULT_WINDOW_DIMENSIONS) {
      const aggregate = aggregates.get(dimension);
      if (aggregate === undefined) continue;
      const metric = metricName(dimension, family, spec.name);
      const results = aggregate(windows, {
        name: metric.replaceAll('_', '-'),
        emit: spec.early === false ? 'final' : 'updateAndFinal',
        coalesceUpdates: true,
      });
      results.foreach((result, _key, timestamp, task) =>
        options.onWindow(toUpdate(metric, dimension, result, timestamp, task)),
      );
      results
        .filter((result) => result.final)
        .map((result): AggregateRecord => {
          const { dimensions, windowStart, windowEnd, values } = toUpdate(metric, dimension, result, 0);
          return { metric, dimensions, windowStart, windowEnd, values };
        })
        .selectKey((record) => `${metric}/${groupKey(dimension, record.dimensions)}`)
        .to(options.aggregatesTopic, { value: aggregateRecord });
    }
  }
}
