import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertEngine } from '../alerts/engine.js';
import { parseRules } from '../alerts/rules.js';
import type { WindowUpdate } from '../alerts/series.js';
import { DEFAULT_MONITOR_RULES, REBUFFER_EARLY_MIN_SEGMENTS } from './default-rules.js';

const WINDOW_MS = 10_000;

/** A stream_qoe_10s update of kids-1 at fra1 for the window starting at `windowStart`. */
function streamWindow(
  windowStart: number,
  values: { segments: number; rebuffer_pct: number | null },
  final: boolean,
): WindowUpdate {
  return {
    metric: 'stream_qoe_10s',
    dimensions: { site: 'fra1', stream: 'kids-1' },
    windowStart,
    windowEnd: windowStart + WINDOW_MS,
    values,
    final,
    eventTime: windowStart + (final ? WINDOW_MS : 1_000),
  };
}

function rebufferEngine(): { engine: AlertEngine; firing: () => string[] } {
  const rules = parseRules(DEFAULT_MONITOR_RULES.filter((rule) => rule.name === 'RebufferRatioHigh'));
  const engine = new AlertEngine({ rules, notifiers: [], clock: () => 1_000_000 });
  const firing = () =>
    engine
      .alerts()
      .filter((alert) => alert.state === 'firing')
      .map((alert) => `${alert.labels.site}/${alert.labels.stream}`);
  return { engine, firing };
}

describe('RebufferRatioHigh (default rules)', () => {
  it(`judges an early window only from ${REBUFFER_EARLY_MIN_SEGMENTS} segment downloads on`, () => {
    const { engine, firing } = rebufferEngine();
    // The fault-free demo's false page: a minute of media in a window's first second, one 4 s stall.
    engine.push(streamWindow(0, { segments: 45, rebuffer_pct: 6.2 }, false));
    engine.push(streamWindow(0, { segments: REBUFFER_EARLY_MIN_SEGMENTS - 1, rebuffer_pct: 5.1 }, false));
    assert.deepEqual(firing(), []);
    engine.push(streamWindow(0, { segments: REBUFFER_EARLY_MIN_SEGMENTS, rebuffer_pct: 5.1 }, false));
    assert.deepEqual(firing(), ['fra1/kids-1']);
  });

  it('judges a final window whatever its count: a dozen stalling viewers still page', () => {
    const { engine, firing } = rebufferEngine();
    engine.push(streamWindow(0, { segments: 30, rebuffer_pct: 48 }, false));
    assert.deepEqual(firing(), []);
    engine.push(streamWindow(0, { segments: 30, rebuffer_pct: 48 }, true));
    assert.deepEqual(firing(), ['fra1/kids-1']);
  });
});
