export { type BatchSummary, validateBatches } from './batch-validation.js';
export type { CompactionStats } from './compaction.js';
export {
  type CleanupPolicy,
  compactionEnabled,
  DEFAULT_TOPIC_CONFIG,
  deletionEnabled,
  describeTopicConfig,
  parseTopicConfig,
  TOPIC_CONFIG_KEYS,
  type TopicConfig,
  type TopicConfigOverrides,
} from './config.js';
export { CorruptSegmentError, LogError, type LogErrorCode } from './errors.js';
export {
  type EpochEndOffset,
  type EpochEntry,
  LEADER_EPOCH_CHECKPOINT_FILE,
  UNDEFINED_EPOCH,
  UNDEFINED_EPOCH_OFFSET,
} from './leader-epoch-cache.js';
export {
  LogManager,
  type LogManagerOptions,
  MAX_PARTITIONS_PER_TOPIC,
  type MaintenanceResult,
  type TopicDescription,
  validateTopicName,
} from './log-manager.js';
export type { Logger } from './logger.js';
export { OpenFileLimiter } from './open-files.js';
export {
  type AppendResult,
  type CommittedReadResult,
  PartitionLog,
  type PartitionLogOptions,
  type ReadResult,
  type RetentionResult,
  type WriteOptions,
} from './partition-log.js';
export {
  type AbortedTransaction,
  type ActiveProducer,
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  lastSequenceOf,
  type SequenceVerdict,
} from './producer-state.js';
export { fsyncDirectory, type SegmentWriter, writeFileAtomic } from './segment.js';
