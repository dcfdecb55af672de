import type { Serde } from './serdes.js';
import type { StateStore } from './state-store.js';

/*
 * The pipeline graph: what the DSL (dsl.ts) builds and the runtime (task-wiring.ts, StreamsApp) instantiates
 * per task. Nodes know how to make their processor; the topology knows the topics and stores around them.
 */

/** Keys inside a pipeline are strings (or absent); values are whatever the value serde produced. */
export type Key = string | null;

export interface StreamRecord<V> {
  key: Key;
  value: V;
  /** Event time in ms: from the source's timestamp extractor, else the record timestamp. */
  timestamp: number;
}

/** What a processor sees of the task it runs in. */
export interface ProcessorContext {
  readonly taskId: string;
  /** The task's event-time watermark now. */
  watermark(): number;
  /** Appends an output record (exactly-once bookkeeping is the task's business). */
  send(
    topic: string,
    partition: number | null,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
  ): void;
  /** Registers a state store so the task checkpoints and restores it. */
  registerStore(store: StateStore): void;
  /** Counts a record too late for every window it belonged to. */
  countLate(store: string): void;
}

/** Where a record was processed: its task, and that task's event-time watermark at the time. */
export interface TaskProgress {
  readonly taskId: string;
  readonly watermark: number;
}

export interface Processor {
  process(record: StreamRecord<unknown>): void;
  /** Called when the watermark advances, so windows can close. */
  advance?(watermark: number): void;
  /** Called after each batch of records the task processed. */
  endOfBatch?(): void;
}

export type Forward = (record: StreamRecord<unknown>) => void;

export type Instantiate = (context: ProcessorContext, forward: Forward) => Processor;

/** One operator of the pipeline graph; instantiated once per task. */
export interface TopologyNode {
  readonly children: TopologyNode[];
  instantiate: Instantiate;
}

export interface SinkTopic {
  topic: string;
  partitions?: number;
  config?: Record<string, string>;
  internal: boolean;
}

export interface SourceNode extends TopologyNode {
  readonly topic: string;
  readonly keySerde: Serde<string>;
  readonly valueSerde: Serde<unknown>;
  readonly eventTime: ((value: unknown) => number) | null;
  readonly maxOutOfOrdernessMs: number;
  /** For an internal repartition topic: the source topics whose tasks write to it (their watermarks). */
  readonly upstreamTopics: string[] | null;
}

/** Changelogs keep the latest value per state entry; records are never too old to restore from. */
export const CHANGELOG_CONFIG: Record<string, string> = {
  'cleanup.policy': 'compact',
  // Uncommitted entries of a crashed attempt may follow committed ones; give restarts a day before compaction
  // could let such an entry replace the committed value it follows.
  'min.compaction.lag.ms': String(24 * 3_600_000),
};

/**
 * Kafka Streams' repartition topic configs: consumed records are deleted by the app (RepartitionPurge), not
 * kept for the broker's retention; 50 MiB or 10-minute segments let a purge free disk within minutes.
 */
export const REPARTITION_CONFIG: Record<string, string> = {
  'cleanup.policy': 'delete',
  'segment.bytes': String(50 * 1024 * 1024),
  'segment.ms': String(10 * 60_000),
  'retention.ms': '-1',
};

/** The graph's sources, the topics it writes and the stores it keeps, by the names StreamsApp creates them. */
export class Topology {
  readonly sources = new Map<string, SourceNode>();
  readonly sinks = new Map<string, SinkTopic>();
  /** Store name -> the source topic whose tasks own it (its changelog has that topic's partition count). */
  readonly stores = new Map<string, string>();

  constructor(readonly applicationId: string) {}

  addSource(source: SourceNode): void {
    this.sources.set(source.topic, source);
  }

  addSink(sink: SinkTopic): void {
    const existing = this.sinks.get(sink.topic);
    if (existing && existing.internal !== sink.internal) throw new Error(`topic '${sink.topic}' used twice`);
    if (!existing) this.sinks.set(sink.topic, sink);
  }

  reserveStore(name: string, sourceTopics: string[]): void {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`store name '${name}' must match [A-Za-z0-9._-]+`);
    if (this.stores.has(name)) throw new Error(`store name '${name}' is used twice`);
    if (sourceTopics.length !== 1) throw new Error(`store '${name}' must be fed by exactly one topic`);
    this.stores.set(name, sourceTopics[0]!);
    this.addSink({ topic: this.changelogTopic(name), internal: true, config: CHANGELOG_CONFIG });
  }

  repartitionTopic(name: string): string {
    return `${this.applicationId}-${name}-repartition`;
  }

  changelogTopic(store: string): string {
    return `${this.applicationId}-${store}-changelog`;
  }
}

/** Adds a node below `parent`. */
export function addNode(parent: TopologyNode, instantiate: Instantiate): TopologyNode {
  const child: TopologyNode = { children: [], instantiate };
  parent.children.push(child);
  return child;
}
