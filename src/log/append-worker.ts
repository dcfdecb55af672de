import assert from 'node:assert/strict';
import { MessagePort, workerData } from 'node:worker_threads';
import {
  nodeSegmentWriter,
  skippedWriteError,
  type WorkerDone,
  type WorkerWrite,
  writeFully,
} from './append-writer.js';

/**
 * The thread behind ThreadAppendWriter: makes each write in the order submitted, answers on the port, then
 * moves the shared counter of finished tickets that a blocked settle waits on.
 */
const { finished, port } = workerData;
assert.ok(finished instanceof SharedArrayBuffer, 'workerData.finished must be a SharedArrayBuffer');
assert.ok(port instanceof MessagePort, 'workerData.port must be a MessagePort');
const finishedTicket = new BigInt64Array(finished);
const failedStreams = new Set<number>();

function perform(write: WorkerWrite): WorkerDone['error'] {
  if (failedStreams.has(write.stream)) return { code: null, message: skippedWriteError().message };
  const data = Buffer.from(write.data.buffer, write.data.byteOffset, write.data.byteLength);
  try {
    writeFully(nodeSegmentWriter, write.fd, data, write.position);
    return null;
  } catch (error) {
    failedStreams.add(write.stream);
    const code =
      error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : null;
    return { code, message: error instanceof Error ? error.message : String(error) };
  }
}

port.on('message', (write: WorkerWrite) => {
  const answer: WorkerDone = { ticket: write.ticket, error: perform(write) };
  port.postMessage(answer);
  Atomics.store(finishedTicket, 0, BigInt(write.ticket));
  Atomics.notify(finishedTicket, 0);
});
