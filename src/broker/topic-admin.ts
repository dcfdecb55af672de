import fs from 'node:fs';
import type { PartitionLog } from '../log/index.js';
import { ErrorCode } from '../protocol/index.js';
import { errorCodeOf, errorMessageOf } from './error-codes.js';
import type { TopicCatalog } from './topic-catalog.js';

/** The outcome of a topic change: NONE, or a Kafka error code and a message naming what was refused. */
export type AdminAnswer = { errorCode: number; message: string | null };

export const ADMIN_OK: AdminAnswer = { errorCode: ErrorCode.NONE, message: null };

/** One partition held in this broker's data directory, for DescribeLogDirs. */
export interface HostedPartition {
  topic: string;
  partition: number;
  log: PartitionLog;
}

/**
 * What the topic admin APIs (CreatePartitions, DeleteRecords, AlterConfigs, DescribeLogDirs, and the topic
 * side of DescribeConfigs) need of a deployment: a single node changes its LogManager, a cluster the shared
 * state in ZooKeeper (handlers/cluster-topic-admin.ts). The handlers are the same for both.
 */
export interface TopicAdmin {
  /** The topic's config overrides, Kafka's key names; null when it does not exist. */
  overrides(topic: string): Record<string, string> | null;
  /** Grows the topic to `count` partitions; `assignments` places the new ones (null: the broker does). */
  addPartitions(
    topic: string,
    count: number,
    assignments: number[][] | null,
    validateOnly: boolean,
    timeoutMs: number,
  ): Promise<AdminAnswer>;
  /** Replaces the topic's overrides, validated first. */
  setOverrides(
    topic: string,
    overrides: Record<string, string>,
    validateOnly: boolean,
    timeoutMs: number,
  ): Promise<AdminAnswer>;
  /** The log DeleteRecords moves on (the leader's in a cluster), or the error code for the partition. */
  writableLog(topic: string, partition: number): PartitionLog | number;
  /** Resolves true once every in-sync replica has moved its log start to `offset`, false at the timeout. */
  replicated(topic: string, partition: number, offset: number, timeoutMs: number): Promise<boolean>;
  /** The partitions this broker keeps a replica of. */
  hosted(): HostedPartition[];
  readonly dataDir: string;
}

/** The single node's topic admin: every change goes to its LogManager at once. */
export function localTopicAdmin(topics: TopicCatalog, dataDir: string): TopicAdmin {
  const { logs } = topics;
  const attempt = (change: () => void): AdminAnswer => {
    try {
      change();
      return ADMIN_OK;
    } catch (error) {
      return { errorCode: errorCodeOf(error), message: errorMessageOf(error) };
    }
  };
  return {
    dataDir,
    overrides: (topic) => (logs.hasTopic(topic) ? logs.describeTopic(topic).overrides : null),
    addPartitions: async (topic, count, assignments, validateOnly) => {
      if (!logs.hasTopic(topic)) {
        return {
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          message: `topic '${topic}' does not exist`,
        };
      }
      const current = logs.describeTopic(topic).partitions;
      if (count <= current) {
        return {
          errorCode: ErrorCode.INVALID_PARTITIONS,
          message: `topic '${topic}' has ${current} partitions: the new count ${count} must be larger`,
        };
      }
      if (assignments !== null && assignments.length > 0) {
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          message: 'manual replica assignment is not supported on a single node',
        };
      }
      return validateOnly ? ADMIN_OK : attempt(() => logs.addPartitions(topic, count));
    },
    setOverrides: async (topic, overrides, validateOnly) => {
      if (!logs.hasTopic(topic)) {
        return {
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          message: `topic '${topic}' does not exist`,
        };
      }
      return attempt(() => {
        if (validateOnly) logs.validateOverrides(overrides);
        else logs.alterTopicConfig(topic, overrides);
      });
    },
    writableLog: (topic, partition) =>
      logs.partitionIfExists(topic, partition) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    replicated: async () => true,
    hosted: () =>
      logs.topicNames().flatMap((topic) =>
        Array.from({ length: logs.describeTopic(topic).partitions }, (_, partition) => ({
          topic,
          partition,
          log: logs.partition(topic, partition),
        })),
      ),
  };
}

/** The data directory's file system: its size and what is left for this process (DescribeLogDirs v4). */
export function diskSpace(dir: string): { totalBytes: number; usableBytes: number } {
  try {
    const stats = fs.statfsSync(dir);
    return { totalBytes: stats.blocks * stats.bsize, usableBytes: stats.bavail * stats.bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}
