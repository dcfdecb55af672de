import type { Aggregation } from '../streams/aggregations.js';
import type { KStream, TopologyBuilder } from '../streams/dsl.js';
import { type Duration, toMillis } from '../streams/duration.js';
import { json } from '../streams/serdes.js';
import type { WindowResult } from '../streams/window-operator.js';
import { tumbling } from '../streams/windows.js';
import type { AggregateRecord } from './pipeline.js';

/**
 * The cloud layer's view: the final window aggregates every edge site forwards (`site-a.cdn.aggregates`,
 * `site-b.cdn.aggregates`...) merged into one ranking per window, e.g. the worst edge servers of all sites.
 */
export interface Offender {
  /** The edge site the record was forwarded from: its topic prefix, e.g. `site-a`. */
  origin: string;
  dimensions: Record<string, string>;
  value: number;
}

export interface WorstOffendersRecord {
  metric: string;
  field: string;
  windowStart: number;
  windowEnd: number;
  worst: Offender[];
}

export interface CloudPipelineOptions {
  /** Forwarded aggregate topics, one per edge site; the prefix before `suffix` names the site. */
  sourceTopics: readonly string[];
  /** What each source topic's name ends with after the site prefix, e.g. `.cdn.aggregates`. */
  suffix: string;
  outputTopic: string;
  /** The aggregate stream ranked, e.g. `edge_tcp_10s`, and the field ranked by, highest first. */
  metric: string;
  field: string;
  /** Series kept per window. */
  top: number;
  /** Window of the ranking; equal to the metric's own window so each series counts once. */
  window: Duration;
  /** How late a site's records may arrive (forwarding delay included) and still count. */
  maxOutOfOrderness: Duration;
}

export const MAX_TOP = 1_000;

/** The `top` highest-valued offenders; mergeable, so the ranking is the same whatever the arrival order. */
export function worstOffenders(top: number): Aggregation<Offender, Offender[], Offender[]> {
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP)
    throw new RangeError(`top must be an integer in [1, ${MAX_TOP}], got ${top}`);
  const rank = (list: Offender[]) =>
    list.sort((a, b) => b.value - a.value || keyOf(a).localeCompare(keyOf(b))).slice(0, top);
  return {
    init: () => [],
    add: (list, offender) => rank([...list.filter((o) => keyOf(o) !== keyOf(offender)), offender]),
    result: (list) => list,
    merge: (a, b) => rank([...a, ...b]),
  };
}

function keyOf(offender: Offender): string {
  return `${offender.origin}\u0000${JSON.stringify(offender.dimensions)}`;
}

function originOf(topic: string, suffix: string): string {
  return topic.endsWith(suffix) ? topic.slice(0, topic.length - suffix.length) : topic;
}

export function buildCloudTopology(builder: TopologyBuilder, options: CloudPipelineOptions): void {
  if (options.sourceTopics.length === 0)
    throw new Error('the cloud pipeline needs at least one source topic');
  const maxOutOfOrderness = toMillis(options.maxOutOfOrderness);
  let merged: KStream<Offender> | null = null;
  for (const topic of options.sourceTopics) {
    const origin = originOf(topic, options.suffix);
    const offenders = builder
      .stream(topic, {
        value: json<AggregateRecord>(),
        // The window's last instant, as the edge stamps final results: a 10 s window arrives beside the 1 s
        // windows that closed with it, and stamping it with its start would make it look 10 s late among them.
        timestamp: (record: AggregateRecord) => record.windowEnd - 1,
        maxOutOfOrderness,
      })
      .filter(
        (record) => record.metric === options.metric && typeof record.values[options.field] === 'number',
      )
      .map(
        (record): Offender => ({
          origin,
          dimensions: record.dimensions,
          value: record.values[options.field] as number,
        }),
      );
    merged = merged === null ? offenders : merged.merge(offenders);
  }
  merged!
    .selectKey(() => options.metric)
    .groupByKey({ name: 'ranking', value: json<Offender>() })
    .windowedBy(tumbling(options.window))
    .aggregate(worstOffenders(options.top), { name: 'worst-offenders', emit: 'final' })
    .map(
      (result: WindowResult<Offender[]>): WorstOffendersRecord => ({
        metric: options.metric,
        field: options.field,
        windowStart: result.window.start,
        windowEnd: result.window.end,
        worst: result.result,
      }),
    )
    .to(options.outputTopic, { value: json<WorstOffendersRecord>() });
}
