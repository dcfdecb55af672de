import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import type { SegmentEvent } from '../src/simulate/telemetry.js';
import { waitForPort } from './support/ports.js';

/**
 * Player beacons over HTTP (`POST /beacons/qoe`, EVENTS_PER_REQUEST events per request, autocannon) beside the
 * same events produced natively (kafkajs and @platformatic/kafka, batches of the same size, acks=all) to the
 * same runtime, in one run:
 * events/s of each and their ratio (goal: HTTP at least half the native rate). The runtime runs in a child
 * process so the load generators do not share its event loop; the monitoring pipelines read another topic,
 * so both paths measure the door and the log only.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-http-ingest-bench-'));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const EVENTS_PER_REQUEST = 100;
const WARMUP_SECONDS = 2;
const KAFKA_PORT = 19_292;
const HTTP_PORT = 18_280;
const BEACON_TOPIC = 'bench.beacons';
const NATIVE_TOPIC = 'bench.native';
const PARTITIONS = 8;
const EDGES = 20;

function segmentEvents(count: number): SegmentEvent[] {
  return Array.from({ length: count }, (_, n) => {
    const session = `session-${n % 500}`;
    return {
      type: 'segment',
      ts: Date.now(),
      site: 'bench',
      edge: `edge-${String(n % EDGES).padStart(3, '0')}`,
      stream: 'sports-1',
      session,
      downloadMs: 300 + (n % 200),
      httpStatus: 200,
      bytes: 800_000,
      cmcd: {
        br: 3500,
        bl: 12_000,
        mtp: 9000,
        ot: 'v',
        sid: session,
        cid: 'live/sports-1',
        su: false,
        d: 2000,
      },
    };
  });
}

/** Beacons for `seconds` over CONNECTIONS keep-alive connections; events/s appended (204 answers only). */
async function httpEventsPerSec(
  seconds: number,
): Promise<{ eventsPerSec: number; latencyMsP99: number; refused: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${HTTP_PORT}/beacons/qoe?edge=edge-bench`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(segmentEvents(EVENTS_PER_REQUEST)),
    connections: CONNECTIONS,
    duration: seconds,
  });
  const appended = result['2xx'];
  return {
    eventsPerSec: (appended * EVENTS_PER_REQUEST) / (result.duration ?? seconds),
    latencyMsP99: result.latency.p99,
    refused: result.non2xx + result.errors,
  };
}

/** The same events, keyed by edge, as a Kafka client sends them: encoded once, as the HTTP body is. */
function nativeMessages(): Array<{ key: string; value: string }> {
  return segmentEvents(EVENTS_PER_REQUEST).map((event) => ({
    key: event.edge,
    value: JSON.stringify(event),
  }));
}

/** CONNECTIONS send loops for SECONDS, each waiting for its batch's acknowledgement; events/s acknowledged. */
async function sendLoops(send: () => Promise<unknown>): Promise<number> {
  const deadline = Date.now() + SECONDS * 1000;
  const started = Date.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < deadline) {
        await send();
        sent += EVENTS_PER_REQUEST;
      }
    }),
  );
  return sent / ((Date.now() - started) / 1000);
}

/** kafkajs (the most used JavaScript client): CONNECTIONS concurrent batches of EVENTS_PER_REQUEST, acks=all. */
async function kafkajsEventsPerSec(): Promise<number> {
  const kafka = new Kafka({
    clientId: 'http-ingest-bench',
    brokers: [`127.0.0.1:${KAFKA_PORT}`],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: NATIVE_TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const messages = nativeMessages();
  try {
    return await sendLoops(() => producer.send({ topic: NATIVE_TOPIC, acks: -1, messages }));
  } finally {
    await producer.disconnect();
  }
}

/** @platformatic/kafka (the client the runtime uses on a cluster), the same way. */
async function platformaticEventsPerSec(): Promise<number> {
  const producer = new Producer({
    clientId: 'http-ingest-bench-platformatic',
    bootstrapBrokers: [`127.0.0.1:${KAFKA_PORT}`],
    serializers: stringSerializers,
    autocreateTopics: false,
  });
  const messages = nativeMessages().map((message) => ({ ...message, topic: NATIVE_TOPIC }));
  try {
    return await sendLoops(() => producer.send({ messages, acks: ProduceAcks.ALL }));
  } finally {
    await producer.close();
  }
}

async function main(): Promise<void> {
  const config = path.join(work, 'edgestream.yaml');
  // JSON is YAML: the runtime as the demo runs it, pipelines on another topic than the beacons'.
  fs.writeFileSync(
    config,
    JSON.stringify({
      dataDir: path.join(work, 'data'),
      broker: { listen: `127.0.0.1:${KAFKA_PORT}` },
      http: { listen: `127.0.0.1:${HTTP_PORT}` },
      monitor: {
        topics: { tcp: 'bench.idle-tcp', qoe: 'bench.idle-qoe', partitions: PARTITIONS },
        workers: 1,
      },
      ingest: { beacons: { topic: BEACON_TOPIC, site: 'bench' } },
      notifiers: [{ kind: 'log' }],
    }),
  );
  const child = spawn(process.execPath, [path.join(root, 'bin/edgestream.js'), 'start', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForPort(HTTP_PORT);
    // Measured first, so a warm-up gives its code paths (and the log's) the JIT the native runs get later.
    await httpEventsPerSec(WARMUP_SECONDS);
    const http = await httpEventsPerSec(SECONDS);
    const kafkajsPerSec = await kafkajsEventsPerSec();
    const platformaticPerSec = await platformaticEventsPerSec();
    // Against the faster client: the goal must hold whichever a device would use.
    const nativePerSec = Math.max(kafkajsPerSec, platformaticPerSec);
    const cpus = os.cpus();
    const ratio = http.eventsPerSec / nativePerSec;
    console.log(`machine: ${cpus[0]?.model ?? 'unknown'} x ${cpus.length} cores, Node ${process.version}`);
    console.log(
      `run: ${SECONDS} s per path, ${CONNECTIONS} connections, ${EVENTS_PER_REQUEST} QoE events per request/batch`,
    );
    console.log(
      `http beacons (POST /beacons/qoe): ${Math.round(http.eventsPerSec)} events/s, p99 ${http.latencyMsP99} ms per request, ${http.refused} refused`,
    );
    console.log(`native kafka, kafkajs (acks=all): ${Math.round(kafkajsPerSec)} events/s`);
    console.log(`native kafka, @platformatic/kafka (acks=all): ${Math.round(platformaticPerSec)} events/s`);
    console.log(`ratio http/native (the faster client): ${(ratio * 100).toFixed(1)}% (goal >= 50%)`);
    if (http.refused > 0) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
