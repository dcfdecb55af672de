import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { combine, count, max, sum } from '../src/streams/aggregations.js';
import { json, string } from '../src/streams/serdes.js';
import { StreamsApp } from '../src/streams/streams-app.js';
import type { WindowResult } from '../src/streams/window-operator.js';
import { sessionWindows, tumbling } from '../src/streams/windows.js';
import { MemoryLogClient } from './support/memory-log-client.js';

interface Telemetry {
  edge: string;
  retransmits: number;
  t: number;
}

const logger = pino({ level: 'silent' });

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function produceTelemetry(
  client: MemoryLogClient,
  partition: number,
  events: Telemetry[],
): Promise<void> {
  await client.produce(
    events.map((e) => ({
      topic: 'telemetry',
      partition,
      key: null,
      value: Buffer.from(JSON.stringify(e)),
      timestamp: e.t,
    })),
  );
}

function edgeWindows(app: StreamsApp, emit: 'update' | 'final') {
  return app
    .stream('telemetry', { value: json<Telemetry>(), timestamp: (e) => e.t, maxOutOfOrderness: '1s' })
    .groupBy((e) => e.edge, { name: 'by-edge' })
    .windowedBy(tumbling('10s').grace('2s'))
    .aggregate(
      combine({
        count: count<Telemetry>(),
        retransmits: sum<Telemetry>((e) => e.retransmits),
        peak: max<Telemetry>((e) => e.retransmits),
      }),
      { name: 'edge-10s', emit, lateTopic: 'late' },
    );
}

type Result = WindowResult<{ count: number; retransmits: number; peak: number | null }>;

/** A log whose writes to one topic wait until released: a sink that has stopped acknowledging. */
class GatedSinkClient extends MemoryLogClient {
  private held: string | null = null;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  holdTopic(topic: string): void {
    this.held = topic;
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open();
  }

  override async produce(records: Parameters<MemoryLogClient['produce']>[0]): Promise<number[]> {
    if (records.some((record) => record.topic === this.held)) await this.gate;
    return super.produce(records);
  }
}

async function recordsIn(app: StreamsApp): Promise<number> {
  const metric = await app.metrics.registry.getSingleMetric('edgestream_streams_records_in_total')!.get();
  return metric.values.reduce((total, value) => total + value.value, 0);
}

describe('streams pipeline', () => {
  it('runs stateless operators: filter, map, flatMap, branch and merge', async () => {
    const client = new MemoryLogClient();
    await client.ensureTopic({ name: 'telemetry', partitions: 2 });
    const app = new StreamsApp({ applicationId: 'stateless', client, logger, commitIntervalMs: 50 });
    const events = app.stream('telemetry', { value: json<Telemetry>() });
    const [storms, quiet] = events
      .filter((e) => e.edge !== 'ignored')
      .branch(
        (e) => e.retransmits >= 100,
        () => true,
      );
    storms!
      .map((e) => `storm:${e.edge}`)
      .merge(quiet!.flatMap((e) => [`quiet:${e.edge}`, `again:${e.edge}`]))
      .to('out', {
        value: string(),
      });
    await produceTelemetry(client, 0, [
      { edge: 'a', retransmits: 500, t: 1 },
      { edge: 'ignored', retransmits: 900, t: 2 },
      { edge: 'b', retransmits: 3, t: 3 },
    ]);
    await app.start();
    await until(() => client.values('out').length === 3, 'outputs');
    await app.close();
    assert.deepEqual(client.values('out').sort(), ['again:b', 'quiet:b', 'storm:a']);
  });

  it('enriches a stream from a global table of a compacted topic, following its updates and deletions', async () => {
    const client = new MemoryLogClient();
    await client.ensureTopic({ name: 'telemetry', partitions: 2 });
    await client.ensureTopic({ name: 'edges', partitions: 2, config: { 'cleanup.policy': 'compact' } });
    const row = (edge: string, site: string | null) => ({
      topic: 'edges',
      partition: edge === 'e1' ? 0 : 1,
      key: Buffer.from(edge),
      value: site === null ? null : Buffer.from(JSON.stringify({ site })),
      timestamp: 0,
    });
    await client.produce([row('e1', 'paris-1'), row('e2', 'lyon-1'), row('e1', 'paris-2')]);
    const app = new StreamsApp({ applicationId: 'join', client, logger, commitIntervalMs: 50 });
    const edges = app.globalTable('edges', { value: json<{ site: string }>() });
    const events = app.stream('telemetry', { value: json<Telemetry>() });
    events
      .join(
        edges,
        (e) => e.edge,
        (e, edge) => `${e.edge}@${edge.site}:${e.retransmits}`,
      )
      .to('enriched', { value: string() });
    events
      .leftJoin(
        edges,
        (e) => e.edge,
        (e, edge) => `${e.edge}@${edge?.site ?? 'unknown'}`,
      )
      .to('enriched-left', { value: string() });
    await app.start();
    await produceTelemetry(client, 0, [
      { edge: 'e1', retransmits: 1, t: 1 },
      { edge: 'e2', retransmits: 2, t: 2 },
      { edge: 'e3', retransmits: 3, t: 3 },
    ]);
    await until(() => client.values('enriched-left').length === 3, 'the first enrichment');
    await client.produce([row('e2', null), row('e3', 'nice-1')]);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await produceTelemetry(client, 0, [
      { edge: 'e2', retransmits: 4, t: 4 },
      { edge: 'e3', retransmits: 5, t: 5 },
    ]);
    await until(() => client.values('enriched-left').length === 5, 'enrichment after the table changed');
    await app.close();
    assert.deepEqual(client.values('enriched').sort(), ['e1@paris-2:1', 'e2@lyon-1:2', 'e3@nice-1:5']);
    assert.deepEqual(client.values('enriched-left').sort(), [
      'e1@paris-2',
      'e2@lyon-1',
      'e2@unknown',
      'e3@nice-1',
      'e3@unknown',
    ]);
  });

  it('repartitions by a new key and emits hand-computed tumbling windows once each, late records to a side topic', async () => {
    const client = new MemoryLogClient();
    await client.ensureTopic({ name: 'telemetry', partitions: 2 });
    const app = new StreamsApp({ applicationId: 'windows', client, logger, commitIntervalMs: 50 });
    edgeWindows(app, 'final').to('aggregates', { value: json<Result>() });
    // Partition 0 runs ahead; windows close only as far as partition 1 (the minimum) allows.
    await produceTelemetry(client, 0, [
      { edge: 'e1', retransmits: 5, t: 1_000 },
      { edge: 'e2', retransmits: 1, t: 2_000 },
      { edge: 'e1', retransmits: 7, t: 9_500 },
      { edge: 'e1', retransmits: 3, t: 12_000 },
      { edge: 'e1', retransmits: 4, t: 14_000 },
      { edge: 'e1', retransmits: 1, t: 40_000 },
    ]);
    await produceTelemetry(client, 1, [
      { edge: 'e2', retransmits: 2, t: 8_000 },
      { edge: 'e1', retransmits: 2, t: 11_000 },
      { edge: 'e2', retransmits: 1, t: 13_000 },
    ]);
    await app.start();
    await until(() => client.values('aggregates').length >= 2, 'the first window');
    // Partition 1 is at 13 s (watermark 12 s): [0, 10 s) + 2 s grace closes, [10 s, 20 s) must not.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const firstWindows = client.values('aggregates').map((v) => JSON.parse(v) as Result);
    assert.deepEqual(
      firstWindows.map((r) => [r.key, r.window.start, r.result.count, r.result.retransmits]).sort(),
      [
        ['e1', 0, 2, 12],
        ['e2', 0, 2, 3],
      ],
    );
    await produceTelemetry(client, 1, [
      { edge: 'e2', retransmits: 50, t: 6_000 },
      { edge: 'e2', retransmits: 9, t: 45_000 },
    ]);
    await until(() => client.values('aggregates').length === 4, 'window [10 s, 20 s)');
    await until(() => client.values('late').length === 1, 'the late record');
    await app.close();
    const results = client.values('aggregates').map((v) => JSON.parse(v) as Result);
    assert.deepEqual(results.map((r) => [r.key, r.window.start, r.window.end, r.result, r.final]).sort(), [
      ['e1', 0, 10_000, { count: 2, retransmits: 12, peak: 7 }, true],
      ['e1', 10_000, 20_000, { count: 3, retransmits: 9, peak: 4 }, true],
      ['e2', 0, 10_000, { count: 2, retransmits: 3, peak: 2 }, true],
      ['e2', 10_000, 20_000, { count: 1, retransmits: 1, peak: 1 }, true],
    ]);
    assert.deepEqual(JSON.parse(client.values('late')[0]!), { edge: 'e2', retransmits: 50, t: 6_000 });
    assert.equal(app.metrics.lateRecords, 1);
    const metrics = await app.metrics.registry.metrics();
    for (const line of [
      'edgestream_streams_records_in_total{topic="telemetry"} 11',
      'edgestream_streams_late_records_total{store="edge-10s"} 1',
      'edgestream_streams_lag_records{topic="telemetry",partition="0"} 0',
    ]) {
      assert.ok(metrics.includes(line), `metrics show ${line}`);
    }
    for (const name of [
      'edgestream_streams_records_out_total{topic="aggregates"}',
      'edgestream_streams_state_entries{store="edge-10s"}',
      'edgestream_streams_watermark_delay_seconds{task=',
      'edgestream_streams_processing_latency_seconds_count',
    ]) {
      assert.ok(metrics.includes(name), `metrics include ${name}`);
    }
  });

  it('shares one repartition between a key and a refinement of it: per-site and per-site-and-stream windows', async () => {
    interface Play {
      site: string;
      stream: string;
      t: number;
    }
    const client = new MemoryLogClient();
    await client.ensureTopic({ name: 'plays', partitions: 2 });
    const app = new StreamsApp({ applicationId: 'refine', client, logger, commitIntervalMs: 50 });
    const bySite = app
      .stream('plays', { value: json<Play>(), timestamp: (p) => p.t, maxOutOfOrderness: '1s' })
      .selectKey((p) => p.site)
      .repartition({ name: 'by-site' });
    for (const [name, grouped] of [
      ['site', bySite.groupByKey({ name: 'site' })],
      ['stream', bySite.refineKey((p) => `${p.site}/${p.stream}`).groupByKey({ name: 'stream' })],
    ] as const) {
      grouped
        .windowedBy(tumbling('10s'))
        .aggregate(count<Play>(), { name: `${name}-10s`, emit: 'final' })
        .to(`${name}-counts`, { value: json<WindowResult<number>>() });
    }
    const plays: Array<[number, Play]> = [
      [0, { site: 'ams1', stream: 'a', t: 1_000 }],
      [1, { site: 'ams1', stream: 'b', t: 2_000 }],
      [0, { site: 'fra1', stream: 'a', t: 3_000 }],
      [1, { site: 'ams1', stream: 'a', t: 4_000 }],
      [0, { site: 'ams1', stream: 'a', t: 30_000 }],
      [1, { site: 'fra1', stream: 'a', t: 30_000 }],
    ];
    for (const [partition, play] of plays) {
      await client.produce([
        { topic: 'plays', partition, key: null, value: Buffer.from(JSON.stringify(play)), timestamp: play.t },
      ]);
    }
    await app.start();
    await until(() => client.values('stream-counts').length >= 3, 'the per-stream windows');
    await app.close();
    const counts = (topic: string) =>
      client
        .values(topic)
        .map((v) => JSON.parse(v) as WindowResult<number>)
        .filter((r) => r.window.start === 0)
        .map((r) => [r.key, r.result])
        .sort();
    assert.deepEqual(counts('site-counts'), [
      ['ams1', 3],
      ['fra1', 1],
    ]);
    assert.deepEqual(counts('stream-counts'), [
      ['ams1/a', 2],
      ['ams1/b', 1],
      ['fra1/a', 1],
    ]);
    assert.equal(client.values('refine-by-site-repartition').length, plays.length, 'one repartition');
    for (const grouping of ['site', 'stream']) {
      await assert.rejects(client.partitionCount(`refine-${grouping}-repartition`), `none for ${grouping}`);
    }
  });

  it('slows fetching while a sink does not acknowledge, and catches up when it does (bounded memory)', async () => {
    const client = new GatedSinkClient();
    await client.ensureTopic({ name: 'telemetry', partitions: 1 });
    const events = Array.from({ length: 20_000 }, (_, i) => ({ edge: `e${i % 10}`, retransmits: 1, t: i }));
    await produceTelemetry(client, 0, events);
    const app = new StreamsApp({
      applicationId: 'backpressure',
      client,
      logger,
      commitIntervalMs: 60_000,
      maxPendingOutputBytes: 64 * 1024,
    });
    app.stream('telemetry', { value: json<Telemetry>() }).to('slow-sink', { value: json<Telemetry>() });
    client.holdTopic('slow-sink');
    await app.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const processedWhileHeld = await recordsIn(app);
    assert.ok(processedWhileHeld > 0, 'some records went through before the sink filled up');
    assert.ok(
      processedWhileHeld <= 5_000,
      `fetching paused within one fetch (5,000), after ${processedWhileHeld} of 20,000`,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await recordsIn(app), processedWhileHeld, 'nothing more is fetched while the sink holds');
    client.release();
    await until(() => client.values('slow-sink').length === events.length, 'the sink to get every record');
    await app.close();
  });

  it('runs session windows through the DSL: sessions split by the gap, merged by a bridging late record', async () => {
    const client = new MemoryLogClient();
    await client.ensureTopic({ name: 'telemetry', partitions: 1 });
    const app = new StreamsApp({ applicationId: 'sessions', client, logger, commitIntervalMs: 50 });
    app
      .stream('telemetry', { value: json<Telemetry>(), timestamp: (e) => e.t, maxOutOfOrderness: '10s' })
      .groupBy((e) => e.edge, { name: 'by-edge' })
      .windowedBy(sessionWindows('5s'))
      .aggregate(count<Telemetry>(), { name: 'edge-sessions', emit: 'final' })
      .to('sessions', { value: json() });
    await produceTelemetry(client, 0, [
      { edge: 'a', retransmits: 0, t: 1_000 },
      { edge: 'a', retransmits: 0, t: 3_000 },
      { edge: 'a', retransmits: 0, t: 12_000 },
      // Bridges [1 s, 3 s] and [12 s]: within 5 s of both once 7.5 s is there.
      { edge: 'a', retransmits: 0, t: 7_500 },
      { edge: 'a', retransmits: 0, t: 30_000 },
      { edge: 'b', retransmits: 0, t: 60_000 },
    ]);
    await app.start();
    await until(() => client.values('sessions').length >= 2, 'closed sessions');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await app.close();
    const sessions = client.values('sessions').map((v) => JSON.parse(v) as WindowResult<number>);
    assert.deepEqual(
      sessions.map((r) => [r.key, r.window.start, r.result, r.final]),
      [
        ['a', 1_000, 4, true],
        ['a', 30_000, 1, true],
      ],
    );
  });

  it('never restores state entries a crashed attempt wrote without checkpointing them', async () => {
    const client = new MemoryLogClient();
    await client.ensureTopic({ name: 'telemetry', partitions: 1 });
    const build = () => {
      const app = new StreamsApp({ applicationId: 'abandoned', client, logger, commitIntervalMs: 60_000 });
      app
        .stream('telemetry', { value: json<Telemetry>() })
        .groupBy((e) => e.edge, { name: 'by-edge' })
        .aggregate(count<Telemetry>(), { name: 'edge-count' })
        .to('totals', { value: json<number>() });
      return app;
    };
    const totals = () => client.values('totals').map(Number);
    const send = (edges: string[]) =>
      produceTelemetry(
        client,
        0,
        edges.map((edge, t) => ({ edge, retransmits: 0, t })),
      );
    await send(['a', 'b', 'a']);
    const first = build();
    await first.start();
    await until(() => totals().length === 3, 'the first counts');
    await first.close();
    // What a crash between writing changelog entries and the checkpoint leaves behind: entries numbered just
    // past the checkpoint, for a key the next attempt will not touch.
    const checkpoint = client.topics.get('abandoned-abandoned-by-edge-repartition-checkpoint')![0]!.at(-1)!;
    const { stateSequence } = JSON.parse(checkpoint.value!.toString()) as { stateSequence: number };
    await client.produce(
      [1, 2, 3].map((n) => ({
        topic: 'abandoned-edge-count-changelog',
        partition: 0,
        key: Buffer.from('ghost'),
        value: Buffer.from('999999'),
        timestamp: 0,
        headers: [{ key: 'es.seq', value: Buffer.from(String(stateSequence + n)) }],
      })),
    );
    await send(['a', 'b']);
    const second = build();
    await second.start();
    await until(() => totals().length === 5, 'counts after the simulated crash');
    await second.close();
    await send(['ghost']);
    const third = build();
    await third.start();
    await until(() => totals().length === 6, 'the count of a key first seen now');
    await third.close();
    assert.deepEqual(totals(), [1, 1, 2, 3, 2, 1]);
  });

  it('picks up after a restart from its checkpoint with state intact and no output written twice', async () => {
    const client = new MemoryLogClient();
    await client.ensureTopic({ name: 'telemetry', partitions: 2 });
    const events = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => ({
        edge: `e${(from + i) % 5}`,
        retransmits: (from + i) % 7,
        t: (from + i) * 100,
      }));
    const first = new StreamsApp({ applicationId: 'restart', client, logger, commitIntervalMs: 30 });
    edgeWindows(first, 'final').to('aggregates', { value: json<Result>() });
    await produceTelemetry(client, 0, events(0, 300));
    await produceTelemetry(client, 1, events(0, 300));
    await first.start();
    await until(() => client.values('aggregates').length >= 10, 'windows before the restart');
    await first.close();
    const second = new StreamsApp({ applicationId: 'restart', client, logger, commitIntervalMs: 30 });
    edgeWindows(second, 'final').to('aggregates', { value: json<Result>() });
    await produceTelemetry(client, 0, events(300, 600));
    await produceTelemetry(client, 1, events(300, 600));
    await second.start();
    // 600 records x 100 ms per partition = 60 s: windows up to [40 s, 50 s) close (watermark 59.9 - 1 s).
    await until(() => client.values('aggregates').length >= 25, 'windows after the restart');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await second.close();
    const results = client.values('aggregates').map((v) => JSON.parse(v) as Result);
    const ids = results.map((r) => `${r.key}@${r.window.start}`);
    assert.equal(new Set(ids).size, ids.length, 'no window emitted twice');
    assert.equal(results.length, 25);
    for (const r of results)
      assert.equal(r.result.count, 40, `${r.key}@${r.window.start}: 20 records from each partition`);
  });
});
