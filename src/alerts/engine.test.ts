import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertEngine, type AlertEngineOptions, AlertLimitError } from './engine.js';
import type { AlertNotification, Notifier } from './notifiers/notifier.js';
import { parseRules, type RuleInput } from './rules.js';
import type { WindowUpdate } from './series.js';
import type { AlertTransition } from './types.js';

class CapturingNotifier implements Notifier {
  readonly name = 'capture';
  readonly sent: AlertNotification[] = [];
  notify(notification: AlertNotification): void {
    this.sent.push(notification);
  }
  async close(): Promise<void> {}
}

const retransmitRule: RuleInput = {
  name: 'EdgeRetransmitStorm',
  metric: 'edge_10s',
  field: 'retransmits',
  dimensions: ['edge'],
  comparator: '>',
  threshold: 500,
  severity: 'critical',
  labels: { team: 'cdn' },
  annotations: { summary: 'Retransmits on {{ $labels.edge }} at {{ $value }} (> {{ $threshold }})' },
};

function harness(rules: RuleInput[], options: Partial<AlertEngineOptions> = {}) {
  const clock = { nowMs: 1_000_000 };
  const notifier = new CapturingNotifier();
  const transitions: AlertTransition[] = [];
  const engine = new AlertEngine({
    rules: parseRules(rules),
    notifiers: [notifier],
    clock: () => clock.nowMs,
    ...options,
  });
  engine.onTransition((t) => transitions.push(t));
  const states = () => transitions.map((t) => `${t.labels.edge ?? t.labels.site}:${t.state}`);
  return { clock, notifier, transitions, engine, states };
}

function update(
  edge: string,
  windowStart: number,
  values: Record<string, number | null>,
  final = false,
  metric = 'edge_10s',
): WindowUpdate {
  return {
    metric,
    dimensions: { edge, site: 'par1' },
    windowStart,
    windowEnd: windowStart + 10_000,
    values,
    final,
    eventTime: windowStart + 1,
  };
}

describe('AlertEngine lifecycle', () => {
  it('fires on the first breaching early update with for=0 and resolves when the window clears', () => {
    const { engine, clock, notifier, transitions, states } = harness([retransmitRule]);
    engine.push(update('edge-1', 0, { retransmits: 100 }));
    assert.deepEqual(states(), []);
    engine.push(update('edge-1', 0, { retransmits: 650 }));
    assert.deepEqual(states(), ['edge-1:firing']);
    assert.equal(notifier.sent.length, 1);
    const [alert] = notifier.sent[0]!.alerts;
    assert.equal(alert!.status, 'firing');
    assert.deepEqual(alert!.labels, {
      alertname: 'EdgeRetransmitStorm',
      severity: 'critical',
      team: 'cdn',
      edge: 'edge-1',
    });
    assert.equal(alert!.annotations.summary, 'Retransmits on edge-1 at 650 (> 500)');
    assert.equal(alert!.value, 650);
    assert.equal(transitions[0]!.eventTimeMs, 1);
    // A partial newer window proves nothing; the next final window below the threshold resolves.
    engine.push(update('edge-1', 0, { retransmits: 700 }, true));
    engine.push(update('edge-1', 10_000, { retransmits: 3 }));
    assert.equal(engine.alerts()[0]?.state, 'firing');
    engine.push(update('edge-1', 10_000, { retransmits: 20 }, true));
    assert.deepEqual(states(), ['edge-1:firing', 'edge-1:resolved']);
    assert.equal(engine.alerts().length, 0);
    assert.equal(
      notifier.sent.length,
      1,
      'the resolution waits for groupInterval after the last notification',
    );
    clock.nowMs += 1000;
    engine.tick(clock.nowMs);
    assert.equal(notifier.sent.length, 2);
    assert.equal(notifier.sent.at(-1)!.status, 'resolved');
    assert.notEqual(notifier.sent.at(-1)!.alerts[0]!.endsAt, '0001-01-01T00:00:00Z');
  });

  it('holds an alert pending for `for`, then fires on a later update or tick', () => {
    const { engine, clock, notifier, states } = harness([{ ...retransmitRule, for: '5s' }]);
    engine.push(update('edge-1', 0, { retransmits: 600 }));
    assert.deepEqual(states(), ['edge-1:pending']);
    assert.equal(engine.alerts()[0]!.state, 'pending');
    clock.nowMs += 4000;
    engine.push(update('edge-1', 0, { retransmits: 700 }));
    assert.deepEqual(states(), ['edge-1:pending']);
    assert.equal(notifier.sent.length, 0);
    clock.nowMs += 1000;
    engine.tick(clock.nowMs);
    assert.deepEqual(states(), ['edge-1:pending', 'edge-1:firing']);
    assert.equal(notifier.sent.length, 1);
  });

  it('drops a pending alert whose condition clears before `for` without notifying', () => {
    const { engine, clock, notifier, transitions } = harness([{ ...retransmitRule, for: '5s' }]);
    engine.push(update('edge-1', 0, { retransmits: 600 }));
    clock.nowMs += 1000;
    engine.push(update('edge-1', 0, { retransmits: 10 }, true));
    assert.deepEqual(
      transitions.map((t) => [t.state, t.wasFiring]),
      [
        ['pending', false],
        ['resolved', false],
      ],
    );
    assert.equal(notifier.sent.length, 0);
  });

  it('keeps firing through a short clear with keepFiringFor, so a flapping signal pages once', () => {
    const { engine, clock, notifier, states } = harness([{ ...retransmitRule, keepFiringFor: '30s' }]);
    for (let window = 0; window < 6; window++) {
      clock.nowMs += 10_000;
      const retransmits = window % 2 === 0 ? 900 : 10;
      engine.push(update('edge-1', window * 10_000, { retransmits }, true));
      engine.tick(clock.nowMs);
    }
    assert.deepEqual(states(), ['edge-1:firing']);
    assert.equal(notifier.sent.length, 1);
    engine.push(update('edge-1', 60_000, { retransmits: 10 }, true));
    clock.nowMs += 29_000;
    engine.tick(clock.nowMs);
    assert.deepEqual(states(), ['edge-1:firing']);
    clock.nowMs += 1000;
    engine.tick(clock.nowMs);
    assert.deepEqual(states(), ['edge-1:firing', 'edge-1:resolved']);
  });

  it('evaluates rate of change against the previous final window', () => {
    const { engine, notifier, states } = harness([
      {
        kind: 'change',
        name: 'RetransmitSurge',
        metric: 'edge_10s',
        field: 'retransmits',
        dimensions: ['edge'],
        comparator: '>',
        threshold: 200,
        minPrevious: 10,
        annotations: { summary: '{{ $labels.edge }} changed by {{ $value }}%' },
      },
    ]);
    engine.push(update('edge-1', 0, { retransmits: 2 }, true));
    engine.push(update('edge-1', 10_000, { retransmits: 50 }, true));
    assert.deepEqual(states(), [], 'a baseline under minPrevious is not compared');
    engine.push(update('edge-1', 20_000, { retransmits: 100 }));
    assert.deepEqual(states(), [], '+100% is under the threshold');
    engine.push(update('edge-1', 20_000, { retransmits: 151 }));
    assert.deepEqual(states(), ['edge-1:firing']);
    assert.equal(notifier.sent[0]!.alerts[0]!.annotations.summary, 'edge-1 changed by 202%');
    engine.push(update('edge-1', 20_000, { retransmits: 160 }, true));
    engine.push(update('edge-1', 30_000, { retransmits: 170 }, true));
    assert.deepEqual(states(), ['edge-1:firing', 'edge-1:resolved']);
  });

  it('with earlyMinSamples judges early updates only from that many samples on, and finals always', () => {
    const { engine, states } = harness([
      { ...retransmitRule, earlyMinSamples: { field: 'samples', atLeast: 50 } },
    ]);
    engine.push(update('edge-1', 0, { retransmits: 900, samples: 49 }));
    engine.push(update('edge-1', 0, { retransmits: 900 }));
    assert.deepEqual(states(), [], 'too few samples, or no count: not judged');
    engine.push(update('edge-1', 0, { retransmits: 900, samples: 50 }));
    assert.deepEqual(states(), ['edge-1:firing']);
    engine.push(update('edge-1', 0, { retransmits: 10, samples: 10 }, true));
    assert.deepEqual(states(), ['edge-1:firing', 'edge-1:resolved'], 'a final window is judged at any count');
  });

  it('ignores updates without the field, without the dimensions, and for older windows', () => {
    const { engine, states } = harness([retransmitRule]);
    engine.push(update('edge-1', 10_000, { retransmits: 1 }, true));
    engine.push(update('edge-1', 0, { retransmits: 9000 }, true));
    engine.push(update('edge-1', 20_000, { retransmits: null }));
    engine.push({ ...update('edge-1', 20_000, { retransmits: 9000 }), dimensions: { site: 'par1' } });
    assert.deepEqual(states(), []);
  });
});

describe('AlertEngine no data', () => {
  const noDataRule: RuleInput = {
    kind: 'noData',
    name: 'EdgeSilent',
    metric: 'edge_10s',
    dimensions: ['edge'],
    absentFor: '15s',
    annotations: { summary: '{{ $labels.edge }} sent nothing' },
  };

  it('fires for a dimension value that goes silent and resolves when it sends again', () => {
    const { engine, clock, notifier, states } = harness([noDataRule]);
    engine.push(update('edge-1', 0, { retransmits: 1 }));
    engine.push(update('edge-2', 0, { retransmits: 1 }));
    clock.nowMs += 10_000;
    engine.push(update('edge-2', 10_000, { retransmits: 1 }));
    engine.tick(clock.nowMs);
    assert.deepEqual(states(), []);
    clock.nowMs += 5000;
    engine.push(update('edge-2', 15_000, { retransmits: 1 }));
    engine.tick(clock.nowMs);
    assert.deepEqual(states(), ['edge-1:firing'], 'edge-2 is 15 s of event time ahead of edge-1');
    assert.equal(notifier.sent[0]!.alerts[0]!.value, null);
    assert.equal(notifier.sent[0]!.alerts[0]!.annotations.summary, 'edge-1 sent nothing');
    clock.nowMs += 1000;
    engine.push(update('edge-1', 20_000, { retransmits: 1 }));
    assert.deepEqual(states(), ['edge-1:firing', 'edge-1:resolved']);
  });

  it('does not take the final result of a window closing after the series went silent for a sign of life', () => {
    const { engine, clock, states } = harness([noDataRule]);
    engine.push(update('edge-1', 0, { retransmits: 1 }));
    clock.nowMs += 12_000;
    engine.push(update('edge-1', 0, { retransmits: 1 }, true));
    engine.push(update('edge-2', 15_000, { retransmits: 1 }));
    clock.nowMs += 3_000;
    engine.tick(clock.nowMs);
    assert.deepEqual(states(), ['edge-1:firing'], 'silent for 15 s despite the final result at 12 s');
  });

  it('measures a series against the watermark of the task that reports it when the pipeline says which', () => {
    const { engine, clock, states } = harness([noDataRule]);
    const from = (edge: string, windowStart: number, task: string, watermark: number) => ({
      ...update(edge, windowStart, { retransmits: 1 }),
      source: { task, watermark },
    });
    engine.push(from('edge-1', 0, 'lagging', 0));
    engine.push(from('edge-2', 0, 'busy', 0));
    engine.push(from('edge-3', 0, 'busy', 0));
    clock.nowMs += 30_000;
    engine.push(from('edge-3', 30_000, 'busy', 29_000));
    engine.tick(clock.nowMs);
    assert.deepEqual(
      states(),
      ['edge-2:firing'],
      'edge-2 fell behind its own task; edge-1 only sits on a task that is behind as a whole',
    );
  });

  it('measures silence in event time, so a pipeline that falls behind does not make every series silent', () => {
    const { engine, clock, states } = harness([noDataRule]);
    engine.push(update('edge-1', 0, { retransmits: 1 }));
    engine.push(update('edge-2', 0, { retransmits: 1 }));
    clock.nowMs += 60_000;
    engine.tick(clock.nowMs);
    assert.deepEqual(states(), [], 'no updates from anyone for a minute of wall time');
    engine.push(update('edge-2', 20_000, { retransmits: 1 }));
    engine.tick(clock.nowMs);
    assert.deepEqual(states(), ['edge-1:firing'], 'edge-2 moved on and edge-1 did not');
  });
});

describe('AlertEngine notifications', () => {
  it('groups alerts by route labels and does not re-notify on every update', () => {
    const { engine, clock, notifier } = harness([retransmitRule], {
      route: { groupBy: ['alertname'], groupWait: '1s', groupInterval: '5s' },
    });
    engine.push(update('edge-1', 0, { retransmits: 600 }));
    clock.nowMs += 500;
    engine.push(update('edge-2', 0, { retransmits: 700 }));
    assert.equal(notifier.sent.length, 0, 'groupWait collects alerts that fire together');
    clock.nowMs += 500;
    engine.push(update('edge-1', 0, { retransmits: 800 }));
    assert.equal(notifier.sent.length, 1);
    const first = notifier.sent[0]!;
    assert.deepEqual(first.groupLabels, { alertname: 'EdgeRetransmitStorm' });
    assert.deepEqual(
      first.alerts.map((a) => a.labels.edge),
      ['edge-1', 'edge-2'],
    );
    assert.deepEqual(first.commonLabels, {
      alertname: 'EdgeRetransmitStorm',
      severity: 'critical',
      team: 'cdn',
    });
    for (let i = 0; i < 20; i++) {
      clock.nowMs += 1000;
      engine.push(update('edge-1', 0, { retransmits: 900 + i }));
      engine.tick(clock.nowMs);
    }
    assert.equal(notifier.sent.length, 1, 'still-firing alerts are de-duplicated');
    engine.push(update('edge-3', 0, { retransmits: 600 }));
    assert.equal(notifier.sent.length, 2);
    assert.equal(notifier.sent[1]!.alerts.length, 3);
  });

  it('waits groupInterval before sending a change of an already notified group', () => {
    const { engine, clock, notifier } = harness([retransmitRule], { route: { groupInterval: '5s' } });
    engine.push(update('edge-1', 0, { retransmits: 600 }));
    clock.nowMs += 1000;
    engine.push(update('edge-2', 0, { retransmits: 600 }));
    assert.equal(notifier.sent.length, 1);
    clock.nowMs += 4000;
    engine.tick(clock.nowMs);
    assert.equal(notifier.sent.length, 2);
  });

  it('repeats a still-firing group after repeatInterval', () => {
    const { engine, clock, notifier } = harness([retransmitRule], { route: { repeatInterval: '1m' } });
    engine.push(update('edge-1', 0, { retransmits: 600 }));
    clock.nowMs += 59_000;
    engine.push(update('edge-1', 0, { retransmits: 650 }));
    engine.tick(clock.nowMs);
    assert.equal(notifier.sent.length, 1);
    clock.nowMs += 1000;
    engine.tick(clock.nowMs);
    assert.equal(notifier.sent.length, 2);
    assert.equal(notifier.sent[1]!.alerts[0]!.value, 650);
  });

  it('tracks silenced alerts without notifying, and notifies once the silence expires', () => {
    const { engine, clock, notifier } = harness([retransmitRule]);
    const silence = engine.addSilence({
      matchers: [{ label: 'edge', op: '=~', value: 'edge-(1|2)' }],
      startsAtMs: clock.nowMs,
      endsAtMs: clock.nowMs + 60_000,
      comment: 'maintenance',
    });
    engine.push(update('edge-1', 0, { retransmits: 600 }));
    engine.push(update('edge-17', 0, { retransmits: 600 }));
    assert.deepEqual(
      notifier.sent.flatMap((n) => n.alerts.map((a) => a.labels.edge)),
      ['edge-17'],
      'the regex is anchored: edge-17 is not silenced',
    );
    const edge1 = engine.alerts().find((a) => a.labels.edge === 'edge-1');
    assert.equal(edge1?.state, 'firing');
    assert.equal(edge1?.silencedBy, silence.id);
    clock.nowMs += 30_000;
    engine.tick(clock.nowMs);
    assert.equal(notifier.sent.length, 1);
    clock.nowMs += 30_000;
    engine.tick(clock.nowMs);
    assert.equal(notifier.sent.length, 2);
    assert.deepEqual(
      notifier.sent[1]!.alerts.map((a) => a.labels.edge),
      ['edge-1', 'edge-17'],
    );
    assert.equal(engine.alerts().find((a) => a.labels.edge === 'edge-1')?.silencedBy, null);
  });

  it('rejects alert instances beyond the limit with an error and a metric', async () => {
    const { engine } = harness([retransmitRule], { maxAlertInstances: 2 });
    const errors: Error[] = [];
    engine.onError((error) => errors.push(error));
    for (const edge of ['edge-1', 'edge-2', 'edge-3']) engine.push(update(edge, 0, { retransmits: 600 }));
    assert.equal(engine.alerts().length, 2);
    assert.ok(errors[0] instanceof AlertLimitError);
    assert.match(errors[0].message, /EdgeRetransmitStorm.*2 are held/);
    const metrics = await engine.metrics.registry.metrics();
    assert.match(metrics, /edgestream_alerts_instance_limit_rejections_total 1/);
  });

  it('keeps evaluating when a notifier throws', () => {
    const { engine, states } = harness([retransmitRule], {
      notifiers: [
        {
          name: 'broken',
          notify: () => {
            throw new Error('boom');
          },
          close: async () => {},
        },
      ],
    });
    const errors: Error[] = [];
    engine.onError((error) => errors.push(error));
    engine.push(update('edge-1', 0, { retransmits: 600 }));
    engine.push(update('edge-2', 0, { retransmits: 600 }));
    assert.deepEqual(states(), ['edge-1:firing', 'edge-2:firing']);
    assert.equal(errors.length, 1, 'the second alert joins the already-attempted group within groupInterval');
  });
});
