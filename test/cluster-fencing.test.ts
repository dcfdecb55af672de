import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { Metadata } from '../src/protocol/apis/metadata.js';
import { Produce } from '../src/protocol/apis/produce.js';
import { ErrorCode, encodeRecordBatch } from '../src/protocol/index.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { run } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

const TOPIC = 'fencing';
const PARTITIONS = 3;
/** Longer than the 2 s session timeout the cluster runs with: the frozen broker's session expires. */
const PAUSE_MS = 6_000;
/** Answers a deposed leader may give a write; NONE is never one of them. */
const REFUSALS = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
]);

const ProduceAnswer = z.object({
  responses: z.array(
    z.object({
      partitionResponses: z.array(
        z.object({ index: z.number(), errorCode: z.number(), errorMessage: z.string().nullable() }),
      ),
    }),
  ),
});

const MetadataAnswer = z.object({
  topics: z.array(
    z.object({
      errorCode: z.number(),
      partitions: z.array(
        z.object({
          partitionIndex: z.number(),
          leaderId: z.number(),
          leaderEpoch: z.number(),
          isrNodes: z.array(z.number()),
        }),
      ),
    }),
  ),
});

type PartitionView = z.infer<typeof MetadataAnswer>['topics'][number]['partitions'][number];

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Partition `partition` of the topic as broker `id` itself describes it (null if it does not answer). */
async function partitionSeenBy(id: number, partition: number): Promise<PartitionView | null> {
  let client: WireClient | null = null;
  try {
    client = await WireClient.connect(cluster.broker(id).port);
    const answer = MetadataAnswer.parse(
      await client.request(
        Metadata,
        9,
        {
          topics: [{ name: TOPIC }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        },
        { timeoutMs: 3_000 },
      ),
    );
    return answer.topics[0]?.partitions.find((p) => p.partitionIndex === partition) ?? null;
  } catch {
    return null;
  } finally {
    await client?.close();
  }
}

async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** One raw Produce v9 of a single record to partition `partition`; resolves with the partition's error code. */
async function produceRaw(
  client: WireClient,
  partition: number,
  acks: number,
  value: string,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  const batch = encodeRecordBatch([{ key: null, value: Buffer.from(value), timestamp: Date.now() }]);
  const answer = ProduceAnswer.parse(
    await client.request(
      Produce,
      9,
      {
        transactionalId: null,
        acks,
        timeoutMs: 3_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: partition, records: batch }] }],
      },
      { timeoutMs: 20_000 },
    ),
  );
  const response = answer.responses[0]!.partitionResponses[0]!;
  return { errorCode: response.errorCode, errorMessage: response.errorMessage };
}

/** Every record of one partition, in offset order, read with kcat (librdkafka) from its current leader. */
async function readPartition(partition: number): Promise<Array<{ offset: number; value: string }>> {
  const result = await run(
    'kcat',
    [
      '-C',
      '-b',
      cluster.bootstrap,
      '-t',
      TOPIC,
      '-p',
      String(partition),
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%o %s\\n',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [offset, value] = line.split(' ');
      return { offset: Number(offset), value: value! };
    });
}

test('a leader frozen past its session is deposed and, resumed, refuses every write until it follows again', {
  timeout: 150_000,
}, async () => {
  const client = new Kafka({
    clientId: 'cluster-fencing-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    requestTimeout: 4_000,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const admin = client.admin();
  await admin.connect();
  await createReplicatedTopic(admin, TOPIC, PARTITIONS);
  const metadata = async () => (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions;
  await eventually('every replica in sync', 30_000, async () =>
    (await metadata()).every((p) => p.isr.length === 3 && p.leader >= 0),
  );
  const frozen = (await metadata()).find((p) => p.partitionId === 0)!.leader;
  const others = cluster.brokers.map((b) => b.id).filter((id) => id !== frozen);

  // An acks=all producer writes to every partition throughout: before, during and after the pause. Each send
  // goes to one partition: kafkajs 2.2.4 keeps the answers of a send per broker across its retries, so when a
  // partition's new leader is a broker that already answered for another partition of the same send, the
  // records for the moved partition are never resent and the send still resolves (records acknowledged that
  // no broker ever received).
  const producer = client.producer({ maxInFlightRequests: 1 });
  await producer.connect();
  const acknowledged: string[][] = Array.from({ length: PARTITIONS }, () => []);
  let producing = true;
  let sent = 0;
  const producing$ = (async () => {
    while (producing) {
      const partition = (sent / 2) % PARTITIONS;
      const messages = Array.from({ length: 2 }, (_, j) => ({ partition, value: `v-${sent + j}` }));
      sent += messages.length;
      await producer.send({ topic: TOPIC, acks: -1, timeout: 5_000, messages });
      for (const m of messages) acknowledged[m.partition]!.push(m.value);
      await sleep(20);
    }
  })();
  const acknowledgedCount = () => acknowledged.reduce((n, values) => n + values.length, 0);
  await eventually('records before the pause', 30_000, async () => acknowledgedCount() >= 120);

  // A connection to the leader opened before it freezes: requests queue on it while it is stopped.
  const direct = await WireClient.connect(cluster.broker(frozen).port);
  const answers: Array<{ acks: number; value: string; errorCode: number; errorMessage: string | null }> = [];
  const ask = async (acks: number, value: string) => {
    const answer = await produceRaw(direct, 0, acks, value);
    answers.push({ acks, value, ...answer });
  };
  cluster.signal(frozen, 'SIGSTOP');
  const stoppedAt = Date.now();
  let resumed = false;
  try {
    await eventually('another broker to lead partition 0', 30_000, async () => {
      const seen = await partitionSeenBy(others[0]!, 0);
      return seen !== null && seen.leaderId >= 0 && seen.leaderId !== frozen;
    });
    await sleep(Math.max(0, PAUSE_MS - (Date.now() - stoppedAt)));
    const ackedBeforeResume = acknowledgedCount();
    // Written while the broker is frozen: they are the first thing it reads when it runs again.
    const queued = [1, -1, 1, -1].map((acks, i) => ask(acks, `fenced-queued-${i}`));
    await sleep(100);
    cluster.signal(frozen, 'SIGCONT');
    resumed = true;
    await Promise.all(queued);
    // Then one write after another, both acks modes, until the broker itself says who leads now.
    for (let i = 0; ; i++) {
      await ask(i % 2 === 0 ? 1 : -1, `fenced-after-${i}`);
      const seen = await partitionSeenBy(frozen, 0);
      if (seen !== null && seen.leaderId >= 0 && seen.leaderId !== frozen) break;
      assert.ok(i < 2_000, 'the resumed broker learns of the new leader');
    }
    const brokerLog = () =>
      cluster
        .logs(frozen)
        .split('\n')
        .filter((line) => /coordination|leading|follow|partition state/.test(line))
        .slice(-40)
        .join('\n');
    for (const answer of answers) {
      assert.notEqual(
        answer.errorCode,
        ErrorCode.NONE,
        `a deposed leader took a write: ${JSON.stringify(answers)}\n${brokerLog()}`,
      );
      assert.ok(REFUSALS.has(answer.errorCode), `refused as a deposed leader: ${JSON.stringify(answer)}`);
    }
    assert.ok(
      answers.some((a) => a.acks === 1) && answers.some((a) => a.acks === -1),
      'writes with acks=1 and acks=-1 were both refused',
    );

    // Back to a follower: in every ISR again, while the producer keeps going.
    await eventually('the resumed broker back in every ISR', 60_000, async () =>
      (await metadata()).every((p) => p.isr.includes(frozen) && p.leader >= 0),
    );
    const seen = await partitionSeenBy(frozen, 0);
    assert.ok(seen?.isrNodes.includes(frozen), 'its own metadata shows it in sync');
    await eventually(
      'more records after the pause',
      30_000,
      async () => acknowledgedCount() >= ackedBeforeResume + 60,
    );
  } finally {
    if (!resumed) cluster.signal(frozen, 'SIGCONT');
    producing = false;
    await producing$.catch(() => undefined);
    await direct.close();
  }
  await producing$;
  await producer.disconnect();
  await admin.disconnect();

  // Every acknowledged record is there, in the order it was acknowledged (a retried send may be there twice);
  // no refused write is.
  for (let p = 0; p < PARTITIONS; p++) {
    const records = await readPartition(p);
    const values = records.map((r) => r.value);
    assert.deepEqual(
      records.map((r) => r.offset),
      Array.from({ length: records.length }, (_, i) => i),
      `partition ${p} dense`,
    );
    assert.deepEqual(
      values.filter((v) => v.startsWith('fenced-')),
      [],
      `partition ${p}: no refused write stored`,
    );
    const firstAt = new Map<string, number>();
    values.forEach((v, i) => {
      if (!firstAt.has(v)) firstAt.set(v, i);
    });
    const missing = acknowledged[p]!.filter((v) => !firstAt.has(v));
    const positions = acknowledged[p]!.filter((v) => firstAt.has(v)).map((v) => firstAt.get(v)!);
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
      `partition ${p}: in acknowledged order`,
    );
    assert.deepEqual(missing, [], `partition ${p}: acknowledged but missing`);
  }
});
