import type { Logger } from 'pino';
import { type RemoteCompression, RemoteLogClient } from '../client/remote-client.js';
import { PLAINTEXT, type RemoteSecurity } from '../client/remote-security.js';
import type { LogClient } from '../client/types.js';
import type { MirrorConfig } from './config.js';
import { MirrorError } from './errors.js';
import type { MirrorMetrics } from './metrics.js';
import type { MirrorOptions } from './mirror.js';
import { readsBatches } from './options.js';
import { compileFilter, type PolicyRule } from './policy.js';

// Apart from the config schema (config.ts), which every command's config parsing loads: the Kafka client
// library is loaded only where a mirror runs.

/**
 * A target reached through the Kafka client library. retries=0: a failed request fails at once and the mirror
 * reconnects with a fresh producer and reads the target's tail, instead of the library retrying blind.
 */
export function remoteTarget(
  bootstrapBrokers: string[],
  clientId: string,
  compression: RemoteCompression = 'none',
  security: RemoteSecurity = PLAINTEXT,
): () => RemoteLogClient {
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
      security,
    });
}

/** Mirror options from the config section; the source and how to list its topics come from the caller. */
export function mirrorOptionsFromConfig(
  config: MirrorConfig,
  source: { client: LogClient; listTopics: () => Promise<string[]> },
  logger: Logger,
  metrics?: MirrorMetrics,
): MirrorOptions {
  if (!readsBatches(source.client)) {
    throw new MirrorError(
      'INVALID_OPTIONS',
      'the mirror reads whole batches: its source must be a log client that does',
    );
  }
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
    connectTarget: remoteTarget(config.target, config.clientId, config.compression, config.security),
    ...(config.transactions
      ? { transactionalId: config.transactionalId ?? `${config.clientId}:${config.prefix}` }
      : {}),
    topics: typeof config.topics === 'string' ? new RegExp(config.topics) : config.topics,
    prefix: config.prefix,
    policies,
    logger,
    ...(metrics === undefined ? {} : { metrics }),
    ...(config.sourceRetentionMs === undefined ? {} : { sourceRetentionMs: config.sourceRetentionMs }),
  };
}
