import type { Logger } from 'pino';
import { LogError, type LogManager, type PartitionLog, type TopicDescription } from '../log/index.js';

/** Topics as the protocol sees them: lookup with auto-creation. */
export class TopicCatalog {
  constructor(
    readonly logs: LogManager,
    private readonly options: { autoCreateTopics: boolean; defaultPartitions: number; logger: Logger },
  ) {}

  /** Whether the broker creates topics on first use (Kafka's auto.create.topics.enable). */
  get autoCreateTopics(): boolean {
    return this.options.autoCreateTopics;
  }

  /** The topic, created with the default partition count if allowed; null if it does not exist. */
  find(name: string, allowAutoCreate: boolean): TopicDescription | null {
    if (this.logs.hasTopic(name)) return this.logs.describeTopic(name);
    if (!allowAutoCreate || !this.options.autoCreateTopics) return null;
    const created = this.logs.createTopic(name, this.options.defaultPartitions);
    this.options.logger.info({ topic: name, partitions: created.partitions }, 'auto-created topic');
    return created;
  }

  /** The partition's log; throws LogError UNKNOWN_TOPIC_OR_PARTITION when there is none. */
  partition(name: string, partition: number, allowAutoCreate = false): PartitionLog {
    const topic = this.find(name, allowAutoCreate);
    if (!topic) throw new LogError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
    return this.logs.partition(name, partition);
  }

  /** The name of the topic with this id (Fetch v13+ names topics by id), or null. */
  nameOf(topicId: Buffer): string | null {
    const hex = topicId.toString('hex');
    return this.logs.topicNames().find((name) => this.logs.describeTopic(name).topicId === hex) ?? null;
  }

  async deleteTopic(name: string): Promise<void> {
    await this.logs.deleteTopic(name);
  }
}
