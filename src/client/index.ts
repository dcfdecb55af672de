export * from './embedded-client.js';
export * from './remote-client.js';
export * from './types.js';
