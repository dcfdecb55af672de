export * from './client-errors.js';
export * from './client-limits.js';
export * from './embedded-client.js';
export * from './remote-client.js';
export * from './types.js';
