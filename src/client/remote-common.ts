import { LogClientError } from './client-errors.js';
import { PLAINTEXT, type RemoteSecurity } from './remote-security.js';

export interface RemoteGroupOptions {
  /** The coordinator drops a member it has not heard from for this long and gives its partitions to others. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How long the coordinator waits for every member to rejoin during a rebalance. */
  rebalanceTimeoutMs: number;
  /** Pause before joining again after the library gave up rejoining (the cluster was unreachable). */
  rejoinDelayMs: number;
}

export interface RemoteLogClientOptions {
  /** `host:port` of one or more brokers of the cluster. */
  bootstrapBrokers: string[];
  clientId: string;
  connectTimeoutMs?: number;
  /** Also bounds a fetch's maxWaitMs, which must stay below it. */
  requestTimeoutMs?: number;
  /** Attempts after the first for a request that failed with a retriable error. */
  retries?: number;
  retryDelayMs?: number;
  metadataMaxAgeMs?: number;
  /** Replicas of topics ensureTopic() creates; -1 takes the cluster's default.replication.factor. */
  replicationFactor?: number;
  /** Bytes of records in one produce request; keep it within the cluster's message.max.bytes. */
  maxProduceRequestBytes?: number;
  /** Codec of the record batches this client produces; fetches decode whatever codec a batch carries. */
  compression?: RemoteCompression;
  group?: Partial<RemoteGroupOptions>;
  /** TLS and SASL towards a secured cluster; PLAINTEXT when absent. */
  security?: RemoteSecurity;
}

/**
 * Codecs the client library encodes in-process (gzip through node:zlib, snappy and lz4 through WebAssembly).
 * zstd is left out: the library needs node:zlib's zstd, which Node 20 does not have.
 */
export const REMOTE_COMPRESSION_CODECS = ['none', 'gzip', 'snappy', 'lz4'] as const;
export type RemoteCompression = (typeof REMOTE_COMPRESSION_CODECS)[number];

export type ResolvedOptions = Required<Omit<RemoteLogClientOptions, 'group'>> & { group: RemoteGroupOptions };

export const REMOTE_CLIENT_DEFAULTS = {
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  retries: 3,
  retryDelayMs: 250,
  metadataMaxAgeMs: 5_000,
  replicationFactor: -1,
  maxProduceRequestBytes: 1_000_000,
  compression: 'none',
  group: {
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
    rebalanceTimeoutMs: 60_000,
    rejoinDelayMs: 1_000,
  },
} as const;

export function resolveOptions(options: RemoteLogClientOptions): ResolvedOptions {
  if (options.bootstrapBrokers.length === 0) {
    throw new LogClientError('INVALID_ARGUMENT', 'bootstrapBrokers is empty: give at least one host:port');
  }
  for (const broker of options.bootstrapBrokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      throw new LogClientError('INVALID_ARGUMENT', `bootstrap broker '${broker}' is not host:port`);
    }
  }
  if (options.clientId === '') throw new LogClientError('INVALID_ARGUMENT', 'clientId is empty');
  const compression = options.compression ?? REMOTE_CLIENT_DEFAULTS.compression;
  if (!REMOTE_COMPRESSION_CODECS.includes(compression)) {
    throw new LogClientError(
      'INVALID_ARGUMENT',
      `compression '${compression}' is not one of ${REMOTE_COMPRESSION_CODECS.join(', ')}`,
    );
  }
  const group = { ...REMOTE_CLIENT_DEFAULTS.group, ...options.group };
  if (
    group.heartbeatIntervalMs >= group.sessionTimeoutMs ||
    group.sessionTimeoutMs > group.rebalanceTimeoutMs
  ) {
    throw new LogClientError(
      'INVALID_ARGUMENT',
      `group timings need heartbeatIntervalMs < sessionTimeoutMs <= rebalanceTimeoutMs, got ` +
        `${group.heartbeatIntervalMs}, ${group.sessionTimeoutMs} and ${group.rebalanceTimeoutMs}`,
    );
  }
  return {
    bootstrapBrokers: options.bootstrapBrokers,
    clientId: options.clientId,
    connectTimeoutMs: options.connectTimeoutMs ?? REMOTE_CLIENT_DEFAULTS.connectTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? REMOTE_CLIENT_DEFAULTS.requestTimeoutMs,
    retries: options.retries ?? REMOTE_CLIENT_DEFAULTS.retries,
    retryDelayMs: options.retryDelayMs ?? REMOTE_CLIENT_DEFAULTS.retryDelayMs,
    metadataMaxAgeMs: options.metadataMaxAgeMs ?? REMOTE_CLIENT_DEFAULTS.metadataMaxAgeMs,
    replicationFactor: options.replicationFactor ?? REMOTE_CLIENT_DEFAULTS.replicationFactor,
    maxProduceRequestBytes: options.maxProduceRequestBytes ?? REMOTE_CLIENT_DEFAULTS.maxProduceRequestBytes,
    compression,
    group,
    security: options.security ?? PLAINTEXT,
  };
}
