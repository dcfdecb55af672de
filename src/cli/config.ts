import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { notifiersSchema } from '../alerts/notifier-config.js';
import { alertingConfigSchema, durationSchema } from '../alerts/rules.js';
import {
  type BrokerConfigInput,
  brokerConfigSchema,
  clusterConfigSchema,
  DEFAULT_MAX_TRANSACTIONAL_IDS,
  DEFAULT_TRANSACTION_ABORT_CHECK_INTERVAL_MS,
  DEFAULT_TRANSACTION_MAX_TIMEOUT_MS,
  DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS,
  MIN_TRANSACTION_ABORT_CHECK_INTERVAL_MS,
} from '../broker/config.js';
import type { RemoteSecurity } from '../client/remote-security.js';
import { mqttSettingsSchema } from '../ingest/mqtt-config.js';
import { DEFAULT_PRODUCER_ID_EXPIRATION_MS, TOPIC_CONFIG_KEYS } from '../log/index.js';
import { mirrorConfigSchema } from '../mirror/config.js';
import { DEFAULT_MONITOR_RULES } from '../monitor/default-rules.js';
import { DEFAULT_MONITOR_WINDOWS, DEFAULT_WINDOW_DIMENSIONS } from '../monitor/pipeline.js';
import { SCENARIO_NAMES } from '../simulate/scenarios.js';
import { QOE_TOPIC, TCP_TOPIC } from '../simulate/telemetry.js';
import { EXACTLY_ONCE_MODES } from '../streams/streams-app.js';
import { checkHttpSection, httpSecuritySection } from './http-config.js';
import { ingestSection } from './ingest-config.js';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:9092');

const topicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a topic name of [A-Za-z0-9._-], at most 249');

const windowSpec = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9]{1,16}$/, 'expected a short name of letters and digits, e.g. 10s'),
  size: durationSchema,
  advance: durationSchema.optional(),
  /** false: only final results (no early updates while the window is open). */
  early: z.boolean().default(true),
  /** What it is computed for: `stream` (player events per site and stream) costs one more aggregate per event. */
  dimensions: z
    .array(z.enum(['edge', 'site', 'stream']))
    .min(1)
    .refine((list) => new Set(list).size === list.length, { message: 'expected each dimension once' })
    .default([...DEFAULT_WINDOW_DIMENSIONS]),
});

const positiveInt = z.number().int().min(1);
/** The broker's limits, each optional (the broker's default applies): Kafka's names in camelCase. */
const brokerLimits = z.strictObject({
  maxRequestBytes: positiveInt.optional(),
  maxRequestBufferBytesTotal: positiveInt.optional(),
  maxConnections: positiveInt.optional(),
  connectionsMaxIdleMs: positiveInt.optional(),
  maxInFlightPerConnection: positiveInt.optional(),
  offsetsRetentionMinutes: positiveInt.optional(),
  groupMaxSize: positiveInt.optional(),
  maxGroups: positiveInt.optional(),
});

/** A duration of at least `minMs` milliseconds. */
const durationAtLeast = (minMs: number) => durationSchema.pipe(z.number().int().min(minMs));

/** The transaction coordinator's and the partitions' producer settings, Kafka's names without `.ms`. */
const brokerTransactions = z.strictObject({
  /** transaction.max.timeout.ms: the longest transaction timeout a producer may ask for. */
  maxTimeout: durationAtLeast(1).default(DEFAULT_TRANSACTION_MAX_TIMEOUT_MS),
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms */
  abortCheckInterval: durationAtLeast(MIN_TRANSACTION_ABORT_CHECK_INTERVAL_MS).default(
    DEFAULT_TRANSACTION_ABORT_CHECK_INTERVAL_MS,
  ),
  /** transactional.id.expiration.ms: an id with no transaction this long is forgotten. */
  transactionalIdExpiration: durationAtLeast(1).default(DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS),
  /** Transactional ids kept at once. */
  maxTransactionalIds: positiveInt.default(DEFAULT_MAX_TRANSACTIONAL_IDS),
  /** producer.id.expiration.ms: a partition forgets a producer with no open transaction this long idle. */
  producerIdExpiration: durationAtLeast(1).default(DEFAULT_PRODUCER_ID_EXPIRATION_MS),
});

/** The broker config keys of the `broker.transactions` section. */
export function brokerTransactionSettings(
  section: z.output<typeof brokerTransactions>,
): Pick<
  BrokerConfigInput,
  | 'transactionMaxTimeoutMs'
  | 'transactionAbortCheckIntervalMs'
  | 'transactionalIdExpirationMs'
  | 'maxTransactionalIds'
  | 'producerIdExpirationMs'
> {
  return {
    transactionMaxTimeoutMs: section.maxTimeout,
    transactionAbortCheckIntervalMs: section.abortCheckInterval,
    transactionalIdExpirationMs: section.transactionalIdExpiration,
    maxTransactionalIds: section.maxTransactionalIds,
    producerIdExpirationMs: section.producerIdExpiration,
  };
}

const httpSection = z
  .strictObject({ listen: hostPort.default('127.0.0.1:8080'), ...httpSecuritySection.shape })
  .superRefine(checkHttpSection);

const brokerSection = z.strictObject({
  listen: hostPort.default('127.0.0.1:9092'),
  advertised: hostPort.optional(),
  defaultPartitions: z.number().int().min(1).max(10_000).default(8),
  autoCreateTopics: z.boolean().default(true),
  topicDefaults: z
    .record(z.string(), z.string())
    .default({})
    .refine((value) => Object.keys(value).every((key) => key in TOPIC_CONFIG_KEYS), {
      message: `expected topic config keys: ${Object.keys(TOPIC_CONFIG_KEYS).join(', ')}`,
    }),
  limits: brokerLimits.default({}),
  transactions: brokerTransactions.default(() => brokerTransactions.parse({})),
  /** Listeners in Kafka's form, TLS, SASL and ACLs: the broker's own keys (docs/security.md). */
  listeners: brokerConfigSchema.shape.listeners,
  advertisedListeners: brokerConfigSchema.shape.advertisedListeners,
  tls: brokerConfigSchema.shape.tls,
  sasl: brokerConfigSchema.shape.sasl,
  superUsers: brokerConfigSchema.shape.superUsers,
  authorizer: brokerConfigSchema.shape.authorizer,
  allowEveryoneIfNoAclFound: brokerConfigSchema.shape.allowEveryoneIfNoAclFound,
});

/** The MQTT listener (docs/ingest.md); absent, none is started. */
export const mqttSection = z.strictObject({
  listen: hostPort.default('127.0.0.1:1883'),
  ...mqttSettingsSchema.shape,
});

const monitorSection = z.strictObject({
  enabled: z.boolean().default(true),
  applicationId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/)
    .default('edgestream-monitor'),
  topics: z
    .strictObject({
      tcp: topicName.default(TCP_TOPIC),
      qoe: topicName.default(QOE_TOPIC),
      aggregates: topicName.default('cdn.aggregates'),
      partitions: z.number().int().min(1).max(10_000).default(8),
    })
    .default({ tcp: TCP_TOPIC, qoe: QOE_TOPIC, aggregates: 'cdn.aggregates', partitions: 8 }),
  windows: z
    .array(windowSpec)
    .min(1)
    .max(8)
    .default(() => DEFAULT_MONITOR_WINDOWS.map((spec) => windowSpec.parse(spec))),
  maxOutOfOrderness: durationSchema.default(2_000),
  commitInterval: durationSchema.default(10_000),
  /** How pipeline tasks write exactly once (docs/architecture.md, "Exactly once in streams"). */
  exactlyOnce: z.enum(EXACTLY_ONCE_MODES).default('sequence'),
  /** Pipeline worker threads; default: one per core beside the broker's (at least one). */
  workers: z.number().int().min(1).max(64).optional(),
  /** A pipeline worker whose event loop is stuck this long is stopped and started again. */
  workerHangTimeout: durationSchema.default(15_000),
  /** Each pipeline worker's young generation, MB; default 32 (src/monitor/pipeline-workers.ts says why). */
  workerYoungGenerationMb: z.number().int().min(4).max(256).optional(),
});

const storeSection = z.strictObject({
  /** Default: aggregates.db in the data directory. */
  path: z.string().min(1).optional(),
  retention: durationSchema.default(30 * 24 * 60 * 60_000),
});

const simulatorSection = z.strictObject({
  enabled: z.boolean().default(false),
  rate: z.number().int().min(1).max(2_000_000).default(5_000),
  edges: z.number().int().min(1).max(10_000).default(20),
  sites: z.number().int().min(1).max(10_000).default(4),
  seed: z.number().int().default(1),
  scenario: z.enum(SCENARIO_NAMES as [string, ...string[]]).default('retransmit-storm'),
  faultStart: durationSchema.default(20_000),
  faultDuration: durationSchema.default(30_000),
  /** With scenario `all`, each next fault starts this much later. */
  faultStagger: durationSchema.default(5_000),
});

/**
 * One node of a replicated site (docs/cluster.md): the broker joins the cluster, and the pipelines of all
 * nodes form one consumer group through a Kafka client to the cluster.
 */
const clusterSection = z.strictObject({
  ...clusterConfigSchema.shape,
  /** broker.id: unique in the cluster, kept across restarts. */
  nodeId: z.number().int().min(0).max(1_000_000),
});

export const edgestreamConfigSchema = z
  .strictObject({
    dataDir: z.string().min(1).default('./data'),
    broker: brokerSection.default(brokerSection.parse({})),
    http: httpSection.default(() => httpSection.parse({})),
    /** REST proxy and player beacons on the HTTP port (docs/ingest.md). */
    ingest: ingestSection.default(() => ingestSection.parse({})),
    store: storeSection.default(storeSection.parse({})),
    monitor: monitorSection.default(monitorSection.parse({})),
    alerting: alertingConfigSchema.default(() =>
      alertingConfigSchema.parse({ rules: DEFAULT_MONITOR_RULES }),
    ),
    notifiers: notifiersSchema.default([
      { kind: 'log' },
      { kind: 'topic', topic: 'edgestream.alerts', partitions: 1 },
    ]),
    simulator: simulatorSection.default(simulatorSection.parse({})),
    /** Edge-to-cloud forwarding (docs/mirror.md); absent, nothing is forwarded. */
    mirror: mirrorConfigSchema.optional(),
    /** Devices publishing over MQTT 3.1.1 and 5 (docs/ingest.md); absent, no MQTT listener. */
    mqtt: mqttSection.optional(),
    /** Absent: a single node, as before. */
    cluster: clusterSection.optional(),
  })
  .superRefine((config, context) => {
    if (config.monitor.exactlyOnce === 'transactional' && config.cluster === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['monitor', 'exactlyOnce'],
        message:
          "'transactional' needs a cluster (its pipelines write through a Kafka client); a single node's " +
          "pipelines write its own log, where no other process's writes need fencing: use 'sequence'",
      });
    }
    if (config.cluster !== undefined && config.mirror !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['mirror'],
        message:
          'a cluster forwards to the cloud with one `edgestream mirror` process, not a mirror on every node',
      });
    }
  });

export type EdgestreamConfigInput = z.input<typeof edgestreamConfigSchema>;
export type EdgestreamConfig = z.output<typeof edgestreamConfigSchema>;

/** A config that failed validation: names the file, the key, the value found and what was expected. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly source: string,
    readonly key: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`${source}: ${key === '' ? 'the file' : key} = ${JSON.stringify(value) ?? 'missing'}: ${expected}`);
    this.name = 'ConfigError';
  }
}

function valueAt(input: unknown, keys: readonly PropertyKey[]): unknown {
  return keys.reduce<unknown>(
    (node, key) =>
      typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    input,
  );
}

/** Validates a parsed config; alerting rules default to the CDN rules only when `alerting.rules` is absent. */
export function parseEdgestreamConfig(input: unknown, source = 'config'): EdgestreamConfig {
  const withDefaults =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? withDefaultRules(input as Record<string, unknown>)
      : input;
  const result = edgestreamConfigSchema.safeParse(withDefaults ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.map(String).join('.');
    throw new ConfigError(source, key, valueAt(withDefaults, issue.path), issue.message);
  }
  return result.data;
}

function withDefaultRules(input: Record<string, unknown>): Record<string, unknown> {
  const alerting = input.alerting;
  if (alerting === undefined || alerting === null) return input;
  if (typeof alerting !== 'object' || Array.isArray(alerting) || 'rules' in alerting) return input;
  return { ...input, alerting: { ...alerting, rules: DEFAULT_MONITOR_RULES } };
}

/** Reads and validates a YAML config file; relative paths inside it are relative to the file. */
export function loadEdgestreamConfig(file: string): EdgestreamConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', null, `cannot read the file (${(error as NodeJS.ErrnoException).code})`);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(file, '', null, `expected YAML: ${(error as Error).message}`);
  }
  const config = parseEdgestreamConfig(parsed, file);
  const base = path.dirname(path.resolve(file));
  config.dataDir = path.resolve(base, config.dataDir);
  if (config.store.path !== undefined) config.store.path = path.resolve(base, config.store.path);
  const tls = config.http.tls;
  if (tls !== undefined)
    config.http.tls = { cert: path.resolve(base, tls.cert), key: path.resolve(base, tls.key) };
  if (config.mirror) config.mirror.security = resolveSecurityFiles(config.mirror.security, base);
  const mqtt = config.mqtt;
  if (mqtt?.tls)
    mqtt.tls = { cert: path.resolve(base, mqtt.tls.cert), key: path.resolve(base, mqtt.tls.key) };
  const brokerTls = config.broker.tls;
  if (brokerTls) {
    config.broker.tls = {
      ...brokerTls,
      cert: path.resolve(base, brokerTls.cert),
      key: path.resolve(base, brokerTls.key),
      ca: brokerTls.ca === null ? null : path.resolve(base, brokerTls.ca),
    };
  }
  return config;
}

/** The TLS and password files of a connection to another cluster, relative to the config file's directory. */
function resolveSecurityFiles(security: RemoteSecurity, base: string): RemoteSecurity {
  const resolved = (file: string | undefined) => (file === undefined ? undefined : path.resolve(base, file));
  const { ca, cert, key } = security.tls;
  return {
    ...security,
    tls: {
      ...(ca === undefined ? {} : { ca: resolved(ca) }),
      ...(cert === undefined ? {} : { cert: resolved(cert) }),
      ...(key === undefined ? {} : { key: resolved(key) }),
    },
    sasl:
      security.sasl?.passwordFile === undefined
        ? security.sasl
        : { ...security.sasl, passwordFile: resolved(security.sasl.passwordFile) },
  };
}
