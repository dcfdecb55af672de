import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'mqtt-packet';
import { ensureDebianPackages } from './native-tools.js';
import { waitForPort } from './support/ports.js';

/**
 * MQTT QoS 1 ingest: messages/s acknowledged by Edgestream's MQTT listener (each PUBACK sent once the record is
 * in the log) against Mosquitto on the same machine in the same run, with the same load generator: CLIENTS
 * MQTT 3.1.1 connections, each keeping INFLIGHT QoS 1 publishes of PAYLOAD_BYTES in flight, for SECONDS.
 *
 * The generator writes pre-built PUBLISH packets on raw sockets and counts 4-byte PUBACKs, so that it costs
 * far less than either server per message: the servers, not the generator, are what is measured.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-mqtt-bench-'));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 64);
const PAYLOAD_BYTES = 100;
const EDGESTREAM_PORT = 18_830;
const EDGESTREAM_INTERVAL_PORT = 18_831;
const MOSQUITTO_PORT = 18_832;
/** The PUBACK of MQTT 3.1.1: type 4, remaining length 2, message id. */
const PUBACK_BYTES = 4;

/** A QoS 1 PUBLISH whose message id (bytes `idAt`, `idAt + 1`) is rewritten before each send. */
function publishTemplate(topic: string): { packet: Buffer; idAt: number } {
  const packet = generate({
    cmd: 'publish',
    topic,
    payload: Buffer.alloc(PAYLOAD_BYTES, 'x'),
    qos: 1,
    messageId: 1,
    dup: false,
    retain: false,
  });
  // Fixed header (1 byte + 1-byte remaining length for packets under 128 bytes), then the topic string.
  return { packet, idAt: 2 + 2 + Buffer.byteLength(topic) };
}

/** One connection keeping `INFLIGHT` publishes outstanding; counts PUBACKs from `countFromMs` on. */
function loadClient(port: number, index: number, countFromMs: number, stopAtMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    const { packet, idAt } = publishTemplate(`bench/client-${index}/data`);
    let nextId = 1;
    let acked = 0;
    let pending: Buffer = Buffer.alloc(0);
    let connected = false;
    const send = (count: number) => {
      const batch = Buffer.allocUnsafe(packet.length * count);
      for (let i = 0; i < count; i++) {
        packet.copy(batch, i * packet.length);
        batch.writeUInt16BE(nextId, i * packet.length + idAt);
        nextId = nextId === 65_535 ? 1 : nextId + 1;
      }
      socket.write(batch);
    };
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(generate({ cmd: 'connect', clientId: `bench-${index}`, clean: true, keepalive: 60 })),
    );
    socket.on('data', (chunk: Buffer) => {
      let data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      if (!connected) {
        if (data.length < 4) {
          pending = data;
          return;
        }
        if (data[3] !== 0) reject(new Error(`CONNACK return code ${data[3]}`));
        connected = true;
        data = data.subarray(4);
        send(INFLIGHT);
      }
      const whole = Math.floor(data.length / PUBACK_BYTES);
      pending = data.subarray(whole * PUBACK_BYTES);
      if (Date.now() >= countFromMs) acked += whole;
      if (whole > 0) send(whole);
    });
    // Bounded whatever the server does: the count stops at stopAtMs.
    setTimeout(() => {
      socket.destroy();
      resolve(acked);
    }, stopAtMs - Date.now());
  });
}

async function measure(port: number): Promise<number> {
  const countFromMs = Date.now() + WARMUP_SECONDS * 1000;
  const stopAtMs = countFromMs + SECONDS * 1000;
  const acked = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => loadClient(port, i, countFromMs, stopAtMs)),
  );
  return acked.reduce((sum, count) => sum + count, 0) / SECONDS;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** `edgestream start` with only the broker and the MQTT listener (no pipelines), `flushPolicy` for every topic. */
async function measureEdgestream(port: number, flushPolicy: 'durable' | 'interval'): Promise<number> {
  const dir = path.join(work, `edgestream-${flushPolicy}`);
  fs.mkdirSync(dir);
  const configFile = path.join(dir, 'edgestream.yaml');
  fs.writeFileSync(
    configFile,
    [
      `dataDir: ${dir}/data`,
      'broker:',
      `  listen: 127.0.0.1:${port + 100}`,
      '  defaultPartitions: 8',
      `  topicDefaults: { flush.policy: ${flushPolicy} }`,
      'monitor: { enabled: false }',
      'mqtt:',
      `  listen: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin/edgestream.js'), 'start', '--config', configFile],
    {
      stdio: 'ignore',
    },
  );
  try {
    await waitForPort(port);
    return await measure(port);
  } finally {
    await stop(child);
  }
}

async function measureMosquitto(): Promise<number> {
  const configFile = path.join(work, 'mosquitto.conf');
  // No persistence: Mosquitto acknowledges a QoS 1 publish from memory (its persistence is a periodic dump).
  fs.writeFileSync(
    configFile,
    [
      `listener ${MOSQUITTO_PORT} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest none',
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/mosquitto', ['-c', configFile], { stdio: 'ignore' });
  try {
    await waitForPort(MOSQUITTO_PORT);
    return await measure(MOSQUITTO_PORT);
  } finally {
    await stop(child);
  }
}

function mosquittoVersion(): string {
  // dpkg-query's own ${Version} placeholder, not a template string.
  const format = ['-f=$', '{Version}'].join('');
  return execFileSync('dpkg-query', ['-W', format, 'mosquitto'], { encoding: 'utf8' }).trim();
}

async function main(): Promise<void> {
  ensureDebianPackages({ mosquitto: '/usr/sbin/mosquitto' }, 'bench:mqtt');
  // Interleaved runs would need twice the time; one of each, Mosquitto between the two Edgestream runs, so a
  // noisy moment on a shared machine does not fall on one server only.
  const durable = await measureEdgestream(EDGESTREAM_PORT, 'durable');
  const mosquitto = await measureMosquitto();
  const interval = await measureEdgestream(EDGESTREAM_INTERVAL_PORT, 'interval');
  const format = (rate: number) => `${Math.round(rate).toLocaleString('en-US')} msg/s`;
  const cpus = os.cpus();
  console.log(`\nMQTT ingest benchmark — ${new Date().toISOString().slice(0, 10)}`);
  console.log(
    `Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Mosquitto ${mosquittoVersion()}`,
  );
  console.log(
    `Load: ${CLIENTS} MQTT 3.1.1 clients x ${INFLIGHT} QoS 1 publishes in flight, ${PAYLOAD_BYTES}-byte payloads, ` +
      `${SECONDS} s measured after ${WARMUP_SECONDS} s of warm-up; servers and generator share the machine.\n`,
  );
  console.log('| server | QoS 1 acknowledged | vs Mosquitto |');
  console.log('|---|---|---|');
  console.log(`| Mosquitto (acknowledges from memory) | ${format(mosquitto)} | 1.00 |`);
  console.log(
    `| Edgestream, flush.policy=durable (PUBACK after fsync) | ${format(durable)} | ${(durable / mosquitto).toFixed(2)} |`,
  );
  console.log(
    `| Edgestream, flush.policy=interval (PUBACK once in the file) | ${format(interval)} | ${(interval / mosquitto).toFixed(2)} |`,
  );
  console.log(`\nGoal: Edgestream >= Mosquitto: ${durable >= mosquitto ? 'met' : 'NOT met'} (durable).`);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(work, { recursive: true, force: true }));
