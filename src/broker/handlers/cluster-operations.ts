import { partitionKey } from '../../cluster/cluster-view.js';
import type { ClusterNode } from '../../cluster/index.js';
import { endpointOf } from '../../cluster/zk-layout.js';
import type { PartitionLog } from '../../log/index.js';
import {
  AlterPartitionReassignments,
  type AlterPartitionReassignmentsResponse,
} from '../../protocol/apis/alter-partition-reassignments.js';
import { DescribeCluster, EndpointType } from '../../protocol/apis/describe-cluster.js';
import { DescribeProducers, type DescribeProducersResponse } from '../../protocol/apis/describe-producers.js';
import { ElectionType, ElectLeaders, type ElectLeadersResponse } from '../../protocol/apis/elect-leaders.js';
import {
  ListPartitionReassignments,
  type ListPartitionReassignmentsResponse,
} from '../../protocol/apis/list-partition-reassignments.js';
import { AUTHORIZED_OPERATIONS_NOT_REQUESTED } from '../../protocol/apis/metadata.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import type { TopicCatalog } from '../topic-catalog.js';
import type { BrokerIdentity } from './metadata.js';

/**
 * The cluster's admin APIs (DescribeCluster, ElectLeaders, the partition reassignments, DescribeProducers)
 * on both deployments: a single node answers for itself (docs/cluster.md, "Admin APIs"), a cluster through
 * its shared state and controller. ACLs as Kafka checks them.
 */
export interface ClusterOperationsDeps {
  topics: TopicCatalog;
  /** Null on a single node. */
  cluster: ClusterNode | null;
  identity: BrokerIdentity;
  access: Access;
}

/** The operations Kafka defines on the CLUSTER resource, for DescribeCluster's authorized operations. */
const CLUSTER_OPERATIONS = [
  AclOperation.CREATE,
  AclOperation.CLUSTER_ACTION,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
  AclOperation.IDEMPOTENT_WRITE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
] as const;

/** Longest an admin request waits for the controller, whatever the client's timeout says. */
const MAX_ADMIN_WAIT_MS = 30_000;

type ProducersOfPartition = DescribeProducersResponse['topics'][number]['partitions'][number];

type PartitionAnswer = { topic: string; partition: number; errorCode: number; message: string | null };

export function clusterOperationHandlers(deps: ClusterOperationsDeps): ApiHandler[] {
  return [
    describeClusterHandler(deps),
    electLeadersHandler(deps),
    alterReassignmentsHandler(deps),
    listReassignmentsHandler(deps),
    describeProducersHandler(deps),
  ];
}

/**
 * DescribeCluster (KIP-700): the live brokers at the addresses of the caller's listener, and the controller.
 * As Kafka, no ACL is needed to list them (Metadata tells as much); the cluster's authorized operations are
 * told only to a client that may DESCRIBE the cluster (0 otherwise).
 */
function describeClusterHandler({ cluster, identity, access }: ClusterOperationsDeps): ApiHandler {
  return defineHandler(DescribeCluster, (request, context) => {
    const base = {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: request.endpointType,
      clusterId: cluster?.clusterId ?? identity.clusterId,
      controllerId: cluster ? cluster.view.controllerId : identity.nodeId,
      brokers: [] as Array<{ brokerId: number; host: string; port: number; rack: string | null }>,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
    };
    if (request.endpointType !== EndpointType.BROKERS) {
      return {
        ...base,
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: 'this cluster has no KRaft controllers to describe (it is coordinated by ZooKeeper)',
      };
    }
    const listener = context.session.listener;
    if (cluster) {
      base.brokers = [...cluster.view.brokers].flatMap(([brokerId, registration]) => {
        const endpoint = endpointOf(registration, listener);
        return endpoint ? [{ brokerId, ...endpoint, rack: registration.rack }] : [];
      });
    } else {
      const endpoint = identity.endpoints.get(listener);
      if (endpoint) base.brokers = [{ brokerId: identity.nodeId, ...endpoint, rack: null }];
    }
    if (request.includeClusterAuthorizedOperations) {
      base.clusterAuthorizedOperations = access.permitsCluster(context, AclOperation.DESCRIBE)
        ? authorizedClusterOperations(access, context)
        : 0;
    }
    return base;
  });
}

function authorizedClusterOperations(access: Access, context: RequestContext): number {
  let bits = 0;
  for (const operation of CLUSTER_OPERATIONS)
    if (access.permitsCluster(context, operation)) bits |= 1 << operation;
  return bits;
}

/**
 * ElectLeaders: PREFERRED moves leadership to the first replica when it is live and in sync, UNCLEAN (v1+)
 * revives a partition with no live in-sync replica from any live one. Needs ALTER on the cluster. A single
 * node leads every partition already: ELECTION_NOT_NEEDED for each.
 */
function electLeadersHandler({ topics, cluster, access }: ClusterOperationsDeps): ApiHandler {
  return defineHandler(ElectLeaders, async (request, context) => {
    const asked =
      request.topicPartitions?.flatMap(({ topic, partitions }) =>
        partitions.map((partition) => ({ topic, partition })),
      ) ?? null;
    const everyPartition = (errorCode: number, message: string) => ({
      throttleTimeMs: 0,
      errorCode,
      replicaElectionResults: byTopic((asked ?? []).map((p) => ({ ...p, errorCode, message }))),
    });
    if (!access.allowsCluster(context, ElectLeaders.name, AclOperation.ALTER)) {
      return everyPartition(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'ALTER on the cluster is needed');
    }
    const type = request.electionType;
    if (type !== ElectionType.PREFERRED && type !== ElectionType.UNCLEAN) {
      return everyPartition(ErrorCode.INVALID_REQUEST, `unknown election type ${type}`);
    }
    const results: PartitionAnswer[] = cluster
      ? await cluster.electLeaders(type, asked, clampedWait(request.timeoutMs))
      : (asked ?? localPartitions(topics)).map(({ topic, partition }) => ({
          topic,
          partition,
          ...(localLog(topics, topic, partition)
            ? { errorCode: ErrorCode.ELECTION_NOT_NEEDED, message: 'a single node leads all its partitions' }
            : unknownPartition(topic, partition)),
        }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: byTopic(results) };
  });
}

function byTopic(results: readonly PartitionAnswer[]): ElectLeadersResponse['replicaElectionResults'] {
  const topics = new Map<string, ElectLeadersResponse['replicaElectionResults'][number]>();
  for (const { topic, partition, errorCode, message } of results) {
    let entry = topics.get(topic);
    if (!entry) {
      entry = { topic, partitionResult: [] };
      topics.set(topic, entry);
    }
    entry.partitionResult.push({ partitionId: partition, errorCode, errorMessage: message });
  }
  return [...topics.values()];
}

function localPartitions(topics: TopicCatalog): Array<{ topic: string; partition: number }> {
  return topics.logs.topicNames().flatMap((topic) =>
    Array.from({ length: topics.logs.describeTopic(topic).partitions }, (_, partition) => ({
      topic,
      partition,
    })),
  );
}

/** The single node's log of the partition, or null when there is none. */
function localLog(topics: TopicCatalog, topic: string, partition: number): PartitionLog | null {
  if (!topics.logs.hasTopic(topic)) return null;
  const { partitions } = topics.logs.describeTopic(topic);
  return partition >= 0 && partition < partitions ? topics.logs.partition(topic, partition) : null;
}

function unknownPartition(topic: string, partition: number) {
  return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `${topic}-${partition} does not exist` };
}

function clampedWait(timeoutMs: number): number {
  return Math.min(Math.max(0, timeoutMs), MAX_ADMIN_WAIT_MS);
}

/**
 * AlterPartitionReassignments (KIP-455). Needs ALTER on the cluster. On a cluster each topic's changes go to
 * its assignment node and the controller carries them out; on a single node the only replica set there is,
 * [this broker], is already in place, any other is INVALID_REPLICA_ASSIGNMENT and a cancellation finds
 * nothing to cancel.
 */
function alterReassignmentsHandler({ topics, cluster, identity, access }: ClusterOperationsDeps): ApiHandler {
  return defineHandler(AlterPartitionReassignments, async (request, context) => {
    const allowed = access.allowsCluster(context, AlterPartitionReassignments.name, AclOperation.ALTER);
    const refusal = allowed ? null : 'ALTER on the cluster is needed';
    const responses: AlterPartitionReassignmentsResponse['responses'] = [];
    for (const topic of request.topics) {
      const answers = refusal
        ? topic.partitions.map(() => ({
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            message: refusal,
          }))
        : cluster
          ? await cluster.alterReassignments(
              topic.name,
              topic.partitions.map((p) => ({ partition: p.partitionIndex, replicas: p.replicas })),
            )
          : topic.partitions.map(({ partitionIndex, replicas }) =>
              singleNodeReassignment(topics, identity.nodeId, topic.name, partitionIndex, replicas),
            );
      responses.push({
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }, i) => ({
          partitionIndex,
          errorCode: answers[i]!.errorCode,
          errorMessage: answers[i]!.message,
        })),
      });
    }
    return {
      throttleTimeMs: 0,
      errorCode: allowed ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: refusal,
      responses,
    };
  });
}

function singleNodeReassignment(
  topics: TopicCatalog,
  nodeId: number,
  topic: string,
  partition: number,
  replicas: readonly number[] | null,
): { errorCode: number; message: string | null } {
  if (!localLog(topics, topic, partition)) return unknownPartition(topic, partition);
  if (replicas === null)
    return { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, message: 'nothing is being reassigned' };
  if (replicas.length === 1 && replicas[0] === nodeId) return { errorCode: ErrorCode.NONE, message: null };
  return {
    errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    message: `a single node holds every partition on broker ${nodeId} alone`,
  };
}

/**
 * ListPartitionReassignments: the pending ones (every one, or those of the named partitions) with their
 * replicas and the replicas being added and removed; a single node never has any. Needs DESCRIBE on the
 * cluster.
 */
function listReassignmentsHandler({ cluster, access }: ClusterOperationsDeps): ApiHandler {
  return defineHandler(ListPartitionReassignments, (request, context) => {
    const allowed = access.allowsCluster(context, ListPartitionReassignments.name, AclOperation.DESCRIBE);
    const listed: ListPartitionReassignmentsResponse['topics'] = [];
    if (allowed && cluster) {
      const wanted =
        request.topics?.map(({ name, partitionIndexes }) => ({ name, partitions: partitionIndexes })) ??
        [...cluster.view.topics.values()].map((t) => ({
          name: t.name,
          partitions: t.replicas.map((_, p) => p),
        }));
      for (const { name, partitions } of wanted) {
        const replicas = cluster.view.topics.get(name)?.replicas;
        const pending = partitions.flatMap((partitionIndex) => {
          const reassignment = cluster.view.reassignments.get(partitionKey(name, partitionIndex));
          const current = replicas?.[partitionIndex];
          if (!reassignment || !current) return [];
          return [
            {
              partitionIndex,
              replicas: current,
              addingReplicas: reassignment.adding,
              removingReplicas: reassignment.removing,
            },
          ];
        });
        if (pending.length > 0) listed.push({ name, partitions: pending });
      }
    }
    return {
      throttleTimeMs: 0,
      errorCode: allowed ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: allowed ? null : 'DESCRIBE on the cluster is needed',
      topics: listed,
    };
  });
}

/**
 * DescribeProducers (KIP-664): the leader's idempotent producers of each partition. Needs READ on the topic;
 * a broker that does not lead the partition answers NOT_LEADER_OR_FOLLOWER.
 */
function describeProducersHandler({ topics, cluster, access }: ClusterOperationsDeps): ApiHandler {
  return defineHandler(DescribeProducers, (request, context) => ({
    throttleTimeMs: 0,
    topics: request.topics.map(({ name, partitionIndexes }) => {
      const allowed = access.allows(
        context,
        DescribeProducers.name,
        AclOperation.READ,
        ResourceType.TOPIC,
        name,
      );
      return {
        name,
        partitions: partitionIndexes.map((partitionIndex) => {
          const failed = (errorCode: number, errorMessage: string): ProducersOfPartition => ({
            partitionIndex,
            errorCode,
            errorMessage,
            activeProducers: [],
          });
          if (!allowed) return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'READ on the topic is needed');
          const found = leaderLog(topics, cluster, name, partitionIndex);
          if ('errorCode' in found) return failed(found.errorCode, found.message);
          return {
            partitionIndex,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            activeProducers: found.log.activeProducers(),
          };
        }),
      };
    }),
  }));
}

function leaderLog(
  topics: TopicCatalog,
  cluster: ClusterNode | null,
  topic: string,
  partition: number,
): { log: PartitionLog } | { errorCode: number; message: string } {
  if (cluster) {
    const found = cluster.replicas.lookupLeader(topic, partition, -1);
    return 'errorCode' in found ? found : { log: found.leader.log };
  }
  const log = localLog(topics, topic, partition);
  return log ? { log } : unknownPartition(topic, partition);
}
