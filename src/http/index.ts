export { brokerClusterView } from './broker-view.js';
export type { ErrorBody, HttpErrorCode } from './errors.js';
export {
  LIVE_EVENT_TYPES,
  LiveFeed,
  type LiveFeedOptions,
  type LiveFeedStats,
  type LiveFilter,
  type SseConnection,
} from './live-feed.js';
export { HttpApi, type HttpApiOptions } from './server.js';
export type * from './types.js';
