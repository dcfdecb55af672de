/**
 * Fault scenarios the simulator injects into otherwise healthy telemetry. Each fault names the dimension it
 * hits (one edge server or one site), the metrics it moves and its window relative to the start of the run, so
 * tests and the demo know which alert to expect, where and when.
 */

export const FAULT_KINDS = [
  'retransmit-storm',
  'origin-5xx',
  'latency-spike',
  'dying-edge',
  'flapping-link',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * What `--scenario` accepts: one fault kind, every kind at once (`all`), every kind in turn repeating for as long
 * as the run lasts (`cycle`, for soak runs), or a fault-free control run.
 */
export type ScenarioName = FaultKind | 'none' | 'all' | 'cycle';

export const SCENARIO_NAMES: readonly ScenarioName[] = ['none', 'all', 'cycle', ...FAULT_KINDS];

/** Metric names as the monitoring pipelines aggregate them. */
export type AffectedMetric = 'retransmits' | 'rtt_ms' | 'segment_download_ms' | 'error_rate' | 'no_data';

export type FaultDimension = 'edge' | 'site';

/** Which events a fault changes: TCP samples, segment downloads, or every event (a silent edge). */
export type FaultScope = 'tcp' | 'segment' | 'all';

export interface Fault {
  /** Unique in a run: `KIND@TARGET#N`. */
  id: string;
  kind: FaultKind;
  dimension: FaultDimension;
  /** Edge server id or site name, according to `dimension`. */
  target: string;
  /** Window in ms relative to the start of the run: [startOffsetMs, endOffsetMs). */
  startOffsetMs: number;
  endOffsetMs: number;
  affects: readonly AffectedMetric[];
  /** flapping-link only: the link is bad for the first half of each period and healthy for the second. */
  flapPeriodMs: number;
}

interface FaultProfile {
  dimension: FaultDimension;
  affects: readonly AffectedMetric[];
  scopes: readonly FaultScope[];
}

export const FAULT_PROFILES: Record<FaultKind, FaultProfile> = {
  'retransmit-storm': { dimension: 'edge', affects: ['retransmits'], scopes: ['tcp'] },
  'origin-5xx': { dimension: 'site', affects: ['error_rate'], scopes: ['segment'] },
  'latency-spike': {
    dimension: 'site',
    affects: ['rtt_ms', 'segment_download_ms'],
    scopes: ['tcp', 'segment'],
  },
  'dying-edge': { dimension: 'edge', affects: ['no_data'], scopes: ['all'] },
  'flapping-link': {
    dimension: 'edge',
    affects: ['retransmits', 'rtt_ms', 'segment_download_ms'],
    scopes: ['tcp', 'segment'],
  },
};

export const SCENARIO_DEFAULTS = {
  startOffsetMs: 10_000,
  durationMs: 30_000,
  /**
   * With `all`, each next fault starts this much later, so detection latencies can be told apart. With `cycle`,
   * the healthy gap between one fault's end and the next one's start, so each fault's alert can resolve.
   */
  staggerMs: 5_000,
  flapPeriodMs: 6_000,
} as const;

export const SCENARIO_LIMITS = {
  /** A fault window may not reach beyond a day into the run. */
  maxOffsetMs: 24 * 60 * 60 * 1000,
  minFlapPeriodMs: 200,
  maxFaults: 10_000,
} as const;

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

export interface FaultTiming {
  startOffsetMs: number;
  durationMs: number;
  flapPeriodMs?: number;
}

/** A fault of `kind` on `target` (an edge id or a site, as the kind's dimension says). */
export function makeFault(kind: FaultKind, target: string, timing: FaultTiming, serial = 0): Fault {
  const { startOffsetMs, durationMs } = timing;
  const flapPeriodMs = timing.flapPeriodMs ?? SCENARIO_DEFAULTS.flapPeriodMs;
  if (!Number.isInteger(startOffsetMs) || startOffsetMs < 0 || startOffsetMs > SCENARIO_LIMITS.maxOffsetMs) {
    throw new RangeError(
      `fault ${kind}: startOffsetMs must be an integer in [0, ${SCENARIO_LIMITS.maxOffsetMs}], got ${startOffsetMs}`,
    );
  }
  if (
    !Number.isInteger(durationMs) ||
    durationMs < 1 ||
    startOffsetMs + durationMs > SCENARIO_LIMITS.maxOffsetMs
  ) {
    throw new RangeError(
      `fault ${kind}: durationMs must be an integer >= 1 ending within ${SCENARIO_LIMITS.maxOffsetMs} ms, got ${durationMs}`,
    );
  }
  if (!Number.isInteger(flapPeriodMs) || flapPeriodMs < SCENARIO_LIMITS.minFlapPeriodMs) {
    throw new RangeError(
      `fault ${kind}: flapPeriodMs must be an integer >= ${SCENARIO_LIMITS.minFlapPeriodMs}, got ${flapPeriodMs}`,
    );
  }
  const profile = FAULT_PROFILES[kind];
  return {
    id: `${kind}@${target}#${serial}`,
    kind,
    dimension: profile.dimension,
    target,
    startOffsetMs,
    endOffsetMs: startOffsetMs + durationMs,
    affects: profile.affects,
    flapPeriodMs,
  };
}

export interface FleetLayout {
  /** Edge ids in fleet order. */
  edges: readonly { id: string; site: string }[];
  sites: readonly string[];
}

/**
 * The faults of a named scenario on a fleet. Site faults take the first sites; edge faults take edges outside
 * those sites when the fleet has any, so every fault's effect can be told apart from the others'.
 */
export function scenarioFaults(
  name: ScenarioName,
  fleet: FleetLayout,
  timing: FaultTiming & { staggerMs?: number },
): Fault[] {
  if (name === 'none') return [];
  const staggerMs = timing.staggerMs ?? SCENARIO_DEFAULTS.staggerMs;
  const targets = faultTargets(fleet);
  if (name === 'cycle') return cycleFaults(targets, timing, staggerMs);
  const kinds: readonly FaultKind[] = name === 'all' ? FAULT_KINDS : [name];
  return kinds.map((kind, index) =>
    makeFault(
      kind,
      targets[kind],
      { ...timing, startOffsetMs: timing.startOffsetMs + index * staggerMs },
      index,
    ),
  );
}

function faultTargets(fleet: FleetLayout): Record<FaultKind, string> {
  const siteTargets = [fleet.sites[0]!, fleet.sites[1 % fleet.sites.length]!];
  const outside = fleet.edges.filter((edge) => !siteTargets.includes(edge.site)).map((edge) => edge.id);
  const edgePool = outside.length > 0 ? outside : fleet.edges.map((edge) => edge.id).reverse();
  return {
    'latency-spike': siteTargets[0]!,
    'origin-5xx': siteTargets[1]!,
    'retransmit-storm': edgePool[0]!,
    'dying-edge': edgePool[1 % edgePool.length]!,
    'flapping-link': edgePool[2 % edgePool.length]!,
  };
}

/**
 * Every kind in turn, one fault at a time, each on the target `all` gives it, each starting `gapMs` after the
 * previous one ended; repeated until the next fault would end past `maxOffsetMs` or `maxFaults` are scheduled.
 * A run shorter than that simply never reaches the later faults.
 */
function cycleFaults(targets: Record<FaultKind, string>, timing: FaultTiming, gapMs: number): Fault[] {
  if (!Number.isInteger(gapMs) || gapMs < 0) {
    throw new RangeError(`scenario cycle: the gap between faults must be an integer >= 0, got ${gapMs}`);
  }
  const periodMs = timing.durationMs + gapMs;
  const faults: Fault[] = [];
  for (
    let startOffsetMs = timing.startOffsetMs;
    startOffsetMs + timing.durationMs <= SCENARIO_LIMITS.maxOffsetMs &&
    faults.length < SCENARIO_LIMITS.maxFaults;
    startOffsetMs += periodMs
  ) {
    const kind = FAULT_KINDS[faults.length % FAULT_KINDS.length]!;
    faults.push(makeFault(kind, targets[kind], { ...timing, startOffsetMs }, faults.length));
  }
  return faults;
}

/** Whether `fault` is acting at `offsetMs` into the run (a flapping link only in the bad half of its period). */
export function faultActiveAt(fault: Fault, offsetMs: number): boolean {
  if (offsetMs < fault.startOffsetMs || offsetMs >= fault.endOffsetMs) return false;
  if (fault.kind !== 'flapping-link') return true;
  return (offsetMs - fault.startOffsetMs) % fault.flapPeriodMs < fault.flapPeriodMs / 2;
}
