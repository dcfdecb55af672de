import { type ClusterNode, endpointOf } from '../../cluster/index.js';
import {
  AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  Metadata,
  type MetadataResponse,
} from '../../protocol/apis/metadata.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import { isInternalTopic } from '../internal-topics.js';
import { mayDescribeNamedTopic } from './metadata.js';

type TopicMetadata = MetadataResponse['topics'][number];

export interface ClusterMetadataOptions {
  autoCreateTopics: boolean;
  defaultPartitions: number;
  /** Auto-creation waits this long at most for leaders; the client retries on LEADER_NOT_AVAILABLE. */
  autoCreateSettleMs: number;
}

/**
 * Metadata on a cluster, from the shared state every broker watches: every live broker with its rack, the
 * controller, and per partition the leader, leader epoch, replicas, ISR and offline replicas, so clients
 * route every request to the leader and re-route by themselves when it moves. ACL checks as the single
 * node's (metadata.ts): every topic asked for lists only those the client may describe.
 */
export function clusterMetadataHandler(
  cluster: ClusterNode,
  access: Access,
  options: ClusterMetadataOptions,
): ApiHandler {
  return defineHandler(Metadata, async (request, context) => {
    const version = context.apiVersion;
    const everything = request.topics === null || (version === 0 && request.topics.length === 0);
    const wanted = everything
      ? [...cluster.view.topics.keys()].filter(
          (name) =>
            !cluster.view.deleting.has(name) &&
            access.permits(context, AclOperation.DESCRIBE, ResourceType.TOPIC, name),
        )
      : request.topics!.map((t) => t.name ?? '');
    const allowAutoCreate = options.autoCreateTopics && (version < 4 || request.allowAutoTopicCreation);
    const topics: TopicMetadata[] = [];
    for (const name of wanted) {
      // An internal topic is created by the broker that needs it (the offsets topic by a group coordinator).
      const autoCreates =
        !everything && allowAutoCreate && !isInternalTopic(name) && !cluster.view.topics.has(name);
      if (!everything && !mayDescribeNamedTopic(access, context, name, autoCreates)) {
        topics.push({ ...topicBase(name), errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
        continue;
      }
      if (autoCreates) {
        await cluster.createTopic(
          { name, partitions: options.defaultPartitions, replicationFactor: -1, assignments: [], config: {} },
          options.autoCreateSettleMs,
        );
      }
      topics.push(describeTopic(cluster, name));
    }
    return {
      throttleTimeMs: 0,
      // Each client is told the addresses of the listener it came through; a broker without one is left out.
      brokers: [...cluster.view.brokers].flatMap(([nodeId, b]) => {
        const endpoint = endpointOf(b, context.session.listener);
        return endpoint ? [{ nodeId, ...endpoint, rack: b.rack }] : [];
      }),
      clusterId: cluster.clusterId,
      controllerId: cluster.view.controllerId,
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
    };
  });
}

function topicBase(name: string) {
  return {
    name,
    topicId: Buffer.alloc(16),
    isInternal: isInternalTopic(name),
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  };
}

function describeTopic(cluster: ClusterNode, name: string): TopicMetadata {
  const topic = cluster.view.topics.get(name);
  const base = topicBase(name);
  if (!topic || cluster.view.deleting.has(name))
    return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const live = cluster.view.liveBrokerIds();
  return {
    ...base,
    errorCode: ErrorCode.NONE,
    topicId: Buffer.from(topic.topicId, 'hex'),
    partitions: topic.replicas.map((replicas, partitionIndex) => {
      const state = cluster.view.state(name, partitionIndex)?.state;
      const leaderId = state?.leader ?? -1;
      return {
        errorCode: leaderId >= 0 && live.has(leaderId) ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex,
        leaderId,
        leaderEpoch: state?.leaderEpoch ?? -1,
        replicaNodes: replicas,
        isrNodes: state?.isr ?? [],
        offlineReplicas: offlineReplicas(cluster, name, partitionIndex, replicas, live),
      };
    }),
  };
}

/** Replicas on brokers that are down, and those their broker reported damaged (Kafka's offline replicas). */
function offlineReplicas(
  cluster: ClusterNode,
  topic: string,
  partition: number,
  replicas: readonly number[],
  live: ReadonlySet<number>,
): number[] {
  const reported = cluster.view.offlineReplicas(topic, partition).offline;
  return replicas.filter((id) => !live.has(id) || reported.has(id));
}
