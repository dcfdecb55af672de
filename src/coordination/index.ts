export {
  CoordinationError,
  type CoordinationErrorCode,
  type CoordinationOp,
  type Coordinator,
  type SessionState,
  type Versioned,
} from './coordinator.js';
export { ZooKeeperCoordinator, type ZooKeeperCoordinatorOptions } from './zookeeper-coordinator.js';
