import path from 'node:path';
import {
  AlterConfigs,
  type AlterConfigsResponse,
  ConfigOperation,
  IncrementalAlterConfigs,
  type IncrementalAlterConfigsRequest,
} from '../../protocol/apis/alter-configs.js';
import { CreatePartitions } from '../../protocol/apis/create-partitions.js';
import { DeleteRecords } from '../../protocol/apis/delete-records.js';
import { ConfigResourceType } from '../../protocol/apis/describe-configs.js';
import { DescribeLogDirs, type DescribeLogDirsResponse } from '../../protocol/apis/describe-log-dirs.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import type { DynamicBrokerConfigs } from '../dynamic-broker-config.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { type AdminAnswer, diskSpace, type TopicAdmin } from '../topic-admin.js';

type AlterResult = AlterConfigsResponse['responses'][number];
type AlterableConfig = IncrementalAlterConfigsRequest['resources'][number]['configs'][number];

/** Longest a topic change waits to show everywhere, whatever the client's timeout says. */
const MAX_ADMIN_WAIT_MS = 30_000;
/** Configs whose value is a list, the only ones APPEND and SUBTRACT apply to (as in Kafka), by resource type. */
const LIST_CONFIG_KEYS: Readonly<Record<number, { key: string; topicKey: string }>> = {
  [ConfigResourceType.TOPIC]: { key: 'cleanup.policy', topicKey: 'cleanup.policy' },
  [ConfigResourceType.BROKER]: { key: 'log.cleanup.policy', topicKey: 'cleanup.policy' },
};

/** The client's timeout, bounded: 0 answers at once, a negative one counts as 0. */
function waitMsOf(timeoutMs: number): number {
  return Math.min(Math.max(0, timeoutMs), MAX_ADMIN_WAIT_MS);
}

/** Where configs change: topics through the deployment's TopicAdmin, brokers' dynamic configs. */
export interface ConfigTargets {
  admin: TopicAdmin;
  dynamic: DynamicBrokerConfigs;
  /** Whether a BROKER resource name is one this broker may set: '' (every broker) or a broker's id. */
  knownBroker(name: string): boolean;
}

/**
 * CreatePartitions, DeleteRecords, AlterConfigs, IncrementalAlterConfigs and DescribeLogDirs over either
 * deployment's TopicAdmin.
 */
export function topicAdminHandlers(targets: ConfigTargets, access: Access): ApiHandler[] {
  const { admin } = targets;
  return [
    createPartitionsHandler(admin, access),
    deleteRecordsHandler(admin, access),
    alterConfigsHandler(targets, access),
    incrementalAlterConfigsHandler(targets, access),
    describeLogDirsHandler(admin, access),
  ];
}

/** As Kafka: ALTER on the topic; a topic named twice in one request is refused (INVALID_REQUEST). */
function createPartitionsHandler(admin: TopicAdmin, access: Access): ApiHandler {
  return defineHandler(CreatePartitions, async (request, context) => {
    const named = request.topics.map((t) => t.name);
    const results = [];
    for (const topic of request.topics) {
      let answer: AdminAnswer;
      if (named.indexOf(topic.name) !== named.lastIndexOf(topic.name)) {
        answer = { errorCode: ErrorCode.INVALID_REQUEST, message: `topic '${topic.name}' is named twice` };
      } else if (
        !access.allows(context, CreatePartitions.name, AclOperation.ALTER, ResourceType.TOPIC, topic.name)
      ) {
        answer = {
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          message: 'not authorized to add partitions to this topic: it needs ALTER on it',
        };
      } else {
        answer = await admin.addPartitions(
          topic.name,
          topic.count,
          topic.assignments?.map((a) => a.brokerIds) ?? null,
          request.validateOnly,
          waitMsOf(request.timeoutMs),
        );
      }
      results.push({ name: topic.name, errorCode: answer.errorCode, errorMessage: answer.message });
    }
    return { throttleTimeMs: 0, results };
  });
}

/**
 * As Kafka: DELETE on the topic. Offset -1 means the high watermark; past it is OFFSET_OUT_OF_RANGE. The
 * answer waits (bounded by timeoutMs) for every in-sync replica to move its log start too, else
 * REQUEST_TIMED_OUT with the leader's new low watermark.
 */
function deleteRecordsHandler(admin: TopicAdmin, access: Access): ApiHandler {
  return defineHandler(DeleteRecords, async (request, context) => {
    const waitMs = waitMsOf(request.timeoutMs);
    const topics = [];
    for (const topic of request.topics) {
      const allowed = access.allows(
        context,
        DeleteRecords.name,
        AclOperation.DELETE,
        ResourceType.TOPIC,
        topic.name,
      );
      const partitions = [];
      for (const p of topic.partitions) {
        const answer = (errorCode: number, lowWatermark = -1) => ({
          partitionIndex: p.partitionIndex,
          lowWatermark,
          errorCode,
        });
        if (!allowed) {
          partitions.push(answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
          continue;
        }
        const log = admin.writableLog(topic.name, p.partitionIndex);
        if (typeof log === 'number') {
          partitions.push(answer(log));
          continue;
        }
        const offset = p.offset === -1 ? log.highWatermark : p.offset;
        if (offset < 0 || offset > log.highWatermark) {
          partitions.push(answer(ErrorCode.OFFSET_OUT_OF_RANGE));
          continue;
        }
        let lowWatermark: number;
        try {
          lowWatermark = log.advanceLogStartOffset(offset);
        } catch (error) {
          partitions.push(answer(errorCodeOf(error)));
          continue;
        }
        const replicated = await admin.replicated(topic.name, p.partitionIndex, lowWatermark, waitMs);
        partitions.push(answer(replicated ? ErrorCode.NONE : ErrorCode.REQUEST_TIMED_OUT, lowWatermark));
      }
      topics.push({ name: topic.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  });
}

/** AlterConfigs: the configs given replace the resource's overrides (KIP-133's semantics). */
function alterConfigsHandler(targets: ConfigTargets, access: Access): ApiHandler {
  return defineHandler(AlterConfigs, async (request, context) => {
    const responses: AlterResult[] = [];
    for (const resource of request.resources) {
      const configs = Object.fromEntries(
        resource.configs.filter((c) => c.value !== null).map((c) => [c.name, c.value ?? '']),
      );
      const answer =
        alterRefusal(targets, access, context, AlterConfigs.name, resource) ??
        (await setConfigs(targets, resource, configs, request.validateOnly));
      responses.push(alterResult(resource, answer));
    }
    return { throttleTimeMs: 0, responses };
  });
}

/** IncrementalAlterConfigs (KIP-339): SET and DELETE on any key, APPEND and SUBTRACT on list keys. */
function incrementalAlterConfigsHandler(targets: ConfigTargets, access: Access): ApiHandler {
  return defineHandler(IncrementalAlterConfigs, async (request, context) => {
    const responses: AlterResult[] = [];
    for (const resource of request.resources) {
      let answer = alterRefusal(targets, access, context, IncrementalAlterConfigs.name, resource);
      if (!answer) {
        const topic = resource.resourceType === ConfigResourceType.TOPIC;
        const current = topic
          ? targets.admin.overrides(resource.resourceName)
          : targets.dynamic.overrides(resource.resourceName);
        const list = LIST_CONFIG_KEYS[resource.resourceType]!;
        const next =
          current &&
          applyOperations(current, resource.configs, (name) =>
            name === list.key ? targets.dynamic.topicSynonyms(list.topicKey)[0]!.value : null,
          );
        answer =
          current === null
            ? {
                errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                message: `topic '${resource.resourceName}' does not exist`,
              }
            : typeof next === 'string'
              ? { errorCode: ErrorCode.INVALID_CONFIG, message: next }
              : await setConfigs(targets, resource, next ?? {}, request.validateOnly);
      }
      responses.push(alterResult(resource, answer));
    }
    return { throttleTimeMs: 0, responses };
  });
}

/** Replaces a topic's overrides or a broker's dynamic configs (alterRefusal let only these two through). */
function setConfigs(
  targets: ConfigTargets,
  resource: { resourceType: number; resourceName: string },
  configs: Record<string, string>,
  validateOnly: boolean,
): Promise<AdminAnswer> {
  return resource.resourceType === ConfigResourceType.TOPIC
    ? targets.admin.setOverrides(resource.resourceName, configs, validateOnly, MAX_ADMIN_WAIT_MS)
    : targets.dynamic.set(resource.resourceName, configs, validateOnly);
}

/** The overrides after the operations, or a message naming the first that cannot apply. */
export function applyOperations(
  overrides: Readonly<Record<string, string>>,
  operations: readonly AlterableConfig[],
  listDefault: (name: string) => string | null,
): Record<string, string> | string {
  const next = { ...overrides };
  const named = operations.map((o) => o.name);
  for (const { name, configOperation, value } of operations) {
    if (named.indexOf(name) !== named.lastIndexOf(name)) return `config '${name}' is named twice`;
    if (configOperation === ConfigOperation.DELETE) {
      delete next[name];
      continue;
    }
    if (value === null) return `config '${name}' needs a value for operation ${configOperation}`;
    if (configOperation === ConfigOperation.SET) {
      next[name] = value;
      continue;
    }
    if (configOperation !== ConfigOperation.APPEND && configOperation !== ConfigOperation.SUBTRACT) {
      return `unknown config operation ${configOperation} for '${name}'`;
    }
    const unset = listDefault(name);
    if (unset === null) return `config '${name}' is not a list: APPEND and SUBTRACT do not apply`;
    const base = next[name] ?? unset;
    const items = base.split(',').filter((item) => item !== '');
    const given = value.split(',').filter((item) => item !== '');
    const result =
      configOperation === ConfigOperation.APPEND
        ? [...items, ...given.filter((item) => !items.includes(item))]
        : items.filter((item) => !given.includes(item));
    next[name] = result.join(',');
  }
  return next;
}

/**
 * As Kafka: ALTER_CONFIGS on the topic for a topic, on the cluster for a broker; a broker resource names
 * every broker ('') or a known broker's id.
 */
function alterRefusal(
  targets: ConfigTargets,
  access: Access,
  context: RequestContext,
  api: string,
  resource: { resourceType: number; resourceName: string },
): AdminAnswer | null {
  const { ALTER_CONFIGS } = AclOperation;
  if (resource.resourceType === ConfigResourceType.TOPIC) {
    return access.allows(context, api, ALTER_CONFIGS, ResourceType.TOPIC, resource.resourceName)
      ? null
      : {
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          message: 'not authorized to alter the configs of this topic: it needs ALTER_CONFIGS on it',
        };
  }
  if (resource.resourceType === ConfigResourceType.BROKER) {
    if (!access.allowsCluster(context, api, ALTER_CONFIGS)) {
      return {
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        message: 'not authorized to alter broker configs: it needs ALTER_CONFIGS on the cluster',
      };
    }
    return targets.knownBroker(resource.resourceName)
      ? null
      : {
          errorCode: ErrorCode.INVALID_REQUEST,
          message: `broker '${resource.resourceName}' is not known here: name a broker id, or '' for every broker`,
        };
  }
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    message: `resource type ${resource.resourceType} is not supported`,
  };
}

function alterResult(
  resource: { resourceType: number; resourceName: string },
  answer: AdminAnswer,
): AlterResult {
  return {
    errorCode: answer.errorCode,
    errorMessage: answer.message,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
  };
}

/**
 * DescribeLogDirs: the one data directory, with the size of each partition this broker keeps a replica
 * of. As Kafka: DESCRIBE on the cluster, else an empty answer (v3+: CLUSTER_AUTHORIZATION_FAILED).
 */
function describeLogDirsHandler(admin: TopicAdmin, access: Access): ApiHandler {
  return defineHandler(DescribeLogDirs, (request, context) => {
    if (!access.allowsCluster(context, DescribeLogDirs.name, AclOperation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    }
    const wanted = (topic: string, partition: number) =>
      request.topics === null ||
      request.topics.some((t) => t.topic === topic && t.partitions.includes(partition));
    const byTopic = new Map<string, DescribeLogDirsResponse['results'][number]['topics'][number]>();
    for (const { topic, partition, log } of admin.hosted()) {
      if (!wanted(topic, partition)) continue;
      const entry = byTopic.get(topic) ?? { name: topic, partitions: [] };
      entry.partitions.push({
        partitionIndex: partition,
        partitionSize: log.sizeBytes,
        // How far the log end is behind the high watermark: 0 for a leader and a single node's log.
        offsetLag: Math.max(0, log.highWatermark - log.logEndOffset),
        isFutureKey: false,
      });
      byTopic.set(topic, entry);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [
        {
          errorCode: ErrorCode.NONE,
          logDir: path.resolve(admin.dataDir),
          topics: [...byTopic.values()],
          ...diskSpace(admin.dataDir),
        },
      ],
    };
  });
}
