import type { CmcdData } from '@svta/cml-cmcd';
import {
  type Cmcd,
  type QoeEvent,
  type RebufferEndEvent,
  type SegmentEvent,
  UNKNOWN_STREAM,
} from '../simulate/telemetry.js';

/**
 * CMCD (CTA-5004 v1 and CTA-5004-B v2) turned into the player events of docs/telemetry.md, whichever way it
 * arrives: the query string or headers of a segment request in an edge server's access log (the agent), or a
 * player's CMCD v2 event and response reports (the beacon endpoint). Decoding is @svta/cml-cmcd's; this
 * module only decides which telemetry a CMCD observation is.
 */

/** Where and when a CMCD observation was made, and what the request itself told (access logs, `rr` reports). */
export interface CmcdObservation {
  /** When the request began, ms since the epoch (a v2 report's `ts`, an access log's time minus the request's); null when not known (a v1 beacon). */
  startedAtMs: number | null;
  /** When the observation reached its reader: the beacon's arrival, the log line's reading. */
  receivedAtMs: number;
  site: string;
  edge: string;
  cmcd: CmcdData;
  /** The request's duration (access log request time, CMCD v2 `ttlb`); null when not known. */
  downloadMs: number | null;
  /** The answer's HTTP status (access log, CMCD v2 `rc`); null when not known. */
  httpStatus: number | null;
  /** Bytes sent in the answer; null when not known. */
  bytes: number | null;
}

/** Session id for requests whose player sent none (the segment still counts for the edge's statistics). */
export const UNKNOWN_SESSION = 'unknown';

/**
 * The events one observation stands for: a `segment` for a media object whose duration and status are known,
 * stamped when its download ended, and a `rebuffer_end` when the player reports how long it starved (v2 `bsd`),
 * stamped when the request began (the stall it reports ended by then). An observation of neither (a
 * manifest request, a play-state report) stands for nothing the monitoring counts and gives [].
 */
export function qoeEventsOfCmcd(observation: CmcdObservation): QoeEvent[] {
  const { cmcd, startedAtMs, receivedAtMs } = observation;
  const session = textOf(cmcd.sid) ?? UNKNOWN_SESSION;
  const base = {
    ts: startedAtMs ?? receivedAtMs,
    site: observation.site,
    edge: observation.edge,
    stream: streamOfContentId(textOf(cmcd.cid)),
    session,
  };
  const events: QoeEvent[] = [];
  const downloadMs = observation.downloadMs ?? ('ttlb' in cmcd ? numberOf(cmcd.ttlb) : null);
  const httpStatus = observation.httpStatus ?? ('rc' in cmcd ? numberOf(cmcd.rc) : null);
  const objectType = objectTypeOf(cmcd.ot);
  if (downloadMs !== null && httpStatus !== null && objectType !== null) {
    const segment: SegmentEvent = {
      ...base,
      // A download's time is known when it ends, and that is when it is reported: stamped at its start, a slow
      // one (the very thing a latency alert looks for) would arrive behind the watermark and count as late.
      ts: startedAtMs === null ? receivedAtMs : startedAtMs + downloadMs,
      type: 'segment',
      downloadMs,
      httpStatus,
      bytes: observation.bytes ?? 0,
      cmcd: segmentCmcd(cmcd, objectType, session),
    };
    events.push(segment);
  }
  const starvedMs = numberOf(cmcd.bsd);
  if (starvedMs !== null && starvedMs > 0) {
    const rebuffer: RebufferEndEvent = { ...base, type: 'rebuffer_end', durationMs: starvedMs };
    events.push(rebuffer);
  }
  return events;
}

/** `live/sports-1` names the stream `sports-1`, as the simulator's players send it; any other id is the stream. */
export function streamOfContentId(cid: string | null): string {
  if (cid === null || cid === '') return UNKNOWN_STREAM;
  const slash = cid.lastIndexOf('/');
  return slash >= 0 && slash < cid.length - 1 ? cid.slice(slash + 1) : cid;
}

function segmentCmcd(cmcd: CmcdData, objectType: Cmcd['ot'], session: string): Cmcd {
  return {
    br: numberOf(cmcd.br) ?? 0,
    bl: numberOf(cmcd.bl) ?? 0,
    mtp: numberOf(cmcd.mtp) ?? 0,
    ot: objectType,
    sid: session,
    cid: textOf(cmcd.cid) ?? '',
    su: cmcd.su === true,
    d: numberOf(cmcd.d) ?? 0,
  };
}

/** The object types the monitoring tells apart; muxed audio and video (`av`) counts as video. */
function objectTypeOf(value: unknown): Cmcd['ot'] | null {
  switch (value) {
    case 'v':
    case 'av':
      return 'v';
    case 'a':
    case 'm':
    case 'i':
      return value;
    default:
      return null;
  }
}

function textOf(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * A v1 integer, or the video entry (else the first) of a v2 inner list such as `bl=(21300;v 9000;a)`: the
 * monitoring keeps one number per key and watches video, which is what stalls playback.
 */
function numberOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (!Array.isArray(value) || value.length === 0) return null;
  const items = value as Array<{ value?: unknown; params?: Record<string, unknown> } | number>;
  const video = items.find((item) => typeof item === 'object' && item.params?.v === true);
  const chosen = video ?? items[0];
  const number = typeof chosen === 'number' ? chosen : chosen?.value;
  return typeof number === 'number' && Number.isFinite(number) ? number : null;
}
