export * from './acl.js';
export * from './acl-store.js';
export * from './authorizer.js';
