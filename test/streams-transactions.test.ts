// The streams runtime in transactional mode (StreamsConfig.exactlyOnce = 'transactional') against the broker's
// transactions, each instance a separate process over RemoteLogClient: after a SIGKILL mid-run, and with an
// instance frozen (SIGSTOP) past its session while another takes its tasks over, every window and running count
// is written exactly once as read_committed readers (ours and kcat) see it, and the frozen instance's writes on
// waking are refused by the broker (its task producers were fenced by the new owner's InitProducerId).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import { RemoteLogClient } from '../src/client/remote-client.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { Background, eventually, until } from './support/processes.js';
import {
  inputRecords,
  PARTITIONS,
  readAll,
  runningCountsOf,
  windowsOf,
} from './support/streams-crash-pipeline.js';

const worker = path.join(import.meta.dirname, 'support', 'streams-group-worker.js');
const run = promisify(execFile);
const RECORDS = 30_000;
const ALL_TASKS = 2 * PARTITIONS;
/** The workers' session timeout is 3 s: frozen well past it. */
const FROZEN_MS = 8_000;

const taskReports = (instance: Background): string[][] =>
  instance.stdout
    .split('\n')
    .filter((line) => line.startsWith('tasks '))
    .map((line) => JSON.parse(line.slice(6)) as string[]);
const latestTasks = (instance: Background) => taskReports(instance).at(-1) ?? [];

/** How many tasks an instance reported fenced when it stopped. */
function fencedCount(instance: Background): number {
  const line = instance.stdout.split('\n').find((l) => l.startsWith('fenced '));
  return line === undefined ? Number.NaN : Number(line.slice(7));
}

const startWorker = (bootstrap: string) =>
  new Background(process.execPath, [worker, bootstrap, 'transactional'], 170_000);

describe('streams in transactional mode (remote client, broker transactions)', () => {
  let cluster: RunningBroker;
  let input: EmbeddedLogClient;
  let reader: RemoteLogClient;
  beforeEach(async () => {
    cluster = await startBroker();
    input = new EmbeddedLogClient(cluster.broker.embeddedLog());
    reader = new RemoteLogClient({ bootstrapBrokers: [cluster.bootstrap], clientId: 'committed-reader' });
  });
  afterEach(async () => {
    await reader.close();
    await input.close();
    await cluster.stop();
  });

  /**
   * Input in three parts; `disrupt` gets the instances running on the first and produces the second; then the
   * rest is produced and every window and running count must be output exactly once, read committed.
   */
  async function scenario(
    disrupt: (produceSecond: () => Promise<unknown>, caughtUp: () => Promise<void>) => Promise<void>,
    instances: () => Background[],
  ): Promise<void> {
    await input.ensureTopic({ name: 'input', partitions: PARTITIONS });
    const all = inputRecords(RECORDS);
    const flushes = all.filter((record) => JSON.parse(record.value!.toString()).edge === 'flush');
    const readings = all.filter((record) => !flushes.includes(record));
    const third = Math.floor(readings.length / 3);
    await input.produce(readings.slice(0, third));
    try {
      const caughtUp = () =>
        eventually(
          async () => (await readAll(reader, 'totals')).length >= third,
          60_000,
          'the first third processed',
        );
      await disrupt(() => input.produce(readings.slice(third, 2 * third)), caughtUp);
      await input.produce([...readings.slice(2 * third), ...flushes]);

      const expectedWindows = windowsOf(readings);
      const outputs = async () => ({
        windows: (await readAll(reader, 'windows')).map((record) => record.value!.toString()),
        totals: (await readAll(reader, 'totals')).map((record) => `${record.key} ${record.value}`),
      });
      await eventually(
        async () => {
          const { windows, totals } = await outputs();
          return windows.length >= expectedWindows.length && totals.length >= readings.length;
        },
        90_000,
        'every output',
      );
      // Anything written twice would have arrived by now.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const { windows, totals } = await outputs();
      const actualWindows = windows.map(windowLine).sort();
      assert.equal(actualWindows.length, expectedWindows.length, 'every window once: none lost, none twice');
      assert.deepEqual(actualWindows, expectedWindows);
      assert.deepEqual(totals.sort(), runningCountsOf(readings), 'each running count went 1..n exactly once');
      const kcatWindows = await kcatValues(cluster.bootstrap, 'windows');
      assert.deepEqual(kcatWindows.map(windowLine).sort(), expectedWindows, 'kcat, read_committed, agrees');
    } catch (error) {
      for (const [i, instance] of instances().entries())
        process.stderr.write(`instance ${i}:\n${instance.stdout}\n${instance.stderr.slice(-3000)}\n`);
      throw error;
    }
  }

  it('a SIGKILLed instance is replaced: its open transactions are aborted and every result is written once', {
    timeout: 150_000,
  }, async () => {
    const started: Background[] = [];
    try {
      await scenario(
        async (produceSecond) => {
          const first = startWorker(cluster.bootstrap);
          started.push(first);
          await until(
            () => latestTasks(first).length === ALL_TASKS,
            60_000,
            'the instance to run every task',
          );
          await produceSecond();
          // Killed while processing the second part, transactions open.
          await new Promise((resolve) => setTimeout(resolve, 700));
          await first.stop('SIGKILL');
          const second = startWorker(cluster.bootstrap);
          started.push(second);
          await until(
            () => latestTasks(second).length === ALL_TASKS,
            60_000,
            'the new instance to run every task',
          );
        },
        () => started,
      );
      const last = started.at(-1)!;
      await last.stop('SIGTERM');
      assert.match(last.stdout, /stopped/);
    } finally {
      await Promise.allSettled(started.map((instance) => instance.stop('SIGKILL')));
    }
  });

  it('an instance frozen past its session is fenced by the broker on waking: nothing is written twice', {
    timeout: 170_000,
  }, async () => {
    const first = startWorker(cluster.bootstrap);
    const second = startWorker(cluster.bootstrap);
    try {
      await scenario(
        async (produceSecond, caughtUp) => {
          await until(
            () =>
              latestTasks(first).length > 0 &&
              latestTasks(second).length > 0 &&
              latestTasks(first).length + latestTasks(second).length === ALL_TASKS,
            60_000,
            `both instances to share the ${ALL_TASKS} tasks`,
          );
          await caughtUp();
          second.signal('SIGSTOP');
          // Input arrives while it is frozen: its pending fetch brings records it processes and writes on waking.
          await produceSecond();
          await until(
            () => latestTasks(first).length === ALL_TASKS,
            60_000,
            'the other instance to take over every task of the frozen one',
          );
          await new Promise((resolve) => setTimeout(resolve, FROZEN_MS - 3_000));
          second.signal('SIGCONT');
          await until(
            () => latestTasks(second).length > 0 && latestTasks(first).length < ALL_TASKS,
            60_000,
            'the resumed instance to rejoin and get tasks again',
          );
        },
        () => [first, second],
      );
      await second.stop('SIGTERM');
      assert.match(second.stdout, /stopped/);
      assert.ok(
        fencedCount(second) > 0,
        `the resumed instance's writes for the tasks it lost were refused (fenced ${fencedCount(second)})`,
      );
    } finally {
      await Promise.allSettled([first.stop('SIGKILL'), second.stop('SIGKILL')]);
    }
  });
});

/** Values of the topic as kcat reads them with isolation.level=read_committed. */
async function kcatValues(bootstrap: string, topic: string): Promise<string[]> {
  const { stdout } = await run(
    'kcat',
    [
      '-C',
      '-b',
      bootstrap,
      '-t',
      topic,
      '-X',
      'isolation.level=read_committed',
      '-o',
      'beginning',
      '-e',
      '-q',
    ],
    { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout.split('\n').filter((line) => line !== '');
}

function windowLine(value: string): string {
  const r = JSON.parse(value) as {
    key: string;
    window: { start: number };
    result: { count: number; retransmits: number };
  };
  return `${r.key}@${r.window.start} ${r.result.count} ${r.result.retransmits}`;
}
