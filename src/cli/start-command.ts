import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { splitHostPort } from '../broker/config.js';
import { SCENARIO_NAMES } from '../simulate/scenarios.js';
import { type EdgestreamConfig, loadEdgestreamConfig, mqttSection, parseEdgestreamConfig } from './config.js';
import { detectFaults, RecordingNotifier } from './fault-detection.js';
import { EdgestreamRuntime } from './runtime.js';
import { untilSignal } from './signals.js';
import { UsageError } from './usage-error.js';

export const START_USAGE = `  edgestream start --config FILE          broker + monitoring pipelines + alerting + HTTP API from edgestream.yaml
        [--mqtt-port N]                    the MQTT listener's port (the mqtt: section's, or 127.0.0.1:N without one)
  edgestream demo                          all of it with simulated CDN telemetry; a retransmit storm after 20 s
        [--kafka-port N] [--http-port N]   listen ports (default 9092 and 8080) on 127.0.0.1
        [--mqtt-port N]                    an MQTT listener on 127.0.0.1:N (none by default)
        [--rate N] [--scenario NAME]       events/s (default 5000); ${SCENARIO_NAMES.join(' | ')}
        [--for SECONDS] [--json]           exit after SECONDS; --json prints a one-line JSON summary last
        [--data-dir DIR]                   default: a new directory under the system temp dir
`;

type FlagOptions = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

function parse(args: string[], options: FlagOptions) {
  try {
    return parseArgs({ args, strict: true, options }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Longest a clean shutdown may take before the process gives up on it (a second signal ends it at once). */
const SHUTDOWN_TIMEOUT_MS = 30_000;

/** Closes the runtime; if that hangs, says so and exits rather than linger half-closed. */
async function shutDown(runtime: EdgestreamRuntime): Promise<void> {
  const watchdog = setTimeout(() => {
    process.stderr.write(`edgestream: shutdown took longer than ${SHUTDOWN_TIMEOUT_MS / 1000} s; exiting\n`);
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  watchdog.unref();
  await runtime.close();
  clearTimeout(watchdog);
}

/** Runs what edgestream.yaml describes until SIGINT/SIGTERM. */
export async function startCommand(args: string[]): Promise<number> {
  const values = parse(args, { config: { type: 'string' }, 'mqtt-port': { type: 'string' } });
  if (typeof values.config !== 'string') throw new UsageError('start needs --config FILE');
  const config = withMqttPort(loadEdgestreamConfig(values.config), values['mqtt-port']);
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime });
  // Listening before starting: a signal during startup stops the process cleanly once it is up.
  const signalled = untilSignal();
  const runtime = await EdgestreamRuntime.start(config, logger);
  logger.info(
    {
      kafka: config.broker.listen,
      http: runtime.http?.address() ?? null,
      mqtt: runtime.mqtt?.address() ?? null,
      dataDir: config.dataDir,
    },
    'edgestream started',
  );
  const signal = await signalled;
  logger.info({ signal }, 'shutting down');
  await shutDown(runtime);
  return 0;
}

function port(name: string, raw: string | boolean | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535)
    throw new UsageError(`--${name} expects a port number in [0, 65535], got '${String(raw)}'`);
  return value;
}

/**
 * --mqtt-port: the port of the `mqtt:` section's listen address; without the section, an MQTT listener on
 * 127.0.0.1 with the defaults (docs/ingest.md).
 */
function withMqttPort(config: EdgestreamConfig, raw: string | boolean | undefined): EdgestreamConfig {
  if (raw === undefined) return config;
  const mqttPort = port('mqtt-port', raw, 0);
  const section = config.mqtt ?? mqttSection.parse({});
  const { host } = splitHostPort(section.listen);
  return { ...config, mqtt: { ...section, listen: `${host}:${mqttPort}` } };
}

function positive(name: string, raw: string | boolean | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`--${name} expects a number above 0, got '${String(raw)}'`);
  return value;
}

/**
 * Up to this rate the demo's pipeline workers get DEMO_WORKER_YOUNG_GENERATION_MB: at 5,000 events/s that took
 * the demo's RSS down by ~11 MB (mean and VmHWM, 3 A/B runs on a loaded machine) at no CPU cost that showed. At
 * 50,000 events/s the same worker heap let the pipelines fall behind (storm detection 21 s against 0.44 s in an
 * A/B pair), so faster demos keep the default.
 */
const DEMO_SMALL_WORKER_HEAP_MAX_RATE_PER_SEC = 5_000;
const DEMO_WORKER_YOUNG_GENERATION_MB = 16;

/**
 * The demo: everything in one process with simulated telemetry and a fault injected after a short while. A live
 * summary goes to stderr every 2 s (logs go to a file in the data directory, so the terminal stays readable).
 */
export async function demoCommand(args: string[]): Promise<number> {
  const values = parse(args, {
    'kafka-port': { type: 'string' },
    'http-port': { type: 'string' },
    'mqtt-port': { type: 'string' },
    rate: { type: 'string' },
    scenario: { type: 'string' },
    for: { type: 'string' },
    json: { type: 'boolean' },
    'data-dir': { type: 'string' },
  });
  const seconds = positive('for', values.for);
  const ratePerSec = Math.round(positive('rate', values.rate) ?? 5_000);
  const dataDir =
    typeof values['data-dir'] === 'string'
      ? path.resolve(values['data-dir'])
      : fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-demo-'));
  let config: EdgestreamConfig;
  try {
    config = parseEdgestreamConfig(
      {
        dataDir,
        broker: { listen: `127.0.0.1:${port('kafka-port', values['kafka-port'], 9092)}` },
        http: { listen: `127.0.0.1:${port('http-port', values['http-port'], 8080)}` },
        ...(values['mqtt-port'] === undefined
          ? {}
          : { mqtt: { listen: `127.0.0.1:${port('mqtt-port', values['mqtt-port'], 1883)}` } }),
        monitor: {
          commitInterval: '5s',
          ...(ratePerSec <= DEMO_SMALL_WORKER_HEAP_MAX_RATE_PER_SEC
            ? { workerYoungGenerationMb: DEMO_WORKER_YOUNG_GENERATION_MB }
            : {}),
        },
        simulator: {
          enabled: true,
          rate: ratePerSec,
          scenario: (values.scenario as string | undefined) ?? 'retransmit-storm',
          faultStart: '20s',
          faultDuration: '30s',
        },
      },
      'demo flags',
    );
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const logFile = path.join(dataDir, 'edgestream.log');
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(logFile));
  const recorder = new RecordingNotifier();
  const signalled = untilSignal();
  const runtime = await EdgestreamRuntime.start(config, logger, [recorder]);
  const http = runtime.http?.address();
  const url = http ? `http://${http.host}:${http.port}/` : 'none';
  const mqtt = runtime.mqtt?.address();
  process.stderr.write(
    `edgestream demo: Kafka on ${config.broker.listen}, dashboard and API on ${url}` +
      `${mqtt ? `, MQTT on ${mqtt.host}:${mqtt.port}` : ''}, logs in ${logFile}\n`,
  );
  const startedAt = Date.now();
  let last = { at: startedAt, produced: 0, processed: 0 };
  const { tcp, qoe } = config.monitor.topics;
  const processed = () => {
    const pipelines = runtime.monitor?.pipelines;
    return pipelines ? pipelines.recordsProcessed(tcp) + pipelines.recordsProcessed(qoe) : 0;
  };
  const ticker = setInterval(() => {
    const now = Date.now();
    const produced = runtime.simulator?.stats().eventsProduced ?? 0;
    const done = processed();
    const seconds = (now - last.at) / 1000;
    const firing = runtime.monitor?.engine.alerts().filter((alert) => alert.state === 'firing') ?? [];
    const alertText =
      firing.length === 0
        ? 'no alerts firing'
        : firing.map((alert) => `${alert.rule}{${Object.values(alert.labels).join(',')}}`).join(' ');
    process.stderr.write(
      `[${Math.round((now - startedAt) / 1000)}s] produced ${Math.round((produced - last.produced) / seconds)} ev/s, ` +
        `processed ${Math.round((done - last.processed) / seconds)} ev/s | ${alertText} | ${url}\n`,
    );
    last = { at: now, produced, processed: done };
  }, 2_000);
  let stopTimer: NodeJS.Timeout | undefined;
  const stopAfter =
    seconds === undefined
      ? null
      : new Promise<string>((resolve) => {
          stopTimer = setTimeout(() => resolve('for'), seconds * 1000);
        });
  await Promise.race([signalled, ...(stopAfter ? [stopAfter] : [])]);
  // Stopped by a signal before --for ran out: the timer must not keep the process alive after the summary.
  clearTimeout(stopTimer);
  clearInterval(ticker);
  const simulation = runtime.simulator?.stats();
  const eventsProcessed = processed();
  await shutDown(runtime);
  const faults = simulation?.faults ?? [];
  const summary = {
    durationS: Math.round((Date.now() - startedAt) / 100) / 10,
    eventsProduced: simulation?.eventsProduced ?? 0,
    eventsProcessed,
    alertsFired: recorder.sightings
      .filter((sighting) => sighting.status === 'firing')
      .map((sighting) => ({ alert: sighting.alertname, labels: sighting.labels, atMs: sighting.atMs })),
    faults: detectFaults(faults, recorder.sightings),
    dataDir,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stderr.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}
