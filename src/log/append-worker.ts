import assert from 'node:assert/strict';
import fs from 'node:fs';
import { MessagePort, workerData } from 'node:worker_threads';
import {
  fsyncEnded,
  fsyncsOf,
  nodeSegmentWriter,
  type RoundWrite,
  type WorkerDone,
  type WorkerWrite,
  writeRound,
} from './append-writer.js';

/**
 * The thread behind ThreadAppendWriter: takes every write queued so far as one round (the writes in the
 * order submitted, then the fsyncs they asked for, all descriptors' at once so the file system can commit
 * them together), answers each on the port, then moves the shared counter of finished tickets that a
 * blocked settle waits on. Writes that arrive meanwhile wait for the next round.
 */
const { finished, port } = workerData;
assert.ok(finished instanceof SharedArrayBuffer, 'workerData.finished must be a SharedArrayBuffer');
assert.ok(port instanceof MessagePort, 'workerData.port must be a MessagePort');
const finishedTicket = new BigInt64Array(finished);
const failedStreams = new Set<number>();
let queued: WorkerWrite[] = [];
let running = false;

port.on('message', (writes: WorkerWrite[]) => {
  queued.push(...writes);
  if (!running) void runRounds();
});

async function runRounds(): Promise<void> {
  running = true;
  while (queued.length > 0) {
    const round = queued;
    queued = [];
    await runRound(round);
  }
  running = false;
}

async function runRound(round: WorkerWrite[]): Promise<void> {
  const writes: RoundWrite[] = round.map((write) => ({
    ...write,
    data: Buffer.from(write.data.buffer, write.data.byteOffset, write.data.byteLength),
  }));
  const results = writeRound(nodeSegmentWriter, failedStreams, writes);
  const fsyncs = [...fsyncsOf(writes, results)].map(
    ([fd, last]) =>
      new Promise<void>((resolve) => {
        fs.fdatasync(fd, (error) => {
          fsyncEnded(writes, results, failedStreams, fd, last, error);
          resolve();
        });
      }),
  );
  await Promise.all(fsyncs);
  const answers = round.map((write, at): WorkerDone => {
    const { error, fsynced } = results[at]!;
    return {
      ticket: write.ticket,
      error: error && {
        code: 'code' in error && typeof error.code === 'string' ? error.code : null,
        message: error.message,
      },
      fsynced,
      buffer: write.data.buffer,
    };
  });
  // The copies go back to be reused: freed here, they would wait for this isolate's rare collections.
  port.postMessage(
    answers,
    answers.map((answer) => answer.buffer),
  );
  Atomics.store(finishedTicket, 0, BigInt(round.at(-1)!.ticket));
  Atomics.notify(finishedTicket, 0);
}
