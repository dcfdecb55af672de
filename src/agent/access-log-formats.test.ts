import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { accessLogParser } from './access-log-formats.js';

const lines = (name: string) =>
  readFileSync(new URL(`../../../src/agent/fixtures/${name}`, import.meta.url), 'utf8')
    .trimEnd()
    .split('\n');

test('nginx edgestream format (real nginx output): CMCD from the query and from the headers, times', () => {
  const parse = accessLogParser('nginx');
  const [query, headers, manifest] = lines('nginx-edgestream.txt').map(parse);
  assert.ok(query && headers && manifest);
  assert.equal(query.startMs, 1_796_606_874_660);
  assert.equal(query.durationMs, 0);
  assert.equal(query.status, 200);
  assert.equal(query.bytes, 13);
  assert.equal(query.cacheStatus, '-');
  assert.deepEqual(query.cmcd, {
    bl: 21_300,
    br: 3_200,
    cid: 'live/sports-1',
    d: 2_000,
    mtp: 25_400,
    ot: 'v',
    sid: 's-q1',
    su: true,
  });
  // nginx writes the quotes of the CMCD-Session header as \x22.
  assert.deepEqual(headers.cmcd, {
    bl: 9_000,
    mtp: 25_400,
    br: 3_500,
    d: 2_000,
    ot: 'v',
    cid: 'live/sports-2',
    sid: 's-h1',
  });
  assert.equal(manifest.cmcd, null);
});

test('request time: start = msec - request_time, duration in ms', () => {
  const line =
    '10.0.0.9 - - [07/Dec/2026:00:57:16 +0000] "GET /a.m4s HTTP/1.1" 206 5000 "-" "p" 0.412 1796605036.700 "HIT" "-" "-" "-" "-"';
  const entry = accessLogParser('nginx')(line)!;
  assert.equal(entry.durationMs, 412);
  assert.equal(entry.startMs, 1_796_605_036_288);
  assert.equal(entry.cacheStatus, 'HIT');
  assert.equal(entry.status, 206);
});

test('json format (nginx escape=json): same fields, unset variables as empty strings', () => {
  const parse = accessLogParser('json');
  const [query, headers, manifest] = lines('nginx-edgestream-json.txt').map(parse);
  assert.equal(query!.cmcd!.sid, 's-q1');
  assert.equal(query!.startMs, 1_796_606_874_660);
  assert.equal(query!.cacheStatus, '-');
  assert.equal(headers!.cmcd!.sid, 's-h1');
  assert.equal(headers!.cmcd!.br, 3_500);
  assert.equal(manifest!.cmcd, null);
});

test('combined format: time from $time_local, no request time, no cache status', () => {
  const parse = accessLogParser('combined');
  const [query, , manifest] = lines('nginx-combined.txt').map(parse);
  assert.equal(query!.startMs, Date.UTC(2026, 11, 7, 1, 27, 54));
  assert.equal(query!.durationMs, null);
  assert.equal(query!.cacheStatus, null);
  assert.equal(query!.cmcd!.br, 3_200);
  assert.ok(manifest);
  const offset = parse('1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "x"')!;
  assert.equal(offset.startMs, Date.UTC(2000, 9, 10, 20, 55, 36));
});

test('malformed lines are null, not exceptions', () => {
  for (const format of ['nginx', 'combined', 'json'] as const) {
    const parse = accessLogParser(format);
    for (const line of ['', 'garbage', '{"msec":"x"}', '[1,2]', '1.2.3.4 - - [bad] "GET /" 200 1 "-" "-"']) {
      assert.equal(parse(line), null, `${format}: ${line}`);
    }
  }
});
