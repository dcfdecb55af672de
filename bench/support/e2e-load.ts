// The load side of bench:e2e, run as its own process so the simulator's CPU is not the measured process's:
// produces simulated CDN telemetry over the Kafka protocol (RemoteLogClient) at a target rate for a fixed
// wall-clock time, with the retransmit storms the parent asks for, then prints one JSON line (LoadReport).
import { RemoteLogClient } from '../../src/client/remote-client.js';
import { buildFleet } from '../../src/simulate/generator.js';
import { makeFault } from '../../src/simulate/scenarios.js';
import { type FaultReport, Simulator } from '../../src/simulate/simulator.js';

export interface LoadSpec {
  brokers: string;
  ratePerSec: number;
  edges: number;
  sites: number;
  partitions: number;
  /** Wall-clock run time; the simulator is closed after it whatever event time it reached. */
  runMs: number;
  /** Stop once event time has advanced this far (so every fault is sent even if the generator fell behind);
   * runMs still caps the run. */
  eventTimeMs?: number;
  /** One retransmit storm per entry, each on its own edge (fleet order, one edge per site in turn). */
  storms: { count: number; firstStartMs: number; staggerMs: number; durationMs: number };
}

export interface LoadReport {
  eventsProduced: number;
  /** From start() returning (topics exist) to the last produce acknowledged. */
  wallMs: number;
  eventsPerSec: number;
  /** How far event time trailed the wall clock at the end: large means the cluster or this process fell behind. */
  eventTimeLagMs: number;
  /** CPU this process used (user + system) over the run, in core-seconds. */
  cpuSeconds: number;
  faults: FaultReport[];
}

const LIMITS = { maxRatePerSec: 2_000_000, maxRunMs: 10 * 60_000, maxStorms: 1_000 } as const;

function parseSpec(raw: string | undefined): LoadSpec {
  if (raw === undefined) throw new Error('usage: e2e-load.js SPEC_JSON');
  const spec = JSON.parse(raw) as LoadSpec;
  if (!(spec.ratePerSec >= 1 && spec.ratePerSec <= LIMITS.maxRatePerSec))
    throw new RangeError(`ratePerSec must be in [1, ${LIMITS.maxRatePerSec}], got ${spec.ratePerSec}`);
  if (!(spec.runMs >= 1 && spec.runMs <= LIMITS.maxRunMs))
    throw new RangeError(`runMs must be in [1, ${LIMITS.maxRunMs}], got ${spec.runMs}`);
  if (!(spec.storms.count >= 0 && spec.storms.count <= Math.min(LIMITS.maxStorms, spec.edges)))
    throw new RangeError(
      `storms.count must be in [0, min(${LIMITS.maxStorms}, edges)], got ${spec.storms.count}`,
    );
  return spec;
}

async function main(): Promise<void> {
  const spec = parseSpec(process.argv[2]);
  const seed = 1;
  const fleet = buildFleet(spec.edges, spec.sites, seed);
  const { storms } = spec;
  const faults = fleet.edges
    .slice(0, storms.count)
    .map((edge, index) =>
      makeFault(
        'retransmit-storm',
        edge.id,
        { startOffsetMs: storms.firstStartMs + index * storms.staggerMs, durationMs: storms.durationMs },
        index,
      ),
    );
  const client = new RemoteLogClient({ bootstrapBrokers: [spec.brokers], clientId: 'bench-e2e-load' });
  try {
    const simulator = new Simulator({
      client,
      ratePerSec: spec.ratePerSec,
      edges: spec.edges,
      sites: spec.sites,
      seed,
      faults,
      partitions: spec.partitions,
      // Enough produce calls in flight, and events per call, that the Kafka round trip does not cap the rate:
      // the client sends one ordered produce request at a time.
      maxInFlightProduces: 8,
      sliceMs: 250,
      ...(spec.eventTimeMs === undefined ? {} : { durationMs: spec.eventTimeMs }),
    });
    const cpuBefore = process.cpuUsage();
    await simulator.start();
    const startedMs = Date.now();
    const stopTimer = setTimeout(() => void simulator.close(), spec.runMs);
    const terminate = () => void simulator.close();
    process.once('SIGTERM', terminate);
    const stats = await simulator.done();
    clearTimeout(stopTimer);
    process.off('SIGTERM', terminate);
    const wallMs = Date.now() - startedMs;
    const cpu = process.cpuUsage(cpuBefore);
    const report: LoadReport = {
      eventsProduced: stats.eventsProduced,
      wallMs,
      eventsPerSec: stats.eventsProduced / (wallMs / 1000),
      eventTimeLagMs: stats.eventTimeLagMs,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      faults: stats.faults,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await client.close();
  }
}

await main();
