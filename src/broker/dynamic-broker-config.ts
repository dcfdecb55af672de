import path from 'node:path';
import { z } from 'zod';
import type { ClusterNode } from '../cluster/index.js';
import type { LogManager } from '../log/index.js';
import {
  DEFAULT_TOPIC_CONFIG,
  describeTopicConfig,
  parseTopicConfig,
  TOPIC_CONFIG_KEYS,
  type TopicConfig,
  type TopicConfigOverrides,
} from '../log/index.js';
import { ErrorCode } from '../protocol/index.js';
import {
  type ListStorage,
  parseJsonText,
  readJsonFile,
  SingleWriterStorage,
  writeJsonFile,
} from '../security/index.js';
import type { BrokerConfig } from './config.js';
import { ADMIN_OK, type AdminAnswer } from './topic-admin.js';

/**
 * The broker configs that change while brokers run (AlterConfigs on a BROKER resource): the defaults of
 * topic configs, under Kafka's broker names. Each is set for one broker (its id) or for every broker (the
 * empty name, Kafka's cluster default); a topic's own override still wins. Other broker configs come from
 * the config file only.
 */
export const DYNAMIC_BROKER_KEYS: Readonly<Record<string, string>> = {
  'log.retention.ms': 'retention.ms',
  'log.retention.bytes': 'retention.bytes',
  'log.segment.bytes': 'segment.bytes',
  'log.roll.ms': 'segment.ms',
  'log.index.interval.bytes': 'index.interval.bytes',
  'message.max.bytes': 'max.message.bytes',
  'log.message.timestamp.type': 'message.timestamp.type',
  'log.cleanup.policy': 'cleanup.policy',
  'log.cleaner.min.compaction.lag.ms': 'min.compaction.lag.ms',
  'log.cleaner.delete.retention.ms': 'delete.retention.ms',
  'log.cleaner.min.cleanable.ratio': 'min.cleanable.dirty.ratio',
};

/** DescribeConfigs sources (Kafka's ConfigSource). */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** One value a config takes and where from, most significant first in a list (DescribeConfigs synonyms). */
export interface Synonym {
  name: string;
  value: string;
  source: number;
}

/** One dynamic broker config: `broker` is a broker id in decimal, or '' for every broker. */
export interface BrokerConfigEntry {
  broker: string;
  name: string;
  value: string;
}

const MAX_BROKER_CONFIG_ENTRIES = 1000;
const documentSchema = z.object({
  version: z.literal(1),
  configs: z
    .array(z.object({ broker: z.string().regex(/^(\d+)?$/), name: z.string(), value: z.string() }))
    .max(MAX_BROKER_CONFIG_ENTRIES),
});

function brokerConfigDocument(entries: readonly BrokerConfigEntry[]): z.infer<typeof documentSchema> {
  return { version: 1, configs: [...entries] };
}

function parseBrokerConfigDocument(text: string, where: string): BrokerConfigEntry[] {
  return parseJsonText(text, documentSchema, (why) => new Error(`${where}: ${why}`)).configs;
}

const BROKER_CONFIG_FILE = 'dynamic-broker-configs.json';

/** A single node's dynamic broker configs, in its data directory. */
export class FileBrokerConfigStorage extends SingleWriterStorage<BrokerConfigEntry> {
  private readonly file: string;

  constructor(dataDir: string) {
    super();
    this.file = path.join(dataDir, BROKER_CONFIG_FILE);
  }

  async load(): Promise<BrokerConfigEntry[]> {
    const stored = await readJsonFile(this.file, documentSchema, (why) => new Error(`${this.file}: ${why}`));
    return stored?.configs ?? [];
  }

  async save(entries: readonly BrokerConfigEntry[]): Promise<void> {
    writeJsonFile(this.file, brokerConfigDocument(entries));
  }
}

/**
 * This broker's dynamic configs over a storage (the data directory, or ZooKeeper shared by a cluster), and
 * the topic defaults they make: built-in, then the config file's `topicDefaults`, then the dynamic default
 * for every broker, then this broker's own. `applied` hears each new set of topic defaults, this process's
 * change or another broker's.
 */
export class DynamicBrokerConfigs {
  private constructor(
    private readonly storage: ListStorage<BrokerConfigEntry>,
    private readonly brokerId: number,
    private readonly staticTopicDefaults: Readonly<TopicConfigOverrides>,
    private readonly applied: (defaults: TopicConfig) => void,
    private entries: readonly BrokerConfigEntry[],
  ) {}

  static async open(
    storage: ListStorage<BrokerConfigEntry>,
    brokerId: number,
    staticTopicDefaults: Readonly<TopicConfigOverrides>,
    applied: (defaults: TopicConfig) => void,
  ): Promise<DynamicBrokerConfigs> {
    const configs = new DynamicBrokerConfigs(
      storage,
      brokerId,
      staticTopicDefaults,
      applied,
      await storage.load(),
    );
    storage.watch((entries) => configs.take(entries));
    applied(configs.topicDefaults());
    return configs;
  }

  /** The config a topic has where it sets nothing. */
  topicDefaults(): TopicConfig {
    return parseTopicConfig(
      Object.fromEntries(
        describeTopicConfig(DEFAULT_TOPIC_CONFIG).map(({ key }) => [key, this.topicSynonyms(key)[0]!.value]),
      ),
      DEFAULT_TOPIC_CONFIG,
    );
  }

  /** The broker-level values of a topic key, most significant first; the built-in default always last. */
  topicSynonyms(topicKey: string): Synonym[] {
    const brokerKey = Object.keys(DYNAMIC_BROKER_KEYS).find((key) => DYNAMIC_BROKER_KEYS[key] === topicKey);
    const synonyms: Synonym[] = [];
    if (brokerKey !== undefined) {
      const own = this.valueOf(String(this.brokerId), brokerKey);
      if (own !== undefined)
        synonyms.push({ name: brokerKey, value: own, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
      const shared = this.valueOf('', brokerKey);
      if (shared !== undefined) {
        synonyms.push({ name: brokerKey, value: shared, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
      }
    }
    const fromFile = this.staticTopicDefaults[topicKey];
    if (fromFile !== undefined)
      synonyms.push({ name: topicKey, value: fromFile, source: ConfigSource.STATIC_BROKER_CONFIG });
    const builtIn = describeTopicConfig(DEFAULT_TOPIC_CONFIG).find((c) => c.key === topicKey);
    if (builtIn) synonyms.push({ name: topicKey, value: builtIn.value, source: ConfigSource.DEFAULT_CONFIG });
    return synonyms;
  }

  /** The dynamic configs set for `broker` (an id, or '' for every broker), Kafka's broker key names. */
  overrides(broker: string): Record<string, string> {
    return Object.fromEntries(this.entries.filter((e) => e.broker === broker).map((e) => [e.name, e.value]));
  }

  /**
   * Replaces the dynamic configs of `broker` with `configs`, validated first: a key that cannot change while
   * brokers run is INVALID_REQUEST naming it, a bad value INVALID_CONFIG naming it.
   */
  async set(broker: string, configs: Record<string, string>, validateOnly: boolean): Promise<AdminAnswer> {
    const fixed = Object.keys(configs).filter((key) => !(key in DYNAMIC_BROKER_KEYS));
    if (fixed.length > 0) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: `broker configs cannot be changed while brokers run (${fixed.join(', ')}): set them in the config file; these can: ${Object.keys(DYNAMIC_BROKER_KEYS).join(', ')}`,
      };
    }
    for (const [key, value] of Object.entries(configs)) {
      const topicKey = DYNAMIC_BROKER_KEYS[key]!;
      if (TOPIC_CONFIG_KEYS[topicKey]!.parse(value) === undefined) {
        return {
          errorCode: ErrorCode.INVALID_CONFIG,
          message: `${key}=${JSON.stringify(value)} is invalid: expected ${TOPIC_CONFIG_KEYS[topicKey]!.expected}`,
        };
      }
    }
    if (validateOnly) return ADMIN_OK;
    const kept = await this.storage.update((current) => [
      ...current.filter((e) => e.broker !== broker),
      ...Object.entries(configs).map(([name, value]) => ({ broker, name, value })),
    ]);
    this.take(kept);
    return ADMIN_OK;
  }

  private valueOf(broker: string, name: string): string | undefined {
    return this.entries.find((e) => e.broker === broker && e.name === name)?.value;
  }

  private take(entries: readonly BrokerConfigEntry[]): void {
    this.entries = entries;
    this.applied(this.topicDefaults());
  }
}

/**
 * The broker's dynamic configs: in its data directory on a single node, in ZooKeeper on a cluster (every
 * broker watches them). Their topic defaults are applied to the log now and on every change.
 */
export function openDynamicBrokerConfigs(
  config: BrokerConfig,
  logs: LogManager,
  cluster: ClusterNode | null,
): Promise<DynamicBrokerConfigs> {
  const storage = cluster
    ? cluster.sharedBrokerConfigs<BrokerConfigEntry>({
        format: (entries) => JSON.stringify(brokerConfigDocument(entries)),
        parse: parseBrokerConfigDocument,
        tooLarge: (bytes) =>
          new Error(`the dynamic broker configs would take ${bytes} bytes, more than a node holds`),
      })
    : new FileBrokerConfigStorage(config.dataDir);
  return DynamicBrokerConfigs.open(storage, config.nodeId, config.topicDefaults, (defaults) =>
    logs.setDefaults(defaults),
  );
}
