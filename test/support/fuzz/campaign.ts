import { setTimeout as sleep } from 'node:timers/promises';
import { checkProduceConsume } from './broker-probe.js';
import { type FrameSighting, type FuzzDriverOptions, type FuzzReport, runFuzz } from './fuzz-driver.js';

export interface CampaignOptions extends FuzzDriverOptions {
  /** How often a normal client checks that the broker still serves produce and fetch while it is fuzzed. */
  healthIntervalMs: number;
  healthTimeoutMs: number;
}

export interface CampaignResult {
  report: FuzzReport;
  /** Health checks run, the last one after the fuzzing. */
  healthChecks: number;
  healthFailures: string[];
}

/**
 * Fuzzes the broker while a normal client produces and fetches every `healthIntervalMs`, then once more at
 * the end: a broker that survives the frames but stops serving others fails too.
 */
export async function fuzzWhileServing(options: CampaignOptions): Promise<CampaignResult> {
  let healthChecks = 0;
  const healthFailures: string[] = [];
  const check = async () => {
    healthChecks++;
    try {
      await checkProduceConsume(options.host, options.port, healthChecks, options.healthTimeoutMs);
    } catch (error) {
      healthFailures.push(error instanceof Error ? error.message : String(error));
    }
  };
  const stop = new AbortController();
  const checks = (async () => {
    for (;;) {
      try {
        await sleep(options.healthIntervalMs, undefined, { signal: stop.signal });
      } catch {
        return;
      }
      await check();
    }
  })();
  let report: FuzzReport;
  try {
    report = await runFuzz(options);
  } finally {
    stop.abort();
    await checks;
  }
  if (report.aborted === null) await check();
  return { report, healthChecks, healthFailures };
}

/**
 * JoinGroup and SyncGroup are answered when a rebalance completes, which a member joined by an earlier fuzzed
 * frame and never heard from again holds back for up to its session or rebalance timeout (sessions may last
 * 30 min, as Kafka's group.max.session.timeout.ms). That wait is the protocol's, so it is not a hang; any
 * other frame left unanswered is.
 */
const REBALANCE_WAITS = new Set(['JoinGroup', 'SyncGroup']);

export function hangs(report: FuzzReport): FrameSighting[] {
  return report.stalls.filter((stall) => !REBALANCE_WAITS.has(stall.api));
}
