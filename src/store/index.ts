export { StoreError, type StoreErrorCode } from './errors.js';
export { DEFAULT_DOWNSAMPLE_TIERS, DEFAULT_FALLBACK_ROLLUP, DEFAULT_FIELD_ROLLUPS } from './rollup.js';
export { SCHEMA_VERSION } from './sqlite-schema.js';
export { SqliteAggregateStore, type SqliteStoreOptions } from './sqlite-store.js';
export type * from './types.js';
export { DEFAULT_STORE_LIMITS, type StoreLimits } from './validation.js';
