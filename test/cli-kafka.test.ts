import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { Background, eventually, run } from './support/processes.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));

describe('edgestream topic/produce/consume/group commands', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  const edgestream = async (args: string[], input?: string) => {
    const result = await run(process.execPath, [bin, ...args, '--brokers', broker.bootstrap], {
      timeoutMs: 30_000,
      ...(input ? { input } : {}),
    });
    assert.equal(result.status, 0, `edgestream ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  it('creates, lists, describes and deletes a topic', async () => {
    assert.match(
      await edgestream(['topic', 'create', 'cli-topic', '-p', '3', '-c', 'retention.ms=60000']),
      /created cli-topic with 3 partitions/,
    );
    assert.match(await edgestream(['topic', 'list']), /^cli-topic$/m);
    const described = await edgestream(['topic', 'describe', 'cli-topic']);
    assert.match(described, /partitions 3/);
    assert.match(described, /^retention\.ms\s+60000$/m);
    await edgestream(['topic', 'delete', 'cli-topic']);
    assert.doesNotMatch(await edgestream(['topic', 'list']), /cli-topic/);
  });

  it('alters a topic config, adds partitions and trims records', async () => {
    await edgestream(['topic', 'create', 'cli-admin', '-p', '2', '-c', 'segment.ms=600000']);
    assert.match(
      await edgestream([
        'topic',
        'alter-config',
        'cli-admin',
        '--set',
        'retention.ms=90000',
        '--delete',
        'segment.ms',
      ]),
      /altered cli-admin: retention\.ms=90000 -segment\.ms/,
    );
    assert.deepEqual(broker.broker.logs.describeTopic('cli-admin').overrides, { 'retention.ms': '90000' });
    const refused = await run(
      process.execPath,
      [
        bin,
        'topic',
        'alter-config',
        'cli-admin',
        '--set',
        'retention.ms=soon',
        '--brokers',
        broker.bootstrap,
      ],
      { timeoutMs: 30_000 },
    );
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /retention\.ms/);
    assert.match(
      await edgestream(['topic', 'add-partitions', 'cli-admin', '3']),
      /cli-admin now has 3 partitions/,
    );
    assert.equal(broker.broker.logs.describeTopic('cli-admin').partitions, 3);
    const lines = Array.from({ length: 30 }, (_, i) => `value-${i}`).join('\n');
    await edgestream(['produce', 'cli-admin'], `${lines}\n`);
    const ends = [0, 1, 2].map((p) => broker.broker.logs.partition('cli-admin', p).logEndOffset);
    const one = await edgestream(['topic', 'trim', 'cli-admin', '--partition', '1', '--before', '1']);
    assert.match(one, /^1\s+1$/m);
    assert.equal(broker.broker.logs.partition('cli-admin', 1).logStartOffset, 1);
    const all = await edgestream(['topic', 'trim', 'cli-admin', '--before=-1']);
    for (const [p, end] of ends.entries()) {
      assert.match(all, new RegExp(`^${p}\\s+${end}$`, 'm'));
      assert.equal(broker.broker.logs.partition('cli-admin', p).logStartOffset, end);
    }
    assert.match(await edgestream(['topic', 'describe', 'cli-admin']), /^retention\.ms\s+90000$/m);
  });

  it('produces stdin lines, consumes them in a group and reports the group lag', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `key-${i % 5}:value-${i}`).join('\n');
    await edgestream(['produce', 'cli-data', '--key-separator', ':'], `${lines}\n`);
    const consumed = (
      await edgestream(['consume', 'cli-data', '-g', 'cli-group', '--from-beginning', '-n', '50'])
    )
      .trim()
      .split('\n');
    assert.equal(consumed.length, 50);
    assert.ok(consumed.every((line) => /^\d+\t\d+\tkey-\d\tvalue-\d+$/.test(line)));
    await edgestream(['produce', 'cli-data', '--key-separator', ':'], 'key-1:late\n');
    assert.match(await edgestream(['group', 'list']), /^cli-group\s+EMPTY\s+consumer$/m);
    const described = await edgestream(['group', 'describe', 'cli-group']);
    const lags = [...described.matchAll(/^cli-data\s+\d+\s+\d+\s+\d+\s+(\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(
      lags.reduce((a, b) => a + b, 0),
      1,
      `one record produced after the group committed: ${described}`,
    );
  });

  it('consume -n N prints and commits exactly N records, however many the fetch brought', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `key-${i}:value-${i}`).join('\n');
    await edgestream(['produce', 'cli-limit', '--key-separator', ':'], `${lines}\n`);
    const printed = (
      await edgestream(['consume', 'cli-limit', '-g', 'cli-limit-group', '--from-beginning', '-n', '3'])
    )
      .trim()
      .split('\n');
    assert.equal(printed.length, 3, printed.join('\n'));
    const described = await edgestream(['group', 'describe', 'cli-limit-group']);
    const committed = [...described.matchAll(/^cli-limit\s+\d+\s+(\d+)\s+\d+\s+\d+$/gm)].map((m) =>
      Number(m[1]),
    );
    assert.equal(
      committed.reduce((a, b) => a + b, 0),
      3,
      `the three printed records committed, no more: ${described}`,
    );
  });
  it('seeks an empty group to earliest, an offset, a time and latest, then deletes it', async () => {
    await edgestream(['topic', 'create', 'cli-seek', '-p', '1']);
    const lines = Array.from({ length: 10 }, (_, i) => `k:v-${i}`).join('\n');
    await edgestream(['produce', 'cli-seek', '--key-separator', ':'], `${lines}\n`);
    await edgestream(['consume', 'cli-seek', '-g', 'cli-seek-group', '--from-beginning', '-n', '10']);
    const committed = async () => {
      const described = await edgestream(['group', 'describe', 'cli-seek-group']);
      return Number(/^cli-seek\s+0\s+(\d+)\s/m.exec(described)?.[1]);
    };
    assert.equal(await committed(), 10);
    const seek = (...how: string[]) =>
      edgestream(['group', 'seek', 'cli-seek-group', '--topic', 'cli-seek', ...how]);
    assert.match(await seek('--to-offset', '3'), /^cli-seek-group\s+cli-seek\s+0\s+10\s+3$/m, 'the plan');
    assert.equal(await committed(), 3);
    await seek('--to-earliest');
    assert.equal(await committed(), 0);
    await seek('--to-offset', '999');
    assert.equal(await committed(), 10, 'past the end is the end, as Kafka');
    await seek('--partition', '0', '--to-datetime', '2000-01-01T00:00:00Z');
    assert.equal(await committed(), 0, 'the first record at or after the time');
    await seek('--to-latest');
    assert.equal(await committed(), 10);
    assert.match(await edgestream(['group', 'delete', 'cli-seek-group']), /deleted group cli-seek-group/);
    assert.doesNotMatch(await edgestream(['group', 'list']), /cli-seek-group/);
  });

  it('a consumer stopped by SIGTERM or SIGINT leaves its group at once', async () => {
    await edgestream(['topic', 'create', 'cli-live', '-p', '1']);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const consumer = new Background(process.execPath, [
        bin,
        'consume',
        'cli-live',
        '-g',
        'cli-live-group',
        '--brokers',
        broker.bootstrap,
      ]);
      const stateOf = async () =>
        /^cli-live-group\s+(\S+)/m.exec(await edgestream(['group', 'list']))?.[1] ?? 'absent';
      await eventually(async () => (await stateOf()) === 'STABLE', 30_000, `the consumer joined (${signal})`);
      await consumer.stop(signal);
      assert.equal(await consumer.exited, 0, consumer.stderr);
      // Without a LeaveGroup the member would stay until its session timeout (tens of seconds).
      assert.equal(await stateOf(), 'EMPTY', `no member left after ${signal}`);
    }
  });
});
