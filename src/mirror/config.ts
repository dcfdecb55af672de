import type { Logger } from 'pino';
import { z } from 'zod';
import {
  REMOTE_COMPRESSION_CODECS,
  type RemoteCompression,
  RemoteLogClient,
} from '../client/remote-client.js';
import type { LogClient } from '../client/types.js';
import type { MirrorMetrics } from './metrics.js';
import type { MirrorOptions } from './mirror.js';
import { compileFilter, type PolicyRule } from './policy.js';

const hostPort = z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'expected HOST:PORT');
const pattern = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a regular expression' },
);
const filterValue = z.union([z.string(), z.number(), z.boolean()]);

/** The `mirror:` section of edgestream.yaml. */
export const mirrorConfigSchema = z.strictObject({
  /** The cloud cluster's bootstrap brokers. */
  target: z.array(hostPort).min(1).max(100),
  /** A pattern matched against whole source topic names, or a list of names. */
  topics: z.union([pattern, z.array(z.string().min(1)).min(1).max(10_000)]),
  prefix: z.string().regex(/^[A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"'),
  clientId: z.string().min(1).default('edgestream-mirror'),
  /**
   * Codec of the batches sent to the target. 'none' by default: Edgestream's embedded readers decode only
   * none and gzip, so lz4 and snappy suit a target whose consumers all go through a Kafka client library.
   */
  compression: z.enum(REMOTE_COMPRESSION_CODECS).default('none'),
  /** The source topics' retention.ms, for the warning when the backlog's age nears it. */
  sourceRetentionMs: z.number().int().min(1).optional(),
  policies: z
    .array(
      z.strictObject({
        topics: pattern,
        samplePercent: z.number().gt(0).max(100).optional(),
        filter: z
          .union([
            z.strictObject({ jsonField: z.string().min(1), equals: filterValue }),
            z.strictObject({ jsonField: z.string().min(1), in: z.array(filterValue).min(1).max(1_000) }),
            z.strictObject({ keyPattern: pattern }),
          ])
          .optional(),
      }),
    )
    .max(1_000)
    .default([]),
});

export type MirrorConfig = z.infer<typeof mirrorConfigSchema>;

/**
 * A target reached through the Kafka client library. retries=0: a failed request fails at once and the mirror
 * reconnects with a fresh producer and reads the target's tail, instead of the library retrying blind.
 */
export function remoteTarget(
  bootstrapBrokers: string[],
  clientId: string,
  compression: RemoteCompression = 'none',
): () => LogClient {
  let connection = 0;
  return () =>
    new RemoteLogClient({
      bootstrapBrokers,
      clientId: `${clientId}-${process.pid}-${++connection}`,
      retries: 0,
      connectTimeoutMs: 3_000,
      requestTimeoutMs: 15_000,
      replicationFactor: -1,
      compression,
    });
}

/** Mirror options from the config section; the source and how to list its topics come from the caller. */
export function mirrorOptionsFromConfig(
  config: MirrorConfig,
  source: { client: LogClient; listTopics: () => Promise<string[]> },
  logger: Logger,
  metrics?: MirrorMetrics,
): MirrorOptions {
  const policies: PolicyRule[] = config.policies.map((rule) => ({
    topics: new RegExp(rule.topics),
    policy: {
      ...(rule.samplePercent === undefined ? {} : { samplePercent: rule.samplePercent }),
      ...(rule.filter === undefined ? {} : { filter: compileFilter(rule.filter) }),
    },
  }));
  return {
    source: source.client,
    listSourceTopics: source.listTopics,
    connectTarget: remoteTarget(config.target, config.clientId, config.compression),
    topics: typeof config.topics === 'string' ? new RegExp(config.topics) : config.topics,
    prefix: config.prefix,
    policies,
    logger,
    ...(metrics === undefined ? {} : { metrics }),
    ...(config.sourceRetentionMs === undefined ? {} : { sourceRetentionMs: config.sourceRetentionMs }),
  };
}
