import type { Logger } from 'pino';
import type { LogClient } from '../client/types.js';
import { HOST_TOPIC, QOE_TOPIC, TCP_TOPIC } from '../simulate/telemetry.js';
import { AccessLogEvents } from './access-log-events.js';
import { type AccessLogEntry, type AccessLogFormat, accessLogParser } from './access-log-formats.js';
import { AccessLogTail, type TailPosition } from './access-log-tail.js';
import { AgentError } from './errors.js';
import { Forwarder, type ForwarderStats } from './forwarder.js';
import { HostCounterDeltas, readHostCounters } from './proc-net-counters.js';
import { parseSs, runSs, SocketDeltas } from './socket-sampler.js';
import { Spool, type SpoolRecord, type SpoolStats } from './spool.js';

/**
 * The edge-server agent: every interval it samples the serving ports' connections (tcp_stats to cdn.tcp), the
 * host's TCP counters (tcp_host to cdn.host) and the access log's new lines (QoE events to cdn.qoe, an
 * http_access summary to cdn.host), appends them to the spool in one frame, and the forwarder sends the spool
 * to the brokers. Every record is keyed by the edge id.
 */

export const AGENT_DEFAULTS = {
  intervalMs: 1_000,
  ports: [80] as readonly number[],
  spoolBytesMax: 256 * 1024 * 1024,
  partitions: 8,
  /** How long a clean shutdown keeps sending the spool. */
  closeDrainMs: 5_000,
  /** Every this many intervals, one log line of counts. */
  statsEveryIntervals: 60,
} as const;

export const AGENT_LIMITS = {
  intervalMsMin: 100,
  intervalMsMax: 3_600_000,
  portsMax: 64,
  /** Access-log lines past this length are skipped and counted: a bound on memory per line. */
  accessLogLineBytesMax: 16 * 1024,
  /** Access-log bytes read per interval; a burst beyond it is read over the next intervals. */
  accessLogReadBytesPerIntervalMax: 8 * 1024 * 1024,
} as const;

export interface AgentOptions {
  client: LogClient;
  edge: string;
  site: string;
  intervalMs: number;
  ports: readonly number[];
  accessLog: { path: string; format: AccessLogFormat } | null;
  spoolDir: string;
  spoolBytesMax: number;
  partitions: number;
  logger: Logger;
  /** The `ss` program (tests and the bench may point elsewhere). */
  ssPath?: string;
  /** Where snmp and netstat are read from. */
  procNetDir?: string;
}

export interface AgentStats {
  samples: number;
  /** Samples that took longer than the interval (the next one was late). */
  lateSamples: number;
  /** Samples lost to a failed `ss` run. */
  failedSamples: number;
  events: Record<string, number>;
  malformedLines: number;
  spool: SpoolStats;
  forwarder: ForwarderStats;
}

/** What the agent stores in each spool frame besides the events: where the access log was read up to. */
interface SpoolMeta {
  accessLog: TailPosition | null;
}

export class Agent {
  private spool: Spool | null = null;
  private forwarder: Forwarder | null = null;
  private tail: AccessLogTail | null = null;
  private readonly parse: ((line: string) => AccessLogEntry | null) | null;
  private readonly sockets: SocketDeltas;
  private readonly host: HostCounterDeltas;
  private readonly access: AccessLogEvents;
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> = Promise.resolve();
  /** When the last sample started (the schedule), and when the last one that succeeded did (the deltas). */
  private lastSampleMs = 0;
  private lastCountedMs = 0;
  private lastMetaText = '';
  private failure: ((error: unknown) => void) | null = null;
  private readonly failed: Promise<never>;
  private counts: Omit<AgentStats, 'spool' | 'forwarder'> = {
    samples: 0,
    lateSamples: 0,
    failedSamples: 0,
    events: {},
    malformedLines: 0,
  };

  constructor(private readonly options: AgentOptions) {
    const labels = { edge: options.edge, site: options.site };
    this.sockets = new SocketDeltas(labels);
    this.host = new HostCounterDeltas(labels);
    this.access = new AccessLogEvents(labels);
    this.parse = options.accessLog ? accessLogParser(options.accessLog.format) : null;
    this.failed = new Promise<never>((_, reject) => {
      this.failure = reject;
    });
    this.failed.catch(() => undefined);
  }

  /** Opens the spool, takes the first (baseline) sample and starts sampling and forwarding. */
  async start(): Promise<void> {
    const { options } = this;
    this.spool = await Spool.open(options.spoolDir, options.spoolBytesMax);
    if (options.accessLog) {
      const saved = positionOf(this.spool.meta);
      this.tail = new AccessLogTail(
        options.accessLog.path,
        {
          lineBytesMax: AGENT_LIMITS.accessLogLineBytesMax,
          readBytesPerPollMax: AGENT_LIMITS.accessLogReadBytesPerIntervalMax,
        },
        saved,
      );
    }
    this.forwarder = new Forwarder({
      client: options.client,
      spool: this.spool,
      edge: options.edge,
      topics: [TCP_TOPIC, QOE_TOPIC, HOST_TOPIC],
      partitions: options.partitions,
      logger: options.logger.child({ component: 'forwarder' }),
    });
    // The first sample is the baseline of the counters, and it fails here, at start, if `ss` is missing.
    await this.sample();
    this.forwarder.start();
    this.schedule();
  }

  /** Rejects when sampling fails for good (ss or /proc unreadable); the agent keeps running otherwise. */
  whenFailed(): Promise<never> {
    return this.failed;
  }

  stats(): AgentStats {
    return { ...this.counts, spool: this.spool!.stats(), forwarder: this.forwarder!.stats() };
  }

  /** Stops sampling, sends what it can within closeDrainMs, and closes the spool (which keeps the rest). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.sampling;
    await this.forwarder?.close(AGENT_DEFAULTS.closeDrainMs);
    await this.tail?.close();
    await this.spool?.close();
  }

  private reschedule(): void {
    if (this.timer) this.schedule();
  }

  /** The next sample one interval after the previous one started, whatever the sample took. */
  private schedule(): void {
    const delayMs = Math.max(0, this.lastSampleMs + this.options.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.sampling = this.sample().then(
        () => this.reschedule(),
        (error: unknown) => {
          // A failed `ss` run (a timeout on an overloaded host) costs one sample; anything else will not heal.
          if (!(error instanceof AgentError && error.code === 'SS_FAILED')) return this.failure?.(error);
          this.counts.failedSamples += 1;
          this.options.logger.warn({ reason: error.message }, 'sample skipped');
          this.reschedule();
        },
      );
    }, delayMs);
  }

  private async sample(): Promise<void> {
    const ts = Date.now();
    if (this.lastSampleMs !== 0 && ts - this.lastSampleMs > this.options.intervalMs * 1.5)
      this.counts.lateSamples += 1;
    this.lastSampleMs = ts;
    const [ssOutput, hostCounters] = await Promise.all([
      runSs(this.options.ports, this.options.ssPath),
      readHostCounters(this.options.procNetDir),
    ]);
    // Read after the kernel's numbers succeeded: a sample that fails must not move the log's position.
    const lines = this.tail ? await this.tail.poll() : null;
    // Counters are deltas since the last sample that succeeded, which a failed one does not move.
    const intervalMs = this.lastCountedMs === 0 ? this.options.intervalMs : ts - this.lastCountedMs;
    this.lastCountedMs = ts;
    const records: SpoolRecord[] = [];
    const push = (topic: string, event: { ts: number; type: string }) => {
      records.push({ topic, ts: event.ts, value: JSON.stringify(event) });
      this.counts.events[event.type] = (this.counts.events[event.type] ?? 0) + 1;
    };
    for (const event of this.sockets.next(parseSs(ssOutput), ts, intervalMs)) push(TCP_TOPIC, event);
    const hostEvent = this.host.next(hostCounters, ts, intervalMs);
    if (hostEvent) push(HOST_TOPIC, hostEvent);
    if (lines && this.parse) {
      let malformed = lines.skippedLines;
      for (const line of lines.lines) {
        const entry = this.parse(line);
        if (!entry) {
          malformed += 1;
          continue;
        }
        for (const event of this.access.add(entry)) push(QOE_TOPIC, event);
      }
      this.access.malformed(malformed);
      this.counts.malformedLines += malformed;
      const summary = this.access.summary(ts, intervalMs);
      if (summary) push(HOST_TOPIC, summary);
    }
    const meta: SpoolMeta = { accessLog: this.tail?.position() ?? null };
    const metaText = JSON.stringify(meta);
    // An interval with nothing to send still moves the access-log position when it skipped lines.
    if (records.length > 0 || metaText !== this.lastMetaText) {
      this.lastMetaText = metaText;
      await this.spool!.append(records, meta);
      this.forwarder?.notify();
    }
    this.counts.samples += 1;
    if (this.counts.samples % AGENT_DEFAULTS.statsEveryIntervals === 0) {
      this.options.logger.info(this.stats(), 'agent stats');
    }
  }
}

/** The access-log position in a spool frame's meta, checked: the spool is a file, read back after a restart. */
function positionOf(meta: unknown): TailPosition | null {
  if (typeof meta !== 'object' || meta === null) return null;
  const position: unknown = Reflect.get(meta, 'accessLog');
  if (typeof position !== 'object' || position === null) return null;
  const dev: unknown = Reflect.get(position, 'dev');
  const ino: unknown = Reflect.get(position, 'ino');
  const offset: unknown = Reflect.get(position, 'offset');
  if (typeof dev !== 'number' || typeof ino !== 'number' || typeof offset !== 'number') return null;
  return { dev, ino, offset };
}
