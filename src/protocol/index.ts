export * from './record-batch.js';
export * from './record-batch-header.js';
export * from './varint.js';
