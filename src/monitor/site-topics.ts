import { z } from 'zod';
import type { AlertTransition } from '../alerts/types.js';
import type { TopicSpec } from '../client/types.js';
import type { AggregateWrite, Silence } from '../store/types.js';

/**
 * On a cluster every node runs a share of the pipelines, yet each node's dashboard shows the whole site. What
 * a node's pipelines and alerting produce for people to see goes through three replicated topics, and every
 * node follows all three into its own store, live feed and alert list (src/monitor/site-feed.ts):
 * - windows: window results, coalesced once a second per window (early ones replaced, then the final one);
 * - alerts: alert state transitions, with the node whose alert engine made them;
 * - silences: each silence as it now is, keyed by id (an expiry writes it again with an earlier end).
 */
export interface SiteTopics {
  windows: string;
  alerts: string;
  silences: string;
}

export const DEFAULT_SITE_TOPICS: SiteTopics = {
  windows: 'edgestream.site.windows',
  alerts: 'edgestream.site.alerts',
  silences: 'edgestream.site.silences',
};

const HOUR_MS = 60 * 60_000;
/** Longer than any silence an operator sets in practice. */
const SILENCES_RETENTION_MS = 90 * 24 * HOUR_MS;

/** One partition each: their rate is a few hundred records a second at most, and order matters. */
export function siteTopicSpecs(topics: SiteTopics): TopicSpec[] {
  return [
    // Each node keeps what it read in its store; the topic only has to cover a node being away for a while
    // (a few hundred rows a second for a site of tens of edge servers: some 400 MB an hour per replica).
    { name: topics.windows, partitions: 1, config: { 'retention.ms': String(HOUR_MS) } },
    { name: topics.alerts, partitions: 1, config: { 'retention.ms': String(7 * 24 * HOUR_MS) } },
    // Not compacted (replicas of compacted topics are not supported yet, docs/cluster.md): kept long enough
    // that a node added later still learns of every silence that has not ended.
    { name: topics.silences, partitions: 1, config: { 'retention.ms': String(SILENCES_RETENTION_MS) } },
  ];
}

const labels = z.record(z.string(), z.string());
const finiteNumber = z.number().finite();

const windowRow = z.strictObject({
  metric: z.string(),
  dimensions: labels,
  windowStartMs: z.number().int(),
  windowEndMs: z.number().int(),
  values: z.record(z.string(), finiteNumber),
  final: z.boolean(),
});
/** Rows the AggregateSink flushed together travel as one record. */
const windowsRecord = z.strictObject({ rows: z.array(windowRow).max(10_000) });

const alertTransition = z.strictObject({
  fingerprint: z.string(),
  rule: z.string(),
  state: z.enum(['pending', 'firing', 'resolved']),
  atMs: z.number().int(),
  value: finiteNumber.nullable(),
  labels,
  annotations: labels,
  wasFiring: z.boolean(),
  eventTimeMs: z.number(),
});
const alertsRecord = z.strictObject({
  /** The node whose alert engine made these transitions. */
  node: z.number().int(),
  /**
   * True when that node's alert engine (re)started: every alert it reported before is gone with the engine
   * that held it. The node running those series now reports them again if they still hold.
   */
  reset: z.boolean(),
  transitions: z.array(alertTransition).max(10_000),
});

const silenceRecord = z.strictObject({
  id: z.string().min(1).max(128),
  matchers: z
    .array(z.strictObject({ name: z.string(), op: z.enum(['=', '!=', '=~', '!~']), value: z.string() }))
    .max(32),
  startsAtMs: z.number().int(),
  endsAtMs: z.number().int(),
  createdBy: z.string(),
  comment: z.string(),
  createdAtMs: z.number().int(),
});

export type SiteAlertRecord = z.output<typeof alertsRecord>;

export function encodeWindows(rows: readonly AggregateWrite[]): Buffer {
  return Buffer.from(JSON.stringify({ rows }));
}

export function encodeAlerts(record: {
  node: number;
  reset: boolean;
  transitions: readonly AlertTransition[];
}): Buffer {
  // Field by field: a transition object may carry more than the record's schema accepts.
  const transitions = record.transitions.map((t) => ({
    fingerprint: t.fingerprint,
    rule: t.rule,
    state: t.state,
    atMs: t.atMs,
    value: t.value,
    labels: t.labels,
    annotations: t.annotations,
    wasFiring: t.wasFiring,
    eventTimeMs: t.eventTimeMs,
  }));
  return Buffer.from(JSON.stringify({ node: record.node, reset: record.reset, transitions }));
}

export function encodeSilence(silence: Silence): Buffer {
  return Buffer.from(JSON.stringify(silence));
}

/** A record that is not what a node writes (anyone with access to the cluster can produce to these topics). */
export class SiteRecordError extends Error {
  constructor(topic: string, offset: number, reason: string) {
    super(`${topic} offset ${offset}: ${reason}`);
    this.name = 'SiteRecordError';
  }
}

function decode<T>(schema: z.ZodType<T>, value: Buffer | null, topic: string, offset: number): T {
  if (value === null) throw new SiteRecordError(topic, offset, 'no value');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new SiteRecordError(topic, offset, 'not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SiteRecordError(topic, offset, `${issue.path.join('.') || '(value)'}: ${issue.message}`);
  }
  return parsed.data;
}

export function decodeWindows(value: Buffer | null, topic: string, offset: number): AggregateWrite[] {
  return decode(windowsRecord, value, topic, offset).rows;
}

export function decodeAlerts(value: Buffer | null, topic: string, offset: number): SiteAlertRecord {
  return decode(alertsRecord, value, topic, offset);
}

export function decodeSilence(value: Buffer | null, topic: string, offset: number): Silence {
  return decode(silenceRecord, value, topic, offset);
}
