import { UNKNOWN_STREAM } from '../simulate/telemetry.js';
import { JsonFields, parseJsonFields } from '../streams/json-fields.js';
import { type Serde, SerdeError } from '../streams/serdes.js';

/**
 * What the monitoring pipelines keep of a telemetry event: the few numbers the aggregates need, flat and small,
 * because per-site aggregation sends every measurement through a repartition topic.
 */
interface Located {
  /** Event time, ms since the epoch. */
  ts: number;
  site: string;
  edge: string;
}

/** One TCP sample of a client connection: segments sent and retransmitted in its interval, smoothed RTT. */
export interface TcpMeasurement extends Located {
  segmentsOut: number;
  retransmits: number;
  rttMs: number;
}

/** One player event. Fields the event type does not carry are 0 (or null for the download time). */
export interface QoeMeasurement extends Located {
  /** The live channel or title; `unknown` when the source could not tell (a player sent no CMCD `cid`). */
  stream: string;
  session: string | null;
  /** Segment download as the player saw it; null for other events. */
  downloadMs: number | null;
  /** 1 when a segment request was answered with a 5xx status. */
  serverError: number;
  /** Media time a video segment delivered (CMCD `d`), ms: the played time rebuffering is compared with. */
  videoMs: number;
  /** Stall time a `rebuffer_end` reports, ms. */
  rebufferMs: number;
}

/** Thrown for a value that is not a telemetry event of the expected kind. */
export class TelemetryFormatError extends Error {
  readonly code = 'TELEMETRY_INVALID';
}

function objectOf(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TelemetryFormatError('telemetry value must be a JSON object');
  return value as Record<string, unknown>;
}

function text(event: Record<string, unknown>, field: string): string {
  const value = event[field];
  if (typeof value !== 'string' || value.length === 0)
    throw new TelemetryFormatError(`telemetry field '${field}' must be a non-empty string`);
  return value;
}

function number(event: Record<string, unknown>, field: string): number {
  const value = event[field];
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TelemetryFormatError(`telemetry field '${field}' must be a finite number`);
  return value;
}

/** Projects a `tcp_stats` event of docs/telemetry.md. */
export function tcpMeasurementOf(value: unknown): TcpMeasurement {
  const event = objectOf(value);
  if (event.type !== 'tcp_stats')
    throw new TelemetryFormatError(`expected a tcp_stats event, got type ${JSON.stringify(event.type)}`);
  return {
    ts: number(event, 'ts'),
    site: text(event, 'site'),
    edge: text(event, 'edge'),
    segmentsOut: number(event, 'segmentsOut'),
    retransmits: number(event, 'retransmits'),
    rttMs: number(event, 'rttMs'),
  };
}

/** Projects a player event of docs/telemetry.md; event types it does not know count only as presence. */
export function qoeMeasurementOf(value: unknown): QoeMeasurement {
  const event = objectOf(value);
  if (event.type === 'tcp_stats') throw new TelemetryFormatError('expected a player event, got tcp_stats');
  const measurement: QoeMeasurement = {
    ts: number(event, 'ts'),
    site: text(event, 'site'),
    edge: text(event, 'edge'),
    stream: typeof event.stream === 'string' && event.stream !== '' ? event.stream : UNKNOWN_STREAM,
    session: typeof event.session === 'string' ? event.session : null,
    downloadMs: null,
    serverError: 0,
    videoMs: 0,
    rebufferMs: 0,
  };
  if (event.type === 'segment') {
    measurement.downloadMs = number(event, 'downloadMs');
    measurement.serverError = number(event, 'httpStatus') >= 500 ? 1 : 0;
    const cmcd = event.cmcd as Record<string, unknown> | undefined;
    if (cmcd?.ot === 'v' && typeof cmcd.d === 'number') measurement.videoMs = cmcd.d;
  } else if (event.type === 'rebuffer_end') {
    measurement.rebufferMs = number(event, 'durationMs');
  }
  return measurement;
}

/**
 * Telemetry JSON in, measurements out: a record that does not project fails here and goes to the dead letters.
 * Only the fields the projections read are decoded (json-fields.ts), a player event's `cmcd` object included;
 * the others are checked, not materialised. Whole-event JSON.parse made a string of the event, an object of
 * all its fields and a string per text field: on events as bench/loadgen.c sends them it allocated 726 bytes
 * per event against 498 here, and took 1.7-2.0 against 1.4-1.8 us.
 */
function telemetrySerde<M>(name: string, fields: JsonFields, project: (value: unknown) => M): Serde<M> {
  return {
    name,
    serialize: (measurement) => Buffer.from(JSON.stringify(measurement)),
    deserialize: (bytes) => {
      try {
        return project(parseJsonFields(bytes, fields));
      } catch (error) {
        throw new SerdeError(name, bytes, error);
      }
    },
  };
}

/** Every field tcpMeasurementOf reads. */
const TCP_FIELDS = new JsonFields(['type', 'ts', 'site', 'edge', 'segmentsOut', 'retransmits', 'rttMs']);
/** Every field qoeMeasurementOf reads. */
const QOE_FIELDS = new JsonFields(
  ['type', 'ts', 'site', 'edge', 'stream', 'session', 'downloadMs', 'httpStatus', 'durationMs', 'cmcd'],
  { cmcd: new JsonFields(['ot', 'd']) },
);

export const tcpTelemetrySerde = telemetrySerde('cdn-tcp', TCP_FIELDS, tcpMeasurementOf);
export const qoeTelemetrySerde = telemetrySerde('cdn-qoe', QOE_FIELDS, qoeMeasurementOf);
