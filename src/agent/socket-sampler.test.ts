import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseSs, SocketDeltas, type SocketInfo, ssArguments } from './socket-sampler.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../src/agent/fixtures/${name}`, import.meta.url), 'latin1');
const labels = { edge: 'edge-001', site: 'fra1' };

test('parses real ss -tinH output: addresses, counters, gauges and the delivery rate', () => {
  const sockets = parseSs(fixture('ss-established.txt'));
  assert.equal(sockets.length, 10);
  assert.deepEqual(sockets[0], {
    conn: '192.0.2.2:52536-203.0.113.80:443',
    segmentsOut: 31,
    retransmitsTotal: 0,
    bytesSent: 13_332,
    rttMs: 1.439,
    rttVarMs: 0.356,
    cwnd: 41,
    deliveryRateKbps: 92_170.936,
  });
});

test('takes the total of retrans:a/b (the second number), from a capture with real losses', () => {
  const sockets = parseSs(fixture('ss-lossy-loopback.txt'));
  assert.equal(sockets.length, 3);
  assert.equal(sockets[0]!.conn, '127.0.0.1:18080-127.0.0.1:43110');
  assert.equal(sockets[0]!.retransmitsTotal, 2);
  assert.equal(sockets[0]!.segmentsOut, 13);
  assert.equal(sockets[0]!.bytesSent, 455_808);
  assert.equal(sockets[1]!.retransmitsTotal, 0);
});

test('IPv6 addresses keep their brackets; a socket without tcp_info is left out', () => {
  const output =
    '0 0 [::1]:80 [::1]:51234\n\t cubic rtt:0.1/0.05 cwnd:10 bytes_sent:10 segs_out:2 data_segs_out:1\n' +
    '0 0 10.0.0.1:80 10.0.0.2:999\n\t cubic wscale:7,7\n';
  const sockets = parseSs(output);
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0]!.conn, '[::1]:80-[::1]:51234');
});

test('the filter names every serving port', () => {
  assert.deepEqual(ssArguments([80, 443]), [
    '-tinH',
    'state',
    'established',
    '( sport = :80 or sport = :443 )',
  ]);
});

function socket(conn: string, segmentsOut: number, retransmitsTotal: number, bytesSent: number): SocketInfo {
  return {
    conn,
    segmentsOut,
    retransmitsTotal,
    bytesSent,
    rttMs: 20,
    rttVarMs: 5,
    cwnd: 10,
    deliveryRateKbps: 900,
  };
}

test('deltas: present at start reports from the second sample, new ones since they opened, reuse restarts', () => {
  const deltas = new SocketDeltas(labels);
  assert.deepEqual(deltas.next([socket('a', 100, 1, 50_000)], 1_000, 1_000), []);
  const second = deltas.next([socket('a', 130, 3, 80_000), socket('b', 7, 0, 9_000)], 2_000, 1_000);
  assert.deepEqual(
    second.map((e) => [e.conn, e.segmentsOut, e.retransmits, e.bytesSent, e.intervalMs]),
    [
      ['a', 30, 2, 30_000, 1_000],
      ['b', 7, 0, 9_000, 1_000],
    ],
  );
  assert.equal(second[0]!.edge, 'edge-001');
  assert.equal(second[0]!.site, 'fra1');
  assert.equal(second[0]!.stream, 'unknown');
  assert.equal(second[0]!.type, 'tcp_stats');
  // `a` closed and a new connection took its addresses: counters went down, so they count from zero.
  const third = deltas.next([socket('a', 5, 0, 2_000)], 3_000, 1_000);
  assert.deepEqual(
    third.map((e) => [e.conn, e.segmentsOut, e.bytesSent]),
    [['a', 5, 2_000]],
  );
});
