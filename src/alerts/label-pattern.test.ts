import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { compileLabelPattern, LabelPatternError, MAX_LABEL_PATTERN_INSTRUCTIONS } from './label-pattern.js';
import { silenceSchema } from './rules.js';

/** Far past any real run (a few ms); only there so a backtracking engine fails the test instead of hanging it. */
const HANG_GUARD_MS = 2000;
const LONG_LABEL_VALUE_CHARS = 100_000;

/**
 * Asks a Silences in a worker thread whether `labels` are silenced by one `=~` matcher. A backtracking
 * regex blocks its thread for minutes; in a worker it can be terminated after `HANG_GUARD_MS`.
 */
function silencedInWorker(pattern: string, value: string): Promise<boolean> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.silencesUrl).then(({ Silences }) => {
      const silences = new Silences();
      silences.add({ matchers: [{ label: 'edge', op: '=~', value: workerData.pattern }], startsAtMs: 0, endsAtMs: 10 });
      parentPort.postMessage(silences.silencedBy({ edge: workerData.value }, 5) !== null);
    });`;
  const silencesUrl = new URL('./silences.js', import.meta.url).href;
  const worker = new Worker(source, { eval: true, workerData: { silencesUrl, pattern, value } });
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`matching took longer than ${HANG_GUARD_MS} ms`));
    }, HANG_GUARD_MS);
    worker.once('message', (silenced: boolean) => {
      clearTimeout(guard);
      void worker.terminate();
      resolve(silenced);
    });
    worker.once('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
  });
}

describe('label patterns (RE2, linear time)', () => {
  it('matches (.|.|.|.)*X against a long label value without backtracking', async () => {
    const value = 'a'.repeat(LONG_LABEL_VALUE_CHARS);
    assert.equal(await silencedInWorker('(.|.|.|.)*X', value), false);
    assert.equal(await silencedInWorker('(.|.|.|.)*X', `${value}X`), true);
  });

  it('matches the whole value, as Alertmanager does', () => {
    const edge1 = compileLabelPattern('edge-1');
    assert.equal(edge1('edge-1'), true);
    assert.equal(edge1('edge-17'), false, 'anchored at the end');
    assert.equal(edge1('xedge-1'), false, 'anchored at the start');
    const either = compileLabelPattern('a|b');
    assert.equal(either('ab'), false, 'the anchors wrap the whole alternation');
    assert.equal(either('b'), true);
    assert.equal(compileLabelPattern('edge-1[0-9]')('edge-17'), true);
    assert.equal(compileLabelPattern('.*')('a\nb'), false, '. does not match a newline, as before');
    assert.equal(compileLabelPattern('(?i)EDGE-1')('edge-1'), true, 'RE2 flags are RE2 syntax');
  });

  it('refuses what RE2 cannot match in linear time, saying why', () => {
    assert.throws(() => compileLabelPattern('(a)\\1'), LabelPatternError);
    assert.throws(() => compileLabelPattern('(?=a)a'), /unsupported Perl syntax/);
    assert.throws(() => compileLabelPattern('['), /missing closing \]/);
    assert.throws(
      () => compileLabelPattern('.{0,999}.{0,999}.{0,999}'),
      new RegExp(`the limit is ${MAX_LABEL_PATTERN_INSTRUCTIONS}`),
    );
  });

  it('names the matcher value that does not compile in the silence schema', () => {
    const result = silenceSchema.safeParse({
      matchers: [
        { label: 'site', value: 'par1' },
        { label: 'edge', op: '=~', value: '(a)\\1' },
      ],
      startsAtMs: 0,
      endsAtMs: 10,
    });
    assert.equal(result.success, false);
    const issue = result.error?.issues[0];
    assert.deepEqual(issue?.path, ['matchers', 1, 'value']);
    assert.match(issue?.message ?? '', /expected an RE2 regex: .*invalid escape sequence/);
  });
});
