import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Background, run, until } from './support/processes.js';

const worker = path.join(import.meta.dirname, 'support', 'streams-crash-worker.js');
const RECORDS = 200_000;
const KILLS = 12;

describe('streams exactly-once across SIGKILL', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-eos-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  async function seed(name: string): Promise<string> {
    const dir = path.join(root, name);
    const seeded = await run(process.execPath, [worker, 'seed', dir, String(RECORDS)], {
      timeoutMs: 120_000,
    });
    assert.equal(seeded.status, 0, seeded.stderr);
    return dir;
  }

  it(`gives the same output after ${KILLS} SIGKILLs of the processor (pipeline on the broker's thread or a worker thread) as an uninterrupted run`, {
    timeout: 600_000,
  }, async () => {
    const [reference, crashed] = await Promise.all([seed('reference'), seed('crashed')]);
    const referenceOut = path.join(root, 'reference.txt');
    const uninterrupted = await run(process.execPath, [worker, 'run', reference, referenceOut], {
      timeoutMs: 300_000,
    });
    assert.equal(uninterrupted.status, 0, uninterrupted.stderr);

    const crashedOut = path.join(root, 'crashed.txt');
    let kills = 0;
    while (kills < KILLS) {
      // Every other pair of kills runs the pipeline on a worker thread, as the runtime does: both kill moments
      // in both places, each run resuming what the other kind left.
      const where = Math.floor(kills / 2) % 2 === 1 ? ['thread'] : [];
      const processor = new Background(
        process.execPath,
        [worker, 'run', crashed, crashedOut, ...where],
        120_000,
      );
      // Half the kills land during broker recovery and state restore, half while records are processed.
      const whileProcessing = kills % 2 === 0;
      if (whileProcessing)
        await until(() => processor.stdout.includes('started'), 60_000, 'the pipeline to start');
      const delayMs = whileProcessing
        ? 100 + Math.floor(Math.random() * 900)
        : Math.floor(Math.random() * 600);
      const finished = await Promise.race([
        processor.exited.then(() => true),
        sleep(delayMs).then(() => false),
      ]);
      assert.ok(!finished, `processor finished before kill ${kills + 1}: ${processor.stderr}`);
      await processor.stop('SIGKILL');
      kills++;
    }
    const final = await run(process.execPath, [worker, 'run', crashed, crashedOut, 'thread'], {
      timeoutMs: 300_000,
    });
    assert.equal(final.status, 0, final.stderr);

    const expected = fs.readFileSync(referenceOut, 'utf8').split('\n');
    const actual = fs.readFileSync(crashedOut, 'utf8').split('\n');
    const windows = expected.filter((line) => line.startsWith('windows ')).length;
    assert.ok(windows > 1000, `the reference run emitted ${windows} window results`);
    assert.equal(actual.length, expected.length, 'same number of output records: none lost, none duplicated');
    assert.deepEqual(actual, expected);
    // The windows merged from pre-aggregated partials are the windows of the readings one by one.
    const merged = expected.filter((line) => line.startsWith('merged-windows '));
    assert.deepEqual(
      merged.map((line) => line.slice('merged-'.length)),
      expected.filter((line) => line.startsWith('windows ')),
    );
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
