import type { Logger } from 'pino';
import type { PartitionBatches } from '../client/batch-records.js';
import type { BatchTargetClient, FetchOptions, FetchRequest, LogClient } from '../client/types.js';
import { MirrorError } from './errors.js';
import type { MirrorMetrics } from './metrics.js';
import { checkPolicy, type PolicyRule } from './policy.js';

export const MIRROR_DEFAULTS = {
  // 512 KiB: one fetch's records, decoded and re-encoded, stay small enough to die young (at 2 MiB they outgrew
  // the young generation: 20-25% slower in bench:mirror) and fit one produce request of the default 1 MB.
  fetchMaxBytes: 2 * 1024 * 1024,
  fetchMaxWaitMs: 500,
  backoffBaseMs: 200,
  backoffCapMs: 5_000,
  resumeSettleMs: 500,
  topicRefreshIntervalMs: 30_000,
  lagRefreshIntervalMs: 5_000,
  retentionWarnRatio: 0.8,
  produceStallMs: 5_000,
  closeTimeoutMs: 5_000,
} as const;

export const MIRROR_LIMITS = {
  /** Partitions one mirror forwards (one fetch request carries them all). */
  maxPartitions: 10_000,
  /** Target partitions whose tail is read at once when resuming. */
  tailReadConcurrency: 32,
  /** Rounds of reading the target tails until two agree, before giving up on this connection. */
  maxSettleRounds: 10,
  /** Kafka's own limit on topic names. */
  maxTopicNameLength: 249,
  /**
   * Records in one forwarded batch: well below a target's default max.message.bytes (1 MiB) and the client's
   * produce request limit, also with the provenance headers a batch gains.
   */
  maxForwardedBatchBytes: 512 * 1024,
} as const;

/** A log the mirror reads whole batches of: the embedded and the remote client. */
export interface BatchSourceClient extends LogClient {
  fetchBatches(requests: FetchRequest[], options: FetchOptions): Promise<PartitionBatches[]>;
}

export function readsBatches(client: LogClient): client is BatchSourceClient {
  return 'fetchBatches' in client;
}

export interface MirrorOptions {
  /** The log forwarded from; owned by the caller (the mirror never closes it). */
  source: BatchSourceClient;
  /**
   * Opens a new client of the target. Called on start and again after every failure: a failed produce may
   * have been appended or not, and a fresh client (a fresh idempotent producer id) cannot reuse the sequence
   * numbers of what it never saw acknowledged. The mirror closes the clients it opened.
   */
  connectTarget: () => BatchTargetClient;
  /**
   * Forward in Kafka transactions under this transactional id (one transaction per forwarded batch). Each new
   * target client first fences the producers of every earlier one, so a request a dead mirror left on the
   * wire can no longer land after the tails are read. Without it the mirror writes with an idempotent
   * producer and settles the tails instead (see docs/mirror.md).
   */
  transactionalId?: string;
  /** Source topic names, or a pattern for every source topic whose whole name matches. */
  topics: string[] | RegExp;
  /** The source's topic names; needed with a pattern, as LogClient has no listing. */
  listSourceTopics?: () => Promise<string[]>;
  /** Prepended to a source topic's name to name its target topic, e.g. `site-a.`. */
  prefix: string;
  /** Filtering and sampling, first matching rule per topic; topics no rule matches forward everything. */
  policies?: PolicyRule[];
  logger: Logger;
  metrics?: MirrorMetrics;
  fetchMaxBytes?: number;
  fetchMaxWaitMs?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Pause between two reads of the target tails on resume; they must agree (see docs/mirror.md). */
  resumeSettleMs?: number;
  topicRefreshIntervalMs?: number;
  lagRefreshIntervalMs?: number;
  /** The source topics' retention.ms, when known: the backlog's age is compared with it. */
  sourceRetentionMs?: number;
  /** Warn when the backlog reaches this share of what retention keeps. */
  retentionWarnRatio?: number;
  /** A produce not acknowledged for this long marks the link down (the request is still awaited). */
  produceStallMs?: number;
  /** How long close() waits for the target clients it opened to close. */
  closeTimeoutMs?: number;
}

export type Settings = Required<
  Pick<
    MirrorOptions,
    | 'fetchMaxBytes'
    | 'fetchMaxWaitMs'
    | 'backoffBaseMs'
    | 'backoffCapMs'
    | 'resumeSettleMs'
    | 'topicRefreshIntervalMs'
    | 'lagRefreshIntervalMs'
    | 'retentionWarnRatio'
    | 'produceStallMs'
    | 'closeTimeoutMs'
  >
>;

const TOPIC_NAME = /^[A-Za-z0-9._-]+$/;

/** Whether the pattern matches the whole name, not only a part of it. */
export function wholeMatch(pattern: RegExp, name: string): boolean {
  const match = pattern.exec(name);
  return match !== null && match.index === 0 && match[0].length === name.length;
}

export function checkTopicName(name: string): void {
  if (!TOPIC_NAME.test(name) || name.length > MIRROR_LIMITS.maxTopicNameLength) {
    throw new MirrorError(
      'INVALID_OPTIONS',
      `target topic name '${name}' is invalid: expected 1 to ${MIRROR_LIMITS.maxTopicNameLength} of ` +
        'letters, digits, ".", "_" and "-"',
    );
  }
}

export function resolveSettings(options: MirrorOptions): Settings {
  const settings: Settings = {
    fetchMaxBytes: options.fetchMaxBytes ?? MIRROR_DEFAULTS.fetchMaxBytes,
    fetchMaxWaitMs: options.fetchMaxWaitMs ?? MIRROR_DEFAULTS.fetchMaxWaitMs,
    backoffBaseMs: options.backoffBaseMs ?? MIRROR_DEFAULTS.backoffBaseMs,
    backoffCapMs: options.backoffCapMs ?? MIRROR_DEFAULTS.backoffCapMs,
    resumeSettleMs: options.resumeSettleMs ?? MIRROR_DEFAULTS.resumeSettleMs,
    topicRefreshIntervalMs: options.topicRefreshIntervalMs ?? MIRROR_DEFAULTS.topicRefreshIntervalMs,
    lagRefreshIntervalMs: options.lagRefreshIntervalMs ?? MIRROR_DEFAULTS.lagRefreshIntervalMs,
    retentionWarnRatio: options.retentionWarnRatio ?? MIRROR_DEFAULTS.retentionWarnRatio,
    produceStallMs: options.produceStallMs ?? MIRROR_DEFAULTS.produceStallMs,
    closeTimeoutMs: options.closeTimeoutMs ?? MIRROR_DEFAULTS.closeTimeoutMs,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new MirrorError('INVALID_OPTIONS', `${name}=${value} is invalid: expected a number >= 0`);
    }
  }
  if (!(settings.retentionWarnRatio > 0 && settings.retentionWarnRatio <= 1)) {
    throw new MirrorError(
      'INVALID_OPTIONS',
      `retentionWarnRatio=${settings.retentionWarnRatio} is invalid: expected 0 < ratio <= 1`,
    );
  }
  if (settings.fetchMaxBytes < 1) {
    throw new MirrorError(
      'INVALID_OPTIONS',
      `fetchMaxBytes=${settings.fetchMaxBytes} is invalid: expected >= 1`,
    );
  }
  if (!(settings.backoffBaseMs > 0 && settings.backoffCapMs >= settings.backoffBaseMs)) {
    throw new MirrorError(
      'INVALID_OPTIONS',
      `backoff needs 0 < backoffBaseMs <= backoffCapMs, got ${settings.backoffBaseMs} and ${settings.backoffCapMs}`,
    );
  }
  if (options.prefix !== '' && !TOPIC_NAME.test(options.prefix)) {
    throw new MirrorError(
      'INVALID_OPTIONS',
      `prefix '${options.prefix}' may hold only letters, digits, ".", "_", "-"`,
    );
  }
  if (Array.isArray(options.topics)) {
    if (options.topics.length === 0) throw new MirrorError('INVALID_OPTIONS', 'no topics to forward');
  } else if (!options.listSourceTopics) {
    throw new MirrorError(
      'INVALID_OPTIONS',
      'a topic pattern needs listSourceTopics to list the source topics',
    );
  }
  for (const [i, rule] of (options.policies ?? []).entries()) checkPolicy(rule.policy, `policies[${i}]`);
  const { sourceRetentionMs } = options;
  if (sourceRetentionMs !== undefined && !(sourceRetentionMs > 0)) {
    throw new MirrorError(
      'INVALID_OPTIONS',
      `sourceRetentionMs=${sourceRetentionMs} is invalid: expected > 0`,
    );
  }
  return settings;
}
