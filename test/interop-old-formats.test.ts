import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run } from './support/processes.js';

/**
 * Real clients forced onto the message formats before Kafka 0.11: kafka-python with api_version (0, 9)
 * (Produce v1 / Fetch v1, magic 0) and (0, 10) (Produce v2 / Fetch v2, magic 1), and kcat (librdkafka 2.0.2)
 * without ApiVersions, falling back to broker 0.9.0 or 0.10.0. What proves the format is the timestamp: magic
 * 0 carries none, so what a 0.9 producer wrote has none for every reader, and a 0.9 reader sees none of any.
 */
const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../test/python/old_format_client.py', import.meta.url));
const T0 = 1_700_000_000_000;
const NO_TIMESTAMP = -1;
const PER_ROUND = 150;

type Row = [number, string | null, string, number | null];

/** The rows produced: `n` at its offset, keyless every seventh, timestamped T0 + n unless written in magic 0. */
function expectedRows(rounds: Array<{ magic0: boolean }>): Row[] {
  return rounds.flatMap(({ magic0 }, round) =>
    Array.from({ length: PER_ROUND }, (_, i): Row => {
      const n = round * PER_ROUND + i;
      return [n, n % 7 === 0 ? null : `key-${n}`, `value-${n}`, magic0 ? NO_TIMESTAMP : T0 + n];
    }),
  );
}

describe('old message formats through real clients', { timeout: 400_000 }, () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  const python = async (...args: string[]) => {
    const result = await run(PYTHON, [script, broker.bootstrap, ...args], { timeoutMs: 120_000 });
    assert.equal(result.status, 0, `${args.join(' ')} failed: ${result.stderr.slice(-2000)}`);
    return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { records?: Row[]; produced?: number };
  };

  it('kafka-python 0.9 and 0.10 produce (plain and gzip) and every client version reads it all back', async () => {
    const topic = 'kafka-python-old';
    const rounds = [
      { api: '0.9', compression: 'none', magic0: true },
      { api: '0.9', compression: 'gzip', magic0: true },
      { api: '0.10', compression: 'none', magic0: false },
      { api: '0.10', compression: 'gzip', magic0: false },
      { api: 'auto', compression: 'gzip', magic0: false },
    ];
    for (const [round, { api, compression }] of rounds.entries()) {
      const produced = await python(
        'produce',
        api,
        topic,
        String(round * PER_ROUND),
        String(PER_ROUND),
        compression,
      );
      assert.deepEqual(produced, { produced: PER_ROUND }, `round ${round}`);
    }
    const all = expectedRows(rounds);
    for (const api of ['0.9', '0.10', 'auto']) {
      const { records } = await python('consume', api, topic, String(all.length));
      // A magic 0 reader gets no timestamps at all (kafka-python says None).
      const want = api === '0.9' ? all.map(([o, k, v]): Row => [o, k, v, null]) : all;
      assert.deepEqual(records, want, `kafka-python ${api} consumer`);
    }
  });

  it('kcat falling back to broker 0.9.0 and 0.10.0 produces (plain and gzip) and consumes', async () => {
    const topic = 'kcat-old';
    const kcat = async (args: string[], input?: string) => {
      const result = await run('kcat', ['-b', broker.bootstrap, '-X', 'api.version.request=false', ...args], {
        input,
        timeoutMs: 60_000,
      });
      assert.equal(result.status, 0, `kcat ${args.join(' ')}: ${result.stderr.slice(-2000)}`);
      return result.stdout;
    };
    const rounds = [
      { fallback: '0.9.0', codec: 'none' },
      { fallback: '0.9.0', codec: 'gzip' },
      { fallback: '0.10.0', codec: 'none' },
      { fallback: '0.10.0', codec: 'gzip' },
    ];
    let n = 0;
    for (const { fallback, codec } of rounds) {
      const lines = Array.from({ length: PER_ROUND }, () => `k${n}:v${n++}`);
      await kcat(
        ['-X', `broker.version.fallback=${fallback}`, '-P', '-t', topic, '-p', '0', '-K', ':', '-z', codec],
        `${lines.join('\n')}\n`,
      );
    }
    for (const fallback of ['0.9.0', '0.10.0']) {
      const out = await kcat([
        '-X',
        `broker.version.fallback=${fallback}`,
        '-C',
        '-t',
        topic,
        '-p',
        '0',
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%o %k %s %T\\n',
      ]);
      const rows = out.split('\n').filter(Boolean);
      assert.equal(rows.length, n, `kcat ${fallback} consumer`);
      for (const [offset, row] of rows.entries()) {
        const [o, k, v, timestamp] = row.split(' ');
        assert.deepEqual([Number(o), k, v], [offset, `k${offset}`, `v${offset}`]);
        // Only a magic 1 reader sees timestamps, and only of what was written in magic 1.
        const stamped = fallback === '0.10.0' && offset >= 2 * PER_ROUND;
        assert.equal(
          Number(timestamp) > 0,
          stamped,
          `kcat ${fallback} offset ${offset} timestamp ${timestamp}`,
        );
      }
    }
  });
});
