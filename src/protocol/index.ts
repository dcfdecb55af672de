export * from './codec.js';
export * from './message-types.js';
export * from './messages.js';
export * from './record-batch.js';
export * from './record-batch-header.js';
export * from './schema.js';
export * from './varint.js';
export * from './wire.js';
