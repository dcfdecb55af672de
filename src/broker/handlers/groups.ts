import { AUTHORIZED_OPERATIONS_OMITTED, DescribeGroups } from '../../protocol/apis/describe-groups.js';
import { CoordinatorKeyType, FindCoordinator } from '../../protocol/apis/find-coordinator.js';
import { Heartbeat } from '../../protocol/apis/heartbeat.js';
import { JoinGroup } from '../../protocol/apis/join-group.js';
import { LeaveGroup } from '../../protocol/apis/leave-group.js';
import { ListGroups } from '../../protocol/apis/list-groups.js';
import { OffsetCommit, type OffsetCommitRequest } from '../../protocol/apis/offset-commit.js';
import {
  OffsetFetch,
  type OffsetFetchRequestTopic,
  type OffsetFetchResponseTopic,
} from '../../protocol/apis/offset-fetch.js';
import { SyncGroup } from '../../protocol/apis/sync-group.js';
import { AclOperation, type RequestedOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import type { GroupCoordinator } from '../group-coordinator.js';
import type { GroupRouter } from '../group-router.js';

/** JoinGroup v4+ clients expect MEMBER_ID_REQUIRED and a second join with the id they were given. */
const JOIN_REQUIRES_KNOWN_MEMBER_FROM = 4;
/** LeaveGroup v3+ names members in a list; older versions send one memberId. */
const LEAVE_BATCHED_FROM = 3;
/** OffsetFetch v8+ asks for several groups at once. */
const OFFSET_FETCH_BATCHED_FROM = 8;

const NO_COORDINATOR = { nodeId: -1, host: '', port: -1 };

/** OffsetFetch v2+ reports a group's error at the top level; before, on each partition asked for. */
const OFFSET_FETCH_TOP_LEVEL_ERROR_FROM = 2;

/** What FindCoordinator says of one key: where its coordinator is, or why there is none yet. */
async function located(
  router: GroupRouter,
  access: Access,
  context: RequestContext,
  key: string,
  keyType: number,
) {
  const refusal = coordinatorRefusal(access, context, key, keyType);
  if (refusal !== null) return { ...NO_COORDINATOR, errorCode: refusal, errorMessage: null };
  if (keyType !== CoordinatorKeyType.GROUP) {
    return {
      ...NO_COORDINATOR,
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'transactions are not supported',
    };
  }
  const found = await router.locate(key, context.session.listener);
  if (found.errorCode !== ErrorCode.NONE || !('nodeId' in found)) {
    return {
      ...NO_COORDINATOR,
      errorCode: found.errorCode,
      errorMessage: 'message' in found ? found.message : null,
    };
  }
  return {
    nodeId: found.nodeId,
    host: found.host,
    port: found.port,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
  };
}

/** As Kafka: DESCRIBE on the group, or on the transactional id, to be told where its coordinator is. */
function coordinatorRefusal(
  access: Access,
  context: RequestContext,
  key: string,
  keyType: number,
): number | null {
  if (keyType === CoordinatorKeyType.GROUP) {
    return access.allows(context, FindCoordinator.name, AclOperation.DESCRIBE, ResourceType.GROUP, key)
      ? null
      : ErrorCode.GROUP_AUTHORIZATION_FAILED;
  }
  if (keyType === CoordinatorKeyType.TRANSACTION) {
    return access.allows(
      context,
      FindCoordinator.name,
      AclOperation.DESCRIBE,
      ResourceType.TRANSACTIONAL_ID,
      key,
    )
      ? null
      : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  }
  return null;
}

/**
 * The classic consumer-group APIs, mapped onto the coordinator of each group. On a cluster a group this
 * broker does not coordinate is answered NOT_COORDINATOR, and the client asks FindCoordinator again. The
 * ACL checks are Kafka's: READ on the group to be a member or commit (then READ on each topic committed),
 * DESCRIBE on the group to read its offsets or state (then DESCRIBE on each topic).
 */
export function groupHandlers(router: GroupRouter, access: Access): ApiHandler[] {
  const groupAllows = (
    context: RequestContext,
    api: string,
    operation: RequestedOperation,
    groupId: string,
  ) => access.allows(context, api, operation, ResourceType.GROUP, groupId);
  /** The group's coordinator, or the error that answers for the group: not authorized, or coordinated elsewhere. */
  const memberCoordinator = (context: RequestContext, api: string, groupId: string) => {
    if (!groupAllows(context, api, AclOperation.READ, groupId)) return ErrorCode.GROUP_AUTHORIZATION_FAILED;
    return router.coordinatorOf(groupId) ?? ErrorCode.NOT_COORDINATOR;
  };
  return [
    defineHandler(FindCoordinator, async (request, context) => {
      const keys = request.coordinatorKeys.length > 0 ? request.coordinatorKeys : [request.key];
      const coordinators = [];
      for (const key of keys) {
        coordinators.push({ key, ...(await located(router, access, context, key, request.keyType)) });
      }
      const first = coordinators[0]!;
      return {
        throttleTimeMs: 0,
        errorCode: first.errorCode,
        errorMessage: first.errorMessage,
        nodeId: first.nodeId,
        host: first.host,
        port: first.port,
        coordinators,
      };
    }),
    defineHandler(JoinGroup, async (request, context) => {
      const groups = memberCoordinator(context, JoinGroup.name, request.groupId);
      if (typeof groups === 'number') {
        return {
          throttleTimeMs: 0,
          skipAssignment: false,
          errorCode: groups,
          generationId: -1,
          protocolType: null,
          protocolName: null,
          leader: '',
          memberId: request.memberId,
          members: [],
        };
      }
      const result = await groups.join({
        groupId: request.groupId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        clientId: context.clientId ?? '',
        clientHost: context.clientHost,
        sessionTimeoutMs: request.sessionTimeoutMs,
        // v0 has no rebalance timeout; Kafka uses the session timeout there.
        rebalanceTimeoutMs: context.apiVersion >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
        protocolType: request.protocolType,
        protocols: request.protocols.map((p) => ({
          name: p.name,
          metadata: p.metadata,
        })),
        requireKnownMemberId: context.apiVersion >= JOIN_REQUIRES_KNOWN_MEMBER_FROM,
      });
      return { throttleTimeMs: 0, skipAssignment: false, ...result };
    }),
    defineHandler(SyncGroup, async (request, context) => {
      const groups = memberCoordinator(context, SyncGroup.name, request.groupId);
      if (typeof groups === 'number') {
        return {
          throttleTimeMs: 0,
          errorCode: groups,
          protocolType: null,
          protocolName: null,
          assignment: Buffer.alloc(0),
        };
      }
      const result = await groups.sync({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        protocolType: request.protocolType,
        protocolName: request.protocolName,
        assignments: request.assignments.map((a) => ({
          memberId: a.memberId,
          assignment: a.assignment,
        })),
      });
      return { throttleTimeMs: 0, ...result };
    }),
    defineHandler(Heartbeat, (request, context) => {
      const groups = memberCoordinator(context, Heartbeat.name, request.groupId);
      if (typeof groups === 'number') return { throttleTimeMs: 0, errorCode: groups };
      return { throttleTimeMs: 0, ...groups.heartbeat(request) };
    }),
    defineHandler(LeaveGroup, (request, context) => {
      const groups = memberCoordinator(context, LeaveGroup.name, request.groupId);
      if (typeof groups === 'number') return { throttleTimeMs: 0, errorCode: groups, members: [] };
      const members =
        context.apiVersion >= LEAVE_BATCHED_FROM
          ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
          : [{ memberId: request.memberId, groupInstanceId: null }];
      const result = groups.leave({ groupId: request.groupId, members });
      // Before v3 a single-member leave reports the member's error at the top level.
      const errorCode =
        context.apiVersion < LEAVE_BATCHED_FROM && result.errorCode === ErrorCode.NONE
          ? (result.members[0]?.errorCode ?? ErrorCode.NONE)
          : result.errorCode;
      return { throttleTimeMs: 0, errorCode, members: result.members };
    }),
    defineHandler(OffsetCommit, async (request, context) => {
      const groups = memberCoordinator(context, OffsetCommit.name, request.groupId);
      // Topics the client may not read are answered TOPIC_AUTHORIZATION_FAILED; the others are committed.
      const denied =
        typeof groups === 'number'
          ? new Set<string>()
          : deniedTopics(access, context, OffsetCommit.name, AclOperation.READ, request.topics);
      const allowed = request.topics.filter((t) => !denied.has(t.name));
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
        groupOffsets(router, access, context, groupId, topics);
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
    defineHandler(DescribeGroups, (request, context) => {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((groupId) => {
          const coordinator = groupAllows(context, DescribeGroups.name, AclOperation.DESCRIBE, groupId)
            ? (router.coordinatorOf(groupId) ?? ErrorCode.NOT_COORDINATOR)
            : ErrorCode.GROUP_AUTHORIZATION_FAILED;
          if (typeof coordinator === 'number') {
            return {
              errorCode: coordinator,
              groupId,
              groupState: '',
              protocolType: '',
              protocolData: '',
              members: [],
              authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
            };
          }
          const group = coordinator.describe(groupId);
          return {
            errorCode: group.errorCode,
            groupId,
            groupState: group.state,
            protocolType: group.protocolType,
            protocolData: group.protocolData,
            members: group.members,
            authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
          };
        }),
      };
    }),
    defineHandler(ListGroups, (request, context) => {
      // DESCRIBE on the cluster lists every group; without it, only the groups the client may describe.
      const everyGroup = access.permitsCluster(context, AclOperation.DESCRIBE);
      const listed = router
        .all()
        .flatMap((coordinator) =>
          coordinator.list(request.statesFilter.length > 0 ? request.statesFilter : undefined),
        )
        .filter(
          (g) => everyGroup || access.permits(context, AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId),
        );
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        groups: listed.map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          groupState: g.state,
          groupType: 'classic',
        })),
      };
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

/** The topics among `topics` on which the client may not do `operation`; checked once per topic. */
function deniedTopics(
  access: Access,
  context: RequestContext,
  api: string,
  operation: RequestedOperation,
  topics: readonly { name: string }[],
): Set<string> {
  const denied = new Set<string>();
  for (const { name } of topics) {
    if (!denied.has(name) && !access.allows(context, api, operation, ResourceType.TOPIC, name))
      denied.add(name);
  }
  return denied;
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
  groupId: string,
  topics: OffsetFetchRequestTopic[] | null,
): { errorCode: number; topics: OffsetFetchResponseTopic[] } {
  if (!access.allows(context, OffsetFetch.name, AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  const groups = router.coordinatorOf(groupId);
  if (!groups) return { errorCode: ErrorCode.NOT_COORDINATOR, topics: [] };
  if (topics === null) {
    const every = committedOffsets(groups, groupId, null).filter((topic) =>
      access.permits(context, AclOperation.DESCRIBE, ResourceType.TOPIC, topic.name),
    );
    return { errorCode: ErrorCode.NONE, topics: every };
  }
  const denied = deniedTopics(access, context, OffsetFetch.name, AclOperation.DESCRIBE, topics);
  if (denied.size === 0)
    return { errorCode: ErrorCode.NONE, topics: committedOffsets(groups, groupId, topics) };
  const [refused, allowed] = [
    topics.filter((t) => denied.has(t.name)),
    topics.filter((t) => !denied.has(t.name)),
  ];
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      ...(allowed.length > 0 ? committedOffsets(groups, groupId, allowed) : []),
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

function committedOffsets(
  groups: GroupCoordinator,
  groupId: string,
  topics: OffsetFetchRequestTopic[] | null,
): OffsetFetchResponseTopic[] {
  const rows = groups.fetchOffsets(
    groupId,
    topics === null ? null : topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })),
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
