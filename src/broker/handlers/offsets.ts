import { OffsetCommit, type OffsetCommitRequest } from '../../protocol/apis/offset-commit.js';
import {
  OffsetFetch,
  type OffsetFetchRequestTopic,
  type OffsetFetchResponseTopic,
} from '../../protocol/apis/offset-fetch.js';
import { AclOperation, type RequestedOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import type { GroupCoordinator } from '../group-coordinator.js';
import type { GroupRouter } from '../group-router.js';
import { coordinatorForMember } from './groups.js';

/** OffsetFetch v8+ asks for several groups at once. */
const OFFSET_FETCH_BATCHED_FROM = 8;
/** OffsetFetch v2+ reports a group's error at the top level; before, on each partition asked for. */
const OFFSET_FETCH_TOP_LEVEL_ERROR_FROM = 2;

/**
 * OffsetCommit and OffsetFetch on the coordinator of each group, with Kafka's ACL checks: READ on the group
 * then on each topic to commit, DESCRIBE on the group then on each topic to read committed offsets.
 */
export function offsetHandlers(router: GroupRouter, access: Access): ApiHandler[] {
  return [
    defineHandler(OffsetCommit, async (request, context) => {
      const groups = coordinatorForMember(router, access, context, OffsetCommit.name, request.groupId);
      // Topics the client may not read are answered TOPIC_AUTHORIZATION_FAILED; the others are committed.
      const denied =
        typeof groups === 'number'
          ? NONE_DENIED
          : deniedTopics(access, context, OffsetCommit.name, AclOperation.READ, request.topics);
      const allowed = denied.size === 0 ? request.topics : request.topics.filter((t) => !denied.has(t.name));
      const results =
        typeof groups === 'number' || allowed.length === 0
          ? []
          : await commit(groups, { ...request, topics: allowed });
      const errorCodeOf = (topic: string, partition: number) => {
        if (typeof groups === 'number') return groups;
        if (denied.has(topic)) return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        return (
          results.find((r) => r.topic === topic && r.partition === partition)?.errorCode ?? ErrorCode.NONE
        );
      };
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: errorCodeOf(topic.name, p.partitionIndex),
          })),
        })),
      };
    }),
    defineHandler(OffsetFetch, (request, context) => {
      const fetched = (groupId: string, topics: OffsetFetchRequestTopic[] | null) =>
        groupOffsets(router, access, context, { groupId, topics, requireStable: request.requireStable });
      if (context.apiVersion >= OFFSET_FETCH_BATCHED_FROM) {
        return {
          throttleTimeMs: 0,
          topics: [],
          errorCode: ErrorCode.NONE,
          groups: request.groups.map((group) => ({
            groupId: group.groupId,
            ...fetched(group.groupId, group.topics),
          })),
        };
      }
      const answer = fetched(request.groupId, request.topics);
      if (answer.errorCode !== ErrorCode.NONE && context.apiVersion < OFFSET_FETCH_TOP_LEVEL_ERROR_FROM) {
        answer.topics = unanswered(request.topics ?? [], answer.errorCode);
      }
      return { throttleTimeMs: 0, ...answer, groups: [] };
    }),
  ];
}

function commit(groups: GroupCoordinator, request: OffsetCommitRequest) {
  return groups.commitOffsets({
    groupId: request.groupId,
    generationId: request.generationIdOrMemberEpoch,
    memberId: request.memberId,
    groupInstanceId: request.groupInstanceId,
    offsets: request.topics.flatMap((topic) =>
      topic.partitions.map((p) => ({
        topic: topic.name,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch,
        metadata: p.committedMetadata,
      })),
    ),
  });
}

const NONE_DENIED: ReadonlySet<string> = new Set();

/**
 * The topics among `topics` on which the client may not do `operation`, each checked once; no set is built
 * unless one is refused (a commit without an authorizer allocates nothing here).
 */
function deniedTopics(
  access: Access,
  context: RequestContext,
  api: string,
  operation: RequestedOperation,
  topics: readonly { name: string }[],
): ReadonlySet<string> {
  let denied: Set<string> | null = null;
  for (const { name } of topics) {
    if (denied?.has(name)) continue;
    if (!access.allows(context, api, operation, ResourceType.TOPIC, name)) {
      denied ??= new Set();
      denied.add(name);
    }
  }
  return denied ?? NONE_DENIED;
}

/** One group's part of an OffsetFetch: every partition when `topics` is null. */
interface Asked {
  groupId: string;
  topics: OffsetFetchRequestTopic[] | null;
  /** v7+: partitions with offsets of a transaction not yet ended answer UNSTABLE_OFFSET_COMMIT. */
  requireStable: boolean;
}

/**
 * One group's committed offsets as OffsetFetch answers them: DESCRIBE on the group, then on each topic.
 * Topics asked for by name that the client may not describe answer TOPIC_AUTHORIZATION_FAILED; asked for
 * every partition, the client is told only of the topics it may describe (as Kafka).
 */
function groupOffsets(
  router: GroupRouter,
  access: Access,
  context: RequestContext,
  asked: Asked,
): { errorCode: number; topics: OffsetFetchResponseTopic[] } {
  const { groupId, topics } = asked;
  if (!access.allows(context, OffsetFetch.name, AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  const groups = router.coordinatorOf(groupId);
  if (!groups) return { errorCode: ErrorCode.NOT_COORDINATOR, topics: [] };
  if (topics === null) {
    const every = committedOffsets(groups, asked).filter((topic) =>
      access.permits(context, AclOperation.DESCRIBE, ResourceType.TOPIC, topic.name),
    );
    return { errorCode: ErrorCode.NONE, topics: every };
  }
  const denied = deniedTopics(access, context, OffsetFetch.name, AclOperation.DESCRIBE, topics);
  if (denied.size === 0) return { errorCode: ErrorCode.NONE, topics: committedOffsets(groups, asked) };
  const [refused, allowed] = [
    topics.filter((t) => denied.has(t.name)),
    topics.filter((t) => !denied.has(t.name)),
  ];
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      ...(allowed.length > 0 ? committedOffsets(groups, { ...asked, topics: allowed }) : []),
      ...unanswered(refused, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
    ],
  };
}

/** Each partition asked for, with no offset and `errorCode`. */
function unanswered(topics: OffsetFetchRequestTopic[], errorCode: number): OffsetFetchResponseTopic[] {
  return topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode,
    })),
  }));
}

function committedOffsets(groups: GroupCoordinator, asked: Asked): OffsetFetchResponseTopic[] {
  const { topics } = asked;
  const rows = groups.fetchOffsets(
    asked.groupId,
    topics === null ? null : topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })),
    asked.requireStable,
  );
  const byTopic = new Map<string, OffsetFetchResponseTopic>();
  for (const row of rows) {
    let topic = byTopic.get(row.topic);
    if (!topic) {
      topic = { name: row.topic, partitions: [] };
      byTopic.set(row.topic, topic);
    }
    topic.partitions.push({
      partitionIndex: row.partition,
      committedOffset: row.offset,
      committedLeaderEpoch: row.leaderEpoch,
      metadata: row.metadata,
      errorCode: row.errorCode,
    });
  }
  return [...byTopic.values()];
}
