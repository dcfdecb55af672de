import type { IncomingHttpHeaders } from 'node:http';
import { CMCD_MIME_TYPE, type CmcdData, decodeCmcd, fromCmcdHeaders, fromCmcdQuery } from '@svta/cml-cmcd';
import { z } from 'zod';
import type { QoeEvent } from '../simulate/telemetry.js';
import { qoeEventsOfCmcd } from './cmcd-qoe.js';
import { BeaconError } from './ingest-errors.js';
import type { BeaconContext } from './qoe-beacon.js';

/**
 * CMCD reports as players send them to a collector (`POST /beacons/cmcd`): CMCD v2 event and response
 * reports in the body, one per line (CTA-5004-B's `application/cmcd`), or as JSON objects; or CMCD v1/v2 in
 * the request's own query (`?CMCD=`) or `CMCD-*` headers. Decoding is @svta/cml-cmcd's.
 */

/** Body types read as CMCD text: the spec's MIME type, and text/plain, which navigator.sendBeacon sends. */
const CMCD_TEXT_TYPES = new Set([CMCD_MIME_TYPE, 'text/cmcd', 'text/plain']);
const CMCD_HEADER_NAMES = ['cmcd-request', 'cmcd-object', 'cmcd-status', 'cmcd-session'] as const;

/** A JSON CMCD report: CMCD keys (or `vendor-key` custom keys) to plain values or v2 inner lists of numbers. */
const jsonReportSchema = z.record(
  z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/, 'expected a CMCD key'),
  z.union([
    z.string().regex(/^[\x20-\x7e]{0,1024}$/, 'expected printable ASCII (CMCD strings)'),
    z.number().finite(),
    z.boolean(),
    z.array(z.number().finite()).max(16),
  ]),
);

/** The CMCD reports of one request: its body's, else the one in its query or headers. */
export function cmcdReportsOfRequest(
  contentType: string | undefined,
  body: Buffer,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  maxReports: number,
): CmcdData[] {
  const reports = body.length === 0 ? [] : cmcdReportsOfBody(contentType, body, maxReports);
  if (reports.length > 0) return reports;
  const fromRequest = cmcdOfQueryOrHeaders(query, headers);
  if (fromRequest === null)
    throw new BeaconError(
      400,
      'BAD_BODY',
      'no CMCD: send reports in the body, a CMCD query or CMCD-* headers',
    );
  return [fromRequest];
}

/** Every report in the body; 415 for a type that is neither CMCD text nor JSON, 400 naming a bad line. */
function cmcdReportsOfBody(contentType: string | undefined, body: Buffer, maxReports: number): CmcdData[] {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return cmcdReportsOfJson(body, maxReports);
  if (!CMCD_TEXT_TYPES.has(type))
    throw new BeaconError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `content type '${contentType ?? ''}' is not CMCD: send ${CMCD_MIME_TYPE} (one report per line), text/plain or application/json`,
    );
  const lines = body
    .toString('utf8')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '');
  checkCount(lines.length, maxReports);
  return lines.map((line, i) => {
    try {
      return decodeCmcd(line.trim());
    } catch (error) {
      throw new BeaconError(400, 'BAD_BODY', `line ${i + 1} is not CMCD: ${(error as Error).message}`);
    }
  });
}

/** The events the reports stand for (segments, rebuffers), in report order. */
export function qoeEventsOfReports(reports: readonly CmcdData[], context: BeaconContext): QoeEvent[] {
  return reports.flatMap((cmcd) =>
    qoeEventsOfCmcd({
      // A v2 response report says when its request began; a v1 one does not.
      startedAtMs: 'ts' in cmcd && typeof cmcd.ts === 'number' ? cmcd.ts : null,
      receivedAtMs: context.nowMs,
      site: context.site,
      edge: context.edge,
      cmcd,
      downloadMs: null,
      httpStatus: null,
      bytes: null,
    }),
  );
}

/**
 * JSON reports go through CMCD text so that the library decodes them as it decodes every other report: one
 * set of rules for key types and inner lists, and no cast of an arbitrary object to CmcdData.
 */
function cmcdReportsOfJson(body: Buffer, maxReports: number): CmcdData[] {
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BeaconError(400, 'BAD_BODY', `request body is not JSON: ${(error as Error).message}`);
  }
  const items = Array.isArray(input) ? input : [input];
  checkCount(items.length, maxReports);
  return items.map((item, i) => {
    const parsed = jsonReportSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join('.') || '(report)';
      throw new BeaconError(400, 'BAD_BODY', `reports[${i}].${field}: ${issue.message}`);
    }
    return decodeCmcd(cmcdTextOf(parsed.data));
  });
}

/** `{bl: [21300, 9000], ot: 'v', su: true}` as `bl=(21300 9000),ot="v",su`. */
function cmcdTextOf(report: Record<string, string | number | boolean | number[]>): string {
  return Object.entries(report)
    .map(([key, value]) => {
      if (value === true) return key;
      if (value === false) return `${key}=?0`;
      if (typeof value === 'number') return `${key}=${value}`;
      if (Array.isArray(value)) return `${key}=(${value.join(' ')})`;
      return `${key}=${JSON.stringify(value)}`;
    })
    .join(',');
}

function cmcdOfQueryOrHeaders(query: URLSearchParams, headers: IncomingHttpHeaders): CmcdData | null {
  try {
    if (query.has('CMCD')) return fromCmcdQuery(query);
    const cmcdHeaders: Record<string, string> = {};
    for (const name of CMCD_HEADER_NAMES) {
      const value = headers[name];
      if (typeof value === 'string') cmcdHeaders[name] = value;
    }
    return Object.keys(cmcdHeaders).length === 0 ? null : fromCmcdHeaders(cmcdHeaders);
  } catch (error) {
    throw new BeaconError(
      400,
      'BAD_PARAMETER',
      `the request's CMCD does not decode: ${(error as Error).message}`,
    );
  }
}

function checkCount(reports: number, maxReports: number): void {
  if (reports > maxReports)
    throw new BeaconError(
      413,
      'LIMIT_EXCEEDED',
      `the request holds ${reports} CMCD reports; at most ${maxReports} are taken per request`,
    );
}
