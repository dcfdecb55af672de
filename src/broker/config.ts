import { z } from 'zod';
import {
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  TOPIC_CONFIG_KEYS,
  type TopicConfigOverrides,
} from '../log/index.js';
import { SASL_MECHANISMS } from '../security/index.js';
import {
  DEFAULT_OFFSETS_RETENTION_CHECK_INTERVAL_MS,
  DEFAULT_OFFSETS_RETENTION_MINUTES,
} from './group-coordinator.js';
import { DEFAULT_GROUP_LIMITS } from './group-limits.js';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected HOST:PORT');

/** transaction.max.timeout.ms: Kafka's 15 minutes. */
export const DEFAULT_TRANSACTION_MAX_TIMEOUT_MS = 15 * 60_000;
/** transaction.abort.timed.out.transaction.cleanup.interval.ms: Kafka's 10 seconds. */
export const DEFAULT_TRANSACTION_ABORT_CHECK_INTERVAL_MS = 10_000;
/** Shortest check interval accepted: the check walks every transactional id. */
export const MIN_TRANSACTION_ABORT_CHECK_INTERVAL_MS = 100;
/** transactional.id.expiration.ms: Kafka's 7 days. */
export const DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS = 7 * 24 * 3600 * 1000;
/** Transactional ids kept at once (no Kafka counterpart: it bounds the coordinator's memory). */
export const DEFAULT_MAX_TRANSACTIONAL_IDS = 100_000;

/** A replicated cluster coordinated by ZooKeeper; without it the broker is a single node. */
export const clusterConfigSchema = z.object({
  /** The ZooKeeper ensemble: HOST:PORT,HOST:PORT,... */
  zookeeper: z.string().regex(/^[^\s:,]+:\d{1,5}(,[^\s:,]+:\d{1,5})*$/, 'expected HOST:PORT[,HOST:PORT...]'),
  /** zookeeper.session.timeout.ms: how long a silent broker keeps its registration (and leaderships). */
  zookeeperSessionTimeoutMs: z.number().int().min(1000).max(60_000).default(6000),
  /** broker.rack: replicas of a partition are spread over racks. */
  rack: z.string().min(1).nullable().default(null),
  /** replica.lag.time.max.ms: a follower that has not caught up for this long leaves the ISR. */
  replicaLagTimeMaxMs: z.number().int().min(100).default(10_000),
  /** default.replication.factor; null: 3, or the number of live brokers if fewer. */
  defaultReplicationFactor: z.number().int().min(1).nullable().default(null),
  /** min.insync.replicas for topics that do not set it (Kafka's default is 1). */
  minInsyncReplicas: z.number().int().min(1).default(1),
  /** unclean.leader.election.enable for topics that do not set it. */
  uncleanLeaderElection: z.boolean().default(false),
  /** leader.imbalance.check.interval: how often preferred leaders are restored. */
  preferredLeaderCheckIntervalMs: z.number().int().min(100).default(30_000),
  /** offsets.topic.num.partitions: partitions of the replicated __consumer_offsets topic. */
  offsetsTopicPartitions: z.number().int().min(1).max(1000).default(12),
  /** transaction.state.log.num.partitions: partitions of the replicated __transaction_state topic. */
  transactionStateTopicPartitions: z.number().int().min(1).max(1000).default(12),
  /** How long SIGTERM waits for leadership to move away before stopping anyway. */
  controlledShutdownTimeoutMs: z.number().int().min(0).default(10_000),
});

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

/** A listener in Kafka's form, PROTOCOL://HOST:PORT; its name is its protocol. */
const listenerUrl = z
  .string()
  .regex(
    new RegExp(`^(${SECURITY_PROTOCOLS.join('|')})://[^\\s:]+:\\d{1,5}$`),
    `expected PROTOCOL://HOST:PORT with PROTOCOL one of ${SECURITY_PROTOCOLS.join(', ')}`,
  );

export const tlsConfigSchema = z.object({
  /** PEM certificate chain. */
  cert: z.string().min(1),
  /** PEM private key. */
  key: z.string().min(1),
  /** PEM CA bundle for client certificates. */
  ca: z.string().min(1).nullable().default(null),
  /** ssl.client.auth, on SSL listeners (SASL_SSL clients log in by SASL, as in Kafka) */
  clientAuth: z.enum(['none', 'requested', 'required']).default('none'),
});

export const saslConfigSchema = z.object({
  /** sasl.enabled.mechanisms */
  mechanisms: z.array(z.enum(SASL_MECHANISMS)).min(1).default(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']),
  /** connections.max.reauth.ms: 0 lets a session last as long as its connection. */
  maxReauthMs: z.number().int().min(0).default(0),
});

export const brokerConfigSchema = z.object({
  dataDir: z.string().min(1),
  listen: hostPort.default('127.0.0.1:9092'),
  /** The address clients are told to connect to; defaults to the listen address. */
  advertised: hostPort.optional(),
  /** listeners: several at once, in place of `listen` (which is one PLAINTEXT listener). */
  listeners: z.array(listenerUrl).min(1).max(8).optional(),
  /** advertised.listeners: per protocol, what clients of that listener are told; defaults to its address. */
  advertisedListeners: z.array(listenerUrl).max(8).default([]),
  /** The certificate of SSL and SASL_SSL listeners. */
  tls: tlsConfigSchema.nullable().default(null),
  /** SASL on SASL_PLAINTEXT and SASL_SSL listeners. */
  sasl: saslConfigSchema.default({ mechanisms: ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'], maxReauthMs: 0 }),
  /** super.users: principals (User:NAME) allowed everything once ACLs are on. */
  superUsers: z.array(z.string().regex(/^User:.+$/, 'expected User:NAME')).default([]),
  /**
   * Kafka's authorizer.class.name set: every request is checked against the ACLs kept in `<dataDir>/security`
   * (in ZooKeeper, shared by every broker, in a cluster). Off, every client may do everything and the ACL APIs
   * answer SECURITY_DISABLED.
   */
  authorizer: z.boolean().default(false),
  /** allow.everyone.if.no.acl.found: a resource no ACL names is open to everyone (Kafka's default: false). */
  allowEveryoneIfNoAclFound: z.boolean().default(false),
  /** ACLs kept at most; a CreateAcls past it fails with POLICY_VIOLATION. */
  maxAcls: z.number().int().min(1).max(1_000_000).default(10_000),
  nodeId: z.number().int().min(0).default(1),
  autoCreateTopics: z.boolean().default(true),
  defaultPartitions: z.number().int().min(1).max(10_000).default(4),
  /** socket.request.max.bytes */
  maxRequestBytes: z
    .number()
    .int()
    .min(1024)
    .default(100 * 1024 * 1024),
  /**
   * queued.max.request.bytes: request bytes held at once over all connections, from a frame's size prefix to
   * its response; at least maxRequestBytes. Requests up to 64 KiB are always read.
   */
  maxRequestBufferBytesTotal: z
    .number()
    .int()
    .min(1024)
    .default(100 * 1024 * 1024),
  maxConnections: z.number().int().min(1).default(10_000),
  /** connections.max.idle.ms: a connection with nothing read, written or in flight this long is closed. */
  connectionsMaxIdleMs: z.number().int().min(1).default(600_000),
  maxInFlightPerConnection: z.number().int().min(1).default(1000),
  /** Longest a fetch may wait for data, whatever the client asks. */
  maxFetchWaitMs: z.number().int().min(0).default(30_000),
  /** Prometheus /metrics; null disables it. */
  metricsListen: hostPort.nullable().default(null),
  groupInitialRebalanceDelayMs: z.number().int().min(0).default(300),
  /** offsets.retention.minutes: a group without members ends, offsets and all, this long after its last activity. */
  offsetsRetentionMinutes: z.number().int().min(1).default(DEFAULT_OFFSETS_RETENTION_MINUTES),
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: z
    .number()
    .int()
    .min(1000)
    .default(DEFAULT_OFFSETS_RETENTION_CHECK_INTERVAL_MS),
  /** group.max.size: members per group. */
  groupMaxSize: z.number().int().min(1).default(DEFAULT_GROUP_LIMITS.groupMaxSize),
  /** Groups known at once; at the limit the least recently active group without members is evicted. */
  maxGroups: z.number().int().min(1).default(DEFAULT_GROUP_LIMITS.maxGroups),
  retentionCheckIntervalMs: z.number().int().min(100).default(60_000),
  /** transaction.max.timeout.ms: the longest transaction timeout a producer may ask for. */
  transactionMaxTimeoutMs: z.number().int().min(1).default(DEFAULT_TRANSACTION_MAX_TIMEOUT_MS),
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms: how often timed-out transactions are sought. */
  transactionAbortCheckIntervalMs: z
    .number()
    .int()
    .min(MIN_TRANSACTION_ABORT_CHECK_INTERVAL_MS)
    .default(DEFAULT_TRANSACTION_ABORT_CHECK_INTERVAL_MS),
  /** transactional.id.expiration.ms: a transactional id with no transaction this long is forgotten. */
  transactionalIdExpirationMs: z.number().int().min(1).default(DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS),
  /** Transactional ids kept at once; InitProducerId for a new one beyond is answered COORDINATOR_NOT_AVAILABLE. */
  maxTransactionalIds: z.number().int().min(1).default(DEFAULT_MAX_TRANSACTIONAL_IDS),
  /**
   * producer.id.expiration.ms (KIP-854): a partition forgets a producer with no open transaction once its
   * last batch's timestamp is this old, checked at every retention pass and at open.
   */
  producerIdExpirationMs: z.number().int().min(1).default(DEFAULT_PRODUCER_ID_EXPIRATION_MS),
  cluster: clusterConfigSchema.nullable().default(null),
  /** Defaults for every topic, as Kafka topic config keys. */
  topicDefaults: z
    .record(z.string(), z.string())
    .default({})
    .refine((value) => Object.keys(value).every((key) => key in TOPIC_CONFIG_KEYS), {
      message: `keys must be topic config keys: ${Object.keys(TOPIC_CONFIG_KEYS).join(', ')}`,
    }),
});

export type BrokerConfigInput = z.input<typeof brokerConfigSchema>;
export type BrokerConfig = z.output<typeof brokerConfigSchema> & { topicDefaults: TopicConfigOverrides };

/** Validates broker settings, naming the key, the value and what was expected. */
export function parseBrokerConfig(input: BrokerConfigInput | Record<string, unknown>): BrokerConfig {
  const result = brokerConfigSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.join('.');
    const value = issue.path.reduce<unknown>(
      (v, k) => (v as Record<string, unknown> | undefined)?.[k as string],
      input,
    );
    throw new Error(`invalid broker config ${key}=${JSON.stringify(value)}: ${issue.message}`);
  }
  const config = result.data;
  if (config.maxRequestBufferBytesTotal < config.maxRequestBytes) {
    throw new Error(
      `invalid broker config maxRequestBufferBytesTotal=${config.maxRequestBufferBytesTotal}: expected at ` +
        `least maxRequestBytes (${config.maxRequestBytes}), or the largest request could never be read`,
    );
  }
  const listeners = listenersOf(config);
  const names = listeners.map((l) => l.protocol);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) {
    throw new Error(
      `invalid broker config listeners: ${repeated} is given twice (one listener per protocol)`,
    );
  }
  if (!config.tls && listeners.some((l) => l.protocol === 'SSL' || l.protocol === 'SASL_SSL')) {
    throw new Error('invalid broker config tls=null: SSL and SASL_SSL listeners need tls.cert and tls.key');
  }
  for (const advertised of config.advertisedListeners) {
    const protocol = parseListener(advertised).protocol;
    if (!names.includes(protocol)) {
      throw new Error(
        `invalid broker config advertisedListeners: ${advertised} has no listener of ${protocol}`,
      );
    }
  }
  return config;
}

export interface ListenerAddress {
  protocol: SecurityProtocol;
  host: string;
  port: number;
}

export function parseListener(url: string): ListenerAddress {
  const at = url.indexOf('://');
  return { protocol: url.slice(0, at) as SecurityProtocol, ...splitHostPort(url.slice(at + 3)) };
}

/** Where the broker listens: `listeners`, or the one PLAINTEXT listener of `listen`. */
export function listenersOf(config: BrokerConfig): ListenerAddress[] {
  if (config.listeners) return config.listeners.map(parseListener);
  return [{ protocol: 'PLAINTEXT', ...splitHostPort(config.listen) }];
}

/** What clients of `protocol`'s listener are told, when set (advertisedListeners, or `advertised` for `listen`). */
export function advertisedOf(
  config: BrokerConfig,
  protocol: SecurityProtocol,
): { host: string; port: number } | null {
  const listed = config.advertisedListeners.map(parseListener).find((l) => l.protocol === protocol);
  if (listed) return { host: listed.host, port: listed.port };
  if (!config.listeners && config.advertised) return splitHostPort(config.advertised);
  return null;
}

export function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}
