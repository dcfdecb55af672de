import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SerdeError } from '../streams/serdes.js';
import { qoeStats, tcpStats } from './cdn-stats.js';
import type { QoeMeasurement, TcpMeasurement } from './measurement.js';
import { measurementPartialSerde, qoeMeasurementSerde, tcpMeasurementSerde } from './measurement-codec.js';

const tcp: TcpMeasurement = {
  ts: 1_765_000_000_123,
  site: 'ams1',
  edge: 'edge-007',
  segmentsOut: 312,
  retransmits: 1,
  rttMs: 23.7,
};

const segment: QoeMeasurement = {
  ts: 1_765_000_000_456,
  site: 'sïte-ü',
  edge: 'edge-012',
  stream: 'sports-1',
  session: 's-42',
  downloadMs: 812.5,
  serverError: 1,
  videoMs: 2_000,
  rebufferMs: 0,
};

describe('measurement codec', () => {
  it('round-trips TCP and player measurements, nullable fields and non-ASCII text included', () => {
    assert.deepEqual(tcpMeasurementSerde.deserialize(tcpMeasurementSerde.serialize(tcp)), tcp);
    assert.deepEqual(qoeMeasurementSerde.deserialize(qoeMeasurementSerde.serialize(segment)), segment);
    const stall = {
      ...segment,
      session: null,
      downloadMs: null,
      serverError: 0,
      videoMs: 0,
      rebufferMs: 3_100,
    };
    assert.deepEqual(qoeMeasurementSerde.deserialize(qoeMeasurementSerde.serialize(stall)), stall);
  });

  it('decodes the JSON that earlier versions wrote to the repartition topics', () => {
    assert.deepEqual(tcpMeasurementSerde.deserialize(Buffer.from(JSON.stringify(tcp))), tcp);
    assert.deepEqual(qoeMeasurementSerde.deserialize(Buffer.from(JSON.stringify(segment))), segment);
  });

  it('rejects truncated, padded and unknown values with a SerdeError', () => {
    const bytes = qoeMeasurementSerde.serialize(segment);
    assert.throws(() => qoeMeasurementSerde.deserialize(bytes.subarray(0, bytes.length - 3)), SerdeError);
    assert.throws(() => qoeMeasurementSerde.deserialize(Buffer.concat([bytes, Buffer.of(0)])), SerdeError);
    assert.throws(() => tcpMeasurementSerde.deserialize(Buffer.of(9, 1, 2)), SerdeError);
    assert.throws(() => tcpMeasurementSerde.deserialize(Buffer.alloc(0)), SerdeError);
  });

  it('reads site partials, and measurements an earlier version left in the site topic as partials of one', () => {
    const stats = qoeStats();
    const serde = measurementPartialSerde(qoeMeasurementSerde, stats, (m) => `${m.site}/${m.stream}`);
    const partial = {
      key: 'sïte-ü/sports-1',
      records: 2,
      accumulator: stats.add(stats.add(stats.init(), segment), segment),
    };
    assert.deepEqual(serde.deserialize(serde.serialize(partial)), partial);
    const one = { key: 'sïte-ü/sports-1', records: 1, accumulator: stats.add(stats.init(), segment) };
    assert.deepEqual(serde.deserialize(qoeMeasurementSerde.serialize(segment)), one);
    assert.deepEqual(
      serde.deserialize(Buffer.from(JSON.stringify(segment))),
      one,
      'the JSON before the binary form',
    );
    const tcpSerde = measurementPartialSerde(tcpMeasurementSerde, tcpStats(1000), (m) => m.site);
    assert.throws(() => tcpSerde.deserialize(Buffer.from([9, 1, 2])), SerdeError);
  });
});
