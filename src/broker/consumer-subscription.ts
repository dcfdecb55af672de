import { decodeVersioned, defineFields, ProtocolError } from '../protocol/index.js';
import type { Group } from './group-types.js';

/** ConsumerProtocolSubscription (never flexible): the topics come first in every version; the rest is not needed here. */
const subscriptionTopics = defineFields([{ name: 'topics', type: { array: 'string' }, versions: '0+' }]);
const NEVER_FLEXIBLE = Number.POSITIVE_INFINITY;

/**
 * Every topic a member of `group` subscribes to, read from the subscriptions of the consumer protocol (every
 * assignor's, as the group may not have chosen one yet); null when the group does not use that protocol or
 * a subscription cannot be read, and so any topic may be in use.
 */
export function consumerGroupTopics(group: Group): Set<string> | null {
  if (group.protocolType !== 'consumer') return null;
  const topics = new Set<string>();
  for (const member of group.members.values()) {
    for (const protocol of member.protocols) {
      try {
        for (const topic of decodeVersioned(subscriptionTopics, protocol.metadata, NEVER_FLEXIBLE).topics) {
          topics.add(topic);
        }
      } catch (error) {
        if (error instanceof ProtocolError) return null;
        throw error;
      }
    }
  }
  return topics;
}
