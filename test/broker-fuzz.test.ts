import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiVersions } from '../src/protocol/apis/api-versions.js';
import { decodeRequest } from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { advertisedApis } from './support/fuzz/broker-probe.js';
import { fuzzWhileServing, hangs } from './support/fuzz/campaign.js';
import { type ApiVersionPair, advertisedPairs, ProtocolFuzzer } from './support/fuzz/protocol-fuzzer.js';
import { WireClient } from './support/wire-client.js';

/** Frames the broker must examine; EDGESTREAM_FUZZ_FRAMES and EDGESTREAM_FUZZ_SEED replay or widen a run. */
const FRAMES = Number(process.env.EDGESTREAM_FUZZ_FRAMES ?? 100_000);
const SEED = Number(process.env.EDGESTREAM_FUZZ_SEED ?? 20261125);
/** Fetches wait at most this long here, so a frame left unanswered longer than the stall timeout is a hang. */
const MAX_FETCH_WAIT_MS = 1_000;
const STALL_TIMEOUT_MS = 15_000;
const HEALTH_INTERVAL_MS = 5_000;
const HEALTH_TIMEOUT_MS = 10_000;
/** Valid compressed bodies inflate this far: far past the 1 MiB request limit, not enough to hurt the test. */
const BOMB_BYTES = 16 * 1024 * 1024;
const MAX_REQUEST_BYTES = 1024 * 1024;

describe('broker under structure-aware fuzzing', { timeout: 300_000 }, () => {
  let broker: RunningBroker;
  let pairs: ApiVersionPair[];

  before(async () => {
    broker = await startBroker({
      autoCreateTopics: false,
      maxRequestBytes: MAX_REQUEST_BYTES,
      maxFetchWaitMs: MAX_FETCH_WAIT_MS,
    });
    broker.broker.logs.createTopic('fuzz', 1);
    broker.broker.logs.createTopic('fuzz-2', 2);
    broker.broker.logs.createTopic('fuzz-compact', 1, { 'cleanup.policy': 'compact' });
    pairs = advertisedPairs(await advertisedApis('127.0.0.1', broker.port, HEALTH_TIMEOUT_MS));
  });
  after(async () => {
    await broker?.stop();
  });

  it('builds a valid request of every advertised API version, as the broker decodes them', () => {
    const fuzzer = new ProtocolFuzzer({ seed: SEED, pairs, records: { bombBytes: BOMB_BYTES } });
    const valid = Array.from({ length: fuzzer.systematicCount }, (_, i) => fuzzer.frame(i)).filter(
      (frame) => frame.mutation === 'systematic valid',
    );
    assert.equal(valid.length, pairs.length);
    for (const [i, frame] of valid.entries()) {
      const { schema, version } = pairs[i]!;
      const { header } = decodeRequest(frame.bytes.subarray(4), schema);
      assert.deepEqual([header.apiKey, header.apiVersion], [schema.apiKey, version]);
    }
    assert.ok(
      fuzzer
        .frame(FRAMES - 1)
        .bytes.equals(
          new ProtocolFuzzer({ seed: SEED, pairs, records: { bombBytes: BOMB_BYTES } }).frame(FRAMES - 1)
            .bytes,
        ),
      'a frame is rebuilt the same from its seed and index',
    );
  });

  it(`survives ${FRAMES} structure-aware frames and keeps serving produce and fetch`, async () => {
    const fuzzer = new ProtocolFuzzer({ seed: SEED, pairs, records: { bombBytes: BOMB_BYTES } });
    console.log(
      `fuzz seed ${SEED} (EDGESTREAM_FUZZ_SEED to replay): ${pairs.length} API versions, ${fuzzer.systematicCount} systematic frames first`,
    );
    const { report, healthChecks, healthFailures } = await fuzzWhileServing({
      host: '127.0.0.1',
      port: broker.port,
      fuzzer,
      frames: FRAMES,
      stallTimeoutMs: STALL_TIMEOUT_MS,
      healthIntervalMs: HEALTH_INTERVAL_MS,
      healthTimeoutMs: HEALTH_TIMEOUT_MS,
    });
    console.log(JSON.stringify({ ...report, recent: undefined }));
    assert.equal(report.aborted, null);
    assert.ok(report.examined >= FRAMES, `the broker examined ${report.examined} of ${FRAMES} frames`);
    assert.deepEqual(hangs(report), [], 'no frame is left unanswered but for rebalance waits');
    assert.deepEqual(report.undecodableExamples, [], 'every answer decodes as the API version asked');
    assert.deepEqual(healthFailures, [], `produce and fetch kept working (${healthChecks} checks)`);
  });

  it('closes a connection that announces a frame over socket.request.max.bytes without reading it', async () => {
    const client = await WireClient.connect(broker.port);
    const header = Buffer.alloc(4);
    header.writeInt32BE(2 * MAX_REQUEST_BYTES, 0);
    client.sendRaw(header);
    await client.closed;
  });

  it('answers ApiVersions at an unknown version with UNSUPPORTED_VERSION and its own ranges', async () => {
    const client = await WireClient.connect(broker.port);
    try {
      const response = await client.request(
        { ...ApiVersions, versions: [0, 99] },
        99,
        {},
        { responseVersion: 0 },
      );
      assert.equal(response.errorCode, 35);
      const keys = (response.apiKeys as Array<{ apiKey: number; maxVersion: number }>).map((k) => k.apiKey);
      assert.ok(keys.includes(0) && keys.includes(1) && keys.includes(18));
      // DescribeAcls, CreateAcls and DeleteAcls are offered with or without an authorizer, as in Kafka.
      assert.ok(keys.includes(29) && keys.includes(30) && keys.includes(31));
      // DescribeClientQuotas and AlterClientQuotas, whether or not a quota is set.
      assert.ok(keys.includes(48) && keys.includes(49));
    } finally {
      await client.close();
    }
  });
});
