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
import {
  ConfigSource,
  DYNAMIC_BROKER_KEYS,
  type DynamicBrokerConfigs,
  type Synonym,
} from '../dynamic-broker-config.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../error-codes.js';
import { internalTopicCreationRefusal, isInternalTopic } from '../internal-topics.js';
import type { ProducerIdSource } from '../producer-state.js';
import type { TopicAdmin } from '../topic-admin.js';
import type { TopicCatalog } from '../topic-catalog.js';
import type { TransactionRouter } from '../transaction-router.js';
import { initTransactionalProducer } from './transactions.js';

type DeletableTopicResult = DeleteTopicsResponse['responses'][number];
type DescribeConfigsResource = DescribeConfigsRequest['resources'][number];
type DescribeConfigsResult = DescribeConfigsResponse['results'][number];
type DescribeConfigsEntry = DescribeConfigsResult['configs'][number];

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
  // A single node keeps both internal topics from its start.
  const internal = internalTopicCreationRefusal(topic.name, true);
  if (internal) return refuse(internal.errorCode, internal.errorMessage);
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
      configSource: key in overrides ? ConfigSource.DYNAMIC_TOPIC_CONFIG : ConfigSource.DEFAULT_CONFIG,
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
      if (name && isInternalTopic(name)) {
        // The group coordinator's offsets live there: deleting it under the coordinator would lose them.
        responses.push({
          ...response,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `${name} is internal`,
        });
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

/** What DescribeConfigs describes: topics as the deployment holds them, and this broker's settings. */
export interface DescribableConfigs {
  admin: TopicAdmin;
  /** The broker configs that change while it runs, and the topic defaults they make. */
  dynamic: DynamicBrokerConfigs;
  /** This broker's id in decimal: a BROKER resource of another name describes no dynamic configs of this one. */
  brokerName: string;
  broker: Readonly<Record<string, string>>;
}

export function describeConfigsHandler(configs: DescribableConfigs, access: Access): ApiHandler {
  return defineHandler(DescribeConfigs, (request, context) => ({
    throttleTimeMs: 0,
    results: request.resources.map(
      (resource) =>
        configsRefusal(access, context, resource) ??
        describeResource(configs, resource, context.apiVersion >= 1 && request.includeSynonyms),
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
  configs: DescribableConfigs,
  resource: DescribeConfigsResource,
  includeSynonyms: boolean,
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
    const overrides = configs.admin.overrides(resource.resourceName);
    if (overrides === null) {
      return {
        ...result,
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `topic '${resource.resourceName}' does not exist`,
      };
    }
    return {
      ...result,
      configs: topicConfigEntries(configs, overrides)
        .filter(({ name }) => wanted(name))
        .map((entry) => configEntry(entry, includeSynonyms)),
    };
  }
  if (resource.resourceType === ConfigResourceType.BROKER) {
    return {
      ...result,
      configs: brokerConfigEntries(configs, resource.resourceName)
        .filter(({ name }) => wanted(name))
        .map((entry) => configEntry(entry, includeSynonyms)),
    };
  }
  return {
    ...result,
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: `resource type ${resource.resourceType} is not supported`,
  };
}

/**
 * A topic's every config key with its value and, most significant first, where values for it come from:
 * the topic's override (DYNAMIC_TOPIC_CONFIG), then the broker levels (DynamicBrokerConfigs.topicSynonyms).
 * The first is the value's source. Overridden keys that are not the log's (a cluster's min.insync.replicas)
 * are listed too.
 */
function topicConfigEntries(
  configs: DescribableConfigs,
  overrides: Readonly<Record<string, string>>,
): Array<{ name: string; value: string; synonyms: Synonym[] }> {
  const entries = Object.keys(TOPIC_CONFIG_KEYS).map((key) => {
    const synonyms = configs.dynamic.topicSynonyms(key);
    if (key in overrides) {
      synonyms.unshift({ name: key, value: overrides[key]!, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    }
    return { name: key, value: synonyms[0]!.value, synonyms };
  });
  for (const [name, value] of Object.entries(overrides)) {
    if (!(name in TOPIC_CONFIG_KEYS)) {
      entries.push({ name, value, synonyms: [{ name, value, source: ConfigSource.DYNAMIC_TOPIC_CONFIG }] });
    }
  }
  return entries;
}

/**
 * A broker's configs: those of its config file (STATIC_BROKER_CONFIG), and the dynamic ones (the defaults
 * of topic configs under Kafka's broker names) with every level that sets them. `name` '' is the default
 * for every broker: only its dynamic configs.
 */
function brokerConfigEntries(
  configs: DescribableConfigs,
  name: string,
): Array<{ name: string; value: string; synonyms: Synonym[] }> {
  const fixed =
    name === ''
      ? []
      : Object.entries(configs.broker).map(([key, value]) => ({
          name: key,
          value,
          synonyms: [{ name: key, value, source: ConfigSource.STATIC_BROKER_CONFIG }],
        }));
  const dynamic = Object.entries(DYNAMIC_BROKER_KEYS).flatMap(([brokerKey, topicKey]) => {
    // Another broker's own values are not this one's to tell; the shared default and below are.
    const synonyms = configs.dynamic
      .topicSynonyms(topicKey)
      .filter(
        (s) =>
          s.source !== ConfigSource.DYNAMIC_BROKER_CONFIG || (name !== '' && name === configs.brokerName),
      )
      .filter((s) => name !== '' || s.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
      .map((s) => ({ ...s, name: brokerKey }));
    return synonyms.length > 0 ? [{ name: brokerKey, value: synonyms[0]!.value, synonyms }] : [];
  });
  return [...fixed, ...dynamic];
}

function configEntry(
  entry: { name: string; value: string; synonyms: Synonym[] },
  includeSynonyms: boolean,
): DescribeConfigsEntry {
  const source = entry.synonyms[0]!.source;
  const { name, value } = entry;
  return {
    name,
    value,
    readOnly:
      !(name in TOPIC_CONFIG_KEYS) &&
      !(name in DYNAMIC_BROKER_KEYS) &&
      source === ConfigSource.STATIC_BROKER_CONFIG,
    isDefault: source === ConfigSource.DEFAULT_CONFIG,
    configSource: source,
    isSensitive: false,
    synonyms: includeSynonyms ? entry.synonyms : [],
    configType: /^-?\d+$/.test(value) ? CONFIG_TYPE_LONG : CONFIG_TYPE_STRING,
    documentation: TOPIC_CONFIG_KEYS[name]?.doc ?? 'broker setting',
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
