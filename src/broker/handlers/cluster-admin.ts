import type { ClusterNode } from '../../cluster/index.js';
import { type CreatableTopicResult, CreateTopics } from '../../protocol/apis/create-topics.js';
import { DeleteTopics, type DeleteTopicsResponse } from '../../protocol/apis/delete-topics.js';
import { OffsetForLeaderEpoch } from '../../protocol/apis/offset-for-leader-epoch.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import { configOverrides, creatableTopicResult } from './admin.js';

/** Longest a topic change waits to show in the shared state, whatever the client's timeout says. */
const MAX_SETTLE_MS = 30_000;

/** CreateTopics on a cluster: the assignment goes to the shared state, the controller elects leaders. */
export function clusterCreateTopicsHandler(cluster: ClusterNode, defaultPartitions: number): ApiHandler {
  return defineHandler(CreateTopics, async (request) => {
    const results: CreatableTopicResult[] = [];
    for (const topic of request.topics) {
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
      results.push(result);
      if (numPartitions < 1) {
        Object.assign(result, {
          errorCode: ErrorCode.INVALID_PARTITIONS,
          errorMessage: `numPartitions=${numPartitions} must be >= 1`,
        });
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

/** DeleteTopics on a cluster: the controller deletes the topic everywhere; answered once it is gone. */
export function clusterDeleteTopicsHandler(cluster: ClusterNode): ApiHandler {
  return defineHandler(DeleteTopics, async (request, context) => {
    const byId = (id: Buffer) =>
      [...cluster.view.topics.values()].find((t) => t.topicId === id.toString('hex'))?.name ?? null;
    const names =
      context.apiVersion >= 6 ? request.topics.map((t) => t.name ?? byId(t.topicId)) : request.topicNames;
    const responses: DeleteTopicsResponse['responses'] = [];
    for (const name of names) {
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
 */
export function offsetForLeaderEpochHandler(cluster: ClusterNode): ApiHandler {
  return defineHandler(OffsetForLeaderEpoch, (request) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((p) => {
        const found = cluster.replicas.lookupLeader(topic.topic, p.partition, p.currentLeaderEpoch);
        if ('errorCode' in found) {
          return { errorCode: found.errorCode, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
        }
        const { leaderEpoch, endOffset } = found.leader.log.endOffsetForEpoch(p.leaderEpoch);
        return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch, endOffset };
      }),
    })),
  }));
}
