export { Backoff } from '../client/backoff.js';
export { type MirrorConfig, mirrorConfigSchema } from './config.js';
export { MirrorError, type MirrorErrorCode } from './errors.js';
export { MirrorMetrics } from './metrics.js';
export {
  MIRROR_DEFAULTS,
  MIRROR_LIMITS,
  Mirror,
  type MirrorOptions,
  type MirrorPartitionStatus,
  type MirrorStatus,
} from './mirror.js';
export { compileFilter, type FilterSpec, type PolicyRule, type TopicPolicy } from './policy.js';
export { originalHeaders, PROVENANCE_HEADER, provenanceOf } from './provenance.js';
export { mirrorOptionsFromConfig, remoteTarget } from './remote-target.js';
