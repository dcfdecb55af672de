import {
  ListOffsets,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
} from '../../protocol/apis/list-offsets.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import type { ApiHandler } from '../server.js';
import type { TopicCatalog } from '../topic-catalog.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number];

/** ListOffsets: earliest, latest, the offset of the newest timestamp, or the first offset at or after a time. */
export function listOffsetsHandler(topics: TopicCatalog): ApiHandler {
  return {
    schema: ListOffsets,
    handle: (body, context) => {
      const request = body as unknown as ListOffsetsRequest;
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((p) =>
            lookup(topics, topic.name, p.partitionIndex, p.timestamp, context.apiVersion),
          ),
        })),
      } as unknown as ListOffsetsResponse;
    },
  };
}

function lookup(
  topics: TopicCatalog,
  topic: string,
  partitionIndex: number,
  timestamp: number,
  version: number,
): PartitionResponse {
  const response = {
    partitionIndex,
    errorCode: ErrorCode.NONE,
    oldStyleOffsets: [] as number[],
    timestamp: -1,
    offset: -1,
    leaderEpoch: 0,
  };
  try {
    const log = topics.partition(topic, partitionIndex);
    if (timestamp === LATEST) response.offset = log.highWatermark;
    else if (timestamp === EARLIEST) response.offset = log.logStartOffset;
    else if (timestamp === MAX_TIMESTAMP) {
      const newest = log.offsetOfMaxTimestamp();
      if (newest) Object.assign(response, newest);
    } else {
      const found = log.offsetForTimestamp(timestamp);
      if (found) Object.assign(response, found);
    }
    if (version === 0) response.oldStyleOffsets = response.offset >= 0 ? [response.offset] : [];
  } catch (error) {
    response.errorCode = errorCodeOf(error);
  }
  return response as unknown as PartitionResponse;
}
