import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cmcdReportsOfRequest, qoeEventsOfReports } from './cmcd-beacon.js';
import { BeaconError } from './ingest-errors.js';
import { qoeEventsOfBeacon } from './qoe-beacon.js';

const context = { nowMs: 1_800_000_000_000, site: 'ams1', edge: 'edge-007' };
const none = new URLSearchParams();

function refusedWith(status: number, message: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof BeaconError, String(error));
    assert.equal(error.status, status);
    assert.match(error.message, message);
    return true;
  };
}

test("CMCD text reports, one per line, become segment events at their download's end and rebuffers at its start", () => {
  const text = 'e=rr,ot=v,rc=200,ttlb=412,bsd=(300;v),sid="s-1",ts=1700000000000\r\n\ne=ps,sta=p,sid="s-1"\n';
  const reports = cmcdReportsOfRequest('application/cmcd', Buffer.from(text), none, {}, 10);
  assert.equal(reports.length, 2);
  const events = qoeEventsOfReports(reports, context);
  assert.deepEqual(
    events.map((e) => [e.type, e.ts, e.site, e.edge, e.session]),
    [
      ['segment', 1_700_000_000_412, 'ams1', 'edge-007', 's-1'],
      ['rebuffer_end', 1_700_000_000_000, 'ams1', 'edge-007', 's-1'],
    ],
  );
});

test('JSON CMCD reports decode as their text form would, booleans and lists included', () => {
  const json = JSON.stringify([{ ot: 'v', rc: 503, ttlb: 800, bl: [21300, 9000], su: true, sid: 'a"b' }]);
  const [report] = cmcdReportsOfRequest('application/json', Buffer.from(json), none, {}, 10);
  assert.deepEqual(report, { ot: 'v', rc: 503, ttlb: 800, bl: [21300, 9000], su: true, sid: 'a"b' });
  const [segment] = qoeEventsOfReports([report!], context);
  assert.ok(segment?.type === 'segment');
  assert.deepEqual(
    [segment.httpStatus, segment.cmcd.bl, segment.cmcd.su, segment.ts],
    [503, 21300, true, context.nowMs],
  );
});

test('without a body, CMCD comes from the query or the CMCD-* headers', () => {
  const query = new URLSearchParams({ CMCD: 'ot=v,rc=200,ttlb=5,sid="q"' });
  assert.deepEqual(cmcdReportsOfRequest(undefined, Buffer.alloc(0), query, {}, 10), [
    { ot: 'v', rc: 200, ttlb: 5, sid: 'q' },
  ]);
  const headers = { 'cmcd-object': 'ot=v', 'cmcd-session': 'sid="h"' };
  assert.deepEqual(cmcdReportsOfRequest(undefined, Buffer.alloc(0), none, headers, 10), [
    { ot: 'v', sid: 'h' },
  ]);
  assert.throws(
    () => cmcdReportsOfRequest(undefined, Buffer.alloc(0), none, {}, 10),
    refusedWith(400, /no CMCD/),
  );
});

test('CMCD bodies of another type, a bad line, bad JSON keys or too many reports are refused', () => {
  assert.throws(
    () => cmcdReportsOfRequest('image/png', Buffer.from('x'), none, {}, 10),
    refusedWith(415, /not CMCD/),
  );
  assert.throws(
    () => cmcdReportsOfRequest('application/cmcd', Buffer.from('ot=v\n===,,'), none, {}, 10),
    refusedWith(400, /^line 2 is not CMCD/),
  );
  assert.throws(
    () => cmcdReportsOfRequest('application/json', Buffer.from('[{"ot":"v"},{"Bad Key":1}]'), none, {}, 10),
    refusedWith(400, /^reports\[1\]/),
  );
  assert.throws(
    () => cmcdReportsOfRequest('application/cmcd', Buffer.from('ot=v\not=v\not=v'), none, {}, 2),
    refusedWith(413, /3 CMCD reports/),
  );
});

test('QoE beacons take one event or a batch, fill ts, site and edge, and name a bad field by index', () => {
  const one = qoeEventsOfBeacon({ type: 'rebuffer_start', stream: 's', session: 'x' }, context, 10);
  assert.deepEqual(one, [{ type: 'rebuffer_start', stream: 's', session: 'x', ...tsSiteEdge() }]);
  const batch = qoeEventsOfBeacon(
    [
      {
        type: 'bitrate_switch',
        stream: 's',
        session: 'x',
        fromKbps: 3500,
        toKbps: 1800,
        edge: 'edge-1',
        ts: 5,
      },
      { type: 'session_end', stream: 's', session: 'x', playedMs: 60_000, site: 'fra1' },
    ],
    context,
    10,
  );
  assert.deepEqual(
    batch.map((e) => [e.edge, e.ts, e.site]),
    [
      ['edge-1', 5, 'ams1'],
      ['edge-007', context.nowMs, 'fra1'],
    ],
  );
  assert.throws(
    () =>
      qoeEventsOfBeacon(
        [{ type: 'session_end', stream: 's', session: 'x', playedMs: 1 }, { type: 'nope' }],
        context,
        10,
      ),
    refusedWith(400, /^events\[1\]\.type/),
  );
  assert.throws(
    () =>
      qoeEventsOfBeacon(
        { type: 'segment', stream: 's', session: 'x', downloadMs: 1, httpStatus: 200, bytes: 1 },
        context,
        10,
      ),
    refusedWith(400, /^cmcd/),
  );
  assert.throws(() => qoeEventsOfBeacon([], context, 10), refusedWith(400, /no event/));
  assert.throws(() => qoeEventsOfBeacon(Array(11).fill({}), context, 10), refusedWith(413, /11 events/));
});

function tsSiteEdge() {
  return { ts: context.nowMs, site: context.site, edge: context.edge };
}
