import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { SMALL_REQUEST_BYTES } from '../src/broker/connection.js';
import { ApiVersions } from '../src/protocol/apis/api-versions.js';
import { Fetch } from '../src/protocol/apis/fetch.js';
import { Produce } from '../src/protocol/apis/produce.js';
import { encodeRecordBatch } from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { Background, until } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

const MiB = 1024 * 1024;
const MAX_REQUEST_BYTES = 4 * MiB;
const BUDGET_BYTES = 8 * MiB;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Buffers held by this process (the broker's, since the attackers run in a child), after a full GC. */
function heldBytes(): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}

/**
 * A child process opening `count` connections, each announcing a frame of `declared` bytes and sending only
 * `sent` of them; it prints "ready" once every connection has written, then holds them open until stopped.
 */
function slowSenders(port: number, count: number, declared: number, sent: number): Background {
  const script = `
    const net = require('node:net');
    const [port, count, declared, sent] = process.argv.slice(1).map(Number);
    let written = 0;
    for (let i = 0; i < count; i++) {
      const socket = net.connect(port, '127.0.0.1', () => {
        const frame = Buffer.alloc(4 + sent);
        frame.writeInt32BE(declared, 0);
        socket.write(frame);
        if (++written === count) console.log('ready');
      });
      socket.on('error', () => {});
    }
    setInterval(() => {}, 1000);
  `;
  return new Background(process.execPath, [
    '-e',
    script,
    String(port),
    String(count),
    String(declared),
    String(sent),
  ]);
}

async function gauge(broker: RunningBroker, name: string): Promise<number> {
  return (await broker.broker.metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? Number.NaN;
}

const RESERVED = 'edgestream_broker_request_buffer_bytes';
const WAITING = 'edgestream_broker_request_buffer_waiting_connections';

/** Polls `name` until it reads `expected`. */
async function gaugeReaches(broker: RunningBroker, name: string, expected: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let value = await gauge(broker, name);
  while (value !== expected) {
    if (Date.now() > deadline) assert.fail(`${name} is ${value}, expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await gauge(broker, name);
  }
}

const produceFrame = (client: WireClient, topic: string, valueBytes: number) =>
  client.request(
    Produce,
    9,
    {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: topic,
          partitionData: [
            { index: 0, records: encodeRecordBatch([{ key: null, value: Buffer.alloc(valueBytes, 0x61) }]) },
          ],
        },
      ],
    },
    { timeoutMs: 60_000 },
  ) as Promise<{
    responses: Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: number }> }>;
  }>;

/** Produce and fetch back a small record: what a normal client does. */
async function normalClientWorks(broker: RunningBroker, text: string): Promise<void> {
  const client = await WireClient.connect(broker.port);
  try {
    const versions = await client.request(ApiVersions, 3, {
      clientSoftwareName: 't',
      clientSoftwareVersion: '1',
    });
    assert.equal(versions.errorCode, 0);
    const produced = await client.request(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'buffers',
          partitionData: [
            { index: 0, records: encodeRecordBatch([{ key: null, value: Buffer.from(text) }]) },
          ],
        },
      ],
    });
    const partition = (produced as Awaited<ReturnType<typeof produceFrame>>).responses[0]!
      .partitionResponses[0]!;
    assert.equal(partition.errorCode, 0);
    const fetched = (await client.request(Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [
        {
          topic: 'buffers',
          partitions: [{ partition: 0, fetchOffset: partition.baseOffset, partitionMaxBytes: 1 << 20 }],
        },
      ],
    })) as { responses: Array<{ partitions: Array<{ records: Buffer }> }> };
    assert.ok(fetched.responses[0]!.partitions[0]!.records.includes(Buffer.from(text)));
  } finally {
    await client.close();
  }
}

describe('request buffer budget', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker({
      maxRequestBytes: MAX_REQUEST_BYTES,
      maxRequestBufferBytesTotal: BUDGET_BYTES,
      connectionsMaxIdleMs: 600_000,
    });
    broker.broker.logs.createTopic('buffers', 1);
  });
  after(async () => {
    await broker?.stop();
  });

  it('holds no more than the budget however many connections send parts of huge frames', async (t) => {
    const connections = 32;
    const sentBytes = 2 * MiB;
    const baseline = heldBytes();
    const attackers = slowSenders(broker.port, connections, MAX_REQUEST_BYTES, sentBytes);
    try {
      await until(() => attackers.stdout.includes('ready'), 30_000, 'the slow senders to connect and write');
      const admitted = BUDGET_BYTES / MAX_REQUEST_BYTES;
      await gaugeReaches(broker, WAITING, connections - admitted);
      assert.equal(await gauge(broker, RESERVED), BUDGET_BYTES);

      // A small request is read at once: nothing the large frames do can lock it out.
      await normalClientWorks(broker, 'while-the-budget-is-spent');

      // What is held: the admitted frames' bytes, plus at most a few socket reads per waiting connection.
      // Without the budget it was connections * sentBytes (64 MiB here).
      await new Promise((resolve) => setTimeout(resolve, 300));
      const held = heldBytes() - baseline;
      t.diagnostic(`held ${(held / MiB).toFixed(1)} MiB of request buffers`);
      const bound = BUDGET_BYTES + (connections - admitted) * 3 * SMALL_REQUEST_BYTES + 2 * MiB;
      assert.ok(held < bound, `held ${(held / MiB).toFixed(1)} MiB, bound ${(bound / MiB).toFixed(1)} MiB`);

      // A large request from a normal client waits its turn rather than being refused ...
      const client = await WireClient.connect(broker.port);
      const large = produceFrame(client, 'buffers', MiB / 2);
      await gaugeReaches(broker, WAITING, connections - admitted + 1);
      // ... and is read once the slow senders are gone.
      await attackers.stop('SIGKILL');
      const answer = await large;
      assert.equal(answer.responses[0]!.partitionResponses[0]!.errorCode, 0);
      await client.close();
      await gaugeReaches(broker, RESERVED, 0);
    } finally {
      await attackers.stop('SIGKILL');
    }
  });
});

describe('idle connections', { timeout: 60_000 }, () => {
  const idleMs = 1000;
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker({
      maxRequestBytes: MAX_REQUEST_BYTES,
      maxRequestBufferBytesTotal: MAX_REQUEST_BYTES,
      connectionsMaxIdleMs: idleMs,
    });
    broker.broker.logs.createTopic('buffers', 1);
  });
  after(async () => {
    await broker?.stop();
  });

  it('closes a silent connection, and one stalled in the middle of a frame gives its budget back', async () => {
    const quiet = await WireClient.connect(broker.port);
    await quiet.closed;

    // Holds the whole budget with a frame it never finishes.
    const stalled = await WireClient.connect(broker.port);
    const header = Buffer.alloc(4);
    header.writeInt32BE(MAX_REQUEST_BYTES);
    stalled.sendRaw(Buffer.concat([header, Buffer.alloc(MiB)]));
    await gaugeReaches(broker, RESERVED, MAX_REQUEST_BYTES);
    // Waits for the budget: not read, so silent by our doing, not its own, and not closed for it.
    const patient = await WireClient.connect(broker.port);
    const answer = produceFrame(patient, 'buffers', MiB / 2);
    await gaugeReaches(broker, WAITING, 1);
    await stalled.closed;
    assert.equal((await answer).responses[0]!.partitionResponses[0]!.errorCode, 0);
    assert.equal(patient.socket.destroyed, false);
    await patient.close();

    const closed = await broker.broker.metrics.registry
      .getSingleMetric('edgestream_broker_idle_connections_closed_total')
      ?.get();
    assert.ok((closed?.values[0]?.value ?? 0) >= 2);
    await normalClientWorks(broker, 'after-idle');
  });
});
