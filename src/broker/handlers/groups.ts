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
import { type ApiHandler, defineHandler } from '../api-handler.js';
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

/** What FindCoordinator says of one key: where its coordinator is, or why there is none yet. */
async function located(router: GroupRouter, key: string, keyType: number, listener: string) {
  if (keyType !== CoordinatorKeyType.GROUP) {
    return {
      ...NO_COORDINATOR,
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'transactions are not supported',
    };
  }
  const found = await router.locate(key, listener);
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

/**
 * The classic consumer-group APIs, mapped onto the coordinator of each group. On a cluster a group this
 * broker does not coordinate is answered NOT_COORDINATOR, and the client asks FindCoordinator again.
 */
export function groupHandlers(router: GroupRouter): ApiHandler[] {
  return [
    defineHandler(FindCoordinator, async (request, { session }) => {
      const keys = request.coordinatorKeys.length > 0 ? request.coordinatorKeys : [request.key];
      const coordinators = [];
      for (const key of keys) {
        coordinators.push({ key, ...(await located(router, key, request.keyType, session.listener)) });
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
      const groups = router.coordinatorOf(request.groupId);
      if (!groups) {
        return {
          throttleTimeMs: 0,
          skipAssignment: false,
          errorCode: ErrorCode.NOT_COORDINATOR,
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
    defineHandler(SyncGroup, async (request) => {
      const groups = router.coordinatorOf(request.groupId);
      if (!groups) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NOT_COORDINATOR,
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
    defineHandler(Heartbeat, (request) => {
      const groups = router.coordinatorOf(request.groupId);
      if (!groups) return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_COORDINATOR };
      return { throttleTimeMs: 0, ...groups.heartbeat(request) };
    }),
    defineHandler(LeaveGroup, (request, context) => {
      const groups = router.coordinatorOf(request.groupId);
      if (!groups) return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_COORDINATOR, members: [] };
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
    defineHandler(OffsetCommit, async (request) => {
      const groups = router.coordinatorOf(request.groupId);
      const results = groups
        ? await commit(groups, request)
        : request.topics.flatMap((t) =>
            t.partitions.map((p) => ({
              topic: t.name,
              partition: p.partitionIndex,
              errorCode: ErrorCode.NOT_COORDINATOR,
            })),
          );
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode:
              results.find((r) => r.topic === topic.name && r.partition === p.partitionIndex)?.errorCode ??
              ErrorCode.NONE,
          })),
        })),
      };
    }),
    defineHandler(OffsetFetch, (request, context) => {
      if (context.apiVersion >= OFFSET_FETCH_BATCHED_FROM) {
        return {
          throttleTimeMs: 0,
          topics: [],
          errorCode: ErrorCode.NONE,
          groups: request.groups.map((group) => {
            const groups = router.coordinatorOf(group.groupId);
            return {
              groupId: group.groupId,
              topics: groups ? committedOffsets(groups, group.groupId, group.topics) : [],
              errorCode: groups ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR,
            };
          }),
        };
      }
      const groups = router.coordinatorOf(request.groupId);
      return {
        throttleTimeMs: 0,
        topics: groups ? committedOffsets(groups, request.groupId, request.topics) : [],
        errorCode: groups ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR,
        groups: [],
      };
    }),
    defineHandler(DescribeGroups, (request) => {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((groupId) => {
          const coordinator = router.coordinatorOf(groupId);
          if (!coordinator) {
            return {
              errorCode: ErrorCode.NOT_COORDINATOR,
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
    defineHandler(ListGroups, (request) => {
      const listed = router
        .all()
        .flatMap((coordinator) =>
          coordinator.list(request.statesFilter.length > 0 ? request.statesFilter : undefined),
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
