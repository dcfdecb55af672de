import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionForKey } from '../client/partitioner.js';
import type { LogClient, TextOutgoingRecord, TopicSpec } from '../client/types.js';
import { makeFault } from './scenarios.js';
import { Simulator, sliceMsForRate } from './simulator.js';
import { InThreadSimulator } from './simulator-thread.js';

/** Records produce calls and acknowledges them after `ackDelayMs`, tracking how many overlap. */
class SlowClient implements Pick<LogClient, 'ensureTopic' | 'produce'> {
  readonly records: TextOutgoingRecord[] = [];
  readonly topics: TopicSpec[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly ackDelayMs: number) {}
  async ensureTopic(spec: TopicSpec): Promise<number> {
    this.topics.push(spec);
    return spec.partitions;
  }
  async produce(records: readonly TextOutgoingRecord[]): Promise<number[]> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, this.ackDelayMs));
    const offsets = records.map((_, i) => this.records.length + i);
    this.records.push(...records);
    this.inFlight--;
    return offsets;
  }
}

/** A client that encodes its batches itself, as the embedded and the port client do. */
class TextClient extends SlowClient {
  readonly producesText = true;
}

/** Takes the topics, then refuses every produce call. */
class FailingClient extends SlowClient {
  override async produce(): Promise<number[]> {
    throw new Error('log gone');
  }
}

function simulator(client: SlowClient, durationMs: number, maxInFlightProduces = 2) {
  return new Simulator({
    client: client as unknown as LogClient,
    ratePerSec: 2_000,
    edges: 4,
    sites: 2,
    seed: 5,
    faults: [makeFault('dying-edge', 'edge-002', { startOffsetMs: 200, durationMs: 10_000 })],
    partitions: 3,
    durationMs,
    maxInFlightProduces,
  });
}

describe('Simulator', () => {
  it('produces its duration at the rate, keyed and partitioned by edge, and reports the fault', async () => {
    const client = new SlowClient(5);
    const sim = simulator(client, 1_000);
    await sim.start();
    const stats = await sim.done();
    assert.deepEqual(
      client.topics.map((t) => [t.name, t.partitions]),
      [
        ['cdn.tcp', 3],
        ['cdn.qoe', 3],
      ],
    );
    assert.equal(stats.eventsProduced + stats.silencedEvents, 2_000);
    assert.equal(client.records.length, stats.eventsProduced);
    for (const record of client.records) {
      assert.equal(record.partition, partitionForKey(record.key!, 3));
      assert.equal(record.timestamp, (JSON.parse(record.value!.toString()) as { ts: number }).ts);
    }
    const [dying] = stats.faults;
    assert.ok(dying!.events > 0 && dying!.events === stats.silencedEvents);
    assert.ok(dying!.firstEventTs! >= dying!.startMs && dying!.firstEventSentAtMs! >= dying!.firstEventTs!);
    const afterDeath = client.records.filter(
      (r) => r.key!.toString() === 'edge-002' && r.timestamp >= dying!.startMs,
    );
    assert.deepEqual(afterDeath, []);
  });

  it('gives a client that encodes its own batches each event as JSON text, and bytes to the others', async () => {
    for (const [client, valueKind] of [
      [new TextClient(5), 'string'],
      [new SlowClient(5), 'object'],
    ] as const) {
      const sim = simulator(client, 500);
      await sim.start();
      const stats = await sim.done();
      assert.ok(stats.eventsProduced > 0);
      assert.equal(client.records.length, stats.eventsProduced);
      for (const record of client.records) {
        assert.equal(typeof record.value, valueKind);
        assert.equal(record.timestamp, (JSON.parse(record.value!.toString()) as { ts: number }).ts);
      }
    }
  });

  it('keeps at most maxInFlightProduces calls waiting and stops cleanly on close()', async () => {
    const client = new SlowClient(120);
    const sim = simulator(client, 60_000);
    await sim.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const stats = await sim.close();
    assert.equal(client.maxInFlight, 2);
    assert.equal(client.inFlight, 0, 'close() waits for the calls in flight');
    assert.ok(
      stats.eventTimeLagMs > 100,
      `event time falls behind a slow cluster (${stats.eventTimeLagMs} ms)`,
    );
    assert.equal(stats.eventsProduced, client.records.length);
  });
});

describe('sliceMsForRate', () => {
  it('gives each produce call about 1,000 events, in slices of 50 to 200 ms', () => {
    assert.equal(sliceMsForRate(5_000), 200);
    assert.equal(sliceMsForRate(10_000), 100);
    assert.equal(sliceMsForRate(50_000), 50);
    assert.equal(sliceMsForRate(100), 200);
  });
});

describe('InThreadSimulator', () => {
  it('reports progress, closes after the calls in flight, and surfaces a failed produce from stats()', async () => {
    const client = new SlowClient(5);
    const options = {
      ratePerSec: 2_000,
      edges: 4,
      sites: 2,
      seed: 5,
      faults: [],
      partitions: 3,
      sliceMs: 50,
    };
    const running = await InThreadSimulator.start(options, client as unknown as LogClient);
    assert.equal(running.fleet.edges.length, 4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stats = await running.close();
    assert.ok(stats.eventsProduced > 0);
    assert.equal(client.inFlight, 0);
    assert.equal(running.stats().eventsProduced, client.records.length);

    const broken = await InThreadSimulator.start(options, new FailingClient(5) as unknown as LogClient);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.throws(() => broken.stats(), /the simulator stopped: log gone/);
    await broken.close();
  });
});
