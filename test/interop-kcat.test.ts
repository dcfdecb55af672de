import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { Background, run, until } from './support/processes.js';

const RECORDS = 10_000;
const T0 = 1_700_000_000_000;

interface Consumed {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

function parse(output: string): Consumed[] {
  return output
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [partition, offset, key, value] = line.split(' ');
      return { partition: Number(partition), offset: Number(offset), key: key!, value: value! };
    });
}

/** Records of `topic` until the end of every partition; kcat is librdkafka 2.0.2. */
async function consumeAll(broker: RunningBroker, topic: string): Promise<Consumed[]> {
  const result = await run(
    'kcat',
    ['-b', broker.bootstrap, '-C', '-t', topic, '-e', '-q', '-f', '%p %o %k %s\\n'],
    { timeoutMs: 60_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  return parse(result.stdout);
}

async function produce(
  broker: RunningBroker,
  topic: string,
  lines: string[],
  extra: string[] = [],
): Promise<void> {
  const result = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', topic, '-K', ':', ...extra], {
    input: `${lines.join('\n')}\n`,
    timeoutMs: 60_000,
  });
  assert.equal(result.status, 0, result.stderr);
}

function assertOrdered(records: Consumed[]): void {
  const byPartition = new Map<number, number[]>();
  const lastOfKey = new Map<string, number>();
  for (const r of records) {
    const offsets = byPartition.get(r.partition) ?? [];
    offsets.push(r.offset);
    byPartition.set(r.partition, offsets);
    const sequence = Number(r.value.split('-')[1]);
    assert.ok(sequence > (lastOfKey.get(r.key) ?? -1), `${r.key} out of order`);
    lastOfKey.set(r.key, sequence);
  }
  for (const [partition, offsets] of byPartition) {
    assert.deepEqual(
      offsets,
      Array.from({ length: offsets.length }, (_, i) => i),
      `partition ${partition} dense`,
    );
  }
}

describe('kcat (librdkafka 2.0.2) against edgestream', { timeout: 300_000 }, () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  it('produces 10,000 keyed records and consumes them back in order per partition', async () => {
    await produce(
      broker,
      'kcat-orders',
      Array.from({ length: RECORDS }, (_, i) => `key-${i % 100}:value-${i}`),
    );
    const records = await consumeAll(broker, 'kcat-orders');
    assert.equal(records.length, RECORDS);
    assert.equal(
      new Set(records.map((r) => r.partition)).size,
      4,
      'auto-created with 4 partitions and spread by key',
    );
    assertOrdered(records);
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    it(`stores and serves ${codec}-compressed batches as they came`, async () => {
      const topic = `kcat-${codec}`;
      await produce(
        broker,
        topic,
        Array.from({ length: 2000 }, (_, i) => `k${i % 10}:${codec}-${i}`),
        ['-z', codec, '-X', 'linger.ms=20'],
      );
      const records = await consumeAll(broker, topic);
      assert.equal(records.length, 2000);
      assertOrdered(records);
    });
  }

  it('accepts an idempotent producer and stores each record once', async () => {
    await produce(
      broker,
      'kcat-idempotent',
      Array.from({ length: 5000 }, (_, i) => `k${i % 7}:idem-${i}`),
      ['-X', 'enable.idempotence=true'],
    );
    const records = await consumeAll(broker, 'kcat-idempotent');
    assert.equal(records.length, 5000);
    assert.equal(new Set(records.map((r) => r.value)).size, 5000);
    assertOrdered(records);
  });

  it('splits partitions between two group members and gives all to the one left', async () => {
    const member = () =>
      new Background('kcat', [
        '-b',
        broker.bootstrap,
        '-G',
        'kcat-pair',
        'kcat-orders',
        '-X',
        'auto.offset.reset=earliest',
        '-f',
        '%p %o\\n',
      ]);
    const assigned = (output: string) => {
      const lines = output.split('\n').filter((l) => l.includes('assigned:'));
      const last = lines.at(-1) ?? '';
      return [...last.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    };
    const a = member();
    await until(() => assigned(a.stderr).length === 4, 30_000, 'first member gets every partition');
    const b = member();
    try {
      await until(
        () => assigned(a.stderr).length === 2 && assigned(b.stderr).length === 2,
        30_000,
        'two members with two partitions each',
      );
      assert.deepEqual([...assigned(a.stderr), ...assigned(b.stderr)].sort(), [0, 1, 2, 3]);
      await b.stop();
      await until(() => assigned(a.stderr).length === 4, 30_000, 'survivor takes all partitions');
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('resumes from committed offsets after a consumer restart and after a broker restart', async () => {
    const groupRun = () =>
      run(
        'kcat',
        [
          '-b',
          broker.bootstrap,
          '-G',
          'kcat-resume',
          'kcat-orders',
          '-e',
          '-q',
          '-X',
          'auto.offset.reset=earliest',
          '-f',
          '%p %o %k %s\\n',
        ],
        {
          timeoutMs: 60_000,
        },
      );
    const first = await groupRun();
    assert.equal(parse(first.stdout).length, RECORDS, first.stderr);
    await produce(
      broker,
      'kcat-orders',
      Array.from({ length: 30 }, (_, i) => `key-${i}:value-${RECORDS + i}`),
    );
    assert.equal(
      parse((await groupRun()).stdout).length,
      30,
      'only the new records after a consumer restart',
    );
    await broker.restart();
    await produce(
      broker,
      'kcat-orders',
      Array.from({ length: 20 }, (_, i) => `key-${i}:value-${RECORDS + 30 + i}`),
    );
    assert.equal(parse((await groupRun()).stdout).length, 20, 'only the new records after a broker restart');
  });

  it('looks up offsets by timestamp (ListOffsets)', async () => {
    const lines = Array.from({ length: 100 }, (_, i) => `k:t-${i}`);
    for (const [i, line] of lines.entries()) {
      const result = await run(
        'kcat',
        ['-b', broker.bootstrap, '-P', '-t', 'kcat-time', '-p', '0', '-K', ':', '-T', '-X', 'linger.ms=0'],
        {
          input: `${line}\n`,
        },
      );
      assert.equal(result.status, 0, result.stderr);
      if (i === 49) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const all = (
      await run('kcat', [
        '-b',
        broker.bootstrap,
        '-C',
        '-t',
        'kcat-time',
        '-p',
        '0',
        '-e',
        '-q',
        '-f',
        '%o %T\\n',
      ])
    ).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').map(Number) as [number, number]);
    const [offset, timestamp] = all[50]!;
    const query = await run('kcat', ['-b', broker.bootstrap, '-Q', '-t', `kcat-time:0:${timestamp}`]);
    const expected = all.find(([, t]) => t >= timestamp)![0];
    assert.match(query.stdout, new RegExp(`kcat-time \\[0\\] offset ${expected}\\b`));
    assert.ok(expected <= offset);
    const none = await run('kcat', ['-b', broker.bootstrap, '-Q', '-t', `kcat-time:0:${T0 * 10}`]);
    assert.match(none.stdout, /offset -1/);
  });
});
