import { z } from 'zod';
import { type Duration, toMillis } from '../streams/duration.js';
import { compileLabelPattern, LabelPatternError } from './label-pattern.js';
import { type CompiledTemplate, compileTemplate } from './template.js';

export const COMPARATORS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparator = (typeof COMPARATORS)[number];
export const SEVERITIES = ['critical', 'warning', 'info'] as const;

export const MAX_RULES = 1000;
export const MAX_RULE_DIMENSIONS = 16;
export const MAX_RULE_LABELS = 32;

const labelName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a label name matching [A-Za-z_][A-Za-z0-9_]*');

/** Milliseconds after parsing; accepts what src/streams/duration.ts accepts ('0s', '500ms', '5m' or ms). */
export const durationSchema = z.union([z.number(), z.string()]).transform((value, context) => {
  try {
    return toMillis(value as Duration);
  } catch {
    context.addIssue({
      code: 'custom',
      message: "expected a duration such as '0s', '500ms', '10s', '5m' or a number of milliseconds",
    });
    return z.NEVER;
  }
});

const template = z.string().transform((source, context): CompiledTemplate => {
  try {
    return compileTemplate(source);
  } catch (error) {
    context.addIssue({ code: 'custom', message: `expected a template: ${(error as Error).message}` });
    return z.NEVER;
  }
});

const commonFields = {
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_:-]{0,127}$/, 'expected a rule name of letters, digits, _ : - (max 128)'),
  /** The window aggregate stream the rule watches, e.g. `edge_10s`. */
  metric: z.string().min(1).max(249),
  /** Labels that tell series apart (one alert instance per distinct value set), e.g. ['edge']. */
  dimensions: z.array(labelName).max(MAX_RULE_DIMENSIONS).default([]),
  /** How long the condition must hold before pending becomes firing; 0 fires on the first breach. */
  for: durationSchema.default(0),
  /** How long a firing alert stays firing after its condition clears, so a flapping signal pages once. */
  keepFiringFor: durationSchema.default(0),
  severity: z.enum(SEVERITIES).default('warning'),
  labels: z
    .record(labelName, z.string().max(1024))
    .default({})
    .refine((labels) => Object.keys(labels).length <= MAX_RULE_LABELS, {
      message: `expected at most ${MAX_RULE_LABELS} labels`,
    }),
  annotations: z
    .record(labelName, template)
    .default({})
    .refine((annotations) => Object.keys(annotations).length <= MAX_RULE_LABELS, {
      message: `expected at most ${MAX_RULE_LABELS} annotations`,
    }),
};

const comparedField = {
  /** The aggregate field compared, e.g. `retransmits` or `p95`. */
  field: labelName,
  comparator: z.enum(COMPARATORS),
  threshold: z.number().refine(Number.isFinite, 'expected a finite number'),
  /**
   * Whether early updates of a still-open window are evaluated (detection within the window). Turn it off
   * for rules a partial window can breach by being partial, e.g. `active_sessions < 10`.
   */
  earlyUpdates: z.boolean().default(true),
  /**
   * An early update is judged only once its window holds at least `atLeast` of the samples counted in field
   * `field` (e.g. `segments`): a ratio over the first second of a window of a small series is the noise of
   * a handful of events. Final updates are judged whatever their count (the aggregate's own minimum applies).
   */
  earlyMinSamples: z
    .strictObject({ field: labelName, atLeast: z.number().int().min(1) })
    .nullable()
    .default(null),
};

const thresholdRule = z.strictObject({ kind: z.literal('threshold'), ...commonFields, ...comparedField });

/** The field's relative change, in percent, from the previous window: `threshold: 200` with `>` = tripled. */
const changeRule = z.strictObject({
  kind: z.literal('change'),
  ...commonFields,
  ...comparedField,
  /** Previous values below this are too small for a meaningful ratio and are not compared. */
  minPrevious: z.number().positive().default(1),
});

/**
 * A series that was seen and then fell `absentFor` behind in event time (a dying edge): behind the watermark of
 * the pipeline task that reports it when updates name their task, else behind the rule's other series. So a
 * pipeline that falls behind, evenly or not, does not make series look silent; a series alone on its partition,
 * or a whole fleet going silent at once, is not this rule's to report.
 */
const noDataRule = z.strictObject({
  kind: z.literal('noData'),
  ...commonFields,
  absentFor: durationSchema.refine((ms) => ms > 0, 'expected a duration above 0'),
});

const ruleSchema = z.preprocess(
  (input) =>
    typeof input === 'object' && input !== null && !('kind' in input)
      ? { ...input, kind: 'threshold' }
      : input,
  z.discriminatedUnion('kind', [thresholdRule, changeRule, noDataRule]),
);

export const rulesSchema = z
  .array(ruleSchema)
  .max(MAX_RULES)
  .superRefine((rules, context) => {
    const seen = new Set<string>();
    rules.forEach((rule, index) => {
      if (seen.has(rule.name))
        context.addIssue({ code: 'custom', path: [index, 'name'], message: 'expected a unique rule name' });
      seen.add(rule.name);
    });
  });

/** A rule as written in config; `kind` defaults to 'threshold'. */
export type RuleInput =
  | (Omit<z.input<typeof thresholdRule>, 'kind'> & { kind?: 'threshold' })
  | z.input<typeof changeRule>
  | z.input<typeof noDataRule>;
export type AlertRule = z.output<typeof ruleSchema>;
export type ThresholdRule = z.output<typeof thresholdRule>;
export type ChangeRule = z.output<typeof changeRule>;
export type NoDataRule = z.output<typeof noDataRule>;

const matcher = z.strictObject({
  label: labelName,
  /** `=` equals, `!=` differs, `=~` matches the whole value (RE2 syntax), `!~` does not. */
  op: z.enum(['=', '!=', '=~', '!~']).default('='),
  value: z.string().max(1024),
});

export const silenceSchema = z
  .strictObject({
    id: z.string().min(1).max(128).optional(),
    matchers: z.array(matcher).min(1).max(32),
    startsAtMs: z.number().int().nonnegative(),
    endsAtMs: z.number().int().nonnegative(),
    comment: z.string().max(1024).default(''),
    createdBy: z.string().max(256).default(''),
  })
  .superRefine((silence, context) => {
    if (silence.endsAtMs <= silence.startsAtMs)
      context.addIssue({ code: 'custom', path: ['endsAtMs'], message: 'expected a time after startsAtMs' });
    silence.matchers.forEach((m, index) => {
      if (m.op !== '=~' && m.op !== '!~') return;
      try {
        compileLabelPattern(m.value);
      } catch (error) {
        if (!(error instanceof LabelPatternError)) throw error;
        context.addIssue({ code: 'custom', path: ['matchers', index, 'value'], message: error.message });
      }
    });
  });

export type SilenceInput = z.input<typeof silenceSchema>;
export type SilenceSpec = z.output<typeof silenceSchema>;

/** How firing alerts become notifications, as Alertmanager's route. */
export const routeSchema = z.strictObject({
  /** Alerts with equal values of these labels are sent together. */
  groupBy: z.array(labelName).max(MAX_RULE_DIMENSIONS).default(['alertname']),
  /** Wait before a new group's first notification, to collect alerts that fire together. */
  groupWait: durationSchema.default(0),
  /** Least time between notifications of one group when its alerts change. */
  groupInterval: durationSchema.default(1000),
  /** Re-send a group whose alerts are still firing after this long. */
  repeatInterval: durationSchema.default(3_600_000),
});

export type RouteInput = z.input<typeof routeSchema>;
export type Route = z.output<typeof routeSchema>;

export const alertingConfigSchema = z.strictObject({
  rules: rulesSchema.default([]),
  route: routeSchema.default(routeSchema.parse({})),
  silences: z.array(silenceSchema).max(1000).default([]),
});

export type AlertingConfigInput = z.input<typeof alertingConfigSchema>;
export type AlertingConfig = z.output<typeof alertingConfigSchema>;

export class AlertConfigError extends Error {
  readonly code = 'ALERT_CONFIG_INVALID';
  constructor(
    readonly key: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`invalid alerting config ${key}=${JSON.stringify(value)}: ${expected}`);
    this.name = 'AlertConfigError';
  }
}

/** Validates a value against a schema; the error names the key path (under `keyPrefix`), value and expectation. */
export function parseConfig<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  keyPrefix: string,
): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const value = issue.path.reduce<unknown>(
    (node, key) =>
      typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    input,
  );
  const key = [keyPrefix, ...issue.path.map(String)].filter((part) => part !== '').join('.');
  throw new AlertConfigError(key, value, issue.message);
}

export function parseRules(input: unknown, keyPrefix = 'alerting.rules'): AlertRule[] {
  return parseConfig(rulesSchema, input, keyPrefix);
}

export function parseAlertingConfig(input: unknown, keyPrefix = 'alerting'): AlertingConfig {
  return parseConfig(alertingConfigSchema, input, keyPrefix);
}

export function compare(value: number, comparator: Comparator, threshold: number): boolean {
  switch (comparator) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}
