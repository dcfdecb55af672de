import type { ClusterNode } from '../../cluster/index.js';
import { type CreatableTopicResult, CreateTopics } from '../../protocol/apis/create-topics.js';
import { DeleteTopics, type DeleteTopicsResponse } from '../../protocol/apis/delete-topics.js';
import { OffsetForLeaderEpoch } from '../../protocol/apis/offset-for-leader-epoch.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import { internalTopicCreationRefusal } from '../internal-topics.js';
import {
  configOverrides,
  creatableTopicResult,
  deletionRefusal,
  hideConfigsUnlessDescribable,
  refusedCreation,
} from './admin.js';

/** Longest a topic change waits to show in the shared state, whatever the client's timeout says. */
const MAX_SETTLE_MS = 30_000;

/**
 * CreateTopics on a cluster: the assignment goes to the shared state, the controller elects leaders. Needs
 * CREATE on the cluster or the topic, as on a single node.
 */
export function clusterCreateTopicsHandler(
  cluster: ClusterNode,
  defaultPartitions: number,
  access: Access,
): ApiHandler {
  return defineHandler(CreateTopics, async (request, context) => {
    const results: CreatableTopicResult[] = [];
    for (const topic of request.topics) {
      if (!access.mayCreateTopic(context, CreateTopics.name, topic.name)) {
        results.push(refusedCreation(topic, defaultPartitions));
        continue;
      }
      const assignments = [...topic.assignments]
        .sort((a, b) => a.partitionIndex - b.partitionIndex)
        .map((a) => a.brokerIds);
      const numPartitions =
        assignments.length > 0
          ? assignments.length
          : topic.numPartitions === -1
            ? defaultPartitions
            : topic.numPartitions;
      const result = creatableTopicResult(
        topic.name,
        numPartitions,
        assignments[0]?.length ?? topic.replicationFactor,
      );
      hideConfigsUnlessDescribable(result, access, context);
      results.push(result);
      if (numPartitions < 1) {
        Object.assign(result, {
          errorCode: ErrorCode.INVALID_PARTITIONS,
          errorMessage: `numPartitions=${numPartitions} must be >= 1`,
        });
        continue;
      }
      const internal = internalTopicCreationRefusal(topic.name, cluster.view.topics.has(topic.name));
      if (internal) {
        Object.assign(result, internal);
        continue;
      }
      if (request.validateOnly) continue;
      const answer = await cluster.createTopic(
        {
          name: topic.name,
          partitions: numPartitions,
          replicationFactor: topic.replicationFactor,
          assignments,
          config: configOverrides(topic),
        },
        Math.min(Math.max(0, request.timeoutMs), MAX_SETTLE_MS),
      );
      Object.assign(result, { errorCode: answer.errorCode, errorMessage: answer.message });
      const created = cluster.view.topics.get(topic.name);
      if (answer.errorCode === ErrorCode.NONE && created) {
        result.topicId = Buffer.from(created.topicId, 'hex');
        result.replicationFactor = created.replicas[0]?.length ?? result.replicationFactor;
      }
    }
    return { throttleTimeMs: 0, topics: results };
  });
}

/**
 * DeleteTopics on a cluster: the controller deletes the topic everywhere; answered once it is gone. Needs
 * DELETE on the topic, as on a single node.
 */
export function clusterDeleteTopicsHandler(cluster: ClusterNode, access: Access): ApiHandler {
  return defineHandler(DeleteTopics, async (request, context) => {
    const byId = (id: Buffer) =>
      [...cluster.view.topics.values()].find((t) => t.topicId === id.toString('hex'))?.name ?? null;
    const namedById = context.apiVersion >= 6 ? request.topics.map((t) => t.name === null) : [];
    const names =
      context.apiVersion >= 6 ? request.topics.map((t) => t.name ?? byId(t.topicId)) : request.topicNames;
    const responses: DeleteTopicsResponse['responses'] = [];
    for (const [i, name] of names.entries()) {
      const refusal = name ? deletionRefusal(access, context, name, namedById[i] === true) : null;
      if (refusal) {
        responses.push(refusal);
        continue;
      }
      const topicId = name ? cluster.view.topics.get(name)?.topicId : undefined;
      const answer = name
        ? await cluster.deleteTopic(name, Math.min(Math.max(0, request.timeoutMs), MAX_SETTLE_MS))
        : { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, message: 'no topic has this id' };
      responses.push({
        name,
        topicId: topicId ? Buffer.from(topicId, 'hex') : Buffer.alloc(16),
        errorCode: answer.errorCode,
        errorMessage: answer.message,
      });
    }
    return { throttleTimeMs: 0, responses };
  });
}

/**
 * OffsetForLeaderEpoch (KIP-101/320): the end offset of the asked epoch in the leader's log, so followers
 * and consumers cut off what the leader never had. Only the leader at the caller's current epoch answers.
 * As Kafka: CLUSTER_ACTION on the cluster (a follower), else DESCRIBE on each topic (a consumer).
 */
export function offsetForLeaderEpochHandler(cluster: ClusterNode, access: Access): ApiHandler {
  return defineHandler(OffsetForLeaderEpoch, (request, context) => {
    const asReplica = access.permitsCluster(context, AclOperation.CLUSTER_ACTION);
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => {
        const allowed =
          asReplica ||
          access.allows(
            context,
            OffsetForLeaderEpoch.name,
            AclOperation.DESCRIBE,
            ResourceType.TOPIC,
            topic.topic,
          );
        return {
          topic: topic.topic,
          partitions: topic.partitions.map((p) => {
            if (!allowed) {
              return {
                errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                partition: p.partition,
                leaderEpoch: -1,
                endOffset: -1,
              };
            }
            const found = cluster.replicas.lookupLeader(topic.topic, p.partition, p.currentLeaderEpoch);
            if ('errorCode' in found) {
              return { errorCode: found.errorCode, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
            }
            const { leaderEpoch, endOffset } = found.leader.log.endOffsetForEpoch(p.leaderEpoch);
            return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch, endOffset };
          }),
        };
      }),
    };
  });
}
