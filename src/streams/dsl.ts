import type { Aggregation } from './aggregations.js';
import { type Duration, toMillis } from './duration.js';
import { KeyedAggregateOperator } from './keyed-aggregate-operator.js';
import {
  type Partial,
  PartialStore,
  type PreAggregateOptions,
  preAggregateSettings,
} from './pre-aggregate.js';
import { json, type Serde, string } from './serdes.js';
import { DEFAULT_MAX_ENTRIES } from './state-store.js';
import { fanOut } from './task-wiring.js';
import {
  addNode,
  type Instantiate,
  type Key,
  type SourceNode,
  type TaskProgress,
  type Topology,
  type TopologyNode,
} from './topology.js';
import {
  type AggregateOptions,
  type AnyWindows,
  windowAggregateProcessor,
  windowOperatorFor,
} from './window-aggregate-processor.js';
import type { WindowResult } from './window-operator.js';
import type { FixedWindows, SessionWindows, SlidingWindows } from './windows.js';

/*
 * The DSL pipelines are written in, as Kafka Streams' kstream package: each call adds nodes to the topology
 * (topology.ts); what runs per record is the processor each node makes for a task (task-wiring.ts).
 */

export interface StreamOptions<V> {
  value: Serde<V>;
  /** Event time of a value; defaults to the record's timestamp. */
  timestamp?: (value: V) => number;
  /** Bounded out-of-orderness: how far behind the largest event time seen a record may still be on time. */
  maxOutOfOrderness?: Duration;
}

/** Builds a pipeline graph; `StreamsApp` runs it. */
export class TopologyBuilder {
  constructor(readonly topology: Topology) {}

  stream<V>(topic: string, options: StreamOptions<V>): KStream<V> {
    if (this.topology.sources.has(topic))
      throw new Error(`topic '${topic}' is already a source: reuse its stream`);
    const source = sourceNode(
      topic,
      options.value as Serde<unknown>,
      (options.timestamp as ((value: unknown) => number) | undefined) ?? null,
      toMillis(options.maxOutOfOrderness ?? 0),
      null,
    );
    this.topology.addSource(source);
    return new KStream<V>(this.topology, source, [topic]);
  }
}

function sourceNode(
  topic: string,
  valueSerde: Serde<unknown>,
  eventTime: ((value: unknown) => number) | null,
  maxOutOfOrdernessMs: number,
  upstreamTopics: string[] | null,
): SourceNode {
  return {
    topic,
    children: [],
    keySerde: string(),
    valueSerde,
    eventTime,
    maxOutOfOrdernessMs,
    upstreamTopics,
    instantiate: (_context, forward) => ({ process: forward }),
  };
}

/** Forwards each record under the key `selector` gives it. */
function rekey<V>(selector: (value: V, key: Key) => string): Instantiate {
  return (_context, forward) => ({
    process: (record) =>
      forward({
        key: selector(record.value as V, record.key),
        value: record.value,
        timestamp: record.timestamp,
      }),
  });
}

/** A record stream, as Kafka Streams' KStream: stateless operators, grouping, joins and sinks. */
export class KStream<V> {
  constructor(
    private readonly topology: Topology,
    private readonly tail: TopologyNode,
    /** Source topics whose tasks run this part of the graph. */
    readonly sourceTopics: string[],
    /** Whether records are partitioned by their current key (no key change since a source). */
    private readonly partitionedByKey = true,
  ) {}

  private derive<W>(instantiate: Instantiate, keyChanged = false): KStream<W> {
    const child = addNode(this.tail, instantiate);
    return new KStream<W>(this.topology, child, this.sourceTopics, this.partitionedByKey && !keyChanged);
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
    return this.derive(rekey(selector), true);
  }

  /** Records of both streams, in the order each task sees them. */
  merge(other: KStream<V>): KStream<V> {
    const merged: TopologyNode = { children: [], instantiate: (_context, forward) => ({ process: forward }) };
    this.tail.children.push(merged);
    other.tail.children.push(merged);
    return new KStream<V>(
      this.topology,
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
      return new KStream<V>(this.topology, head, this.sourceTopics, this.partitionedByKey);
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
      return new KGroupedStream<V>(this.topology, this.tail, this.sourceTopics);
    }
    const repartitioned = this.repartition(options);
    return new KGroupedStream<V>(this.topology, repartitioned.tail, repartitioned.sourceTopics);
  }

  /**
   * Partitions the records by their current key through an internal topic, as Kafka Streams' repartition():
   * for several groupings that refine one key (refineKey), which then share this one repartition.
   */
  repartition(options: { name: string; value?: Serde<V> }): KStream<V> {
    const topic = this.topology.repartitionTopic(options.name);
    const valueSerde = (options.value ?? json<V>()) as Serde<unknown>;
    this.to(topic, { value: valueSerde as Serde<V>, internal: true });
    const source = sourceNode(topic, valueSerde, null, 0, this.sourceTopics);
    this.topology.addSource(source);
    return new KStream<V>(this.topology, source, [topic]);
  }

  /**
   * Folds records into partial accumulators per (key, event-time bucket) and forwards the partials instead of
   * the records (see pre-aggregate.ts): put before a repartition, it sends a few partials through the topic
   * where every record went. Downstream, a windowed aggregate with mergingPartials() merges them. Partials
   * keep the record key; `keyOf` may aggregate under a finer key, which a later refineKey() can select.
   */
  preAggregate<A>(
    aggregation: Aggregation<V, A, unknown>,
    options: PreAggregateOptions<V>,
  ): KStream<Partial<A>> {
    const settings = preAggregateSettings(options);
    this.topology.reserveStore(options.name, this.sourceTopics);
    const keyOf = options.keyOf ?? null;
    return this.derive((context, forward) => {
      const store = new PartialStore(options.name, aggregation, keyOf, settings);
      context.registerStore(store);
      return {
        process: (record) => {
          if (record.key === null) return;
          store.add(record.key, record.value as V, record.timestamp, context.watermark(), forward);
        },
        advance: (watermark) => store.advance(watermark, forward),
      };
    });
  }

  /**
   * Sets a finer key: one from which the current key follows (`site/stream` after `site`). Every record of a
   * new key then already sits in the partition of its old key, so a later grouping needs no repartition.
   * The selector must keep that promise: records of one new key under two old keys would be aggregated
   * apart, in two tasks.
   */
  refineKey(selector: (value: V, key: Key) => string): KStream<V> {
    return this.derive(rekey(selector));
  }

  /** Writes records to a topic, partitioned by key (murmur2, as Kafka's default partitioner). */
  to(
    topic: string,
    options: { value: Serde<V>; partitions?: number; config?: Record<string, string>; internal?: boolean },
  ): void {
    this.topology.addSink({
      topic,
      internal: options.internal ?? false,
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
      ...(options.config === undefined ? {} : { config: options.config }),
    });
    const keySerde = string();
    addNode(this.tail, (context) => ({
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
    addNode(this.tail, (context) => {
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
    private readonly topology: Topology,
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
  windowedBy(windows: AnyWindows): WindowedKStream<V, boolean> {
    return new WindowedKStream<V, boolean>(this.topology, this.tail, this.sourceTopics, windows);
  }

  /** A running aggregate per key (a table's changelog stream): every update is emitted. */
  aggregate<A, R>(
    aggregation: Aggregation<V, A, R>,
    options: { name: string; maxEntries?: number },
  ): KStream<R> {
    this.topology.reserveStore(options.name, this.sourceTopics);
    const child = addNode(this.tail, (context, forward) => {
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
    return new KStream<R>(this.topology, child, this.sourceTopics);
  }
}

/** `Retracting`: session windows emit null results for sessions merged away. */
export class WindowedKStream<V, Retracting extends boolean> {
  constructor(
    private readonly topology: Topology,
    private readonly tail: TopologyNode,
    private readonly sourceTopics: string[],
    private readonly windows: AnyWindows,
  ) {}

  /** Aggregates each key's windows: early results on every update, or one final result per window. */
  aggregate<A, R>(
    aggregation: Aggregation<V, A, R>,
    options: AggregateOptions,
  ): KStream<WindowResult<Retracting extends true ? R | null : R>> {
    this.topology.reserveStore(options.name, this.sourceTopics);
    if (options.lateTopic) this.topology.addSink({ topic: options.lateTopic, internal: false });
    const child = addNode(this.tail, (context, forward) =>
      windowAggregateProcessor(
        windowOperatorFor(this.windows, aggregation, options),
        context,
        forward,
        options,
      ),
    );
    return new KStream<WindowResult<R>>(this.topology, child, this.sourceTopics);
  }
}

/** A read-only table every instance holds in full, fed from a (compacted) topic: for enrichment joins. */
export interface GlobalTable<T> {
  readonly topic: string;
  get(key: string): T | undefined;
}
