import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { LogClient, OutgoingRecord } from '../client/index.js';
import { partitionForKey } from '../client/partitioner.js';
import type { QoeEvent } from '../simulate/telemetry.js';
import { BeaconError } from './ingest-errors.js';
import type { IngestMetrics, IngestPath } from './ingest-metrics.js';
import type { BeaconContext } from './qoe-beacon.js';

/** The header a beacon token may come in; `?token=` serves navigator.sendBeacon, which sets no headers. */
export const BEACON_TOKEN_HEADER = 'x-beacon-token';
const EDGE_ID = /^[A-Za-z0-9._:-]{1,256}$/;
/** How long a browser may reuse a preflight answer before asking again. */
const PREFLIGHT_MAX_AGE_S = 600;

export interface BeaconOptions {
  client: LogClient;
  /** Where the events go: the monitoring's QoE topic (cdn.qoe), keyed by edge id. */
  topic: string;
  /** This site, for events that name none. */
  site: string;
  /** The edge for beacons that name none (in the event or `?edge=`). */
  defaultEdge: string;
  /** Page origins (`https://player.example.com`) whose scripts may send beacons; `*` allows any. */
  allowedOrigins: readonly string[];
  /** A shared value every beacon must carry; null: none needed. Not a secret from whoever reads the page. */
  token: string | null;
  metrics: IngestMetrics;
}

/**
 * What player beacons share, whatever their format: who may send them (page origin, beacon token), CORS,
 * the request's edge, and the append of their events to the QoE topic, keyed by edge as docs/telemetry.md
 * says so that a beacon's events sit with the same edge's other events.
 */
export class BeaconIngest {
  private readonly origins: ReadonlySet<string>;
  private readonly tokenDigest: Buffer | null;

  constructor(private readonly options: BeaconOptions) {
    this.origins = new Set(options.allowedOrigins);
    this.tokenDigest = options.token === null ? null : digest(options.token);
  }

  /**
   * Refuses a browser page from an origin not allowed, and a beacon without the token when one is set. A
   * request with no Origin does not come from a page script (a server, curl): the token is its only check.
   */
  admit(origin: string | undefined, query: URLSearchParams, headers: IncomingHttpHeaders): void {
    if (origin !== undefined && !this.originAllowed(origin))
      throw new BeaconError(
        403,
        'FORBIDDEN',
        `origin '${origin}' may not send beacons here (ingest.beacons.allowedOrigins)`,
      );
    if (this.tokenDigest === null) return;
    const header = headers[BEACON_TOKEN_HEADER];
    const token = typeof header === 'string' ? header : query.get('token');
    if (token === null || !timingSafeEqual(digest(token), this.tokenDigest))
      throw new BeaconError(
        401,
        'UNAUTHENTICATED',
        `send the beacon token in ?token= or ${BEACON_TOKEN_HEADER}`,
      );
  }

  /** CORS headers for an answer to `origin`: Access-Control-Allow-Origin echoes allowed origins only. */
  corsHeaders(origin: string | undefined): Record<string, string> {
    if (origin === undefined || !this.originAllowed(origin)) return { vary: 'Origin' };
    return { 'access-control-allow-origin': origin, vary: 'Origin' };
  }

  /** The answer to a preflight: which method and headers a beacon may use; 403 for an origin not allowed. */
  preflight(origin: string | undefined): Record<string, string> {
    if (origin === undefined || !this.originAllowed(origin))
      throw new BeaconError(
        403,
        'FORBIDDEN',
        `origin '${origin ?? ''}' may not send beacons here (ingest.beacons.allowedOrigins)`,
      );
    return {
      ...this.corsHeaders(origin),
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': `content-type, cmcd-request, cmcd-object, cmcd-status, cmcd-session, ${BEACON_TOKEN_HEADER}`,
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
    };
  }

  /**
   * Site (`?site=`, else this runtime's), edge (`?edge=`, else the configured one) and arrival time of a
   * beacon: a player learns which edge server and site served it (a response header of the CDN) and puts
   * them in its report URL, which is how one runtime can take the beacons of several sites.
   */
  context(query: URLSearchParams, nowMs: number): BeaconContext {
    const named = (parameter: 'site' | 'edge', fallback: string): string => {
      const value = query.get(parameter) ?? fallback;
      if (!EDGE_ID.test(value))
        throw new BeaconError(
          400,
          'BAD_PARAMETER',
          `${parameter} ${JSON.stringify(value)}: expected 1 to 256 of [A-Za-z0-9._:-]`,
        );
      return value;
    };
    return { nowMs, site: named('site', this.options.site), edge: named('edge', this.options.defaultEdge) };
  }

  /** Appends the events to the QoE topic; resolves once they are acknowledged (durable). */
  async append(path: IngestPath, events: readonly QoeEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { client, topic, metrics } = this.options;
    const partitions = await client.partitionCount(topic);
    const records = events.map((event): OutgoingRecord => {
      const key = Buffer.from(event.edge, 'utf8');
      return {
        topic,
        partition: partitionForKey(key, partitions),
        key,
        value: Buffer.from(JSON.stringify(event), 'utf8'),
        timestamp: event.ts,
      };
    });
    await metrics.timed(path, records.length, () => client.produce(records));
  }

  private originAllowed(origin: string): boolean {
    return this.origins.has('*') || this.origins.has(origin);
  }
}

/** Compared as digests, so the comparison takes the same time whatever the length of what was sent. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
