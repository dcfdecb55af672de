import { type CmcdData, fromCmcdHeaders, fromCmcdQuery } from '@svta/cml-cmcd';

/**
 * Access-log lines of the formats the agent reads (docs/agent.md gives each): `nginx` (the edgestream
 * log_format), `combined` (Apache/nginx combined: no request time) and `json` (one object per line).
 */

export const ACCESS_LOG_FORMATS = ['nginx', 'combined', 'json'] as const;
export type AccessLogFormat = (typeof ACCESS_LOG_FORMATS)[number];

/** What one request line tells. */
export interface AccessLogEntry {
  /** When the request was received, ms since the epoch ($msec - $request_time; $time_local in `combined`). */
  startMs: number;
  /** Request time ($request_time), ms; null when the format has none. */
  durationMs: number | null;
  status: number;
  /** $body_bytes_sent. */
  bytes: number;
  /** $upstream_cache_status; null when the format has none, `-` when the request skipped the cache. */
  cacheStatus: string | null;
  /** The request's CMCD, from the `CMCD=` query parameter or the CMCD-* headers; null when it sent none. */
  cmcd: CmcdData | null;
}

export function isAccessLogFormat(name: string): name is AccessLogFormat {
  return (ACCESS_LOG_FORMATS as readonly string[]).includes(name);
}

/** The parser of a format: an entry, or null for a line it cannot read. */
export function accessLogParser(format: AccessLogFormat): (line: string) => AccessLogEntry | null {
  switch (format) {
    case 'nginx':
      return parseNginxLine;
    case 'combined':
      return parseCombinedLine;
    case 'json':
      return parseJsonLine;
  }
}

/** A double-quoted nginx field; nginx writes `"` and `\` inside as \x22 and \x5C, so none appears raw. */
const Q = '"([^"]*)"';
const COMBINED = String.raw`^(\S+) \S+ (\S+) \[([^\]]+)\] ${Q} (\d{3}) (\d+|-) ${Q} ${Q}`;
const COMBINED_LINE = new RegExp(`${COMBINED}$`);
const NGINX_LINE = new RegExp(String.raw`${COMBINED} (\S+) (\S+) ${Q} ${Q} ${Q} ${Q} ${Q}$`);

function parseNginxLine(line: string): AccessLogEntry | null {
  const m = NGINX_LINE.exec(line);
  if (!m) return null;
  const requestTimeS = Number(m[9]);
  const msecS = Number(m[10]);
  if (!Number.isFinite(requestTimeS) || !Number.isFinite(msecS) || requestTimeS < 0) return null;
  const durationMs = Math.round(requestTimeS * 1000);
  return {
    startMs: Math.round(msecS * 1000) - durationMs,
    durationMs,
    status: Number(m[5]),
    bytes: bytesOf(m[6]!),
    cacheStatus: unescapeNginx(m[11]!),
    cmcd: cmcdOf(unescapeNginx(m[4]!), {
      'cmcd-request': m[12]!,
      'cmcd-object': m[13]!,
      'cmcd-status': m[14]!,
      'cmcd-session': m[15]!,
    }),
  };
}

function parseCombinedLine(line: string): AccessLogEntry | null {
  const m = COMBINED_LINE.exec(line);
  if (!m) return null;
  const startMs = timeLocalMs(m[3]!);
  if (startMs === null) return null;
  return {
    startMs,
    durationMs: null,
    status: Number(m[5]),
    bytes: bytesOf(m[6]!),
    cacheStatus: null,
    cmcd: cmcdOf(unescapeNginx(m[4]!), {}),
  };
}

/**
 * Field names of the json format: nginx's variable names without `$`, values strings (as nginx `escape=json`
 * writes them) or numbers. `msec`, `request_time`, `status` are required; `request` or `request_uri` carries the
 * query string.
 */
function parseJsonLine(line: string): AccessLogEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const field = (name: string): string | null => {
    const raw: unknown = Reflect.get(value, name);
    if (typeof raw === 'string') return raw;
    return typeof raw === 'number' ? String(raw) : null;
  };
  const msecS = Number(field('msec'));
  const requestTimeS = Number(field('request_time'));
  const status = Number(field('status'));
  if (!Number.isFinite(msecS) || !Number.isFinite(requestTimeS) || !Number.isInteger(status)) return null;
  const durationMs = Math.round(requestTimeS * 1000);
  return {
    startMs: Math.round(msecS * 1000) - durationMs,
    durationMs,
    status,
    bytes: bytesOf(field('body_bytes_sent') ?? '0'),
    // escape=json writes an unset variable as "", the other formats as `-`.
    cacheStatus: field('upstream_cache_status') || '-',
    cmcd: cmcdOf(field('request_uri') ?? field('request') ?? '', {
      'cmcd-request': field('http_cmcd_request') ?? '',
      'cmcd-object': field('http_cmcd_object') ?? '',
      'cmcd-status': field('http_cmcd_status') ?? '',
      'cmcd-session': field('http_cmcd_session') ?? '',
    }),
  };
}

function bytesOf(text: string): number {
  const bytes = Number(text);
  return Number.isFinite(bytes) && bytes >= 0 ? bytes : 0;
}

/** nginx writes a non-printable or quoting byte of a variable as \xHH. */
export function unescapeNginx(text: string): string {
  if (!text.includes('\\x')) return text;
  return text.replace(/\\x([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/**
 * CMCD of a request: the `CMCD=` query parameter of its URI (in `$request`, `GET /uri HTTP/1.1`), else its
 * CMCD-* headers; a key that does not decode is left out by the decoder, so the rest still counts.
 */
function cmcdOf(request: string, headers: Record<string, string>): CmcdData | null {
  const uri = request.split(' ')[1] ?? request;
  const query = uri.indexOf('?');
  if (query >= 0) {
    const params = new URLSearchParams(uri.slice(query + 1));
    if (params.has('CMCD')) return fromCmcdQuery(params);
  }
  const present: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    const text = unescapeNginx(raw);
    if (text !== '' && text !== '-') present[name] = text;
  }
  return Object.keys(present).length > 0 ? fromCmcdHeaders(present) : null;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `10/Oct/2000:13:55:36 -0700` as ms since the epoch. */
function timeLocalMs(text: string): number | null {
  const m = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!);
  if (month < 0) return null;
  const utcMs = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offsetMs = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === '-' ? -1 : 1);
  return utcMs - offsetMs;
}
