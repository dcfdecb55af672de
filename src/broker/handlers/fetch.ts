import type { ClusterNode } from '../../cluster/index.js';
import type { PartitionLog, ReadResult } from '../../log/index.js';
import { Fetch, type FetchRequest, type FetchResponse } from '../../protocol/apis/fetch.js';
import {
  BATCH_LENGTH_PREFIX_BYTES,
  BatchField,
  countLegacyMessages,
  IsolationLevel,
  legacyMagicForFetch,
  readDownConverted,
} from '../../protocol/index.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import type { ClientQuotas } from '../client-quotas.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import type { BrokerMetrics } from '../metrics.js';
import { PartitionWatch } from '../partition-watch.js';
import type { TopicCatalog } from '../topic-catalog.js';

type TopicResponse = FetchResponse['responses'][number];
type PartitionResponse = TopicResponse['partitions'][number];

export interface FetchDependencies {
  topics: TopicCatalog;
  watch: PartitionWatch;
  metrics: BrokerMetrics;
  maxFetchWaitMs: number;
  /** The replicated cluster this broker belongs to; null for a single node. */
  cluster: ClusterNode | null;
  access: Access;
  quotas: ClientQuotas;
}

/** The topics a fetch may not read: none (null), some by name, or all of them (a follower without CLUSTER_ACTION). */
type Unreadable = ReadonlySet<string> | 'all' | null;

type FetchPartition = FetchRequest['topics'][number]['partitions'][number];

/** Fetch v3 and older have no response-wide byte limit; this keeps one response bounded anyway. */
const DEFAULT_RESPONSE_MAX_BYTES = 50 * 1024 * 1024;

/**
 * Fetch with long polling: answer at once when min.bytes are available, otherwise wait for an append to any
 * requested partition or for max.wait.ms, then answer with whatever is there.
 */
export function fetchHandler(deps: FetchDependencies): ApiHandler {
  return defineHandler(Fetch, (request, context) => handleFetch(deps, request, context));
}

/** Fetch v13+ names topics by id; an id we do not know is answered with UNKNOWN_TOPIC_ID. */
const TOPIC_IDS_FROM = 13;

async function handleFetch(
  deps: FetchDependencies,
  request: FetchRequest,
  context: RequestContext,
): Promise<FetchResponse> {
  const version = context.apiVersion;
  if (version >= TOPIC_IDS_FROM) {
    for (const topic of request.topics) topic.topic = deps.topics.nameOf(topic.topicId) ?? '';
  }
  // Checked once per request, not again on each wake-up of the long poll.
  const unreadable = unreadableTopics(deps.access, request, context);
  const maxBytes = version >= 3 ? Math.max(0, request.maxBytes) : DEFAULT_RESPONSE_MAX_BYTES;
  const deadline = Date.now() + Math.min(Math.max(0, request.maxWaitMs), deps.maxFetchWaitMs);
  let result = readAll(deps, request, maxBytes, version, unreadable);
  while (result.bytes < request.minBytes && !result.failed && Date.now() < deadline) {
    await waitForData(deps.watch, request, deadline - Date.now());
    result = readAll(deps, request, maxBytes, version, unreadable);
  }
  // Followers are replication, not consumers: consumer_byte_rate does not apply to them.
  if (
    request.replicaId < 0 &&
    deps.quotas.enforces('fetch') &&
    throttleFetch(deps.quotas, result.bytes, context)
  ) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: [] };
  }
  for (const topic of result.responses) {
    for (const partition of topic.partitions) {
      if (partition.records && partition.records.length > 0) {
        deps.metrics.bytesOut.inc({ topic: topic.topic }, partition.records.length);
        const records =
          legacyMagicForFetch(version) === null
            ? countRecords(partition.records)
            : countLegacyMessages(partition.records);
        deps.metrics.recordsOut.inc({ topic: topic.topic }, records);
      }
    }
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: 0,
    responses: result.responses,
  };
}

/**
 * Records the response's record bytes against the client's consumer_byte_rate. Over the quota, as Kafka
 * (KIP-219), the bytes are taken back and the fetch is answered empty: the client is throttled and fetches
 * the same offsets again afterwards. True when throttled.
 */
function throttleFetch(quotas: ClientQuotas, bytes: number, context: RequestContext): boolean {
  const { principal } = context.session;
  const throttleMs = quotas.record('fetch', principal, context.clientId, bytes);
  if (throttleMs === 0) return false;
  quotas.unrecord('fetch', principal, context.clientId, bytes);
  if (throttleMs > context.throttleTimeMs) context.throttleTimeMs = throttleMs;
  return true;
}

/**
 * As Kafka: a follower (replica id >= 0) needs CLUSTER_ACTION on the cluster, else every partition answers
 * TOPIC_AUTHORIZATION_FAILED; a consumer needs READ on each topic. One check per topic, not per partition.
 */
function unreadableTopics(access: Access, request: FetchRequest, context: RequestContext): Unreadable {
  if (request.replicaId >= 0) {
    return access.allowsCluster(context, Fetch.name, AclOperation.CLUSTER_ACTION) ? null : 'all';
  }
  let denied: Set<string> | null = null;
  for (const { topic } of request.topics) {
    if (topic === '' || denied?.has(topic)) continue;
    if (!access.allows(context, Fetch.name, AclOperation.READ, ResourceType.TOPIC, topic)) {
      denied ??= new Set();
      denied.add(topic);
    }
  }
  return denied;
}

function waitForData(watch: PartitionWatch, request: FetchRequest, waitMs: number): Promise<void> {
  const keys = request.topics.flatMap((t) =>
    t.partitions.map((p) => PartitionWatch.key(t.topic, p.partition)),
  );
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      cancel();
      resolve();
    }, waitMs);
    const cancel = watch.watch(keys, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function readAll(
  deps: FetchDependencies,
  request: FetchRequest,
  maxBytes: number,
  version: number,
  unreadable: Unreadable,
): { responses: TopicResponse[]; bytes: number; failed: boolean } {
  let bytes = 0;
  let failed = false;
  // Fetch v0-v3 clients read the message formats before RecordBatch v2: what they get is converted.
  const legacyMagic = legacyMagicForFetch(version);
  // Fetch v4+ may ask for read_committed: only below the last stable offset, aborted transactions listed.
  const readCommitted = version >= 4 && request.isolationLevel === IsolationLevel.READ_COMMITTED;
  const responses = request.topics.map((topic) => ({
    topic: topic.topic,
    topicId: topic.topicId,
    partitions: topic.partitions.map((partition) => {
      const response: PartitionResponse = {
        partitionIndex: partition.partition,
        errorCode: ErrorCode.NONE,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
        abortedTransactions: version >= 4 ? [] : null,
        preferredReadReplica: -1,
        records: Buffer.alloc(0),
      };
      if (topic.topic === '' && unreadable !== 'all') {
        response.errorCode = ErrorCode.UNKNOWN_TOPIC_ID;
        failed = true;
        return response;
      }
      if (unreadable === 'all' || unreadable?.has(topic.topic) === true) {
        response.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        failed = true;
        return response;
      }
      try {
        const source = sourceOf(deps, topic.topic, partition, request.replicaId);
        if (typeof source === 'number') {
          response.errorCode = source;
          failed = true;
          return response;
        }
        const log = source.log;
        response.highWatermark = log.highWatermark;
        response.lastStableOffset = log.lastStableOffset;
        response.logStartOffset = log.logStartOffset;
        // Past the response limit only the first partition must still return a batch (KIP-74).
        const limit = Math.min(partition.partitionMaxBytes, maxBytes - bytes);
        if (limit > 0 || bytes === 0) {
          const max = Math.max(limit, 1);
          if (legacyMagic !== null) {
            // Old clients read uncommitted, as Kafka's do (isolation levels came with Fetch v4).
            const read = readDownConverted(
              source.read,
              partition.fetchOffset,
              legacyMagic,
              max,
              source.log.maxDecompressedBytes,
            );
            response.records = read.records;
            response.highWatermark = read.highWatermark;
          } else if (readCommitted && request.replicaId < 0) {
            const read = log.readCommitted(partition.fetchOffset, max);
            response.records = read.records;
            response.highWatermark = read.highWatermark;
            response.lastStableOffset = read.lastStableOffset;
            response.abortedTransactions = read.abortedTransactions.map(({ producerId, firstOffset }) => ({
              producerId,
              firstOffset,
            }));
          } else {
            const read = source.read(partition.fetchOffset, max);
            response.records = read.records;
            response.highWatermark = read.highWatermark;
          }
          bytes += response.records?.length ?? 0;
        }
      } catch (error) {
        response.errorCode = errorCodeOf(error);
        failed = true;
      }
      return response;
    }),
  }));
  return { responses, bytes, failed };
}

/**
 * Where a partition is read from: the local log on a single node; in a cluster only the leader at the
 * epoch the fetcher names answers, consumers up to the high watermark and followers (replica id >= 0) up
 * to the log end, each follower fetch moving its position, the ISR and the high watermark.
 */
function sourceOf(
  deps: FetchDependencies,
  topic: string,
  partition: FetchPartition,
  replicaId: number,
): { log: PartitionLog; read: (offset: number, maxBytes: number) => ReadResult } | number {
  if (!deps.cluster) {
    const log = deps.topics.partition(topic, partition.partition);
    return { log, read: (offset, max) => log.read(offset, max) };
  }
  const found = deps.cluster.replicas.lookupLeader(topic, partition.partition, partition.currentLeaderEpoch);
  if ('errorCode' in found) {
    if (found.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      deps.cluster.metrics.fencedRequests.inc({ api: 'Fetch' });
    return found.errorCode;
  }
  const { leader } = found;
  if (replicaId < 0) return { log: leader.log, read: (offset, max) => leader.log.read(offset, max) };
  leader.followerFetched(replicaId, partition.fetchOffset, Date.now());
  leader.followerLogStart(replicaId, partition.logStartOffset);
  return {
    log: leader.log,
    read: (offset, max) => ({
      ...leader.log.readForReplica(offset, max),
      highWatermark: leader.highWatermark,
    }),
  };
}

function countRecords(records: Buffer): number {
  let count = 0;
  for (let at = 0; at + BatchField.recordsCount + 4 <= records.length; ) {
    count += records.readInt32BE(at + BatchField.recordsCount);
    at += BATCH_LENGTH_PREFIX_BYTES + records.readInt32BE(at + BatchField.batchLength);
  }
  return count;
}
