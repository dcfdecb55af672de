import {
  AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  Metadata,
  type MetadataRequest,
  type MetadataResponse,
} from '../../protocol/apis/metadata.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import type { TopicCatalog } from '../topic-catalog.js';

export interface BrokerIdentity {
  nodeId: number;
  /** The advertised address of each listener, by listener name. */
  endpoints: ReadonlyMap<string, { host: string; port: number }>;
  clusterId: string;
}

type TopicMetadata = MetadataResponse['topics'][number];

export function metadataHandler(topics: TopicCatalog, identity: BrokerIdentity): ApiHandler {
  return defineHandler(Metadata, (request, context) =>
    describeCluster(topics, identity, request, context.apiVersion, context.session.listener),
  );
}

function describeCluster(
  topics: TopicCatalog,
  identity: BrokerIdentity,
  request: MetadataRequest,
  version: number,
  listener: string,
): MetadataResponse {
  const endpoint = identity.endpoints.get(listener);
  // v0 asks for every topic with an empty list; later versions use null for that.
  const wanted =
    request.topics === null || (version === 0 && request.topics.length === 0)
      ? topics.logs.topicNames()
      : request.topics.map((t) => t.name ?? '');
  const allowAutoCreate = version < 4 || request.allowAutoTopicCreation;
  return {
    throttleTimeMs: 0,
    brokers: endpoint ? [{ nodeId: identity.nodeId, ...endpoint, rack: null }] : [],
    clusterId: identity.clusterId,
    controllerId: identity.nodeId,
    topics: wanted.map((name) => describeTopic(topics, identity.nodeId, name, allowAutoCreate)),
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  };
}

function describeTopic(
  topics: TopicCatalog,
  nodeId: number,
  name: string,
  allowAutoCreate: boolean,
): TopicMetadata {
  const base = {
    name,
    topicId: Buffer.alloc(16),
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  };
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
