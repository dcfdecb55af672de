import type { apiVersionsV3 } from '@platformatic/kafka';
import { LogClientError } from './client-errors.js';
import type { CommitEntry } from './types.js';

/**
 * The newest of `candidates` (library request builders of one API, each for one version) that the cluster
 * supports, for requests the client sends itself rather than through the library's own negotiation.
 */
export function usableApi<Api extends { version: number }>(
  supported: readonly apiVersionsV3.ApiVersionsResponseApi[],
  name: string,
  candidates: readonly Api[],
): Api {
  const range = supported.find((api) => api.name === name);
  const usable = [...candidates]
    .sort((a, b) => b.version - a.version)
    .find((api) => range && api.version >= range.minVersion && api.version <= range.maxVersion);
  if (!usable) {
    throw new LogClientError(
      'UNSUPPORTED_BY_CLUSTER',
      `the cluster's ${name} versions ${range ? `${range.minVersion}..${range.maxVersion}` : '(none)'} do not ` +
        `include ${candidates.map((api) => api.version).join(' or ')}`,
    );
  }
  return usable;
}

/** Offsets to commit as OffsetCommit and TxnOffsetCommit requests carry them: per topic, then per partition. */
export function commitRequestTopics(entries: readonly CommitEntry[]): Array<{
  name: string;
  partitions: Array<{
    partitionIndex: number;
    committedOffset: bigint;
    committedLeaderEpoch: number;
    committedMetadata: string | null;
  }>;
}> {
  const byTopic = new Map<string, CommitEntry[]>();
  for (const entry of entries) {
    const topicEntries = byTopic.get(entry.topic);
    if (topicEntries) topicEntries.push(entry);
    else byTopic.set(entry.topic, [entry]);
  }
  return [...byTopic].map(([name, topicEntries]) => ({
    name,
    partitions: topicEntries.map((entry) => ({
      partitionIndex: entry.partition,
      committedOffset: BigInt(entry.offset),
      committedLeaderEpoch: -1,
      committedMetadata: entry.metadata ?? null,
    })),
  }));
}
