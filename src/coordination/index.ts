export {
  CoordinationError,
  type CoordinationErrorCode,
  type CoordinationOp,
  type Coordinator,
  onNewSession,
  type SessionState,
  type Versioned,
} from './coordinator.js';
export { Election, type ElectionOptions, type Leadership } from './election.js';
export { Membership, type MembershipOptions } from './membership.js';
export { PauseDetector } from './pause-detector.js';
export { ZooKeeperCoordinator, type ZooKeeperCoordinatorOptions } from './zookeeper-coordinator.js';
