import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The topic's values, one per line, as kcat reads them from the beginning with isolation.level=read_committed. */
export function kcatCommittedValues(bootstrap: string, topic: string): Promise<string[]> {
  return kcatValues(bootstrap, topic, 'read_committed');
}

/** The same, records of open and aborted transactions included. */
export function kcatAllValues(bootstrap: string, topic: string): Promise<string[]> {
  return kcatValues(bootstrap, topic, 'read_uncommitted');
}

async function kcatValues(bootstrap: string, topic: string, isolation: string): Promise<string[]> {
  const { stdout } = await run(
    'kcat',
    ['-C', '-b', bootstrap, '-t', topic, '-X', `isolation.level=${isolation}`, '-o', 'beginning', '-e', '-q'],
    { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout.split('\n').filter((line) => line !== '');
}
