import { parseArgs } from 'node:util';
import { RemoteLogClient } from '../client/remote-client.js';
import { buildFleet, GENERATOR_LIMITS } from '../simulate/generator.js';
import { isScenarioName, SCENARIO_DEFAULTS, SCENARIO_NAMES, scenarioFaults } from '../simulate/scenarios.js';
import { SIMULATOR_DEFAULTS, Simulator, type SimulatorStats, sliceMsForRate } from '../simulate/simulator.js';
import { UsageError } from './usage-error.js';

export const SIMULATE_USAGE = `  edgestream simulate [--brokers HOST:PORT]  produce CDN edge telemetry to cdn.tcp and cdn.qoe over Kafka
        [--rate N] [--edges E] [--sites S] events/s (default 1000), edge servers (20), sites (4)
        [--seed S] [--duration SECONDS]    same seed, same events; run until SIGINT/SIGTERM without --duration
        [--scenario NAME]                  ${SCENARIO_NAMES.join(' | ')}
        [--fault-start SECONDS] [--fault-duration SECONDS]   fault window (default 10 and 30 s into the run)
        [--partitions N]                   partitions of the topics if they are created (default 8)
`;

const DEFAULTS = { brokers: '127.0.0.1:9092', rate: 1_000, edges: 20, sites: 4, seed: 1 } as const;

function integerFlag(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} expects an integer in [${min}, ${max}], got '${raw}'`);
  }
  return value;
}

function secondsFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new UsageError(`--${name} expects seconds in (0, 86400], got '${raw}'`);
  }
  return Math.round(seconds * 1000);
}

/** Runs the simulator against any Kafka-compatible cluster and prints a one-line JSON summary on exit. */
export async function simulateCommand(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        brokers: { type: 'string', default: DEFAULTS.brokers },
        rate: { type: 'string' },
        edges: { type: 'string' },
        sites: { type: 'string' },
        seed: { type: 'string' },
        scenario: { type: 'string', default: 'none' },
        duration: { type: 'string' },
        'fault-start': { type: 'string' },
        'fault-duration': { type: 'string' },
        partitions: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const scenario = String(values.scenario);
  if (!isScenarioName(scenario)) {
    throw new UsageError(`--scenario expects one of ${SCENARIO_NAMES.join(', ')}, got '${scenario}'`);
  }
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const ratePerSec = integerFlag('rate', str('rate'), DEFAULTS.rate, 1, GENERATOR_LIMITS.maxRatePerSec);
  const edges = integerFlag('edges', str('edges'), DEFAULTS.edges, 1, GENERATOR_LIMITS.maxEdges);
  const sites = integerFlag('sites', str('sites'), Math.min(DEFAULTS.sites, edges), 1, edges);
  const seed = integerFlag('seed', str('seed'), DEFAULTS.seed, 0, 0xffffffff);
  const partitions = integerFlag('partitions', str('partitions'), SIMULATOR_DEFAULTS.partitions, 1, 10_000);
  const durationMs = secondsFlag('duration', str('duration'));
  const faults = scenarioFaults(scenario, buildFleet(edges, sites, seed), {
    startOffsetMs: secondsFlag('fault-start', str('fault-start')) ?? SCENARIO_DEFAULTS.startOffsetMs,
    durationMs: secondsFlag('fault-duration', str('fault-duration')) ?? SCENARIO_DEFAULTS.durationMs,
  });
  const bootstrapBrokers = String(values.brokers).split(',');
  let client: RemoteLogClient;
  try {
    // Retries for 15 s (60 x 250 ms): long enough to ride out a leader's failover on a replicated cluster.
    client = new RemoteLogClient({ bootstrapBrokers, clientId: 'edgestream-simulate', retries: 60 });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let stats: SimulatorStats;
  try {
    const simulator = new Simulator({
      client,
      ratePerSec,
      sliceMs: sliceMsForRate(ratePerSec),
      edges,
      sites,
      seed,
      faults,
      partitions,
      ...(durationMs === undefined ? {} : { durationMs }),
    });
    await simulator.start();
    for (const fault of faults) {
      process.stderr.write(
        `fault ${fault.kind} on ${fault.dimension} ${fault.target} from ${fault.startOffsetMs / 1000} s to ${fault.endOffsetMs / 1000} s\n`,
      );
    }
    stats = await untilDoneOrSignal(simulator);
  } finally {
    await client.close();
  }
  process.stdout.write(`${JSON.stringify(summary(stats))}\n`);
  return 0;
}

async function untilDoneOrSignal(simulator: Simulator): Promise<SimulatorStats> {
  let onSignal: () => void = () => undefined;
  const signalled = new Promise<void>((resolve) => {
    onSignal = resolve;
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await Promise.race([simulator.done(), signalled]);
    return await simulator.close().then(() => simulator.done());
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function summary(stats: SimulatorStats) {
  return {
    events: stats.eventsProduced,
    byTopic: stats.byTopic,
    byType: stats.byType,
    late: stats.lateEvents,
    silenced: stats.silencedEvents,
    lagMs: stats.eventTimeLagMs,
    faults: stats.faults.map((fault) => ({
      id: fault.id,
      kind: fault.kind,
      dimension: fault.dimension,
      target: fault.target,
      startMs: fault.startMs,
      endMs: fault.endMs,
      events: fault.events,
      firstEventTs: fault.firstEventTs,
      firstEventSentAtMs: fault.firstEventSentAtMs,
    })),
  };
}
