import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFleet, type GeneratedEvent, TelemetryGenerator } from './generator.js';
import {
  FAULT_KINDS,
  type Fault,
  faultActiveAt,
  isScenarioName,
  makeFault,
  SCENARIO_LIMITS,
  scenarioFaults,
} from './scenarios.js';
import type { SegmentEvent, TcpStatsEvent } from './telemetry.js';

const START_MS = 1_700_000_000_000;
const SEED = 7;
const EDGES = 12;
const SITES = 3;
const TIMING = { startOffsetMs: 4_000, durationMs: 6_000, flapPeriodMs: 2_000 };
const RUN_MS = 14_000;

function run(faults: Fault[], runMs = RUN_MS): GeneratedEvent[] {
  const generator = new TelemetryGenerator({
    seed: SEED,
    startMs: START_MS,
    ratePerSec: 20_000,
    edges: EDGES,
    sites: SITES,
    sliceMs: 100,
    faults,
    sessionsPerEdge: 50,
    lateFraction: 0,
  });
  const events: GeneratedEvent[] = [];
  for (let i = 0; i < runMs / 100; i++) events.push(...generator.nextSlice().events);
  return events;
}

type Metric = (events: GeneratedEvent[]) => number;

const retransmitRate: Metric = (events) => {
  const tcp = events.filter((e) => e.event.type === 'tcp_stats').map((e) => e.event as TcpStatsEvent);
  return tcp.reduce((n, e) => n + e.retransmits, 0) / tcp.reduce((n, e) => n + e.segmentsOut, 0);
};
const medianRtt: Metric = (events) => {
  const rtts = events
    .filter((e) => e.event.type === 'tcp_stats')
    .map((e) => (e.event as TcpStatsEvent).rttMs);
  return rtts.sort((a, b) => a - b)[Math.floor(rtts.length / 2)]!;
};
const errorRate: Metric = (events) => {
  const segments = events.filter((e) => e.event.type === 'segment').map((e) => e.event as SegmentEvent);
  return segments.filter((e) => e.httpStatus >= 500).length / segments.length;
};
const eventCount: Metric = (events) => events.length;

const fleet = buildFleet(EDGES, SITES, SEED);

function split(events: GeneratedEvent[], fault: Fault) {
  const onTarget = (e: GeneratedEvent) =>
    (fault.dimension === 'edge' ? e.edge : e.event.site) === fault.target;
  const during = (e: GeneratedEvent) => faultActiveAt(fault, e.event.ts - START_MS);
  const inWindow = (e: GeneratedEvent) =>
    e.event.ts - START_MS >= fault.startOffsetMs && e.event.ts - START_MS < fault.endOffsetMs;
  return {
    targetDuring: events.filter((e) => onTarget(e) && during(e)),
    targetOutside: events.filter((e) => onTarget(e) && !inWindow(e)),
    othersDuring: events.filter((e) => !onTarget(e) && inWindow(e)),
    othersOutside: events.filter((e) => !onTarget(e) && !inWindow(e)),
  };
}

/**
 * The metric moves by at least `factor` on the target during the fault, compared with the same target outside
 * the window, and other edges/sites stay within 30% of their own value outside the window.
 */
function assertOnlyTargetChanges(faulty: Fault, metric: Metric, factor: number): void {
  const groups = split(run([faulty]), faulty);
  const targetBaseline = metric(groups.targetOutside);
  const hit = metric(groups.targetDuring);
  assert.ok(
    hit > factor * targetBaseline,
    `${faulty.id}: ${hit} during the fault vs ${targetBaseline} outside`,
  );
  const othersBaseline = metric(groups.othersOutside);
  const others = metric(groups.othersDuring);
  assert.ok(
    Math.abs(others - othersBaseline) <= 0.3 * othersBaseline,
    `${faulty.id}: others ${others} during the window vs ${othersBaseline} outside`,
  );
}

const fleetFault = (kind: (typeof FAULT_KINDS)[number]): Fault => scenarioFaults(kind, fleet, TIMING)[0]!;

describe('fault scenarios', () => {
  it('accepts the CLI names and places every fault of `all` on its own target', () => {
    for (const name of ['none', 'all', 'cycle', ...FAULT_KINDS]) assert.ok(isScenarioName(name));
    assert.ok(!isScenarioName('meteor-strike'));
    assert.deepEqual(scenarioFaults('none', fleet, TIMING), []);
    const all = scenarioFaults('all', fleet, { ...TIMING, staggerMs: 1_000 });
    assert.deepEqual(
      all.map((f) => f.kind),
      [...FAULT_KINDS],
    );
    assert.equal(new Set(all.map((f) => f.target)).size, FAULT_KINDS.length);
    assert.deepEqual(
      all.map((f) => f.startOffsetMs),
      [4_000, 5_000, 6_000, 7_000, 8_000],
    );
    const siteTargets = all.filter((f) => f.dimension === 'site').map((f) => f.target);
    for (const f of all.filter((f) => f.dimension === 'edge')) {
      assert.ok(
        !siteTargets.includes(fleet.edges.find((e) => e.id === f.target)!.site),
        `${f.id} inside a faulty site`,
      );
    }
  });

  it('`cycle` runs every kind in turn, one at a time, on the targets of `all`, repeating within its bounds', () => {
    const timing = { startOffsetMs: 1_000, durationMs: 1_000, staggerMs: 500 };
    const cycle = scenarioFaults('cycle', fleet, timing);
    // 24 h of 1.5 s periods is more than the fault limit allows: the schedule stops there.
    assert.equal(cycle.length, SCENARIO_LIMITS.maxFaults);
    assert.deepEqual(
      cycle.slice(0, 10).map((f) => f.kind),
      [...FAULT_KINDS, ...FAULT_KINDS],
    );
    const all = scenarioFaults('all', fleet, timing);
    for (const [i, f] of cycle.entries()) {
      assert.equal(f.startOffsetMs, 1_000 + i * 1_500);
      assert.equal(f.endOffsetMs, f.startOffsetMs + 1_000);
      assert.equal(f.target, all[i % FAULT_KINDS.length]!.target);
    }
    assert.equal(new Set(cycle.map((f) => f.id)).size, cycle.length);
    const long = scenarioFaults('cycle', fleet, { startOffsetMs: 0, durationMs: 60_000, staggerMs: 60_000 });
    assert.equal(long.length, SCENARIO_LIMITS.maxOffsetMs / 120_000);
    assert.ok(long.at(-1)!.endOffsetMs <= SCENARIO_LIMITS.maxOffsetMs);
    assert.throws(() => scenarioFaults('cycle', fleet, { ...timing, staggerMs: -1 }), /gap/);
  });

  it('the generator applies each fault of a long `cycle` schedule in its own window, round after round', () => {
    const cycle = scenarioFaults('cycle', fleet, { startOffsetMs: 1_000, durationMs: 1_000, staggerMs: 500 });
    const twoRounds = cycle.slice(0, 2 * FAULT_KINDS.length);
    // Up to the start of the third round: its faults must not act yet.
    const events = run(cycle, twoRounds.at(-1)!.endOffsetMs + 500);
    for (const fault of twoRounds) {
      const tagged = events.filter((e) => e.faultId === fault.id);
      if (fault.kind === 'dying-edge') {
        assert.equal(
          split(events, fault).targetDuring.length,
          0,
          `${fault.id} target sent during its window`,
        );
      } else {
        assert.ok(tagged.length > 0, `${fault.id} changed no event`);
      }
      assert.ok(
        tagged.every((e) => faultActiveAt(fault, e.event.ts - START_MS)),
        `${fault.id} outside its window`,
      );
    }
    const later = new Set(cycle.slice(twoRounds.length).map((f) => f.id));
    assert.ok(events.every((e) => e.faultId === null || !later.has(e.faultId)));
  });

  it('retransmit storm raises the retransmit rate of one edge during its window only', () => {
    assertOnlyTargetChanges(fleetFault('retransmit-storm'), retransmitRate, 10);
  });

  it('origin 5xx burst raises the error rate of one site during its window only', () => {
    const faulty = fleetFault('origin-5xx');
    assert.equal(faulty.dimension, 'site');
    const groups = split(run([faulty]), faulty);
    assert.ok(errorRate(groups.targetDuring) > 0.2, `error rate ${errorRate(groups.targetDuring)}`);
    for (const events of [groups.targetOutside, groups.othersDuring, groups.othersOutside]) {
      assert.ok(errorRate(events) < 0.01, `error rate ${errorRate(events)} away from the fault`);
    }
  });

  it('latency spike raises the RTT of one site during its window only', () => {
    assertOnlyTargetChanges(fleetFault('latency-spike'), medianRtt, 4);
  });

  it('flapping link raises retransmits in the bad half of each period only', () => {
    const faulty = fleetFault('flapping-link');
    assertOnlyTargetChanges(faulty, retransmitRate, 10);
    const events = run([faulty]).filter((e) => e.edge === faulty.target);
    const healthyHalf = events.filter((e) => {
      const offsetMs = e.event.ts - START_MS;
      return (
        offsetMs >= faulty.startOffsetMs && offsetMs < faulty.endOffsetMs && !faultActiveAt(faulty, offsetMs)
      );
    });
    assert.ok(retransmitRate(healthyHalf) < 0.005, `healthy half ${retransmitRate(healthyHalf)}`);
  });

  it('dying edge sends nothing during its window and comes back after it', () => {
    const faulty = fleetFault('dying-edge');
    const events = run([faulty]);
    const groups = split(events, faulty);
    assert.equal(groups.targetDuring.length, 0);
    assert.ok(groups.targetOutside.filter((e) => e.event.ts - START_MS >= faulty.endOffsetMs).length > 0);
    const perEdgeBefore = eventCount(groups.othersOutside) / (EDGES - 1);
    assert.ok(eventCount(groups.targetOutside) > 0.5 * perEdgeBefore);
  });

  it('tags changed events with the fault and leaves a control run untouched', () => {
    const faulty = fleetFault('retransmit-storm');
    const events = run([faulty]);
    const tagged = events.filter((e) => e.faultId === faulty.id);
    assert.ok(tagged.length > 0);
    assert.ok(tagged.every((e) => e.edge === faulty.target && e.event.type === 'tcp_stats'));
    assert.ok(tagged.every((e) => faultActiveAt(faulty, e.event.ts - START_MS)));
    assert.ok(run([]).every((e) => e.faultId === null));
  });

  it('rejects faults outside their limits or on targets the fleet lacks', () => {
    assert.throws(
      () => makeFault('origin-5xx', 'fra1', { startOffsetMs: -1, durationMs: 10 }),
      /startOffsetMs/,
    );
    assert.throws(() => makeFault('origin-5xx', 'fra1', { startOffsetMs: 0, durationMs: 0 }), /durationMs/);
    assert.throws(() => run([makeFault('origin-5xx', 'nowhere', TIMING)]), /no site 'nowhere' in the fleet/);
  });
});
