import type { Aggregation } from './aggregations.js';
import { type Duration, toMillis } from './duration.js';
import { FixedWindowOperator } from './fixed-window-operator.js';
import { KeyedAggregateOperator } from './keyed-aggregate-operator.js';
import { json, type Serde, string } from './serdes.js';
import { SessionWindowOperator } from './session-windows.js';
import { SlidingWindowOperator } from './sliding-windows.js';
import type { StateStore } from './state-store.js';
import type { EmitMode, WindowOperator, WindowResult } from './window-operator.js';
import type { FixedWindows, SessionWindows, SlidingWindows } from './windows.js';

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

/** One operator of the pipeline graph; instantiated once per task. */
export interface TopologyNode {
  readonly children: TopologyNode[];
  instantiate(context: ProcessorContext, forward: Forward): Processor;
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

export interface StreamOptions<V> {
  value: Serde<V>;
  /** Event time of a value; defaults to the record's timestamp. */
  timestamp?: (value: V) => number;
  /** Bounded out-of-orderness: how far behind the largest event time seen a record may still be on time. */
  maxOutOfOrderness?: Duration;
}

export interface AggregateOptions {
  /** Names the state store, its changelog topic and metrics; unique in the application. */
  name: string;
  emit: EmitMode;
  /** Bound on entries in the store (keys x open windows). */
  maxEntries?: number;
  /** Tumbling and hopping windows: early results once per batch per changed (key, window); see FixedWindowOperator. */
  coalesceUpdates?: boolean;
  /** Late records go to this topic as they arrived (JSON value), besides being counted. */
  lateTopic?: string;
}

const DEFAULT_MAX_ENTRIES = 2_000_000;

/** Builds a pipeline graph; `StreamsApp` runs it. */
export class TopologyBuilder {
  readonly sources = new Map<string, SourceNode>();
  readonly sinks = new Map<string, SinkTopic>();
  /** Store name -> the source topic whose tasks own it (its changelog has that topic's partition count). */
  readonly stores = new Map<string, string>();

  constructor(readonly applicationId: string) {}

  stream<V>(topic: string, options: StreamOptions<V>): KStream<V> {
    if (this.sources.has(topic)) throw new Error(`topic '${topic}' is already a source: reuse its stream`);
    const source: SourceNode = {
      topic,
      children: [],
      keySerde: string(),
      valueSerde: options.value as Serde<unknown>,
      eventTime: (options.timestamp as ((value: unknown) => number) | undefined) ?? null,
      maxOutOfOrdernessMs: toMillis(options.maxOutOfOrderness ?? 0),
      upstreamTopics: null,
      instantiate: (_context, forward) => ({ process: forward }),
    };
    this.sources.set(topic, source);
    return new KStream<V>(this, source, [topic]);
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

function node(
  parent: TopologyNode,
  instantiate: (context: ProcessorContext, forward: Forward) => Processor,
): TopologyNode {
  const child: TopologyNode = { children: [], instantiate };
  parent.children.push(child);
  return child;
}

/** A record stream, as Kafka Streams' KStream: stateless operators, grouping, joins and sinks. */
export class KStream<V> {
  constructor(
    private readonly builder: TopologyBuilder,
    private readonly tail: TopologyNode,
    /** Source topics whose tasks run this part of the graph. */
    readonly sourceTopics: string[],
    /** Whether records are partitioned by their current key (no key change since a source). */
    private readonly partitionedByKey = true,
  ) {}

  private derive<W>(
    instantiate: (context: ProcessorContext, forward: Forward) => Processor,
    keyChanged = false,
  ): KStream<W> {
    const child = node(this.tail, instantiate);
    return new KStream<W>(this.builder, child, this.sourceTopics, this.partitionedByKey && !keyChanged);
  }

  filter(predicate: (value: V, key: Key) => boolean): KStream<V> {
    return this.derive((_context, forward) => ({
      process: (record) => {
        if (predicate(record.value as V, record.key)) forward(record);
      },
    }));
  }

  map<W>(mapper: (value: V, key: Key) => W): KStream<W> {
    return this.derive((_context, forward) => ({
      process: (record) =>
        forward({
          key: record.key,
          value: mapper(record.value as V, record.key),
          timestamp: record.timestamp,
        }),
    }));
  }

  flatMap<W>(mapper: (value: V, key: Key) => Iterable<W>): KStream<W> {
    return this.derive((_context, forward) => ({
      process: (record) => {
        for (const value of mapper(record.value as V, record.key))
          forward({ key: record.key, value, timestamp: record.timestamp });
      },
    }));
  }

  /** Observes records without changing them (metrics, logging, in-process consumers). */
  peek(action: (value: V, key: Key, timestamp: number) => void): KStream<V> {
    return this.derive((_context, forward) => ({
      process: (record) => {
        action(record.value as V, record.key, record.timestamp);
        forward(record);
      },
    }));
  }

  /** Sets a new key; a later grouping repartitions by it. */
  selectKey(selector: (value: V, key: Key) => string): KStream<V> {
    return this.derive(
      (_context, forward) => ({
        process: (record) =>
          forward({
            key: selector(record.value as V, record.key),
            value: record.value,
            timestamp: record.timestamp,
          }),
      }),
      true,
    );
  }

  /** Records of both streams, in the order each task sees them. */
  merge(other: KStream<V>): KStream<V> {
    const merged: TopologyNode = { children: [], instantiate: (_context, forward) => ({ process: forward }) };
    this.tail.children.push(merged);
    other.tail.children.push(merged);
    return new KStream<V>(
      this.builder,
      merged,
      [...new Set([...this.sourceTopics, ...other.sourceTopics])],
      this.partitionedByKey && other.partitionedByKey,
    );
  }

  /** One stream per predicate: each record goes to the first predicate that matches (or none). */
  branch(...predicates: Array<(value: V, key: Key) => boolean>): KStream<V>[] {
    const branches = predicates.map(() => ({ children: [] as TopologyNode[] }));
    const router: TopologyNode = {
      children: [],
      instantiate: (context, _forward) => {
        const outputs = branches.map((branch) => fanOut(branch.children, context));
        return {
          process: (record) => {
            const index = predicates.findIndex((predicate) => predicate(record.value as V, record.key));
            if (index >= 0) outputs[index]!(record);
          },
        };
      },
    };
    this.tail.children.push(router);
    return branches.map((branch) => {
      const head: TopologyNode = {
        children: branch.children,
        instantiate: () => ({ process: () => undefined }),
      };
      return new KStream<V>(this.builder, head, this.sourceTopics, this.partitionedByKey);
    });
  }

  /** Enriches each record with the table's current value for a key (records without a match are dropped). */
  join<T, W>(
    table: GlobalTable<T>,
    keyOf: (value: V, key: Key) => string,
    joiner: (value: V, row: T) => W,
  ): KStream<W> {
    return this.derive((_context, forward) => ({
      process: (record) => {
        const row = table.get(keyOf(record.value as V, record.key));
        if (row !== undefined)
          forward({ key: record.key, value: joiner(record.value as V, row), timestamp: record.timestamp });
      },
    }));
  }

  /** As join, but records without a match go on with `row` undefined. */
  leftJoin<T, W>(
    table: GlobalTable<T>,
    keyOf: (value: V, key: Key) => string,
    joiner: (value: V, row: T | undefined) => W,
  ): KStream<W> {
    return this.derive((_context, forward) => ({
      process: (record) =>
        forward({
          key: record.key,
          value: joiner(record.value as V, table.get(keyOf(record.value as V, record.key))),
          timestamp: record.timestamp,
        }),
    }));
  }

  /** Groups by a new key, repartitioning through an internal topic so each key is processed in one task. */
  groupBy(
    selector: (value: V, key: Key) => string,
    options: { name: string; value?: Serde<V> },
  ): KGroupedStream<V> {
    return this.selectKey(selector).groupByKey(options);
  }

  /**
   * Groups by the current key. Repartitions only when needed: after a key change, or when records come from
   * several source topics (one task then reads one partition, which keeps processing deterministic).
   */
  groupByKey(options: { name: string; value?: Serde<V> }): KGroupedStream<V> {
    if (this.partitionedByKey && this.sourceTopics.length === 1) {
      return new KGroupedStream<V>(this.builder, this.tail, this.sourceTopics);
    }
    const topic = this.builder.repartitionTopic(options.name);
    const valueSerde = (options.value ?? json<V>()) as Serde<unknown>;
    this.to(topic, { value: valueSerde as Serde<V>, internal: true });
    const source: SourceNode = {
      topic,
      children: [],
      keySerde: string(),
      valueSerde,
      eventTime: null,
      maxOutOfOrdernessMs: 0,
      upstreamTopics: this.sourceTopics,
      instantiate: (_context, forward) => ({ process: forward }),
    };
    this.builder.sources.set(topic, source);
    return new KGroupedStream<V>(this.builder, source, [topic]);
  }

  /** Writes records to a topic, partitioned by key (murmur2, as Kafka's default partitioner). */
  to(
    topic: string,
    options: { value: Serde<V>; partitions?: number; config?: Record<string, string>; internal?: boolean },
  ): void {
    this.builder.addSink({
      topic,
      internal: options.internal ?? false,
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
      ...(options.config === undefined ? {} : { config: options.config }),
    });
    const keySerde = string();
    node(this.tail, (context) => ({
      process: (record) =>
        context.send(
          topic,
          null,
          record.key === null ? null : keySerde.serialize(record.key),
          record.value === null ? null : options.value.serialize(record.value as V),
          record.timestamp,
        ),
    }));
  }

  /**
   * Hands every record to an in-process consumer (alerting, a dashboard): at least once across restarts. The
   * task tells which task saw the record and how far its event time had come (its watermark).
   */
  foreach(action: (value: V, key: Key, timestamp: number, task: TaskProgress) => void): void {
    node(this.tail, (context) => {
      const task = { taskId: context.taskId, watermark: 0 };
      return {
        process: (record) => {
          task.watermark = context.watermark();
          action(record.value as V, record.key, record.timestamp, task);
        },
      };
    });
  }
}

/** A keyed stream, ready for aggregation. */
export class KGroupedStream<V> {
  constructor(
    private readonly builder: TopologyBuilder,
    private readonly tail: TopologyNode,
    private readonly sourceTopics: string[],
  ) {}

  /**
   * Windows the grouped records: tumbling/hopping (fixed), sliding (one window per record over the size
   * before it) or session windows (activity separated by a gap; merged sessions are retracted with a null
   * result, as Kafka Streams does).
   */
  windowedBy(windows: FixedWindows | SlidingWindows): WindowedKStream<V, false>;
  windowedBy(windows: SessionWindows): WindowedKStream<V, true>;
  windowedBy(windows: FixedWindows | SlidingWindows | SessionWindows): WindowedKStream<V, boolean> {
    const factory: WindowOperatorFactory = (aggregation, options) => {
      const settings = {
        name: options.name,
        emit: options.emit,
        maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
      };
      if ('gapMs' in windows) return new SessionWindowOperator(aggregation, { ...settings, windows });
      if ('kind' in windows) {
        return new FixedWindowOperator(aggregation, {
          ...settings,
          windows,
          coalesceUpdates: options.coalesceUpdates ?? false,
        });
      }
      if (options.coalesceUpdates) {
        throw new Error(
          `aggregate '${options.name}': coalesceUpdates applies to tumbling and hopping windows only`,
        );
      }
      return new SlidingWindowOperator(aggregation, { ...settings, windows });
    };
    return new WindowedKStream<V, boolean>(this.builder, this.tail, this.sourceTopics, factory);
  }

  /** A running aggregate per key (a table's changelog stream): every update is emitted. */
  aggregate<A, R>(
    aggregation: Aggregation<V, A, R>,
    options: { name: string; maxEntries?: number },
  ): KStream<R> {
    this.builder.reserveStore(options.name, this.sourceTopics);
    const child = node(this.tail, (context, forward) => {
      const operator = new KeyedAggregateOperator(
        aggregation,
        options.name,
        options.maxEntries ?? DEFAULT_MAX_ENTRIES,
      );
      context.registerStore(operator);
      return {
        process: (record) => {
          if (record.key === null) return;
          const result = operator.process(record.key, record.value as V);
          forward({ key: record.key, value: result, timestamp: record.timestamp });
        },
      };
    });
    return new KStream<R>(this.builder, child, this.sourceTopics);
  }
}

type WindowOperatorFactory = <V, A, R>(
  aggregation: Aggregation<V, A, R>,
  options: AggregateOptions,
) => WindowOperator<V, R | null>;

/** Changelogs keep the latest value per state entry; records are never too old to restore from. */
export const CHANGELOG_CONFIG: Record<string, string> = {
  'cleanup.policy': 'compact',
  // Uncommitted entries of a crashed attempt may follow committed ones; give restarts a day before compaction
  // could let such an entry replace the committed value it follows.
  'min.compaction.lag.ms': String(24 * 3_600_000),
};

/** `Retracting`: session windows emit null results for sessions merged away. */
export class WindowedKStream<V, Retracting extends boolean> {
  constructor(
    private readonly builder: TopologyBuilder,
    private readonly tail: TopologyNode,
    private readonly sourceTopics: string[],
    private readonly factory: WindowOperatorFactory,
  ) {}

  /** Aggregates each key's windows: early results on every update, or one final result per window. */
  aggregate<A, R>(
    aggregation: Aggregation<V, A, R>,
    options: AggregateOptions,
  ): KStream<WindowResult<Retracting extends true ? R | null : R>> {
    this.builder.reserveStore(options.name, this.sourceTopics);
    if (options.lateTopic) this.builder.addSink({ topic: options.lateTopic, internal: false });
    const lateSerde = json<unknown>();
    const child = node(this.tail, (context, forward) => {
      const operator = this.factory(aggregation, options);
      context.registerStore(operator);
      // Early results carry the event time of the record that caused them; final ones the window's last instant.
      let causeTime = 0;
      const emit = (result: WindowResult<R | null>) =>
        forward({
          key: result.key,
          value: result,
          timestamp: result.final ? result.window.end - 1 : causeTime,
        });
      return {
        process: (record) => {
          if (record.key === null) return;
          causeTime = record.timestamp;
          if (operator.process(record.key, record.value as V, record.timestamp, context.watermark(), emit))
            return;
          context.countLate(options.name);
          if (options.lateTopic) {
            context.send(
              options.lateTopic,
              null,
              Buffer.from(record.key),
              lateSerde.serialize(record.value),
              record.timestamp,
            );
          }
        },
        advance: (watermark) => operator.advance(watermark, emit),
        endOfBatch: () => operator.flushUpdates?.(emit),
      };
    });
    return new KStream<WindowResult<R>>(this.builder, child, this.sourceTopics);
  }
}

/** A read-only table every instance holds in full, fed from a (compacted) topic: for enrichment joins. */
export interface GlobalTable<T> {
  readonly topic: string;
  get(key: string): T | undefined;
}

/** The processors of one task: each node instantiated once, even when reached twice (branch then merge). */
export interface TaskGraph {
  readonly context: ProcessorContext;
  readonly instances: Map<TopologyNode, Processor>;
}

/** Instantiates the children's subtrees for a task and returns the function that feeds them a record. */
export function fanOut(children: TopologyNode[], context: ProcessorContext, graph?: TaskGraph): Forward {
  const task = graph ?? taskGraphs.get(context);
  if (!task) throw new Error('fanOut outside of a task graph');
  const processors = children.map((child) => {
    let processor = task.instances.get(child);
    if (!processor) {
      processor = child.instantiate(context, fanOut(child.children, context, task));
      task.instances.set(child, processor);
    }
    return processor;
  });
  if (processors.length === 1) {
    const only = processors[0]!;
    return (record) => only.process(record);
  }
  return (record) => {
    for (const processor of processors) processor.process(record);
  };
}

const taskGraphs = new WeakMap<ProcessorContext, TaskGraph>();

/** Instantiates a source's whole subtree for one task: the entry point and every processor (to advance). */
export function instantiateTask(
  source: SourceNode,
  context: ProcessorContext,
): { entry: Forward; processors: Processor[] } {
  const graph: TaskGraph = { context, instances: new Map() };
  taskGraphs.set(context, graph);
  const entry = fanOut(source.children, context, graph);
  return { entry, processors: [...graph.instances.values()] };
}
