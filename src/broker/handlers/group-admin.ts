import { DeleteGroups } from '../../protocol/apis/delete-groups.js';
import { OffsetDelete, type OffsetDeleteResponse } from '../../protocol/apis/offset-delete.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import type { GroupRouter } from '../group-router.js';

type OffsetDeleteTopic = OffsetDeleteResponse['topics'][number];

/**
 * DeleteGroups and OffsetDelete, answered by the coordinator of each group (NOT_COORDINATOR on another
 * broker of a cluster). ACLs as Kafka: DELETE on the group; for OffsetDelete also READ on each topic.
 */
export function groupAdminHandlers(router: GroupRouter, access: Access): ApiHandler[] {
  return [
    defineHandler(DeleteGroups, async (request, context) => {
      const results = [];
      for (const groupId of request.groupsNames) {
        const coordinator = router.coordinatorOf(groupId);
        let errorCode: number;
        if (!access.allows(context, DeleteGroups.name, AclOperation.DELETE, ResourceType.GROUP, groupId)) {
          errorCode = ErrorCode.GROUP_AUTHORIZATION_FAILED;
        } else if (!coordinator) {
          errorCode = ErrorCode.NOT_COORDINATOR;
        } else {
          errorCode = await coordinator.deleteGroup(groupId);
        }
        results.push({ groupId, errorCode });
      }
      return { throttleTimeMs: 0, results };
    }),
    defineHandler(OffsetDelete, async (request, context) => {
      const answer = (errorCode: number, topics: OffsetDeleteTopic[] = []) => ({
        errorCode,
        throttleTimeMs: 0,
        topics,
      });
      if (
        !access.allows(context, OffsetDelete.name, AclOperation.DELETE, ResourceType.GROUP, request.groupId)
      ) {
        return answer(ErrorCode.GROUP_AUTHORIZATION_FAILED);
      }
      const coordinator = router.coordinatorOf(request.groupId);
      if (!coordinator) return answer(ErrorCode.NOT_COORDINATOR);
      const readable = new Map<string, boolean>();
      const mayRead = (topic: string) => {
        let allowed = readable.get(topic);
        if (allowed === undefined) {
          allowed = access.allows(context, OffsetDelete.name, AclOperation.READ, ResourceType.TOPIC, topic);
          readable.set(topic, allowed);
        }
        return allowed;
      };
      const asked = request.topics.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })),
      );
      const deleted = await coordinator.deleteOffsets(
        request.groupId,
        asked.filter((p) => mayRead(p.topic)),
      );
      if (deleted.errorCode !== ErrorCode.NONE) return answer(deleted.errorCode);
      const errorCodeOf = (topic: string, partition: number) =>
        mayRead(topic)
          ? (deleted.partitions.find((d) => d.topic === topic && d.partition === partition)?.errorCode ??
            ErrorCode.NONE)
          : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      return answer(
        ErrorCode.NONE,
        request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: errorCodeOf(t.name, p.partitionIndex),
          })),
        })),
      );
    }),
  ];
}
