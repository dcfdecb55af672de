import type { ClusterNode } from '../cluster/index.js';
import { LogError, type PartitionLog } from '../log/index.js';
import { encodeMarkerBatch } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from './error-codes.js';
import { OFFSETS_TOPIC } from './offset-store.js';
import type { PartitionWatch } from './partition-watch.js';
import type { TopicCatalog } from './topic-catalog.js';

export interface TxnMarker {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  committed: boolean;
}

/**
 * Writes the marker as a control batch to every partition, on this broker (single node, or this broker leads
 * them). Resolves per partition with a Kafka error code (NONE when durable/replicated as acks=all).
 */
export interface TxnMarkerWriter {
  write(
    marker: TxnMarker,
    partitions: ReadonlyArray<{ topic: string; partition: number }>,
  ): Promise<Array<{ topic: string; partition: number; errorCode: number }>>;
}

export interface TxnMarkerWriterDependencies {
  topics: TopicCatalog;
  watch: PartitionWatch;
  /** The replicated cluster this broker belongs to; null for a single node. */
  cluster: ClusterNode | null;
  /** How long a marker waits for the in-sync replicas before it is answered REQUEST_TIMED_OUT. */
  replicationTimeoutMs: number;
  /**
   * A marker is acknowledged in a `__consumer_offsets` partition: the group coordinator there applies or
   * drops the producer's transactional offsets (Kafka's group coordinator does the same on its markers).
   */
  offsetsMarked(partition: number, marker: TxnMarker): void;
}

/**
 * The partition leader's marker writer: on a single node every partition's own log; in a cluster only the
 * partitions this broker leads (NOT_LEADER_OR_FOLLOWER otherwise), acknowledged once the ISR has the marker.
 */
export function localTxnMarkerWriter(deps: TxnMarkerWriterDependencies): TxnMarkerWriter {
  return {
    write: (marker, partitions) =>
      Promise.all(
        partitions.map(async ({ topic, partition }) => {
          const errorCode = await writeOne(deps, marker, topic, partition);
          if (errorCode === ErrorCode.NONE && topic === OFFSETS_TOPIC) deps.offsetsMarked(partition, marker);
          return { topic, partition, errorCode };
        }),
      ),
  };
}

async function writeOne(
  deps: TxnMarkerWriterDependencies,
  marker: TxnMarker,
  topic: string,
  partition: number,
): Promise<number> {
  const batch = encodeMarkerBatch(marker, Date.now());
  try {
    if (!deps.cluster) {
      const log = deps.topics.partition(topic, partition);
      await appendMarker(deps, log, batch, topic, partition, undefined);
      return ErrorCode.NONE;
    }
    const found = deps.cluster.replicas.lookupLeader(topic, partition, -1);
    if ('errorCode' in found) return found.errorCode;
    const { leader } = found;
    const endOffset = await appendMarker(deps, leader.log, batch, topic, partition, leader.leaderEpoch);
    leader.updateHighWatermark();
    return await leader.waitForCommit(endOffset, deps.replicationTimeoutMs);
  } catch (error) {
    if (!(error instanceof LogError)) throw error;
    return errorCodeOf(error);
  }
}

/** Appends the control batch and waits for it to be durable; returns the log end offset after it. */
async function appendMarker(
  deps: TxnMarkerWriterDependencies,
  log: PartitionLog,
  batch: Buffer,
  topic: string,
  partition: number,
  leaderEpoch: number | undefined,
): Promise<number> {
  const result = log.write(batch, { marker: true, ...(leaderEpoch === undefined ? {} : { leaderEpoch }) });
  await log.durable();
  // Read-committed fetches waiting on this partition may now see further (the LSO moved).
  deps.watch.notify(topic, partition);
  return result.lastOffset + 1;
}
