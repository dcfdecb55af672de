import type { Aggregation } from '../streams/aggregations.js';
import { type Partial, partialOf, partialSerde } from '../streams/pre-aggregate.js';
import { json, type Serde, SerdeError } from '../streams/serdes.js';
import type { QoeMeasurement, TcpMeasurement } from './measurement.js';

/*
 * How measurements travel through the site repartition topics. Every measurement crosses the broker a second
 * time there, on its way to the site and stream aggregates, and JSON.stringify plus JSON.parse of it were 9% of
 * a pipeline worker's time at 25,000 events/s (bench:e2e). Here: a format byte, the numbers as float64 at fixed
 * places, then the strings, each a uint32 byte length and UTF-8. A value that starts with `{` is the JSON that
 * earlier versions wrote, so records still in a repartition topic across an upgrade decode as before.
 */

const FORMAT_V1 = 1;
const JSON_OBJECT_START = 0x7b;
const FLOAT_BYTES = 8;
const LENGTH_BYTES = 4;
/** QoE flags: which nullable fields hold a value. */
const HAS_DOWNLOAD = 1;
const HAS_SESSION = 2;

/** Writes one value into a buffer sized for it up front (sizes come from stringBytes and the float count). */
class Writer {
  readonly bytes: Buffer;
  private at = 0;

  constructor(sizeBytes: number) {
    this.bytes = Buffer.allocUnsafe(sizeBytes);
  }

  byte(value: number): void {
    this.bytes[this.at++] = value;
  }

  float(value: number): void {
    this.at = this.bytes.writeDoubleLE(value, this.at);
  }

  string(value: string, byteLength: number): void {
    this.at = this.bytes.writeUInt32LE(byteLength, this.at);
    this.at += this.bytes.write(value, this.at, byteLength, 'utf8');
  }
}

/** Reads one value, checking every length against the bytes there are. */
class Reader {
  private at = 1;

  constructor(private readonly bytes: Buffer) {}

  byte(): number {
    if (this.at >= this.bytes.length) throw new RangeError('value ends early');
    return this.bytes[this.at++]!;
  }

  float(): number {
    const value = this.bytes.readDoubleLE(this.at);
    this.at += FLOAT_BYTES;
    return value;
  }

  string(): string {
    const length = this.bytes.readUInt32LE(this.at);
    const start = this.at + LENGTH_BYTES;
    const end = start + length;
    if (end > this.bytes.length) throw new RangeError(`a string of ${length} bytes runs past the value`);
    this.at = end;
    return this.bytes.toString('utf8', start, end);
  }

  end(): void {
    if (this.at !== this.bytes.length)
      throw new RangeError(`${this.bytes.length - this.at} bytes follow the value`);
  }
}

/** The binary form for values that start with FORMAT_V1, JSON for values that start with `{`. */
function measurementSerde<M>(
  name: string,
  encode: (measurement: M) => Buffer,
  decode: (reader: Reader) => M,
): Serde<M> {
  const legacy = json<M>();
  return {
    name,
    serialize: encode,
    deserialize: (bytes) => {
      if (bytes[0] === JSON_OBJECT_START) return legacy.deserialize(bytes);
      try {
        if (bytes[0] !== FORMAT_V1) throw new RangeError(`unknown format byte ${bytes[0]}`);
        const reader = new Reader(bytes);
        const measurement = decode(reader);
        reader.end();
        return measurement;
      } catch (error) {
        throw new SerdeError(name, bytes, error);
      }
    },
  };
}

// Fields go in the order of the objects tcpMeasurementOf and qoeMeasurementOf build, so measurements decoded
// here share their shape and the aggregations' code stays monomorphic.

const TCP_FLOATS = 4;

export const tcpMeasurementSerde: Serde<TcpMeasurement> = measurementSerde(
  'cdn-tcp-measurement',
  (m) => {
    const siteBytes = Buffer.byteLength(m.site, 'utf8');
    const edgeBytes = Buffer.byteLength(m.edge, 'utf8');
    const writer = new Writer(1 + TCP_FLOATS * FLOAT_BYTES + 2 * LENGTH_BYTES + siteBytes + edgeBytes);
    writer.byte(FORMAT_V1);
    writer.float(m.ts);
    writer.string(m.site, siteBytes);
    writer.string(m.edge, edgeBytes);
    writer.float(m.segmentsOut);
    writer.float(m.retransmits);
    writer.float(m.rttMs);
    return writer.bytes;
  },
  (reader) => ({
    ts: reader.float(),
    site: reader.string(),
    edge: reader.string(),
    segmentsOut: reader.float(),
    retransmits: reader.float(),
    rttMs: reader.float(),
  }),
);

const QOE_FLOATS = 5;

export const qoeMeasurementSerde: Serde<QoeMeasurement> = measurementSerde(
  'cdn-qoe-measurement',
  (m) => {
    const siteBytes = Buffer.byteLength(m.site, 'utf8');
    const edgeBytes = Buffer.byteLength(m.edge, 'utf8');
    const streamBytes = Buffer.byteLength(m.stream, 'utf8');
    const sessionBytes = m.session === null ? 0 : Buffer.byteLength(m.session, 'utf8');
    const strings = 3 + (m.session === null ? 0 : 1);
    const writer = new Writer(
      2 +
        QOE_FLOATS * FLOAT_BYTES +
        strings * LENGTH_BYTES +
        siteBytes +
        edgeBytes +
        streamBytes +
        sessionBytes,
    );
    writer.byte(FORMAT_V1);
    writer.byte((m.session === null ? 0 : HAS_SESSION) | (m.downloadMs === null ? 0 : HAS_DOWNLOAD));
    writer.float(m.ts);
    writer.string(m.site, siteBytes);
    writer.string(m.edge, edgeBytes);
    writer.string(m.stream, streamBytes);
    if (m.session !== null) writer.string(m.session, sessionBytes);
    writer.float(m.downloadMs ?? 0);
    writer.float(m.serverError);
    writer.float(m.videoMs);
    writer.float(m.rebufferMs);
    return writer.bytes;
  },
  (reader) => {
    const flags = reader.byte();
    const ts = reader.float();
    const site = reader.string();
    const edge = reader.string();
    const stream = reader.string();
    const session = (flags & HAS_SESSION) === 0 ? null : reader.string();
    const downloadMs = reader.float();
    return {
      ts,
      site,
      edge,
      stream,
      session,
      downloadMs: (flags & HAS_DOWNLOAD) === 0 ? null : downloadMs,
      serverError: reader.float(),
      videoMs: reader.float(),
      rebufferMs: reader.float(),
    };
  },
);

/**
 * Site repartition records since pre-aggregation: partials of measurements (see streams/pre-aggregate.ts), in
 * the same topic as before. A measurement still there from an earlier version (binary or JSON) is read as the
 * partial of that one measurement, so records in flight across an upgrade are counted once, as before.
 */
export function measurementPartialSerde<M, A>(
  measurements: Serde<M>,
  aggregation: Aggregation<M, A, unknown>,
  keyOf: (measurement: M) => string,
): Serde<Partial<A>> {
  return partialSerde(`${measurements.name}-partial`, (bytes) => {
    const measurement = measurements.deserialize(bytes);
    return partialOf(aggregation, keyOf(measurement), measurement);
  });
}
