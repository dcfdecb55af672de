import type { ClusterNode } from '../../cluster/index.js';
import type { PartitionLog } from '../../log/index.js';
import {
  ListOffsets,
  type ListOffsetsResponse,
  ListOffsetsTimestamp,
} from '../../protocol/apis/list-offsets.js';
import { IsolationLevel } from '../../protocol/index.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import type { TopicCatalog } from '../topic-catalog.js';

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number];
/** An offset and its timestamp, or null when no record is at or after the time asked for. */
type Located = ReturnType<PartitionLog['offsetForTimestamp']>;

/**
 * ListOffsets: earliest, latest, the offset of the newest timestamp, or the first offset at or after a time.
 * As Kafka, a topic needs DESCRIBE, else each of its partitions answers TOPIC_AUTHORIZATION_FAILED.
 */
export function listOffsetsHandler(
  topics: TopicCatalog,
  cluster: ClusterNode | null,
  access: Access,
): ApiHandler {
  return defineHandler(ListOffsets, (request, context) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => {
      const described = access.allows(
        context,
        ListOffsets.name,
        AclOperation.DESCRIBE,
        ResourceType.TOPIC,
        topic.name,
      );
      return {
        name: topic.name,
        partitions: topic.partitions.map((p) =>
          lookup(
            !described
              ? { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }
              : cluster
                ? leaderLogOf(cluster, topic.name, p.partitionIndex, p.currentLeaderEpoch)
                : localLogOf(topics, topic.name, p.partitionIndex),
            p.partitionIndex,
            p.timestamp,
            context.apiVersion,
            request.isolationLevel === IsolationLevel.READ_COMMITTED,
          ),
        ),
      };
    }),
  }));
}

/** A partition's log and leader epoch, or the error that answers for it. */
type Source = { log: PartitionLog; leaderEpoch: number } | { errorCode: number };

function localLogOf(topics: TopicCatalog, topic: string, partition: number): Source {
  try {
    return { log: topics.partition(topic, partition), leaderEpoch: 0 };
  } catch (error) {
    return { errorCode: errorCodeOf(error) };
  }
}

/** In a cluster only the leader at the caller's leader epoch answers (KIP-320). */
function leaderLogOf(
  cluster: ClusterNode,
  topic: string,
  partition: number,
  currentLeaderEpoch: number,
): Source {
  const found = cluster.replicas.lookupLeader(topic, partition, currentLeaderEpoch);
  if ('errorCode' in found) return { errorCode: found.errorCode };
  return { log: found.leader.log, leaderEpoch: found.leader.leaderEpoch };
}

function lookup(
  source: Source,
  partitionIndex: number,
  timestamp: number,
  version: number,
  readCommitted: boolean,
): PartitionResponse {
  const response = { partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets: [], leaderEpoch: -1 };
  if ('errorCode' in source) return { ...response, errorCode: source.errorCode, timestamp: -1, offset: -1 };
  response.leaderEpoch = source.leaderEpoch;
  let found: Located;
  try {
    found = locate(source.log, timestamp, readCommitted);
  } catch (error) {
    return { ...response, errorCode: errorCodeOf(error), timestamp: -1, offset: -1 };
  }
  const offset = found?.offset ?? -1;
  return {
    ...response,
    // v0 answers with a list of offsets instead of one.
    oldStyleOffsets: version === 0 && offset >= 0 ? [offset] : [],
    timestamp: found?.timestamp ?? -1,
    offset,
  };
}

/**
 * The offset (and its timestamp, -1 for earliest and latest) a ListOffsets timestamp asks for; read_committed
 * sees the log up to its last stable offset instead of its high watermark.
 */
function locate(log: PartitionLog, timestamp: number, readCommitted: boolean): Located {
  const end = readCommitted ? log.lastStableOffset : log.highWatermark;
  if (timestamp === ListOffsetsTimestamp.LATEST) return { offset: end, timestamp: -1 };
  if (timestamp === ListOffsetsTimestamp.EARLIEST) return { offset: log.logStartOffset, timestamp: -1 };
  const found =
    timestamp === ListOffsetsTimestamp.MAX_TIMESTAMP
      ? log.offsetOfMaxTimestamp()
      : log.offsetForTimestamp(timestamp);
  return found !== null && found.offset >= end ? null : found;
}
