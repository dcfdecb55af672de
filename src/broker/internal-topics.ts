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
