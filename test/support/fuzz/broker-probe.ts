import { ApiVersions } from '../../../src/protocol/apis/api-versions.js';
import { CreateTopics } from '../../../src/protocol/apis/create-topics.js';
import { Fetch } from '../../../src/protocol/apis/fetch.js';
import { Produce } from '../../../src/protocol/apis/produce.js';
import { encodeRecordBatch } from '../../../src/protocol/index.js';
import { WireClient } from '../wire-client.js';
import type { AdvertisedApi } from './protocol-fuzzer.js';
import { FUZZ_TOPICS } from './valid-frames.js';

/**
 * What the fuzzer asks a broker outside the fuzzing itself: which API versions it offers, and whether it
 * still does what a normal client needs. The latter, checked while and after the broker is fuzzed: create a topic, produce one
 * record with acks=all, fetch it back. The topic is not among the fuzzer's, so no fuzzed frame deletes it.
 */
export const HEALTH_TOPIC = 'edgestream-health';
const TOPIC_ALREADY_EXISTS = 36;

if (FUZZ_TOPICS.includes(HEALTH_TOPIC)) throw new Error('the health topic must not be fuzzed');

/** A field deep inside a decoded answer, or undefined: the codec's answers are untyped records. */
function dig(value: unknown, ...path: Array<string | number>): unknown {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string | number, unknown>)[key];
  }
  return at;
}

/** The broker's ApiVersions answer: every API and version range it offers. */
export async function advertisedApis(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<AdvertisedApi[]> {
  const client = await WireClient.connect(port, host);
  try {
    const answer = await client.request(ApiVersions, 0, {}, { timeoutMs });
    const keys = dig(answer, 'apiKeys');
    if (dig(answer, 'errorCode') !== 0 || !Array.isArray(keys)) throw new Error('ApiVersions v0 failed');
    return keys.map((key: unknown) => {
      const [apiKey, minVersion, maxVersion] = ['apiKey', 'minVersion', 'maxVersion'].map((f) => dig(key, f));
      if (typeof apiKey !== 'number' || typeof minVersion !== 'number' || typeof maxVersion !== 'number') {
        throw new Error(`ApiVersions entry ${JSON.stringify(key)} is malformed`);
      }
      return { apiKey, minVersion, maxVersion };
    });
  } finally {
    await client.close();
  }
}

/** Creates the health topic if needed, produces one record with acks=all and fetches it back. */
export async function checkProduceConsume(
  host: string,
  port: number,
  round: number,
  timeoutMs: number,
): Promise<void> {
  const client = await WireClient.connect(port, host);
  try {
    const created = await client.request(
      CreateTopics,
      4,
      {
        topics: [
          { name: HEALTH_TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        ],
        timeoutMs,
        validateOnly: false,
      },
      { timeoutMs },
    );
    const createError = dig(created, 'topics', 0, 'errorCode');
    if (createError !== 0 && createError !== TOPIC_ALREADY_EXISTS) {
      throw new Error(`health check ${round}: CreateTopics answered error ${createError}`);
    }
    const value = Buffer.from(`health-${round}`);
    const produced = await client.request(
      Produce,
      9,
      {
        transactionalId: null,
        acks: -1,
        timeoutMs,
        topicData: [
          {
            name: HEALTH_TOPIC,
            partitionData: [{ index: 0, records: encodeRecordBatch([{ key: null, value }]) }],
          },
        ],
      },
      { timeoutMs },
    );
    const partition = dig(produced, 'responses', 0, 'partitionResponses', 0);
    const baseOffset = dig(partition, 'baseOffset');
    if (dig(partition, 'errorCode') !== 0 || typeof baseOffset !== 'number') {
      throw new Error(`health check ${round}: Produce answered error ${String(dig(partition, 'errorCode'))}`);
    }
    const fetched = await client.request(
      Fetch,
      12,
      {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: HEALTH_TOPIC,
            partitions: [{ partition: 0, fetchOffset: baseOffset, partitionMaxBytes: 1 << 20 }],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      },
      { timeoutMs },
    );
    const served = dig(fetched, 'responses', 0, 'partitions', 0);
    const records = dig(served, 'records');
    if (dig(served, 'errorCode') !== 0 || !Buffer.isBuffer(records) || !records.includes(value)) {
      throw new Error(`health check ${round}: the record produced at offset ${baseOffset} is not served`);
    }
  } finally {
    await client.close();
  }
}
