import type { PartitionLog } from '../../log/index.js';
import {
  ListOffsets,
  type ListOffsetsResponse,
  ListOffsetsTimestamp,
} from '../../protocol/apis/list-offsets.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import type { TopicCatalog } from '../topic-catalog.js';

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number];
/** An offset and its timestamp, or null when no record is at or after the time asked for. */
type Located = ReturnType<PartitionLog['offsetForTimestamp']>;

/** ListOffsets: earliest, latest, the offset of the newest timestamp, or the first offset at or after a time. */
export function listOffsetsHandler(topics: TopicCatalog): ApiHandler {
  return defineHandler(ListOffsets, (request, context) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) =>
        lookup(topics, topic.name, p.partitionIndex, p.timestamp, context.apiVersion),
      ),
    })),
  }));
}

function lookup(
  topics: TopicCatalog,
  topic: string,
  partitionIndex: number,
  timestamp: number,
  version: number,
): PartitionResponse {
  const response = { partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets: [], leaderEpoch: 0 };
  let found: Located;
  try {
    found = locate(topics.partition(topic, partitionIndex), timestamp);
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

/** The offset (and its timestamp, -1 for earliest and latest) a ListOffsets timestamp asks for. */
function locate(log: PartitionLog, timestamp: number): Located {
  if (timestamp === ListOffsetsTimestamp.LATEST) return { offset: log.highWatermark, timestamp: -1 };
  if (timestamp === ListOffsetsTimestamp.EARLIEST) return { offset: log.logStartOffset, timestamp: -1 };
  if (timestamp === ListOffsetsTimestamp.MAX_TIMESTAMP) return log.offsetOfMaxTimestamp();
  return log.offsetForTimestamp(timestamp);
}
