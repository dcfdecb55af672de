import { type Serde, SerdeError } from '../streams/serdes.js';

/**
 * What the monitoring pipelines keep of a telemetry event: the few numbers the aggregates need, flat and small,
 * because per-site aggregation sends every measurement through a repartition topic as JSON.
 */
export interface Measurement {
  /** Event time, ms since the epoch. */
  ts: number;
  site: string;
  edge: string;
  /** TCP sample: segments sent and retransmitted in the sample's interval, and the smoothed RTT. */
  segmentsOut: number;
  retransmits: number;
  rttMs: number | null;
  /** Segment download as the player saw it; null for other events. */
  downloadMs: number | null;
  /** 1 when a segment request was answered with a 5xx status. */
  serverError: number;
  /** Media time a video segment delivered (CMCD `d`), ms: the played time rebuffering is compared with. */
  videoMs: number;
  /** Stall time a `rebuffer_end` reports, ms. */
  rebufferMs: number;
  /** Player session id of QoE events; null for TCP samples. */
  session: string | null;
}

/** Thrown for a value that is not a telemetry event; the runtime sends the record to the dead-letter topic. */
export class TelemetryFormatError extends Error {
  readonly code = 'TELEMETRY_INVALID';
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

/** Projects one event of docs/telemetry.md; unknown event types carry only presence (sessions, no data). */
export function measurementOf(value: unknown): Measurement {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TelemetryFormatError('telemetry value must be a JSON object');
  const event = value as Record<string, unknown>;
  const measurement: Measurement = {
    ts: number(event, 'ts'),
    site: text(event, 'site'),
    edge: text(event, 'edge'),
    segmentsOut: 0,
    retransmits: 0,
    rttMs: null,
    downloadMs: null,
    serverError: 0,
    videoMs: 0,
    rebufferMs: 0,
    session: typeof event.session === 'string' ? event.session : null,
  };
  switch (event.type) {
    case 'tcp_stats':
      measurement.segmentsOut = number(event, 'segmentsOut');
      measurement.retransmits = number(event, 'retransmits');
      measurement.rttMs = number(event, 'rttMs');
      break;
    case 'segment': {
      measurement.downloadMs = number(event, 'downloadMs');
      measurement.serverError = number(event, 'httpStatus') >= 500 ? 1 : 0;
      const cmcd = event.cmcd as Record<string, unknown> | undefined;
      if (cmcd?.ot === 'v' && typeof cmcd.d === 'number') measurement.videoMs = cmcd.d;
      break;
    }
    case 'rebuffer_end':
      measurement.rebufferMs = number(event, 'durationMs');
      break;
  }
  return measurement;
}

/** Telemetry JSON in, measurements out: a record that is not telemetry fails here and goes to the dead letters. */
export const telemetrySerde: Serde<Measurement> = {
  name: 'cdn-telemetry',
  serialize: (measurement) => Buffer.from(JSON.stringify(measurement)),
  deserialize: (bytes) => {
    try {
      return measurementOf(JSON.parse(bytes.toString('utf8')));
    } catch (error) {
      throw new SerdeError('cdn-telemetry', bytes, error);
    }
  },
};
