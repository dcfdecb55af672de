import type { FieldRollup } from '../store/types.js';
import type { Aggregation } from '../streams/aggregations.js';
import { distinctCount, quantiles } from '../streams/sketches.js';
import type { QoeMeasurement, TcpMeasurement } from './measurement.js';

/**
 * Window statistics of an edge server or site, one family per telemetry topic. Ratios and percentiles are null
 * until the window holds enough samples to mean something: an early update of a window that has seen three
 * segments must not page anyone because one of them was slow.
 */
export interface TcpWindowValues {
  samples: number;
  segments_out: number;
  retransmits: number;
  retransmits_per_sec: number;
  /** Retransmitted share of TCP segments sent, percent. */
  retransmit_pct: number | null;
  rtt_avg_ms: number | null;
}

export interface QoeWindowValues {
  events: number;
  segments: number;
  /** Share of segment requests answered with 5xx, percent. */
  error_pct: number | null;
  download_p50_ms: number | null;
  download_p95_ms: number | null;
  download_p99_ms: number | null;
  /** Stall time over stall plus played time, percent (the usual "rebuffering ratio"). */
  rebuffer_pct: number | null;
  active_sessions: number;
}

/** A window's values and the site it belongs to (per-edge windows are keyed by edge id alone). */
export interface CdnWindow<Values> {
  site: string;
  values: Values;
}

/** Samples a ratio or percentile needs before it is reported. */
export const MIN_SAMPLES = {
  /** TCP segments: at a healthy 0.2% loss, 1,000 segments put 3% retransmits far out of reach of chance. */
  segmentsOut: 1_000,
  /** Segment downloads for error share and percentiles. */
  segments: 100,
  /** Played plus stalled media time, ms. */
  mediaMs: 60_000,
} as const;

function percent(part: number, whole: number, minimum: number): number | null {
  return whole >= minimum ? (100 * part) / whole : null;
}

export interface TcpAccumulator {
  site: string;
  samples: number;
  segmentsOut: number;
  retransmits: number;
  rttSum: number;
}

export function tcpStats(
  windowSizeMs: number,
): Aggregation<TcpMeasurement, TcpAccumulator, CdnWindow<TcpWindowValues>> {
  const seconds = windowSizeMs / 1000;
  return {
    init: () => ({ site: '', samples: 0, segmentsOut: 0, retransmits: 0, rttSum: 0 }),
    add: (acc, m) => {
      acc.site = m.site;
      acc.samples++;
      acc.segmentsOut += m.segmentsOut;
      acc.retransmits += m.retransmits;
      acc.rttSum += m.rttMs;
      return acc;
    },
    result: (acc) => ({
      site: acc.site,
      values: {
        samples: acc.samples,
        segments_out: acc.segmentsOut,
        retransmits: acc.retransmits,
        retransmits_per_sec: acc.retransmits / seconds,
        retransmit_pct: percent(acc.retransmits, acc.segmentsOut, MIN_SAMPLES.segmentsOut),
        rtt_avg_ms: acc.samples > 0 ? acc.rttSum / acc.samples : null,
      },
    }),
    merge: (a, b) => {
      a.site ||= b.site;
      a.samples += b.samples;
      a.segmentsOut += b.segmentsOut;
      a.retransmits += b.retransmits;
      a.rttSum += b.rttSum;
      return a;
    },
  };
}

const downloadQuantiles = quantiles<number>((ms) => ms, [0.5, 0.95, 0.99]);
const sessionCount = distinctCount<string>((session) => session);

export interface QoeAccumulator {
  site: string;
  events: number;
  segments: number;
  serverErrors: number;
  videoMs: number;
  rebufferMs: number;
  downloads: ReturnType<typeof downloadQuantiles.init>;
  sessions: ReturnType<typeof sessionCount.init>;
}

export function qoeStats(): Aggregation<QoeMeasurement, QoeAccumulator, CdnWindow<QoeWindowValues>> {
  return {
    init: () => ({
      site: '',
      events: 0,
      segments: 0,
      serverErrors: 0,
      videoMs: 0,
      rebufferMs: 0,
      downloads: downloadQuantiles.init(),
      sessions: sessionCount.init(),
    }),
    add: (acc, m) => {
      acc.site = m.site;
      acc.events++;
      if (m.downloadMs !== null) {
        acc.segments++;
        acc.serverErrors += m.serverError;
        acc.downloads = downloadQuantiles.add(acc.downloads, m.downloadMs);
      }
      acc.videoMs += m.videoMs;
      acc.rebufferMs += m.rebufferMs;
      if (m.session !== null) acc.sessions = sessionCount.add(acc.sessions, m.session);
      return acc;
    },
    result: (acc) => {
      const download = acc.segments >= MIN_SAMPLES.segments ? downloadQuantiles.result(acc.downloads) : null;
      return {
        site: acc.site,
        values: {
          events: acc.events,
          segments: acc.segments,
          error_pct: percent(acc.serverErrors, acc.segments, MIN_SAMPLES.segments),
          download_p50_ms: download?.p50 ?? null,
          download_p95_ms: download?.p95 ?? null,
          download_p99_ms: download?.p99 ?? null,
          rebuffer_pct: percent(acc.rebufferMs, acc.rebufferMs + acc.videoMs, MIN_SAMPLES.mediaMs),
          active_sessions: sessionCount.result(acc.sessions),
        },
      };
    },
    merge: (a, b) => {
      a.site ||= b.site;
      a.events += b.events;
      a.segments += b.segments;
      a.serverErrors += b.serverErrors;
      a.videoMs += b.videoMs;
      a.rebufferMs += b.rebufferMs;
      a.downloads = downloadQuantiles.merge(a.downloads, b.downloads);
      a.sessions = sessionCount.merge(a.sessions, b.sessions);
      return a;
    },
  };
}

/**
 * How the store merges these fields into coarser buckets: counts add up, percentiles take the worst bucket,
 * ratios and averages are weighted by the counts they were computed over.
 */
export const CDN_FIELD_ROLLUPS: Readonly<Record<keyof TcpWindowValues | keyof QoeWindowValues, FieldRollup>> =
  {
    samples: { kind: 'sum' },
    segments_out: { kind: 'sum' },
    retransmits: { kind: 'sum' },
    retransmits_per_sec: { kind: 'mean' },
    retransmit_pct: { kind: 'mean', weightField: 'segments_out' },
    rtt_avg_ms: { kind: 'mean', weightField: 'samples' },
    events: { kind: 'sum' },
    segments: { kind: 'sum' },
    error_pct: { kind: 'mean', weightField: 'segments' },
    download_p50_ms: { kind: 'max' },
    download_p95_ms: { kind: 'max' },
    download_p99_ms: { kind: 'max' },
    rebuffer_pct: { kind: 'mean', weightField: 'segments' },
    active_sessions: { kind: 'max' },
  };
