import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertConfigError, parseAlertingConfig, parseRules } from './rules.js';
import { compileTemplate } from './template.js';

const valid = { name: 'Storm', metric: 'edge_10s', field: 'retransmits', comparator: '>', threshold: 500 };

function configError(run: () => unknown): AlertConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof AlertConfigError, String(error));
    return error;
  }
  assert.fail('expected an AlertConfigError');
}

describe('rule validation', () => {
  it('fills defaults and converts durations to milliseconds', () => {
    const [rule] = parseRules([{ ...valid, for: '5s', keepFiringFor: '1m' }]);
    assert.equal(rule!.kind, 'threshold');
    assert.equal(rule!.for, 5000);
    assert.equal(rule!.keepFiringFor, 60_000);
    assert.equal(rule!.severity, 'warning');
    assert.deepEqual(rule!.dimensions, []);
  });

  it('names the key path, the value and what was expected', () => {
    const comparator = configError(() => parseRules([valid, { ...valid, name: 'B', comparator: '=>' }]));
    assert.equal(comparator.key, 'alerting.rules.1.comparator');
    assert.equal(comparator.value, '=>');
    assert.match(comparator.message, /alerting\.rules\.1\.comparator="=>": .*">"/);

    const duration = configError(() => parseRules([{ ...valid, for: 'soon' }]));
    assert.equal(duration.key, 'alerting.rules.0.for');
    assert.match(duration.message, /expected a duration/);

    const template = configError(() =>
      parseRules([{ ...valid, annotations: { summary: '{{ $labels.edge' } }]),
    );
    assert.equal(template.key, 'alerting.rules.0.annotations.summary');
    assert.match(template.message, /unclosed/);

    const unknownKey = configError(() => parseRules([{ ...valid, treshold: 5 }]));
    assert.match(unknownKey.message, /treshold/);

    const duplicate = configError(() => parseRules([valid, valid]));
    assert.equal(duplicate.key, 'alerting.rules.1.name');

    const noData = configError(() => parseRules([{ kind: 'noData', name: 'Silent', metric: 'edge_10s' }]));
    assert.equal(noData.key, 'alerting.rules.0.absentFor');
  });

  it('validates route and silences in the alerting config', () => {
    const config = parseAlertingConfig({
      rules: [valid],
      route: { groupBy: ['site'], repeatInterval: '4h' },
    });
    assert.equal(config.route.repeatInterval, 4 * 3_600_000);
    assert.equal(config.route.groupWait, 0);
    const silence = configError(() =>
      parseAlertingConfig({
        silences: [{ matchers: [{ label: 'edge', op: '=~', value: '(' }], startsAtMs: 0, endsAtMs: 10 }],
      }),
    );
    assert.equal(silence.key, 'alerting.silences.0.matchers.0.value');
  });
});

describe('templates', () => {
  it('substitutes labels, value and threshold without evaluating anything', () => {
    const template = compileTemplate(
      'Retransmits on {{ $labels.edge }} at {{$value}} over {{ $threshold }}{{ $labels.none }}.',
    );
    assert.equal(
      template.render({ labels: { edge: 'edge-17' }, value: 612.34567, threshold: 500 }),
      'Retransmits on edge-17 at 612.346 over 500.',
    );
    assert.equal(
      compileTemplate('{{ $value }}').render({ labels: {}, value: null, threshold: null }),
      'no data',
    );
  });

  it('rejects references it does not support', () => {
    assert.throws(() => compileTemplate('{{ constructor.constructor("x")() }}'), /unsupported reference/);
    assert.throws(() => compileTemplate('{{ $labels.a.b }}'), /unsupported reference/);
  });
});
