import type { FieldRollup } from '../store/types.js';
import type { Aggregation } from '../streams/aggregations.js';
import { distinctCount, quantiles } from '../streams/sketches.js';
import type { Measurement } from './measurement.js';

/**
 * One window of an edge server or site. Ratios and percentiles are null until the window holds enough samples
 * to mean something: an early update of a window that has seen three segments must not page anyone because one
 * of them was slow.
 */
export interface CdnWindowValues {
  events: number;
  retransmits: number;
  retransmits_per_sec: number;
  /** Retransmitted share of TCP segments sent, percent. */
  retransmit_pct: number | null;
  rtt_avg_ms: number | null;
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

export type CdnFieldName = keyof CdnWindowValues;

/** A window's values and the site it belongs to (per-edge windows are keyed by edge id alone). */
export interface CdnWindow {
  site: string;
  values: CdnWindowValues;
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

export interface CdnAccumulator {
  site: string;
  events: number;
  segmentsOut: number;
  retransmits: number;
  rttSum: number;
  rttSamples: number;
  segments: number;
  serverErrors: number;
  videoMs: number;
  rebufferMs: number;
  downloads: ReturnType<typeof downloadQuantiles.init>;
  sessions: ReturnType<typeof sessionCount.init>;
}

const downloadQuantiles = quantiles<number>((ms) => ms, [0.5, 0.95, 0.99]);
const sessionCount = distinctCount<string>((session) => session);

function percent(part: number, whole: number, minimum: number): number | null {
  return whole >= minimum ? (100 * part) / whole : null;
}

/** The CDN health aggregation: all of a window's fields from one accumulator, mergeable like every other. */
export function cdnStats(windowSizeMs: number): Aggregation<Measurement, CdnAccumulator, CdnWindow> {
  const seconds = windowSizeMs / 1000;
  return {
    init: () => ({
      site: '',
      events: 0,
      segmentsOut: 0,
      retransmits: 0,
      rttSum: 0,
      rttSamples: 0,
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
      acc.segmentsOut += m.segmentsOut;
      acc.retransmits += m.retransmits;
      if (m.rttMs !== null) {
        acc.rttSum += m.rttMs;
        acc.rttSamples++;
      }
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
      const enoughDownloads = acc.segments >= MIN_SAMPLES.segments;
      const download = enoughDownloads ? downloadQuantiles.result(acc.downloads) : null;
      const values: CdnWindowValues = {
        events: acc.events,
        retransmits: acc.retransmits,
        retransmits_per_sec: acc.retransmits / seconds,
        retransmit_pct: percent(acc.retransmits, acc.segmentsOut, MIN_SAMPLES.segmentsOut),
        rtt_avg_ms: acc.rttSamples > 0 ? acc.rttSum / acc.rttSamples : null,
        segments: acc.segments,
        error_pct: percent(acc.serverErrors, acc.segments, MIN_SAMPLES.segments),
        download_p50_ms: download?.p50 ?? null,
        download_p95_ms: download?.p95 ?? null,
        download_p99_ms: download?.p99 ?? null,
        rebuffer_pct: percent(acc.rebufferMs, acc.rebufferMs + acc.videoMs, MIN_SAMPLES.mediaMs),
        active_sessions: sessionCount.result(acc.sessions),
      };
      return { site: acc.site, values };
    },
    merge: (a, b) => {
      a.site ||= b.site;
      a.events += b.events;
      a.segmentsOut += b.segmentsOut;
      a.retransmits += b.retransmits;
      a.rttSum += b.rttSum;
      a.rttSamples += b.rttSamples;
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
export const CDN_FIELD_ROLLUPS: Readonly<Record<CdnFieldName, FieldRollup>> = {
  events: { kind: 'sum' },
  retransmits: { kind: 'sum' },
  retransmits_per_sec: { kind: 'mean' },
  retransmit_pct: { kind: 'mean', weightField: 'events' },
  rtt_avg_ms: { kind: 'mean', weightField: 'events' },
  segments: { kind: 'sum' },
  error_pct: { kind: 'mean', weightField: 'segments' },
  download_p50_ms: { kind: 'max' },
  download_p95_ms: { kind: 'max' },
  download_p99_ms: { kind: 'max' },
  rebuffer_pct: { kind: 'mean', weightField: 'segments' },
  active_sessions: { kind: 'max' },
};
