import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RunningBroker, startBroker } from './broker-harness.js';
import { Background, run, until } from './processes.js';

/** Debian's Python modules live under /usr/bin/python3, not the pyenv python3 first on PATH. */
const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../../test/python/interop_client.py', import.meta.url));
const RECORDS = 10_000;
const T0 = 1_700_000_000_000;

type Row = [number, number, string, string];

/** The same interop scenario for each Python client: create, produce, consume, group, resume, by time. */
export function pythonInteropSuite(client: 'kafka-python' | 'confluent', label: string): void {
  describe(`${label} against edgestream`, { timeout: 400_000 }, () => {
    let broker: RunningBroker;
    const topic = `py-${client}`;
    const phase = async (...args: string[]) => {
      const result = await run(PYTHON, [script, client, broker.bootstrap, ...args], { timeoutMs: 120_000 });
      assert.equal(result.status, 0, `${args[0]} failed: ${result.stderr.slice(-2000)}`);
      return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    };
    const consume = async (group: string, expected: number) =>
      (await phase('consume', topic, group, String(expected), '60')).records as Row[];

    before(async () => {
      broker = await startBroker();
    });
    after(async () => {
      await broker?.stop();
    });

    it('creates a topic and produces 10,000 keyed records', async () => {
      await phase('create', topic, '4');
      assert.equal(broker.broker.logs.describeTopic(topic).partitions, 4);
      assert.deepEqual(await phase('produce', topic, '0', String(RECORDS)), { produced: RECORDS });
    });

    it('consumes all records back in order per partition', async () => {
      const rows = await consume(`${topic}-reader`, RECORDS);
      assert.equal(rows.length, RECORDS);
      const byPartition = new Map<number, number[]>();
      const lastOfKey = new Map<string, number>();
      for (const [partition, offset, key, value] of rows) {
        byPartition.set(partition, [...(byPartition.get(partition) ?? []), offset]);
        const sequence = Number(value.split('-')[1]);
        assert.ok(sequence > (lastOfKey.get(key) ?? -1), `${key} in order`);
        lastOfKey.set(key, sequence);
      }
      for (const [partition, offsets] of byPartition) {
        assert.deepEqual(
          offsets,
          Array.from({ length: offsets.length }, (_, i) => i),
          `partition ${partition}`,
        );
      }
    });

    it('splits partitions between two group members and gives all to the survivor', async () => {
      const assignments = (member: Background) =>
        member.stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { assigned: number[] }).assigned);
      const start = () =>
        new Background(
          PYTHON,
          [script, client, broker.bootstrap, 'member', topic, `${topic}-pair`, '90'],
          120_000,
        );
      const a = start();
      const b = start();
      try {
        await until(
          () => {
            const lastA = assignments(a).at(-1) ?? [];
            const lastB = assignments(b).at(-1) ?? [];
            return lastA.length > 0 && lastB.length > 0 && lastA.length + lastB.length === 4;
          },
          60_000,
          'two members sharing four partitions',
        );
        assert.deepEqual([...assignments(a).at(-1)!, ...assignments(b).at(-1)!].sort(), [0, 1, 2, 3]);
        await b.stop();
        await until(() => assignments(a).at(-1)?.length === 4, 60_000, 'survivor takes every partition');
      } finally {
        await a.stop();
        await b.stop();
      }
    });

    it('resumes from committed offsets after a consumer restart and after a broker restart', async () => {
      const group = `${topic}-resume`;
      assert.equal((await consume(group, RECORDS)).length, RECORDS);
      await phase('produce', topic, String(RECORDS), '25');
      const resumed = await consume(group, 25);
      assert.equal(resumed.length, 25);
      assert.ok(
        resumed.every(([, , , value]) => Number(value.split('-')[1]) >= RECORDS),
        'only new records',
      );
      await broker.restart();
      await phase('produce', topic, String(RECORDS + 25), '15');
      const afterRestart = await consume(group, 15);
      assert.equal(afterRestart.length, 15);
      assert.ok(
        afterRestart.every(([, , , value]) => Number(value.split('-')[1]) >= RECORDS + 25),
        'only new records',
      );
    });

    it('looks up offsets by timestamp', async () => {
      const rows = await consume(`${topic}-by-time`, RECORDS + 40);
      const { offsets } = (await phase('offsets-for-time', topic, '4', String(T0 + 500_000))) as {
        offsets: Record<string, number>;
      };
      for (let p = 0; p < 4; p++) {
        const expected = rows
          .filter(([partition, , , value]) => partition === p && Number(value.split('-')[1]) >= RECORDS / 2)
          .reduce((min, [, offset]) => Math.min(min, offset), Number.POSITIVE_INFINITY);
        assert.equal(offsets[String(p)], expected, `partition ${p}`);
      }
    });
  });
}
