import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run } from './support/processes.js';

/**
 * Real clients forced onto the message formats before Kafka 0.11: kafka-python with api_version (0, 9)
 * (Produce v1 / Fetch v1, magic 0) and (0, 10) (Produce v2 / Fetch v2, magic 1), and kcat (librdkafka 2.0.2)
 * without ApiVersions, falling back to broker 0.9.0. What proves the format is the timestamp: magic
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

  it('kcat without ApiVersions (fallback 0.9.0) produces plain, gzip, snappy, lz4 and consumes; so does a current kcat', async () => {
    const topic = 'kcat-old';
    // librdkafka asks ApiVersions whatever api.version.request says once the fallback is 0.10 or later, so only
    // 0.9.0 forces its old formats: Produce and Fetch in magic 0. Magic 1 is kafka-python's (0, 10) above.
    const OLD = ['-X', 'api.version.request=false', '-X', 'broker.version.fallback=0.9.0'];
    const kcat = async (args: string[], input?: string) => {
      const result = await run('kcat', ['-b', broker.bootstrap, ...args], { input, timeoutMs: 60_000 });
      assert.equal(result.status, 0, `kcat ${args.join(' ')}: ${result.stderr.slice(-2000)}`);
      return result.stdout;
    };
    // librdkafka writes magic 0 LZ4 frames with the KAFKA-3160 header checksum, as Kafka 0.8-0.9 clients did.
    // The last round is a current producer's LZ4 RecordBatch v2, which the old consumer must get converted.
    const rounds = [
      ...['none', 'gzip', 'snappy', 'lz4'].map((codec) => ({ old: true, codec })),
      { old: false, codec: 'lz4' },
    ];
    let n = 0;
    for (const { old, codec } of rounds) {
      const lines = Array.from({ length: PER_ROUND }, () => `k${n}:v${n++}`);
      await kcat(
        [...(old ? OLD : []), '-P', '-t', topic, '-p', '0', '-K', ':', '-z', codec],
        `${lines.join('\n')}\n`,
      );
    }
    for (const old of [true, false]) {
      const out = await kcat([
        ...(old ? OLD : []),
        ...['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %k %s %T\\n'],
      ]);
      const rows = out.split('\n').filter(Boolean);
      const reader = old ? 'kcat 0.9.0' : 'current kcat';
      assert.equal(rows.length, n, reader);
      for (const [offset, row] of rows.entries()) {
        const [o, k, v, timestamp] = row.split(' ');
        assert.deepEqual([Number(o), k, v], [offset, `k${offset}`, `v${offset}`]);
        // Only a current reader sees timestamps, and only of what a current producer wrote.
        const stamped = !old && !rounds[Math.floor(offset / PER_ROUND)]!.old;
        assert.equal(Number(timestamp) > 0, stamped, `${reader} offset ${offset} timestamp ${timestamp}`);
      }
    }
  });
});
