import { UnknownTopicError } from '../client/client-errors.js';
import { partitionForKey } from '../client/partitioner.js';
import type { LogClient, OutgoingRecord } from '../client/types.js';
import type { DoorSecurity } from '../security/index.js';
import { KAFKA_REST_ERROR_CODES, KafkaRestError, kafkaRestErrorOfProduce } from './ingest-errors.js';
import type { IngestMetrics } from './ingest-metrics.js';
import { checkAccept, embeddedFormatOf, parseProduceBody, type RestRecord } from './rest-proxy-body.js';

/** The name the broker's ACLs and logs give this door. */
const DOOR = 'HTTP';
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

export interface RestProxyOptions {
  client: LogClient;
  /** The topics the broker has, ordered by name, with their partition counts. */
  topics(): ReadonlyArray<{ name: string; partitions: number }>;
  /** Partitions of a topic a produce creates (the broker's auto-create); null: unknown topics get 40401. */
  autoCreatePartitions: number | null;
  /** The broker's users and ACLs; writes are checked against them when the broker runs an authorizer. */
  doors: DoorSecurity | null;
  metrics: IngestMetrics;
  maxRecordsPerRequest: number;
}

export interface RestProduceRequest {
  topic: string;
  /** From `/topics/{topic}/partitions/{partition}`: every record goes there. */
  partition: number | null;
  contentType: string | undefined;
  accept: string | undefined;
  body: Buffer;
  /** Kafka's principal of the HTTP user, "User:ANONYMOUS" when HTTP authentication is off. */
  principal: string;
  /** The client's IP address, for host-bound ACLs. */
  host: string;
  nowMs: number;
}

export interface RestPartitionOffset {
  partition: number;
  offset: number;
  error_code: null;
  error: null;
}

export interface RestProduceResponse {
  key_schema_id: null;
  value_schema_id: null;
  offsets: RestPartitionOffset[];
}

/**
 * The produce side of Confluent's REST Proxy v2 over the runtime's LogClient: records are appended with
 * acks=all and the answer, sent only once they are acknowledged, gives each record's partition and offset in
 * request order. Keyed records go where Kafka's default partitioner puts them (murmur2), so a REST client and
 * a Kafka client with the same key land on the same partition; keyless records are spread round-robin.
 */
export class RestProxy {
  /** Where the next keyless record goes, modulo its topic's partition count. */
  private nextKeyless = 0;

  constructor(private readonly options: RestProxyOptions) {}

  async produce(request: RestProduceRequest): Promise<RestProduceResponse> {
    const { topic, principal, host } = request;
    checkAccept(request.accept);
    const format = embeddedFormatOf(request.contentType);
    if (!TOPIC_NAME.test(topic)) {
      throw new KafkaRestError(
        400,
        KAFKA_REST_ERROR_CODES.INVALID_TOPIC,
        `'${topic}' is not a topic name: expected 1 to 249 of [A-Za-z0-9._-]`,
      );
    }
    const { doors, metrics } = this.options;
    if (doors !== null && !doors.mayWrite(DOOR, principal, host, topic)) {
      throw new KafkaRestError(
        403,
        KAFKA_REST_ERROR_CODES.AUTHORIZATION_FAILED,
        `${principal} may not write to topic '${topic}'`,
      );
    }
    const records = parseProduceBody(request.body, format, this.options.maxRecordsPerRequest);
    const partitions = await this.partitionCount(topic);
    const outgoing = records.map((record) =>
      this.outgoing(topic, partitions, request.partition, record, request.nowMs),
    );
    try {
      const offsets = await metrics.timed('rest_proxy', outgoing.length, () =>
        this.options.client.produce(outgoing),
      );
      return {
        key_schema_id: null,
        value_schema_id: null,
        offsets: outgoing.map((record, i) => ({
          partition: record.partition,
          offset: offsets[i]!,
          error_code: null,
          error: null,
        })),
      };
    } catch (error) {
      throw kafkaRestErrorOfProduce(error);
    }
  }

  /** `GET /topics`: the names, as REST Proxy v2 lists them. */
  topicNames(): string[] {
    return this.options.topics().map((topic) => topic.name);
  }

  /** `GET /topics/{topic}`: its name and partitions (no configs: the broker's describe has them). */
  describeTopic(name: string): {
    name: string;
    configs: Record<string, string>;
    partitions: Array<{ partition: number }>;
  } {
    const topic = this.options.topics().find((t) => t.name === name);
    if (topic === undefined) throw topicNotFound(name);
    return {
      name,
      configs: {},
      partitions: Array.from({ length: topic.partitions }, (_, partition) => ({ partition })),
    };
  }

  /** The topic's partition count, creating the topic first when the broker auto-creates topics. */
  private async partitionCount(topic: string): Promise<number> {
    const { client, autoCreatePartitions } = this.options;
    try {
      return await client.partitionCount(topic);
    } catch (error) {
      if (!(error instanceof UnknownTopicError)) throw kafkaRestErrorOfProduce(error);
      if (autoCreatePartitions === null) throw topicNotFound(topic);
      return client.ensureTopic({ name: topic, partitions: autoCreatePartitions });
    }
  }

  private outgoing(
    topic: string,
    partitions: number,
    pathPartition: number | null,
    record: RestRecord,
    nowMs: number,
  ): OutgoingRecord {
    const partition = pathPartition ?? record.partition ?? this.partitionOf(record.key, partitions);
    if (partition >= partitions) {
      throw new KafkaRestError(
        404,
        KAFKA_REST_ERROR_CODES.PARTITION_NOT_FOUND,
        `topic '${topic}' has partitions 0 to ${partitions - 1}, not ${partition}`,
      );
    }
    return { topic, partition, key: record.key, value: record.value, timestamp: nowMs };
  }

  private partitionOf(key: Buffer | null, partitions: number): number {
    if (key !== null) return partitionForKey(key, partitions);
    this.nextKeyless = (this.nextKeyless + 1) % 0x7fffffff;
    return this.nextKeyless % partitions;
  }
}

function topicNotFound(topic: string): KafkaRestError {
  return new KafkaRestError(404, KAFKA_REST_ERROR_CODES.TOPIC_NOT_FOUND, `topic '${topic}' not found`);
}
