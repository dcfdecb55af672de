import path from 'node:path';
import { type Background, until } from './processes.js';
import { PARTITIONS } from './streams-crash-pipeline.js';

// Watching streams instances run as processes (test/support/streams-group-worker.ts) by what they print, and
// freezing one of them past its session while another takes its tasks over.

/** One instance of the crash pipeline's app: `node GROUP_WORKER BOOTSTRAP [sequence|transactional]`. */
export const GROUP_WORKER = path.join(import.meta.dirname, 'streams-group-worker.js');
/** The app's tasks: one per partition of its input and of its two repartition topics (records, partials). */
export const ALL_TASKS = 3 * PARTITIONS;
/**
 * How long an instance is frozen: well past the workers' 3 s session timeout and the 1.4 s after which a
 * task's checkpoints go stale.
 */
export const FROZEN_MS = 8_000;

/** Task lists an instance printed, newest last. */
function taskReports(instance: Background): string[][] {
  return instance.stdout
    .split('\n')
    .filter((line) => line.startsWith('tasks '))
    .map((line) => JSON.parse(line.slice(6)) as string[]);
}

export const latestTasks = (instance: Background): string[] => taskReports(instance).at(-1) ?? [];

/** How many tasks an instance reported fenced when it stopped. */
export function fencedCount(instance: Background): number {
  const line = instance.stdout.split('\n').find((l) => l.startsWith('fenced '));
  return line === undefined ? Number.NaN : Number(line.slice(7));
}

/** Waits until both instances run tasks and, together, every task. */
export function sharingAllTasks(first: Background, second: Background): Promise<void> {
  return until(
    () =>
      latestTasks(first).length > 0 &&
      latestTasks(second).length > 0 &&
      latestTasks(first).length + latestTasks(second).length === ALL_TASKS,
    60_000,
    `both instances to share the ${ALL_TASKS} tasks`,
  );
}

/**
 * SIGSTOPs `frozen`, produces input (its pending fetch brings records it processes on waking), waits until
 * `other` runs all `allTasks` tasks and `frozenMs` (counted from the freeze, about) have passed, resumes it,
 * and waits until it has rejoined and got tasks again.
 */
export async function freezeWhileTakenOver(
  frozen: Background,
  other: Background,
  produce: () => Promise<unknown>,
  allTasks: number,
  frozenMs: number,
): Promise<void> {
  frozen.signal('SIGSTOP');
  await produce();
  await until(
    () => latestTasks(other).length === allTasks,
    60_000,
    'the other instance to take over every task of the frozen one',
  );
  await new Promise((resolve) => setTimeout(resolve, frozenMs - 3_000));
  frozen.signal('SIGCONT');
  await until(
    () => latestTasks(frozen).length > 0 && latestTasks(other).length < allTasks,
    60_000,
    'the resumed instance to rejoin and get tasks again',
  );
}
