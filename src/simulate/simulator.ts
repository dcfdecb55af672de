import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { partitionForKey } from '../client/partitioner.js';
import {
  type LogClient,
  type OutgoingRecord,
  producesText,
  type TextOutgoingRecord,
} from '../client/types.js';
import { GENERATOR_DEFAULTS, type GeneratedEvent, type Slice, TelemetryGenerator } from './generator.js';
import type { Fault, FaultKind } from './scenarios.js';
import { QOE_TOPIC, TCP_TOPIC } from './telemetry.js';

export interface SimulatorOptions {
  client: LogClient;
  ratePerSec: number;
  edges: number;
  sites: number;
  seed: number;
  faults: readonly Fault[];
  /** Partitions of the telemetry topics when the simulator creates them. */
  partitions?: number;
  /** Stop after this much event time; without it, run until close(). */
  durationMs?: number;
  /** Event time per produce call: small slices keep the produced rate smooth. */
  sliceMs?: number;
  /** Produce calls awaiting acknowledgement at once; the generator waits for one to finish beyond this. */
  maxInFlightProduces?: number;
  sessionsPerEdge?: number;
  lateFraction?: number;
  maxLatenessMs?: number;
  /** Wall clock, ms since the epoch. */
  now?: () => number;
}

export const SIMULATOR_DEFAULTS = {
  partitions: 8,
  sliceMs: 50,
  maxInFlightProduces: 4,
} as const;

/**
 * Events a produce call carries at least, when the rate allows slices up to MAX_PRODUCE_SLICE_MS: each call
 * costs the whole chain the same whatever its size (a batch per partition, an append and its fsync, a fetch
 * wake-up per pipeline task), so at 5,000 events/s 50 ms slices (250 events over 16 partitions) spend more on
 * the calls than on the events.
 */
const MIN_EVENTS_PER_PRODUCE = 1_000;
/** Longest slice sliceMsForRate chooses: the produced rate stays smooth at the 1 s a dashboard shows. */
const MAX_PRODUCE_SLICE_MS = 200;

/** The slice for `ratePerSec`: the default at high rates, longer (up to MAX_PRODUCE_SLICE_MS) at low ones. */
export function sliceMsForRate(ratePerSec: number): number {
  const sliceMs = Math.ceil((MIN_EVENTS_PER_PRODUCE * 1000) / ratePerSec);
  return Math.min(MAX_PRODUCE_SLICE_MS, Math.max(SIMULATOR_DEFAULTS.sliceMs, sliceMs));
}

export const SIMULATOR_LIMITS = {
  maxPartitions: 10_000,
  maxInFlightProduces: 64,
} as const;

export interface FaultReport {
  id: string;
  kind: FaultKind;
  dimension: Fault['dimension'];
  target: string;
  affects: readonly string[];
  /** The fault window in event time, ms since the epoch. */
  startMs: number;
  endMs: number;
  /** Events the fault changed (or, for a dying edge, kept from being sent). */
  events: number;
  /** Event time of the first faulty event. */
  firstEventTs: number | null;
  /** Wall clock when the produce call holding the first faulty event was made (for a silent edge: when its
   * first event was withheld). Detection latency is measured from here. */
  firstEventSentAtMs: number | null;
  /** Wall clock when that produce call was acknowledged. */
  firstEventAckedAtMs: number | null;
}

export interface SimulatorStats {
  /** Event time of the start of the run. */
  startMs: number;
  /** Events acknowledged by the cluster. */
  eventsProduced: number;
  byTopic: Record<string, number>;
  byType: Record<string, number>;
  lateEvents: number;
  silencedEvents: number;
  /** How far the last slice sent trails the wall clock: above a slice or two, the cluster is not keeping up. */
  eventTimeLagMs: number;
  faults: FaultReport[];
}

/**
 * Produces generated telemetry to a Kafka-compatible log at a target rate: one produce call per slice of event
 * time, sent once the wall clock has passed the slice's end, with a bounded number of calls in flight. When the
 * cluster is slower than the rate, the generator waits (event time falls behind the wall clock) instead of
 * queueing without bound.
 */
export class Simulator {
  private readonly generator: TelemetryGenerator;
  private readonly now: () => number;
  private readonly sliceMs: number;
  private readonly maxInFlight: number;
  private readonly partitionsWanted: number;
  private readonly keys = new Map<string, Buffer>();
  private readonly partitionOf = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly faultReports = new Map<string, FaultReport>();
  private readonly byTopic: Record<string, number> = { [TCP_TOPIC]: 0, [QOE_TOPIC]: 0 };
  private readonly byType: Record<string, number> = {};
  private eventsProduced = 0;
  private silencedEvents = 0;
  private lastSliceEndMs: number;
  private stopping = false;
  private wake: () => void = () => undefined;
  private failure: unknown = null;
  private running: Promise<void> | null = null;
  private readonly startMs: number;
  private readonly produce: (records: TextOutgoingRecord[]) => Promise<number[]>;

  constructor(private readonly options: SimulatorOptions) {
    const { client } = options;
    // A client that encodes its own batches writes each event's JSON straight into the batch; the others
    // (a remote cluster's library) take bytes.
    this.produce = producesText(client)
      ? (records) => client.produce(records)
      : (records) => client.produce(records.map(withValueBytes));
    this.now = options.now ?? Date.now;
    this.sliceMs = options.sliceMs ?? SIMULATOR_DEFAULTS.sliceMs;
    this.maxInFlight = options.maxInFlightProduces ?? SIMULATOR_DEFAULTS.maxInFlightProduces;
    if (
      !Number.isInteger(this.maxInFlight) ||
      this.maxInFlight < 1 ||
      this.maxInFlight > SIMULATOR_LIMITS.maxInFlightProduces
    ) {
      throw new RangeError(
        `maxInFlightProduces must be an integer in [1, ${SIMULATOR_LIMITS.maxInFlightProduces}], got ${this.maxInFlight}`,
      );
    }
    this.partitionsWanted = options.partitions ?? SIMULATOR_DEFAULTS.partitions;
    if (
      !Number.isInteger(this.partitionsWanted) ||
      this.partitionsWanted < 1 ||
      this.partitionsWanted > SIMULATOR_LIMITS.maxPartitions
    ) {
      throw new RangeError(
        `partitions must be an integer in [1, ${SIMULATOR_LIMITS.maxPartitions}], got ${this.partitionsWanted}`,
      );
    }
    if (
      options.durationMs !== undefined &&
      !(Number.isInteger(options.durationMs) && options.durationMs > 0)
    ) {
      throw new RangeError(`durationMs must be a positive integer, got ${options.durationMs}`);
    }
    this.startMs = this.now();
    this.lastSliceEndMs = this.startMs;
    this.generator = new TelemetryGenerator({
      seed: options.seed,
      startMs: this.startMs,
      ratePerSec: options.ratePerSec,
      edges: options.edges,
      sites: options.sites,
      sliceMs: this.sliceMs,
      faults: options.faults,
      sessionsPerEdge: options.sessionsPerEdge ?? GENERATOR_DEFAULTS.sessionsPerEdge,
      lateFraction: options.lateFraction ?? GENERATOR_DEFAULTS.lateFraction,
      maxLatenessMs: options.maxLatenessMs ?? GENERATOR_DEFAULTS.maxLatenessMs,
    });
    for (const fault of options.faults) {
      this.faultReports.set(fault.id, {
        id: fault.id,
        kind: fault.kind,
        dimension: fault.dimension,
        target: fault.target,
        affects: fault.affects,
        startMs: this.startMs + fault.startOffsetMs,
        endMs: this.startMs + fault.endOffsetMs,
        events: 0,
        firstEventTs: null,
        firstEventSentAtMs: null,
        firstEventAckedAtMs: null,
      });
    }
  }

  /** The edge servers and sites being simulated. */
  get fleet() {
    return this.generator.fleet;
  }

  /** Creates the topics if they are missing and starts producing; `done()` tells when the run ends. */
  async start(): Promise<void> {
    if (this.running) throw new Error('simulator already started');
    for (const topic of [TCP_TOPIC, QOE_TOPIC]) {
      const partitions = await this.options.client.ensureTopic({
        name: topic,
        partitions: this.partitionsWanted,
      });
      for (const edge of this.generator.fleet.edges) {
        const key = Buffer.from(edge.id);
        this.keys.set(edge.id, key);
        this.partitionOf.set(`${topic}/${edge.id}`, partitionForKey(key, partitions));
      }
    }
    this.running = this.run();
  }

  /** Resolves when the run ends (its duration elapsed or close() was called); rejects if a produce failed. */
  async done(): Promise<SimulatorStats> {
    if (!this.running) throw new Error('simulator not started');
    await this.running;
    if (this.failure) throw this.failure;
    return this.stats();
  }

  /** Stops generating and waits for the produce calls in flight. Does not close the client. */
  async close(): Promise<SimulatorStats> {
    this.stopping = true;
    this.wake();
    await this.running;
    return this.stats();
  }

  stats(): SimulatorStats {
    return {
      startMs: this.startMs,
      eventsProduced: this.eventsProduced,
      byTopic: { ...this.byTopic },
      byType: { ...this.byType },
      lateEvents: this.generator.lateEvents,
      silencedEvents: this.silencedEvents,
      eventTimeLagMs: Math.max(0, this.now() - this.lastSliceEndMs),
      faults: [...this.faultReports.values()].map((report) => ({ ...report })),
    };
  }

  private async run(): Promise<void> {
    const { durationMs } = this.options;
    while (!this.stopping && this.failure === null) {
      if (durationMs !== undefined && this.generator.nextSliceOffsetMs >= durationMs) break;
      const waitMs = this.generator.nextSliceEndMs - this.now();
      if (waitMs > 0) {
        await this.sleep(waitMs);
        continue;
      }
      while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
      if (this.stopping || this.failure !== null) break;
      this.send(this.generator.nextSlice());
      // Catching up on a backlog must still let acknowledgements and signals in.
      await yieldToEventLoop();
    }
    await Promise.allSettled([...this.inFlight]);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private send(slice: Slice): void {
    const sentAtMs = this.now();
    this.lastSliceEndMs = slice.endMs;
    this.silencedEvents += slice.silenced;
    const firsts: FaultReport[] = [];
    for (const activity of slice.faults) {
      const report = this.faultReports.get(activity.faultId)!;
      report.events += activity.events;
      if (report.firstEventTs === null) {
        report.firstEventTs = activity.firstTs;
        report.firstEventSentAtMs = sentAtMs;
        firsts.push(report);
      }
    }
    if (slice.events.length === 0) {
      for (const report of firsts) report.firstEventAckedAtMs = sentAtMs;
      return;
    }
    const records = slice.events.map((generated) => this.record(generated));
    const produced = this.produce(records).then(
      () => {
        const ackedAtMs = this.now();
        for (const report of firsts) report.firstEventAckedAtMs = ackedAtMs;
        this.count(slice.events);
      },
      (error: unknown) => {
        this.failure ??= error;
        this.wake();
      },
    );
    this.inFlight.add(produced);
    void produced.finally(() => this.inFlight.delete(produced));
  }

  private record(generated: GeneratedEvent): TextOutgoingRecord {
    return {
      topic: generated.topic,
      partition: this.partitionOf.get(`${generated.topic}/${generated.edge}`)!,
      key: this.keys.get(generated.edge)!,
      value: JSON.stringify(generated.event),
      timestamp: generated.event.ts,
    };
  }

  private count(events: GeneratedEvent[]): void {
    this.eventsProduced += events.length;
    for (const { topic, event } of events) {
      this.byTopic[topic] = (this.byTopic[topic] ?? 0) + 1;
      this.byType[event.type] = (this.byType[event.type] ?? 0) + 1;
    }
  }
}

function withValueBytes(record: TextOutgoingRecord): OutgoingRecord {
  return typeof record.value === 'string'
    ? { ...record, value: Buffer.from(record.value) }
    : { ...record, value: record.value };
}
