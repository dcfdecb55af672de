import { ErrorCode } from './error-codes.js';
import { OFFSETS_TOPIC } from './offset-store.js';
import { TRANSACTION_STATE_TOPIC } from './transaction-log.js';

/**
 * Topics the broker itself writes, as Kafka's internal topics: shown with isInternal in Metadata, written
 * only by the broker (a client's Produce is refused), never auto-created as a user topic.
 */
const INTERNAL_TOPICS: ReadonlySet<string> = new Set([OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC]);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}

/**
 * Why a client's CreateTopics of an internal topic is refused, or null for any other topic. The broker
 * creates and keeps these itself, with the partition count and compaction its coordinators depend on (on a
 * single node `__transaction_state` is not even among the user topics), so a client never creates one. Once
 * it exists the answer is Kafka's for any existing topic, TOPIC_ALREADY_EXISTS; before its first use (a
 * cluster before the first FindCoordinator) INVALID_REQUEST, as Kafka refuses its own broker-managed topic
 * `__cluster_metadata`. Kafka itself would create `__consumer_offsets` with the request's settings then.
 */
export function internalTopicCreationRefusal(
  name: string,
  exists: boolean,
): { errorCode: number; errorMessage: string } | null {
  if (!isInternalTopic(name)) return null;
  return exists
    ? { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: `topic '${name}' already exists` }
    : {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `Creation of internal topic ${name} is prohibited: the broker creates it on first use`,
      };
}
