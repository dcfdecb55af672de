import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from './errors.js';
import { parseDurationMs, parseTimeMs, QueryParams } from './params.js';

const query = (text: string) => new QueryParams(new URLSearchParams(text));

function refused(run: () => unknown, parameter: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'BAD_PARAMETER');
    assert.match(error.message, new RegExp(`'${parameter.replace('.', '\\.')}'`));
    return true;
  });
}

describe('query parameters', () => {
  it('reads times as epoch milliseconds or ISO 8601', () => {
    assert.equal(parseTimeMs('from', '1714564800000'), 1_714_564_800_000);
    assert.equal(parseTimeMs('from', '2024-05-01T12:00:00Z'), 1_714_564_800_000);
    assert.equal(parseTimeMs('from', '2024-05-01T14:00:00+02:00'), 1_714_564_800_000);
    refused(() => parseTimeMs('from', 'yesterday'), 'from');
    refused(() => parseTimeMs('from', '12abc'), 'from');
  });

  it('reads durations with units or as milliseconds', () => {
    assert.equal(parseDurationMs('step', '10s'), 10_000);
    assert.equal(parseDurationMs('step', '500ms'), 500);
    assert.equal(parseDurationMs('step', '1.5m'), 90_000);
    assert.equal(parseDurationMs('step', '2500'), 2500);
    refused(() => parseDurationMs('step', '0s'), 'step');
    refused(() => parseDurationMs('step', '10 weeks'), 'step');
    refused(() => parseDurationMs('step', '-5s'), 'step');
  });

  it('defaults a time range to the span before now and refuses from >= to', () => {
    assert.deepEqual(query('').timeRange(1_000_000, 60_000), { fromMs: 940_000, toMs: 1_000_000 });
    assert.deepEqual(query('from=1000&to=5000').timeRange(9_999_999, 60_000), { fromMs: 1000, toMs: 5000 });
    refused(() => query('from=5000&to=1000').timeRange(9_999_999, 60_000), 'from');
  });

  it('collects dimension filters and checks their names and count', () => {
    assert.deepEqual(query('dim.edge=edge-001&dim.site=par1&metric=x').prefixed('dim.'), {
      edge: 'edge-001',
      site: 'par1',
    });
    assert.equal(query('metric=x').prefixed('dim.'), undefined);
    refused(() => query('dim.bad-name=1').prefixed('dim.'), 'dim.bad-name');
    refused(() => query('dim.edge=a&dim.edge=b').prefixed('dim.'), 'dim.edge');
    const many = Array.from({ length: 17 }, (_, i) => `dim.d${i}=v`).join('&');
    refused(() => query(many).prefixed('dim.'), 'dim.d16');
  });

  it('checks integers, booleans, lists and required values', () => {
    assert.equal(query('limit=50').integer('limit', 10, 1, 100), 50);
    assert.equal(query('').integer('limit', 10, 1, 100), 10);
    refused(() => query('limit=0').integer('limit', 10, 1, 100), 'limit');
    refused(() => query('limit=1e3').integer('limit', 10, 1, 100), 'limit');
    assert.equal(query('ascending=true').boolean('ascending', false), true);
    refused(() => query('ascending=yes').boolean('ascending', false), 'ascending');
    assert.deepEqual(query('types=alert,window').optionalList('types', ['window', 'alert']), [
      'alert',
      'window',
    ]);
    refused(() => query('types=alert,log').optionalList('types', ['window', 'alert']), 'types');
    refused(() => query('').metric(), 'metric');
    refused(() => query('metric=bad metric').metric(), 'metric');
  });
});
