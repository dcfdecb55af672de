import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Runs the program under sh, which kills it as soon as our end of its stdin closes: when this process ends in
 * any way, SIGKILL included, where no 'exit' handler would run. It prints the program's pid first and exits
 * with the program's status. The program's stdin is /dev/null (sh gives that to a background job).
 */
const WATCHDOG_SCRIPT = [
  'exec 3<&0',
  '"$@" >>"$EDGESTREAM_CHILD_LOG" 2>&1 & child=$!',
  'echo $child',
  '(read _ignored <&3; kill -9 $child 2>/dev/null) & reader=$!',
  'wait $child; status=$?',
  'kill $reader 2>/dev/null',
  'exit $status',
].join('\n');

/**
 * A child program that never outlives this process, its output appended to a log file. It runs in its own
 * session, so a Ctrl-C in the terminal reaches this process only, which decides how to stop its children.
 */
export class SupervisedProcess {
  private finished = false;

  private constructor(
    /** The program's own pid (not its watchdog shell's): signals go straight to it. */
    readonly pid: number,
    /** Resolves with the program's exit status (128 + N after signal N) once it and its watchdog are gone. */
    readonly exited: Promise<number | null>,
  ) {
    void exited.then(() => {
      this.finished = true;
    });
  }

  /** Resolves once the program runs (its pid known), not once it does anything useful. */
  static async start(command: string, args: string[], logFile: string): Promise<SupervisedProcess> {
    const watchdog: ChildProcess = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'sh', command, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
      detached: true,
      env: { ...process.env, EDGESTREAM_CHILD_LOG: logFile },
    });
    const exited = new Promise<number | null>((resolve) => watchdog.once('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      watchdog.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
      watchdog.once('error', reject);
      void exited.then(() => reject(new Error(`${command}: its watchdog shell exited before starting it`)));
    });
    const pid = Number(line.trim());
    if (!Number.isSafeInteger(pid) || pid <= 0)
      throw new Error(`${command}: no pid from its watchdog: ${line}`);
    return new SupervisedProcess(pid, exited);
  }

  get running(): boolean {
    return !this.finished;
  }

  /** The program may have exited a moment before its watchdog shell has. */
  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'ESRCH')) throw error;
    }
  }

  /** Sends `signal`, then SIGKILL if the program is still running after `timeoutMs`; resolves once it is gone. */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
    if (this.running) this.signal(signal);
    const guard = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    const status = await this.exited;
    clearTimeout(guard);
    return status;
  }
}
