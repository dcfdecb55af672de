import { CoordinationError } from '../../coordination/coordinator.js';
import {
  DEFAULT_TOPIC_CONFIG,
  describeTopicConfig,
  LogError,
  parseTopicConfig,
  TOPIC_CONFIG_KEYS,
} from '../../log/index.js';
import {
  type CreatableTopic,
  type CreatableTopicResult,
  CreateTopics,
} from '../../protocol/apis/create-topics.js';
import { DeleteTopics, type DeleteTopicsResponse } from '../../protocol/apis/delete-topics.js';
import {
  ConfigResourceType,
  DescribeConfigs,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../../protocol/apis/describe-configs.js';
import { InitProducerId } from '../../protocol/apis/init-producer-id.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../error-codes.js';
import type { ProducerIdSource } from '../producer-state.js';
import type { TopicCatalog } from '../topic-catalog.js';
import type { TransactionRouter } from '../transaction-router.js';
import { initTransactionalProducer } from './transactions.js';

type DeletableTopicResult = DeleteTopicsResponse['responses'][number];
type DescribeConfigsResource = DescribeConfigsRequest['resources'][number];
type DescribeConfigsResult = DescribeConfigsResponse['results'][number];
type DescribeConfigsEntry = DescribeConfigsResult['configs'][number];

/** DescribeConfigs configSource values. */
const SOURCE_TOPIC_OVERRIDE = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;
const CONFIG_TYPE_STRING = 2;
const CONFIG_TYPE_LONG = 5;

/**
 * Topics are created one per event-loop turn: creating one opens and fsyncs its partition files (a few ms),
 * so a request naming hundreds would otherwise keep every other connection waiting for a second or more.
 */
export function createTopicsHandler(
  topics: TopicCatalog,
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
      if (results.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const result = createTopic(topics, topic, defaultPartitions, request.validateOnly);
      hideConfigsUnlessDescribable(result, access, context);
      results.push(result);
    }
    return { throttleTimeMs: 0, topics: results };
  });
}

/** As Kafka (KIP-525): a new topic's configs are shown only to a client that may describe them. */
export function hideConfigsUnlessDescribable(
  result: CreatableTopicResult,
  access: Access,
  context: RequestContext,
): void {
  if (!access.permits(context, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, result.name)) {
    result.configs = [];
    result.topicConfigErrorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
}

/** The answer for a topic the client may not create (Access.mayCreateTopic refused it). */
export function refusedCreation(topic: CreatableTopic, defaultPartitions: number): CreatableTopicResult {
  const numPartitions = topic.numPartitions === -1 ? defaultPartitions : topic.numPartitions;
  return {
    ...creatableTopicResult(topic.name, numPartitions, 1),
    errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    errorMessage: 'not authorized to create this topic: it needs CREATE on the cluster or the topic',
  };
}

/** A CreateTopics result that reports success until something refuses the topic. */
export function creatableTopicResult(
  name: string,
  numPartitions: number,
  replicationFactor: number,
): CreatableTopicResult {
  return {
    name,
    topicId: Buffer.alloc(16),
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions,
    replicationFactor,
    configs: [],
  };
}

/** The config overrides a CreateTopics entry names (a null value means the default). */
export function configOverrides(topic: CreatableTopic): Record<string, string> {
  return Object.fromEntries(topic.configs.filter((c) => c.value !== null).map((c) => [c.name, c.value!]));
}

function createTopic(
  topics: TopicCatalog,
  topic: CreatableTopic,
  defaultPartitions: number,
  validateOnly: boolean,
): CreatableTopicResult {
  const numPartitions = topic.numPartitions === -1 ? defaultPartitions : topic.numPartitions;
  const result = creatableTopicResult(topic.name, numPartitions, 1);
  const refuse = (errorCode: number, errorMessage: string) =>
    Object.assign(result, { errorCode, errorMessage });
  if (topic.replicationFactor !== -1 && topic.replicationFactor !== 1) {
    return refuse(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      'this broker is a single node: replication factor must be 1',
    );
  }
  if (topic.assignments.length > 0) {
    return refuse(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      'manual replica assignment is not supported on a single node',
    );
  }
  if (numPartitions < 1)
    return refuse(ErrorCode.INVALID_PARTITIONS, `numPartitions=${numPartitions} must be >= 1`);
  const overrides = configOverrides(topic);
  try {
    const config = parseTopicConfig(overrides, DEFAULT_TOPIC_CONFIG);
    if (topics.logs.hasTopic(topic.name)) {
      throw new LogError('TOPIC_ALREADY_EXISTS', `topic '${topic.name}' already exists`);
    }
    if (!validateOnly) {
      const created = topics.logs.createTopic(topic.name, numPartitions, overrides);
      result.topicId = Buffer.from(created.topicId, 'hex');
    }
    result.configs = describeTopicConfig(config).map(({ key, value }) => ({
      name: key,
      value,
      readOnly: false,
      configSource: key in overrides ? SOURCE_TOPIC_OVERRIDE : SOURCE_DEFAULT,
      isSensitive: false,
    }));
  } catch (error) {
    refuse(errorCodeOf(error), errorMessageOf(error));
  }
  return result;
}

/**
 * The answer for a topic the client may not delete (DELETE on the topic), else null. Named by id, the topic's
 * name is not told to a client that may not describe it (as Kafka).
 */
export function deletionRefusal(
  access: Access,
  context: RequestContext,
  name: string,
  namedById: boolean,
): DeletableTopicResult | null {
  if (access.allows(context, DeleteTopics.name, AclOperation.DELETE, ResourceType.TOPIC, name)) return null;
  const describable = !namedById || access.permits(context, AclOperation.DESCRIBE, ResourceType.TOPIC, name);
  return {
    name: describable ? name : null,
    topicId: Buffer.alloc(16),
    errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    errorMessage: 'not authorized to delete this topic',
  };
}

export function deleteTopicsHandler(topics: TopicCatalog, access: Access): ApiHandler {
  return defineHandler(DeleteTopics, async (request, context) => {
    const byId = context.apiVersion >= 6 ? request.topics.map((t) => t.name === null) : [];
    const names =
      context.apiVersion >= 6
        ? request.topics.map((t) => t.name ?? topics.nameOf(t.topicId))
        : request.topicNames;
    const responses: DeletableTopicResult[] = [];
    for (const [i, name] of names.entries()) {
      const response: DeletableTopicResult = {
        name,
        topicId: Buffer.alloc(16),
        errorCode: ErrorCode.NONE,
        errorMessage: null,
      };
      const refusal = name ? deletionRefusal(access, context, name, byId[i] === true) : null;
      if (refusal) {
        responses.push(refusal);
        continue;
      }
      try {
        if (!name || !topics.logs.hasTopic(name)) {
          throw new LogError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
        }
        response.topicId = Buffer.from(topics.logs.describeTopic(name).topicId, 'hex');
        await topics.deleteTopic(name);
      } catch (error) {
        response.errorCode = errorCodeOf(error);
        response.errorMessage = errorMessageOf(error);
      }
      responses.push(response);
    }
    return { throttleTimeMs: 0, responses };
  });
}

export function describeConfigsHandler(
  topics: TopicCatalog,
  brokerConfig: Record<string, string>,
  access: Access,
): ApiHandler {
  return defineHandler(DescribeConfigs, (request, context) => ({
    throttleTimeMs: 0,
    results: request.resources.map(
      (resource) =>
        configsRefusal(access, context, resource) ??
        describeResource(topics, brokerConfig, resource, context.apiVersion),
    ),
  }));
}

/** As Kafka: DESCRIBE_CONFIGS on the topic for a topic, on the cluster for a broker. */
function configsRefusal(
  access: Access,
  context: RequestContext,
  resource: DescribeConfigsResource,
): DescribeConfigsResult | null {
  const refused = (errorCode: number, errorMessage: string) => ({
    errorCode,
    errorMessage,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs: [],
  });
  const { DESCRIBE_CONFIGS } = AclOperation;
  if (resource.resourceType === ConfigResourceType.TOPIC) {
    return access.allows(
      context,
      DescribeConfigs.name,
      DESCRIBE_CONFIGS,
      ResourceType.TOPIC,
      resource.resourceName,
    )
      ? null
      : refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'not authorized to describe the configs of this topic');
  }
  if (resource.resourceType === ConfigResourceType.BROKER) {
    return access.allowsCluster(context, DescribeConfigs.name, DESCRIBE_CONFIGS)
      ? null
      : refused(
          ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          'not authorized to describe the configs of the cluster',
        );
  }
  return null;
}

function describeResource(
  topics: TopicCatalog,
  brokerConfig: Record<string, string>,
  resource: DescribeConfigsResource,
  version: number,
): DescribeConfigsResult {
  const result = {
    errorCode: ErrorCode.NONE,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs: [],
  };
  const wanted = (name: string) =>
    resource.configurationKeys === null || resource.configurationKeys.includes(name);
  if (resource.resourceType === ConfigResourceType.TOPIC) {
    if (!topics.logs.hasTopic(resource.resourceName)) {
      return {
        ...result,
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `topic '${resource.resourceName}' does not exist`,
      };
    }
    const topic = topics.logs.describeTopic(resource.resourceName);
    const configs = describeTopicConfig(topic.config)
      .filter(({ key }) => wanted(key))
      .map(({ key, value, doc }) => {
        const source = key in topic.overrides ? SOURCE_TOPIC_OVERRIDE : SOURCE_DEFAULT;
        return configEntry(key, value, doc, source, version);
      });
    return { ...result, configs };
  }
  if (resource.resourceType === ConfigResourceType.BROKER) {
    const configs = Object.entries(brokerConfig)
      .filter(([key]) => wanted(key))
      .map(([key, value]) => configEntry(key, value, 'broker setting', SOURCE_STATIC_BROKER, version));
    return { ...result, configs };
  }
  return {
    ...result,
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: `resource type ${resource.resourceType} is not supported`,
  };
}

function configEntry(
  name: string,
  value: string,
  documentation: string,
  source: number,
  version: number,
): DescribeConfigsEntry {
  const numeric = /^-?\d+$/.test(value);
  return {
    name,
    value,
    readOnly: source !== SOURCE_TOPIC_OVERRIDE && source !== SOURCE_DEFAULT,
    isDefault: source === SOURCE_DEFAULT,
    configSource: source,
    isSensitive: false,
    synonyms: version >= 1 ? [{ name, value, source }] : [],
    configType: numeric ? CONFIG_TYPE_LONG : CONFIG_TYPE_STRING,
    documentation: name in TOPIC_CONFIG_KEYS ? TOPIC_CONFIG_KEYS[name]!.doc : documentation,
  };
}

/**
 * A transactional producer is answered by its transaction coordinator (handlers/transactions.ts). An
 * idempotent producer needs IDEMPOTENT_WRITE on the cluster, or WRITE on some topic (the authorizer's
 * KIP-679 fallback).
 */
export function initProducerIdHandler(
  producerIds: ProducerIdSource,
  transactions: TransactionRouter,
  access: Access,
): ApiHandler {
  return defineHandler(InitProducerId, async (request, context) => {
    const refused = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode,
      producerId: -1,
      producerEpoch: -1,
    });
    if (request.transactionalId !== null) {
      const { transactionalId } = request;
      return initTransactionalProducer(
        transactions,
        access,
        context,
        { ...request, transactionalId },
        InitProducerId.name,
      );
    }
    if (!access.allowsCluster(context, InitProducerId.name, AclOperation.IDEMPOTENT_WRITE)) {
      return refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    }
    // Without a transactional id Kafka always hands out a fresh producer id at epoch 0, whatever id and
    // epoch the request carries (some clients send 0/0 rather than -1/-1): reusing theirs would make two
    // producers share one sequence space.
    let producerId: number;
    try {
      producerId = await producerIds.allocate();
    } catch (error) {
      // The shared counter is out of reach (no ZooKeeper): a retriable error, the client asks again.
      if (!(error instanceof CoordinationError)) throw error;
      return refused(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  });
}
