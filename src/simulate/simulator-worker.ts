import { parentPort, workerData } from 'node:worker_threads';
import { threadLogClient } from '../client/thread-log.js';
import { Simulator } from './simulator.js';
import type { SimulatorThreadData, SimulatorThreadMessage } from './simulator-thread.js';

/** The simulator thread (SimulatorThread): produces until told to close, reporting its stats as it goes. */

if (!parentPort) throw new Error('the simulator worker runs only in a worker thread');
const port = parentPort;
const data: SimulatorThreadData = workerData;
const post = (message: SimulatorThreadMessage) => port.postMessage(message);

const client = await threadLogClient(data.log);
const simulator = new Simulator({ ...data.options, client });
await simulator.start();
post({ kind: 'started', stats: simulator.stats() });
const reporter = setInterval(() => post({ kind: 'stats', stats: simulator.stats() }), data.statsIntervalMs);
simulator.done().catch((error: unknown) => {
  post({
    kind: 'failed',
    message: error instanceof Error ? error.message : String(error),
    stats: simulator.stats(),
  });
});

port.on('message', () => void close());

async function close(): Promise<void> {
  clearInterval(reporter);
  const stats = await simulator.close();
  await client.close();
  post({ kind: 'closed', stats });
  port.close();
}
