import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCmcd, fromCmcdQuery } from '@svta/cml-cmcd';
import { qoeEventsOfCmcd, streamOfContentId } from './cmcd-qoe.js';

const where = { site: 'ams1', edge: 'edge-007' };
const ts = 1_700_000_000_000;
const when = { startedAtMs: ts, receivedAtMs: ts + 5_000 };

test('a v1 segment request from an access log becomes a segment event with its CMCD keys', () => {
  const cmcd = fromCmcdQuery(
    `CMCD=${encodeURIComponent('bl=21300,br=3200,cid="live/sports-1",d=2000,mtp=25400,ot=v,sid="s-1",su')}`,
  );
  const events = qoeEventsOfCmcd({
    ...where,
    ...when,
    cmcd,
    downloadMs: 412,
    httpStatus: 200,
    bytes: 800_000,
  });
  assert.deepEqual(events, [
    {
      ...where,
      ts: ts + 412,
      stream: 'sports-1',
      session: 's-1',
      type: 'segment',
      downloadMs: 412,
      httpStatus: 200,
      bytes: 800_000,
      cmcd: { br: 3200, bl: 21300, mtp: 25400, ot: 'v', sid: 's-1', cid: 'live/sports-1', su: true, d: 2000 },
    },
  ]);
});

test('a v2 response report takes its duration and status from ttlb and rc, lists from their video entry', () => {
  const cmcd = decodeCmcd('bl=(21300;v 9000;a),br=(3200;v),bsd=(750;v),e=rr,ot=v,rc=503,sid="s-2",ttlb=850');
  const events = qoeEventsOfCmcd({
    ...where,
    ...when,
    cmcd,
    downloadMs: null,
    httpStatus: null,
    bytes: null,
  });
  assert.equal(events.length, 2);
  const [segment, rebuffer] = events;
  assert.equal(segment?.type, 'segment');
  assert.ok(segment?.type === 'segment');
  assert.equal(segment.downloadMs, 850);
  assert.equal(segment.httpStatus, 503);
  assert.equal(segment.cmcd.bl, 21300);
  assert.equal(segment.stream, 'unknown');
  assert.equal(segment.ts, ts + 850, 'a segment is stamped when its download ended');
  assert.deepEqual(rebuffer, {
    ...where,
    ts,
    stream: 'unknown',
    session: 's-2',
    type: 'rebuffer_end',
    durationMs: 750,
  });
});

test('a manifest-less play-state report stands for nothing the monitoring counts', () => {
  const cmcd = decodeCmcd('e=ps,sta=p,sid="s-3",ts=1700000000000');
  assert.deepEqual(
    qoeEventsOfCmcd({ ...where, ...when, cmcd, downloadMs: null, httpStatus: null, bytes: null }),
    [],
  );
});

test('content ids name the stream after their last path segment', () => {
  assert.equal(streamOfContentId('live/sports-1'), 'sports-1');
  assert.equal(streamOfContentId('movie-42'), 'movie-42');
  assert.equal(streamOfContentId(null), 'unknown');
  assert.equal(streamOfContentId('live/'), 'live/');
});
