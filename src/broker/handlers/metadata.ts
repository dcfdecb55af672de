import {
  AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  Metadata,
  type MetadataRequest,
  type MetadataResponse,
} from '../../protocol/apis/metadata.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import { isInternalTopic } from '../internal-topics.js';
import type { TopicCatalog } from '../topic-catalog.js';

export interface BrokerIdentity {
  nodeId: number;
  /** The advertised address of each listener, by listener name. */
  endpoints: ReadonlyMap<string, { host: string; port: number }>;
  clusterId: string;
}

type TopicMetadata = MetadataResponse['topics'][number];

export function metadataHandler(topics: TopicCatalog, identity: BrokerIdentity, access: Access): ApiHandler {
  return defineHandler(Metadata, (request, context) =>
    describeCluster(topics, identity, access, request, context),
  );
}

function describeCluster(
  topics: TopicCatalog,
  identity: BrokerIdentity,
  access: Access,
  request: MetadataRequest,
  context: RequestContext,
): MetadataResponse {
  const version = context.apiVersion;
  const endpoint = identity.endpoints.get(context.session.listener);
  // v0 asks for every topic with an empty list; later versions use null for that.
  const everything = request.topics === null || (version === 0 && request.topics.length === 0);
  // Asked for every topic, the client is told of those it may describe and of no others (as Kafka).
  const wanted = everything
    ? topics.logs
        .topicNames()
        .filter((name) => access.permits(context, AclOperation.DESCRIBE, ResourceType.TOPIC, name))
    : request.topics!.map((t) => t.name ?? '');
  const allowAutoCreate = version < 4 || request.allowAutoTopicCreation;
  return {
    throttleTimeMs: 0,
    brokers: endpoint ? [{ nodeId: identity.nodeId, ...endpoint, rack: null }] : [],
    clusterId: identity.clusterId,
    controllerId: identity.nodeId,
    topics: wanted.map((name) =>
      everything || mayDescribe(topics, access, context, name, allowAutoCreate)
        ? describeTopic(topics, identity.nodeId, name, allowAutoCreate)
        : { ...topicBase(name), errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
    ),
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  };
}

function mayDescribe(
  topics: TopicCatalog,
  access: Access,
  context: RequestContext,
  name: string,
  allowAutoCreate: boolean,
): boolean {
  const autoCreates = allowAutoCreate && topics.autoCreateTopics && !topics.logs.hasTopic(name);
  return mayDescribeNamedTopic(access, context, name, autoCreates);
}

/**
 * A named topic needs DESCRIBE; one that does not exist and would be auto-created also needs CREATE on the
 * cluster or on the topic (Kafka answers TOPIC_AUTHORIZATION_FAILED for either).
 */
export function mayDescribeNamedTopic(
  access: Access,
  context: RequestContext,
  name: string,
  autoCreates: boolean,
): boolean {
  if (!access.allows(context, Metadata.name, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) return false;
  return !autoCreates || access.mayCreateTopic(context, Metadata.name, name);
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

function describeTopic(
  topics: TopicCatalog,
  nodeId: number,
  name: string,
  allowAutoCreate: boolean,
): TopicMetadata {
  const base = topicBase(name);
  let topic: ReturnType<TopicCatalog['find']>;
  try {
    topic = topics.find(name, allowAutoCreate);
  } catch {
    return { ...base, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION };
  }
  if (!topic) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  return {
    ...base,
    errorCode: ErrorCode.NONE,
    topicId: Buffer.from(topic.topicId, 'hex'),
    partitions: Array.from({ length: topic.partitions }, (_, partitionIndex) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex,
      leaderId: nodeId,
      leaderEpoch: 0,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
  };
}
