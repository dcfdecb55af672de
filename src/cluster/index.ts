export { assignReplicas, type PlacementBroker } from './assignment.js';
export { BrokerChannel } from './broker-channel.js';
export {
  type ClusterAnswer,
  ClusterNode,
  type ClusterSettings,
  type CreateTopicRequest,
} from './cluster-node.js';
export { type ClusterView, partitionKey, type TopicInfo } from './cluster-view.js';
export type { LeaderPartition } from './leader-partition.js';
export { REPLICATION_CONFIG_KEYS } from './replication-config.js';
export { endpointOf, Paths } from './zk-layout.js';
