import type { Logger } from 'pino';
import { z } from 'zod';
import type { LogClient } from '../client/types.js';
import { LogNotifier } from './notifiers/log.js';
import type { Notifier } from './notifiers/notifier.js';
import { TopicNotifier } from './notifiers/topic.js';
import { WebhookNotifier } from './notifiers/webhook.js';
import { durationSchema } from './rules.js';

const webhook = z.strictObject({
  kind: z.literal('webhook'),
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  timeout: durationSchema.default(5_000),
  maxAttempts: z.number().int().min(1).max(100).default(5),
  initialBackoff: durationSchema.default(200),
  maxBackoff: durationSchema.default(10_000),
  maxQueue: z.number().int().min(1).max(100_000).default(1_000),
  headers: z.record(z.string(), z.string().max(4096)).default({}),
});

const log = z.strictObject({ kind: z.literal('log') });

const topic = z.strictObject({
  kind: z.literal('topic'),
  topic: z.string().min(1).max(249).default('edgestream.alerts'),
  partitions: z.number().int().min(1).max(10_000).default(1),
});

export const notifierSchema = z.discriminatedUnion('kind', [webhook, log, topic]);
export const notifiersSchema = z.array(notifierSchema).max(32);

export type NotifierConfig = z.output<typeof notifierSchema>;
export type NotifierConfigInput = z.input<typeof notifierSchema>;

export interface NotifierContext {
  logger: Logger;
  /** For topic notifiers: the log they write to. */
  client: LogClient;
}

/** Builds the configured notifiers; their failures are logged, never thrown at the alert engine. */
export function createNotifiers(configs: readonly NotifierConfig[], context: NotifierContext): Notifier[] {
  return configs.map((config) => createNotifier(config, context));
}

function createNotifier(config: NotifierConfig, context: NotifierContext): Notifier {
  const { logger } = context;
  switch (config.kind) {
    case 'webhook':
      return new WebhookNotifier({
        url: config.url,
        timeoutMs: config.timeout,
        maxAttempts: config.maxAttempts,
        initialBackoffMs: config.initialBackoff,
        maxBackoffMs: config.maxBackoff,
        maxQueue: config.maxQueue,
        headers: config.headers,
        onError: (error) => logger.warn({ err: error, url: config.url }, 'webhook notification failed'),
      });
    case 'log':
      return new LogNotifier(logger.child({ notifier: 'log' }));
    case 'topic':
      return new TopicNotifier({
        client: context.client,
        topic: config.topic,
        partitions: config.partitions,
        onError: (error) => logger.warn({ err: error, topic: config.topic }, 'alert topic write failed'),
      });
  }
}
