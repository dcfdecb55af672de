export { MAX_ALERTS_PER_NOTIFICATION } from './dispatcher.js';
export { AlertEngine, type AlertEngineOptions, AlertLimitError, fingerprintOf } from './engine.js';
export { AlertMetrics } from './metrics.js';
export { LogNotifier } from './notifiers/log.js';
export type { AlertNotification, NotifiedAlert, Notifier } from './notifiers/notifier.js';
export { TopicNotifier, type TopicNotifierOptions } from './notifiers/topic.js';
export {
  WebhookError,
  WebhookNotifier,
  type WebhookNotifierOptions,
  type WebhookStats,
} from './notifiers/webhook.js';
export {
  AlertConfigError,
  type AlertingConfig,
  type AlertingConfigInput,
  type AlertRule,
  alertingConfigSchema,
  COMPARATORS,
  parseAlertingConfig,
  parseRules,
  type Route,
  type RuleInput,
  rulesSchema,
  type SilenceInput,
} from './rules.js';
export type { WindowUpdate } from './series.js';
export { type Silence, SilenceLimitError, Silences } from './silences.js';
export { compileTemplate } from './template.js';
export type { AlertSnapshot, AlertState, AlertTransition } from './types.js';
