import { AUTHORIZED_OPERATIONS_OMITTED, DescribeGroups } from '../../protocol/apis/describe-groups.js';
import { CoordinatorKeyType, FindCoordinator } from '../../protocol/apis/find-coordinator.js';
import { Heartbeat } from '../../protocol/apis/heartbeat.js';
import { JoinGroup } from '../../protocol/apis/join-group.js';
import { LeaveGroup } from '../../protocol/apis/leave-group.js';
import { ListGroups } from '../../protocol/apis/list-groups.js';
import { SyncGroup } from '../../protocol/apis/sync-group.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import type { GroupCoordinator } from '../group-coordinator.js';
import type { GroupRouter } from '../group-router.js';
import type { TransactionRouter } from '../transaction-router.js';

/** JoinGroup v4+ clients expect MEMBER_ID_REQUIRED and a second join with the id they were given. */
const JOIN_REQUIRES_KNOWN_MEMBER_FROM = 4;
/** LeaveGroup v3+ names members in a list; older versions send one memberId. */
const LEAVE_BATCHED_FROM = 3;

const NO_COORDINATOR = { nodeId: -1, host: '', port: -1 };

/** What FindCoordinator says of one key: where its coordinator is, or why there is none yet. */
async function located(
  router: GroupRouter,
  transactions: TransactionRouter,
  access: Access,
  context: RequestContext,
  key: string,
  keyType: number,
) {
  const refusal = coordinatorRefusal(access, context, key, keyType);
  if (refusal !== null) return { ...NO_COORDINATOR, errorCode: refusal, errorMessage: null };
  if (keyType !== CoordinatorKeyType.GROUP && keyType !== CoordinatorKeyType.TRANSACTION) {
    return { ...NO_COORDINATOR, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `key type ${keyType}` };
  }
  const found = await (keyType === CoordinatorKeyType.GROUP ? router : transactions).locate(
    key,
    context.session.listener,
  );
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
 * The group coordinator's of `groupId`, or the error that answers for the group: GROUP_AUTHORIZATION_FAILED
 * without READ on it (what members and committers need, as Kafka), NOT_COORDINATOR if another broker runs it.
 */
export function coordinatorForMember(
  router: GroupRouter,
  access: Access,
  context: RequestContext,
  api: string,
  groupId: string,
): GroupCoordinator | number {
  if (!access.allows(context, api, AclOperation.READ, ResourceType.GROUP, groupId)) {
    return ErrorCode.GROUP_AUTHORIZATION_FAILED;
  }
  return router.coordinatorOf(groupId) ?? ErrorCode.NOT_COORDINATOR;
}

/**
 * The classic consumer-group APIs but the offsets' (offsets.ts), mapped onto the coordinator of each group.
 * On a cluster a group this broker does not coordinate is answered NOT_COORDINATOR, and the client asks
 * FindCoordinator again. The ACL checks are Kafka's: READ on the group to be a member, DESCRIBE on it to
 * find its coordinator, read its state or see it listed.
 */
export function groupHandlers(
  router: GroupRouter,
  transactions: TransactionRouter,
  access: Access,
): ApiHandler[] {
  const memberCoordinator = (context: RequestContext, api: string, groupId: string) =>
    coordinatorForMember(router, access, context, api, groupId);
  return [
    defineHandler(FindCoordinator, async (request, context) => {
      const keys = request.coordinatorKeys.length > 0 ? request.coordinatorKeys : [request.key];
      const coordinators = [];
      for (const key of keys) {
        coordinators.push({
          key,
          ...(await located(router, transactions, access, context, key, request.keyType)),
        });
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
    defineHandler(DescribeGroups, (request, context) => {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((groupId) => {
          const coordinator = access.allows(
            context,
            DescribeGroups.name,
            AclOperation.DESCRIBE,
            ResourceType.GROUP,
            groupId,
          )
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
