import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import { partitionForKey } from '../src/client/partitioner.js';
import type { ConsumedRecord } from '../src/client/types.js';
import { QOE_TOPIC, TCP_TOPIC, type TelemetryEvent } from '../src/simulate/telemetry.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run } from './support/processes.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));

async function readAll(client: EmbeddedLogClient, topic: string): Promise<ConsumedRecord[]> {
  const partitions = await client.partitionCount(topic);
  const records: ConsumedRecord[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const { latest } = await client.offsets({ topic, partition });
    let offset = 0;
    while (offset < latest) {
      const batch = await client.fetch([{ topic, partition, offset }], {
        maxBytes: 4 * 1024 * 1024,
        maxWaitMs: 0,
      });
      const fresh = batch.filter((r) => r.offset >= offset);
      records.push(...fresh);
      offset = fresh.at(-1)!.offset + 1;
    }
  }
  return records;
}

describe('edgestream simulate', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  it('produces keyed JSON telemetry at the requested rate with a fault, and summarises it', async () => {
    const startedAtMs = Date.now();
    const result = await run(
      process.execPath,
      [
        bin,
        'simulate',
        '--brokers',
        broker.bootstrap,
        '--rate',
        '5000',
        '--edges',
        '10',
        '--sites',
        '2',
        '--seed',
        '3',
        '--scenario',
        'retransmit-storm',
        '--duration',
        '3',
        '--fault-start',
        '1',
        '--fault-duration',
        '1',
        '--partitions',
        '4',
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /fault retransmit-storm on edge edge-\d+ from 1 s to 2 s/);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      events: number;
      byTopic: Record<string, number>;
      faults: {
        kind: string;
        target: string;
        startMs: number;
        endMs: number;
        events: number;
        firstEventTs: number;
        firstEventSentAtMs: number;
      }[];
    };
    assert.equal(summary.events, 15_000, 'three seconds at 5,000 events/s');

    const client = new EmbeddedLogClient(broker.broker.embeddedLog());
    try {
      const tcp = await readAll(client, TCP_TOPIC);
      const qoe = await readAll(client, QOE_TOPIC);
      assert.equal(tcp.length, summary.byTopic[TCP_TOPIC]);
      assert.equal(qoe.length, summary.byTopic[QOE_TOPIC]);
      assert.equal(tcp.length + qoe.length, 15_000);
      const edges = new Set<string>();
      for (const record of [...tcp, ...qoe]) {
        const key = record.key!.toString();
        edges.add(key);
        assert.equal(
          record.partition,
          partitionForKey(record.key!, 4),
          `key ${key} on its murmur2 partition`,
        );
        const event = JSON.parse(record.value!.toString()) as TelemetryEvent;
        assert.equal(event.edge, key);
        assert.equal(record.timestamp, event.ts);
        assert.ok(
          event.ts >= startedAtMs - 1_000 && event.ts <= Date.now(),
          `event time ${event.ts} in the run`,
        );
        assert.equal(record.topic === TCP_TOPIC, event.type === 'tcp_stats');
      }
      assert.equal(edges.size, 10);

      const [storm] = summary.faults;
      assert.equal(storm!.kind, 'retransmit-storm');
      assert.equal(storm!.endMs - storm!.startMs, 1_000);
      assert.ok(storm!.events > 0);
      assert.ok(storm!.firstEventTs >= storm!.startMs && storm!.firstEventTs < storm!.startMs + 100);
      assert.ok(storm!.firstEventSentAtMs >= storm!.firstEventTs);
      const stormRecords = tcp
        .filter((r) => r.key!.toString() === storm!.target)
        .map(
          (r) => JSON.parse(r.value!.toString()) as { ts: number; retransmits: number; segmentsOut: number },
        );
      const rate = (inside: boolean) => {
        const picked = stormRecords.filter((e) => (e.ts >= storm!.startMs && e.ts < storm!.endMs) === inside);
        return picked.reduce((n, e) => n + e.retransmits, 0) / picked.reduce((n, e) => n + e.segmentsOut, 0);
      };
      assert.ok(
        rate(true) > 10 * rate(false),
        `retransmit rate ${rate(true)} in the storm vs ${rate(false)}`,
      );
    } finally {
      await client.close();
    }
  });

  it('rejects an unknown scenario with a usage error', async () => {
    const result = await run(process.execPath, [bin, 'simulate', '--scenario', 'meteor'], {
      timeoutMs: 30_000,
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--scenario expects one of none, all, cycle, retransmit-storm/);
  });
});
