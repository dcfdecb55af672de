/**
 * What the HTTP API reads from the rest of the process. The server depends on these narrow read-only views,
 * not on the broker's classes, so it can serve a remote cluster or a test double the same way.
 */

export interface PartitionView {
  partition: number;
  /** First offset still in the log (retention moves it forward). */
  logStartOffset: number;
  /** Offset the next appended record gets. */
  logEndOffset: number;
  /** Last offset consumers may read up to (exclusive): records made durable. */
  highWatermark: number;
}

export interface TopicView {
  name: string;
  partitions: PartitionView[];
}

export interface GroupMemberView {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
}

export interface CommittedOffsetView {
  topic: string;
  partition: number;
  committedOffset: number;
  /** The partition's high watermark now; null when the topic no longer exists. */
  highWatermark: number | null;
  /** highWatermark - committedOffset, never negative; null when the topic no longer exists. */
  lag: number | null;
}

export interface GroupView {
  groupId: string;
  /** Kafka's group states: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead. */
  state: string;
  protocolType: string;
  members: GroupMemberView[];
  offsets: CommittedOffsetView[];
}

export interface ClusterView {
  /** Topics ordered by name. */
  topics(): TopicView[];
  /** Consumer groups ordered by id: those with members and those with committed offsets. */
  groups(): GroupView[];
}

export type LiveEventType = 'window' | 'alert';

/** One message for the dashboard's live stream: a window update or an alert transition. */
export interface LiveEvent {
  type: LiveEventType;
  data: unknown;
}
