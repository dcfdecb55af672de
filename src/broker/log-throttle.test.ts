import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { LogThrottle } from './log-throttle.js';

function capture(): { logger: pino.Logger; lines: Array<{ msg: string; suppressed?: number }> } {
  const lines: Array<{ msg: string; suppressed?: number }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string; suppressed?: number });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('LogThrottle', () => {
  it('passes a few lines per window, then reports how many it left out', async () => {
    const { logger, lines } = capture();
    let now = 1_000;
    const throttle = new LogThrottle(logger, 3, 10_000, () => now);
    for (let i = 0; i < 1_000; i++) throttle.log((l) => l.info(`bad request ${i}`));
    now += 10_000;
    throttle.log((l) => l.info('next window'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      lines.map((line) => line.msg),
      [
        'bad request 0',
        'bad request 1',
        'bad request 2',
        'log lines about failed or refused requests left out (the metrics count every one)',
        'next window',
      ],
    );
    assert.equal(lines[3]!.suppressed, 997);
  });

  it('refuses a limit that would log nothing', () => {
    assert.throws(() => new LogThrottle(pino({ level: 'silent' }), 0, 1_000), /maxLinesPerWindow/);
  });
});
