import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { MemoryLogClient } from '../../../test/support/memory-log-client.js';
import { LogNotifier } from './log.js';
import type { AlertNotification } from './notifier.js';
import { TopicNotifier } from './topic.js';

function notification(groupKey: string, edge: string): AlertNotification {
  return {
    version: '4',
    groupKey,
    status: 'firing',
    receiver: 'edgestream',
    groupLabels: { alertname: 'Storm' },
    commonLabels: { alertname: 'Storm', edge },
    commonAnnotations: {},
    truncatedAlerts: 0,
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'Storm', edge },
        annotations: { summary: `storm on ${edge}` },
        startsAt: '2024-01-01T00:00:00.000Z',
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: 'abc',
        value: 612,
        eventTimeMs: 1,
      },
    ],
    sentAtMs: 1_700_000_000_000,
  };
}

describe('TopicNotifier', () => {
  it('creates the topic and writes each notification as a JSON record keyed by group', async () => {
    const client = new MemoryLogClient();
    const notifier = new TopicNotifier({ client, partitions: 3 });
    notifier.notify(notification('{"alertname":"Storm"}', 'edge-1'));
    notifier.notify(notification('{"alertname":"Storm"}', 'edge-2'));
    await notifier.close();
    assert.equal(await client.partitionCount('edgestream.alerts'), 3);
    const records = (client.topics.get('edgestream.alerts') ?? []).flat();
    assert.equal(records.length, 2);
    assert.equal(new Set(records.map((r) => r.partition)).size, 1, 'one group stays in one partition');
    assert.equal(records[0]!.key?.toString(), '{"alertname":"Storm"}');
    assert.equal(records[0]!.timestamp, 1_700_000_000_000);
    const values = client.values('edgestream.alerts').map((v) => JSON.parse(v) as AlertNotification);
    assert.deepEqual(
      values.map((v) => v.alerts[0]!.labels.edge),
      ['edge-1', 'edge-2'],
    );
    assert.equal(notifier.written, 2);
  });

  it('counts a write the log refused and keeps going', async () => {
    const client = new MemoryLogClient();
    const errors: Error[] = [];
    const notifier = new TopicNotifier({ client, onError: (e) => errors.push(e) });
    client.produce = async () => {
      throw new Error('log unavailable');
    };
    notifier.notify(notification('g', 'edge-1'));
    await notifier.close();
    assert.equal(notifier.failed, 1);
    assert.match(errors[0]!.message, /log unavailable/);
  });
});

describe('LogNotifier', () => {
  it('writes one structured JSON line per notification', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const notifier = new LogNotifier(pino({ base: null }, sink));
    notifier.notify(notification('g', 'edge-7'));
    await notifier.close();
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.event, 'alert_notification');
    assert.equal(line.status, 'firing');
    assert.equal(line.level, 40);
    assert.deepEqual((line.alerts as Array<{ labels: Record<string, string> }>)[0]!.labels, {
      alertname: 'Storm',
      edge: 'edge-7',
    });
  });
});
