import { LogClientError } from './client-errors.js';
import { LOG_CLIENT_LIMITS } from './client-limits.js';
import type {
  CommitEntry,
  DeleteRecordsEntry,
  FetchOptions,
  FetchRequest,
  OutgoingRecord,
  TopicSpec,
} from './types.js';

// The argument checks both clients make before doing anything, so the same call fails the same way on either.

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function checkTopicSpec(spec: TopicSpec): void {
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
    throw new LogClientError(
      'INVALID_ARGUMENT',
      `topic '${spec.name}' needs a partition count >= 1, got ${spec.partitions}`,
    );
  }
}

/** The record count and every timestamp; sizes are each client's, as their limits differ. */
export function checkProduceRecords(records: readonly Omit<OutgoingRecord, 'value'>[]): void {
  const { maxRecordsPerProduce } = LOG_CLIENT_LIMITS;
  if (records.length > maxRecordsPerProduce) {
    throw new LogClientError(
      'INVALID_ARGUMENT',
      `${records.length} records in one produce call; the limit is ${maxRecordsPerProduce}`,
    );
  }
  for (const record of records) {
    if (!Number.isSafeInteger(record.timestamp) || record.timestamp < 0) {
      throw new LogClientError(
        'INVALID_ARGUMENT',
        `timestamp ${record.timestamp} of a record for ${record.topic}-${record.partition} is not ` +
          'milliseconds since the epoch',
      );
    }
  }
}

/** `maxWaitMs` is the client's own bound on a fetch's wait; `why` says where it comes from. */
export function checkFetchOptions(options: FetchOptions, maxWaitMs: number, why = ''): void {
  const { maxFetchBytes } = LOG_CLIENT_LIMITS;
  if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1 || options.maxBytes > maxFetchBytes) {
    throw new LogClientError(
      'INVALID_ARGUMENT',
      `maxBytes=${options.maxBytes} is invalid: expected an integer between 1 and ${maxFetchBytes}`,
    );
  }
  if (!Number.isInteger(options.maxWaitMs) || options.maxWaitMs < 0 || options.maxWaitMs > maxWaitMs) {
    throw new LogClientError(
      'INVALID_ARGUMENT',
      `maxWaitMs=${options.maxWaitMs} is invalid: expected an integer between 0 and ${maxWaitMs}${why}`,
    );
  }
}

/** At most maxPartitionsPerFetch partitions, each once, each from an offset >= 0. */
export function checkFetchRequests(requests: FetchRequest[]): void {
  const { maxPartitionsPerFetch } = LOG_CLIENT_LIMITS;
  if (requests.length > maxPartitionsPerFetch) {
    throw new LogClientError(
      'INVALID_ARGUMENT',
      `${requests.length} partitions in one fetch; the limit is ${maxPartitionsPerFetch}`,
    );
  }
  const seen = new Set<string>();
  for (const request of requests) {
    const key = partitionKey(request.topic, request.partition);
    if (seen.has(key)) {
      throw new LogClientError(
        'INVALID_ARGUMENT',
        `${request.topic}-${request.partition} is requested twice in one fetch`,
      );
    }
    seen.add(key);
    if (!Number.isSafeInteger(request.offset) || request.offset < 0) {
      throw new LogClientError(
        'INVALID_ARGUMENT',
        `fetch offset ${request.offset} for ${request.topic}-${request.partition} must be an integer >= 0`,
      );
    }
  }
}

export function checkCommitEntries(entries: CommitEntry[]): void {
  for (const entry of entries) {
    if (!Number.isSafeInteger(entry.offset) || entry.offset < 0) {
      throw new LogClientError(
        'INVALID_ARGUMENT',
        `committed offset ${entry.offset} for ${entry.topic}-${entry.partition} must be an integer >= 0`,
      );
    }
  }
}

/** Each partition once, each offset >= 0 (Kafka's -1, "the high watermark", is not offered). */
export function checkDeleteRecords(entries: DeleteRecordsEntry[]): void {
  const seen = new Set<string>();
  for (const entry of entries) {
    const key = partitionKey(entry.topic, entry.partition);
    if (seen.has(key)) {
      throw new LogClientError('INVALID_ARGUMENT', `${entry.topic}-${entry.partition} is named twice`);
    }
    seen.add(key);
    if (!Number.isSafeInteger(entry.offset) || entry.offset < 0) {
      throw new LogClientError(
        'INVALID_ARGUMENT',
        `delete-records offset ${entry.offset} for ${entry.topic}-${entry.partition} must be an integer >= 0`,
      );
    }
  }
}

/** `partitionCount` is the topic's, as the client learnt it. */
export function checkPartitionIndex(topic: string, partition: number, partitionCount: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
    throw new LogClientError(
      'UNKNOWN_PARTITION',
      `topic '${topic}' has partitions 0..${partitionCount - 1}; there is no partition ${partition}`,
    );
  }
}

/** joinGroup()'s arguments, against the groups this client has already joined. */
export function checkJoinGroup(
  groupId: string,
  topics: string[],
  joined: ReadonlyMap<string, unknown>,
): void {
  if (groupId === '') throw new LogClientError('INVALID_ARGUMENT', 'the group id is empty');
  if (topics.length === 0) {
    throw new LogClientError('INVALID_ARGUMENT', `group '${groupId}' needs at least one topic`);
  }
  if (joined.has(groupId)) {
    throw new LogClientError('GROUP_ALREADY_JOINED', `this client already consumes group '${groupId}'`);
  }
  const { maxGroupsPerClient } = LOG_CLIENT_LIMITS;
  if (joined.size >= maxGroupsPerClient) {
    throw new LogClientError(
      'INVALID_ARGUMENT',
      `this client is in ${joined.size} groups; the limit is ${maxGroupsPerClient}`,
    );
  }
}
