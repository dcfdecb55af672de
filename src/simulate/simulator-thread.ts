import { Worker } from 'node:worker_threads';
import type { LogPortServer } from '../client/log-port-server.js';
import { openThreadLog, type ThreadLog, type ThreadLogSpec } from '../client/thread-log.js';
import type { LogClient } from '../client/types.js';
import { buildFleet, type Fleet } from './generator.js';
import { Simulator, type SimulatorOptions, type SimulatorStats } from './simulator.js';

/** What the simulator thread is started with: the Simulator's options but its client, and its log. */
export interface SimulatorThreadData {
  options: Omit<SimulatorOptions, 'client' | 'now'>;
  log: ThreadLogSpec;
  statsIntervalMs: number;
}

export type SimulatorThreadCommand = { kind: 'close' };

export type SimulatorThreadMessage =
  | { kind: 'started'; stats: SimulatorStats }
  | { kind: 'stats'; stats: SimulatorStats }
  | { kind: 'failed'; message: string; stats: SimulatorStats }
  | { kind: 'closed'; stats: SimulatorStats };

/** How often the thread reports its stats: what stats() returns is at most this old. */
const STATS_INTERVAL_MS = 100;

const WORKER_SCRIPT = new URL('./simulator-worker.js', import.meta.url);

/** A simulator the process runs beside its broker: on a thread of its own or on the calling thread. */
export interface HostedSimulator {
  /** The edge servers and sites being simulated. */
  readonly fleet: Fleet;
  /** The latest stats; throws the error that stopped the simulator. */
  stats(): SimulatorStats;
  /** Stops producing, waits for the produce calls in flight. */
  close(): Promise<SimulatorStats>;
}

/**
 * The Simulator on the calling thread, producing through `client`: at a low rate its work is a few percent of
 * a core, less than a thread of its own costs (an isolate of tens of MB, and every batch crossing a port).
 */
export class InThreadSimulator implements HostedSimulator {
  private failure: string | null = null;

  private constructor(private readonly simulator: Simulator) {
    simulator.done().catch((error: unknown) => {
      this.failure = error instanceof Error ? error.message : String(error);
    });
  }

  static async start(options: SimulatorThreadData['options'], client: LogClient): Promise<InThreadSimulator> {
    const simulator = new Simulator({ ...options, client });
    await simulator.start();
    return new InThreadSimulator(simulator);
  }

  get fleet(): Fleet {
    return this.simulator.fleet;
  }

  stats(): SimulatorStats {
    if (this.failure) throw new Error(`the simulator stopped: ${this.failure}`);
    return this.simulator.stats();
  }

  close(): Promise<SimulatorStats> {
    return this.simulator.close();
  }
}

/**
 * The Simulator on a thread of its own, so generating and encoding telemetry (the demo's producer) does not
 * take the broker's thread: at 50,000 events/s that is a good part of a core.
 */
export class SimulatorThread implements HostedSimulator {
  private latest: SimulatorStats;
  private failure: string | null = null;
  private readonly closed: Promise<SimulatorStats>;
  private readonly simulated: Fleet;

  private constructor(
    private readonly worker: Worker,
    private readonly server: LogPortServer | null,
    options: SimulatorThreadData['options'],
    first: SimulatorStats,
  ) {
    this.latest = first;
    this.simulated = buildFleet(options.edges, options.sites, options.seed);
    this.closed = new Promise((resolve) => {
      worker.on('message', (message: SimulatorThreadMessage) => {
        this.latest = message.stats;
        if (message.kind === 'failed') this.failure = message.message;
        if (message.kind === 'closed') resolve(message.stats);
      });
      worker.once('exit', () => resolve(this.latest));
    });
  }

  static async start(options: SimulatorThreadData['options'], log: ThreadLog): Promise<SimulatorThread> {
    const opened = openThreadLog(log, { slot: 0, slots: 1 }, 'simulator');
    const data: SimulatorThreadData = { options, log: opened.spec, statsIntervalMs: STATS_INTERVAL_MS };
    const worker = new Worker(WORKER_SCRIPT, {
      workerData: data,
      transferList: opened.transfer,
      name: 'edgestream-simulator',
    });
    const first = await new Promise<SimulatorStats>((resolve, reject) => {
      worker.on('error', reject);
      worker.once('exit', (code) => reject(new Error(`the simulator thread exited with code ${code}`)));
      worker.once('message', (message: SimulatorThreadMessage) => {
        if (message.kind === 'started') resolve(message.stats);
      });
    }).catch(async (error: unknown) => {
      await opened.server?.close();
      throw error;
    });
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    return new SimulatorThread(worker, opened.server, options, first);
  }

  /** The edge servers and sites being simulated. */
  get fleet() {
    return this.simulated;
  }

  /** The thread's last report (at most STATS_INTERVAL_MS old); throws the error that stopped the simulator. */
  stats(): SimulatorStats {
    if (this.failure) throw new Error(`the simulator stopped: ${this.failure}`);
    return this.latest;
  }

  /** Stops producing, waits for the produce calls in flight, and ends the thread. */
  async close(): Promise<SimulatorStats> {
    this.worker.postMessage({ kind: 'close' } satisfies SimulatorThreadCommand);
    const stats = await this.closed;
    await this.server?.close();
    return stats;
  }
}
