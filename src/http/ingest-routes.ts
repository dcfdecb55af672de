import type { IncomingMessage } from 'node:http';
import {
  BeaconError,
  type BeaconIngest,
  cmcdReportsOfRequest,
  type IngestMetrics,
  type IngestPath,
  KAFKA_REST_RESPONSE_TYPE,
  KafkaRestError,
  qoeEventsOfBeacon,
  qoeEventsOfReports,
  type RestProxy,
} from '../ingest/index.js';
import { aclHostOf } from '../security/index.js';
import type { QoeEvent } from '../simulate/telemetry.js';
import { type ApiReply, type ApiRequest, type ApiRoute, decodeSegment } from './api-routes.js';
import { HttpError } from './errors.js';

/**
 * The routes of the HTTP doors into the log (src/ingest does the work): Confluent REST Proxy v2's produce and
 * topic listing under /topics, and player beacons under /beacons. Thin: read the request, hand it over, map
 * the outcome to HTTP.
 */
export interface IngestRoutesOptions {
  metrics: IngestMetrics;
  restProxy: { proxy: RestProxy; maxBodyBytes: number } | null;
  beacons: { ingest: BeaconIngest; maxBodyBytes: number; maxReportsPerRequest: number } | null;
}

const REST_HEADERS = { 'content-type': KAFKA_REST_RESPONSE_TYPE };

export function ingestRoutes(options: IngestRoutesOptions): ApiRoute[] {
  return [
    ...(options.restProxy === null ? [] : restProxyRoutes(options.restProxy, options.metrics)),
    ...(options.beacons === null ? [] : beaconRoutes(options.beacons, options.metrics)),
  ];
}

function restProxyRoutes(
  { proxy, maxBodyBytes }: NonNullable<IngestRoutesOptions['restProxy']>,
  metrics: IngestMetrics,
): ApiRoute[] {
  const answered = (status: number) => metrics.requests.inc({ path: 'rest_proxy', status });
  const produce = async (r: ApiRequest, partition: number | null): Promise<ApiReply> => {
    const body = await r.rawBody(maxBodyBytes);
    metrics.bytes.inc({ path: 'rest_proxy' }, body.length);
    const response = await proxy.produce({
      topic: decodeSegment(r.captures[0]!),
      partition,
      contentType: r.incoming.headers['content-type'],
      accept: r.incoming.headers.accept,
      body,
      principal: `User:${r.principal?.name ?? 'ANONYMOUS'}`,
      // As the broker writes a Kafka client's address, so one ACL host matches both doors.
      host: aclHostOf(r.incoming.socket.remoteAddress ?? 'unknown'),
      nowMs: r.nowMs,
    });
    return { status: 200, body: response, headers: REST_HEADERS };
  };
  const common = { errorBody: kafkaRestErrorBody, answered };
  return [
    {
      ...common,
      method: 'GET',
      pattern: /^\/topics$/,
      role: 'viewer',
      handle: async () => ({ status: 200, body: proxy.topicNames(), headers: REST_HEADERS }),
    },
    {
      ...common,
      method: 'GET',
      pattern: /^\/topics\/([^/]+)$/,
      role: 'viewer',
      handle: restErrors(async (r) => ({
        status: 200,
        body: proxy.describeTopic(decodeSegment(r.captures[0]!)),
        headers: REST_HEADERS,
      })),
    },
    // Producing is a change to the log: operators and admins may, viewers may not (docs/ingest.md).
    {
      ...common,
      method: 'POST',
      pattern: /^\/topics\/([^/]+)$/,
      role: 'operator',
      handle: restErrors((r) => produce(r, null)),
    },
    {
      ...common,
      method: 'POST',
      pattern: /^\/topics\/([^/]+)\/partitions\/(\d{1,10})$/,
      role: 'operator',
      handle: restErrors((r) => produce(r, Number(r.captures[1]))),
    },
  ];
}

function beaconRoutes(
  { ingest, maxBodyBytes, maxReportsPerRequest }: NonNullable<IngestRoutesOptions['beacons']>,
  metrics: IngestMetrics,
): ApiRoute[] {
  const beacon =
    (path: IngestPath, events: (r: ApiRequest, body: Buffer) => QoeEvent[]): ApiRoute['handle'] =>
    async (r) => {
      const origin = originOf(r.incoming);
      const cors = ingest.corsHeaders(origin);
      try {
        ingest.admit(origin, r.searchParams, r.incoming.headers);
        const body = await r.rawBody(maxBodyBytes);
        metrics.bytes.inc({ path }, body.length);
        await ingest.append(path, events(r, body));
        return { status: 204, body: null, headers: cors };
      } catch (error) {
        // With the CORS headers, a page's script can read why its beacon was refused.
        throw beaconHttpError(error, cors);
      }
    };
  const cmcd = beacon('beacons_cmcd', (r, body) =>
    qoeEventsOfReports(
      cmcdReportsOfRequest(
        r.incoming.headers['content-type'],
        body,
        r.searchParams,
        r.incoming.headers,
        maxReportsPerRequest,
      ),
      ingest.context(r.searchParams, r.nowMs),
    ),
  );
  const qoe = beacon('beacons_qoe', (r, body) =>
    qoeEventsOfBeacon(
      jsonBeacon(r.incoming.headers['content-type'], body),
      ingest.context(r.searchParams, r.nowMs),
      maxReportsPerRequest,
    ),
  );
  const preflight: ApiRoute['handle'] = async (r) => {
    try {
      return { status: 204, body: null, headers: ingest.preflight(originOf(r.incoming)) };
    } catch (error) {
      throw beaconHttpError(error, {});
    }
  };
  const counted = (path: IngestPath) => ({
    answered: (status: number) => metrics.requests.inc({ path, status }),
  });
  return [
    { ...counted('beacons_cmcd'), method: 'POST', pattern: /^\/beacons\/cmcd$/, role: null, handle: cmcd },
    { ...counted('beacons_qoe'), method: 'POST', pattern: /^\/beacons\/qoe$/, role: null, handle: qoe },
    { method: 'OPTIONS', pattern: /^\/beacons\/(cmcd|qoe)$/, role: null, handle: preflight },
  ];
}

/** REST Proxy's error body for failures the server itself answers (auth, body size, method). */
function kafkaRestErrorBody(error: HttpError): { error_code: number; message: string } {
  // Confluent's codes for 401 and 403 are 40101 and 40301; for others the status itself.
  const errorCode = error.status === 401 || error.status === 403 ? error.status * 100 + 1 : error.status;
  return { error_code: errorCode, message: error.message };
}

/** A REST proxy failure answered as REST Proxy v2 answers it: its status and `{error_code, message}`. */
function restErrors(handle: ApiRoute['handle']): ApiRoute['handle'] {
  return async (r) => {
    try {
      return await handle(r);
    } catch (error) {
      if (!(error instanceof KafkaRestError)) throw error;
      return { status: error.status, body: error.body(), headers: REST_HEADERS };
    }
  };
}

function beaconHttpError(error: unknown, cors: Record<string, string>): HttpError {
  if (error instanceof BeaconError) return new HttpError(error.status, error.code, error.message, cors);
  if (error instanceof HttpError)
    return new HttpError(error.status, error.code, error.message, { ...error.headers, ...cors });
  const message = error instanceof Error ? error.message : String(error);
  return new HttpError(503, 'SERVICE_UNAVAILABLE', `the events were not appended: ${message}`, cors);
}

/** A QoE beacon body: JSON, sent as application/json or as the text/plain navigator.sendBeacon uses. */
function jsonBeacon(contentType: string | undefined, body: Buffer): unknown {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && type !== 'text/plain')
    throw new BeaconError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `expected application/json (or text/plain from sendBeacon), got '${contentType ?? ''}'`,
    );
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BeaconError(400, 'BAD_BODY', `request body is not JSON: ${(error as Error).message}`);
  }
}

function originOf(request: IncomingMessage): string | undefined {
  const origin = request.headers.origin;
  return typeof origin === 'string' ? origin : undefined;
}
