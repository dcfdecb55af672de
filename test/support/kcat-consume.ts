import assert from 'node:assert/strict';
import { run } from './processes.js';

/**
 * The values of one partition (every partition: null) as kcat (librdkafka) consumes it from the beginning to
 * its end, with the given isolation level: read_committed ends at the last stable offset and skips aborted
 * transactions.
 */
export async function kcatValues(
  bootstrap: string,
  topic: string,
  partition: number | null,
  isolation: 'read_committed' | 'read_uncommitted',
): Promise<string[]> {
  const result = await run(
    'kcat',
    [
      '-C',
      '-b',
      bootstrap,
      '-t',
      topic,
      ...(partition === null ? [] : ['-p', String(partition)]),
      '-o',
      'beginning',
      '-e',
      '-q',
      '-X',
      `isolation.level=${isolation}`,
      '-f',
      '%s\\n',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}
