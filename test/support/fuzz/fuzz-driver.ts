import net from 'node:net';
import { ApiVersions } from '../../../src/protocol/apis/api-versions.js';
import {
  API_VERSIONS_KEY,
  decodeResponse,
  ErrorCode,
  encodeRequest,
  FrameReader,
} from '../../../src/protocol/index.js';
import { type FuzzFrame, type ProtocolFuzzer, REQUEST_SCHEMAS } from './protocol-fuzzer.js';

/**
 * Sends fuzzed frames to a broker over several connections, each pipelining frames ahead of their answers,
 * and reconnects whenever the broker closes one. A frame counts as examined when the broker answered it,
 * answered a later frame on the same connection (it had no answer, as acks=0 produce), or closed the
 * connection while it was the oldest unanswered frame. Frames written behind a fatal frame were never looked
 * at: they are counted apart and do not count toward the total. A connection starts with one frame in
 * flight and doubles that with every answer, because most fuzzed frames end their connection.
 */

export interface FuzzDriverOptions {
  host: string;
  port: number;
  fuzzer: ProtocolFuzzer;
  /** Frames the broker must have examined before the run ends. */
  frames: number;
  /** A connection with frames in flight and no answer for this long is abandoned and reported. */
  stallTimeoutMs: number;
  /** Connections in parallel (default 32). */
  connections?: number;
  /** Most frames written ahead of their answers on one connection (default 4). */
  pipelineDepth?: number;
  /**
   * After `probeAfterMs` without an answer an ApiVersions probe follows the frames in flight: its answer
   * shows they were taken silently. After `parkAfterMs` the worker leaves the connection waiting and opens
   * another (defaults 30 ms, 500 ms).
   */
  probeAfterMs?: number;
  parkAfterMs?: number;
  /** Called about every `progressEvery` examined frames. */
  onProgress?: (report: FuzzReport) => void;
  progressEvery?: number;
}

export interface FrameSighting {
  index: number;
  api: string;
  version: number;
  mutation: string;
  detail: string;
}

export interface FuzzReport {
  sent: number;
  examined: number;
  okResponses: number;
  /** Answers carrying a non-zero error code somewhere (UNSUPPORTED_VERSION included). */
  errorResponses: number;
  /** Frames the broker took without answering, as acks=0 produce. */
  silent: number;
  /** Connections the broker closed; each on the frame then oldest in flight, which counts as examined. */
  closes: number;
  /** Frames written behind a frame that made the broker close the connection. */
  unexamined: number;
  /** Answers the fuzzer could not decode as the API version it asked for: worth a look. */
  undecodable: number;
  undecodableExamples: FrameSighting[];
  /** Frames left unanswered past the stall timeout (long polls, rebalances, or a hung handler). */
  stalls: FrameSighting[];
  /** The frames sent last, newest last: the suspects when the broker goes away. */
  recent: FrameSighting[];
  /** Connections still waiting for a slow answer when the run ended (closed then). */
  parkedAtEnd: number;
  /** Why the run stopped before `frames` were examined (the broker stopped accepting connections). */
  aborted: string | null;
  elapsedMs: number;
}

/** Enough parallel connections to hide a round trip per frame on loopback. */
const DEFAULT_CONNECTIONS = 32;
/** Most fuzzed frames end their connection, so few are worth writing ahead. */
const DEFAULT_PIPELINE_DEPTH = 4;
/** An answer slower than this on loopback is rare: acks=0 produce gives none at all. */
const DEFAULT_PROBE_AFTER_MS = 30;
/** Long polls and rebalances: the fuzzer does not wait for them with a worker. */
const DEFAULT_PARK_AFTER_MS = 500;
const MAX_EXAMPLES = 20;
const RECENT_FRAMES = 64;
/** Parked connections wait for long polls and rebalances; past this many, a worker waits with its own. */
const MAX_PARKED = 256;
const CONNECT_TIMEOUT_MS = 5_000;
/** Large enough for any answer the fuzzer provokes (a fetch of the fuzz topics' logs). */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** Far from any frame index, which is every fuzzed frame's correlation id. */
const PROBE_CORRELATION_ID = -1;
const PROBE = encodeRequest(
  ApiVersions,
  {
    apiKey: ApiVersions.apiKey,
    apiVersion: 0,
    correlationId: PROBE_CORRELATION_ID,
    clientId: 'edgestream-fuzz-probe',
  },
  {},
);

function sighting(frame: FuzzFrame, detail: string): FrameSighting {
  return { index: frame.index, api: frame.api, version: frame.version, mutation: frame.mutation, detail };
}

function hasErrorCode(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasErrorCode);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  return Object.entries(value).some(([key, field]) =>
    key === 'errorCode' ? field !== 0 : hasErrorCode(field),
  );
}

type Verdict = 'ok' | 'error' | 'undecodable';

/** Reads an answer as the API and version in the header the frame actually carried. */
function classify(frame: FuzzFrame, answer: Buffer): { verdict: Verdict; detail: string } {
  const apiKey = frame.bytes.readInt16BE(4);
  const version = frame.bytes.readInt16BE(6);
  const schema = REQUEST_SCHEMAS.find((s) => s.apiKey === apiKey);
  const known = schema !== undefined && version >= schema.versions[0] && version <= schema.versions[1];
  if (!known && answer.length === 6 && answer.readInt16BE(4) === ErrorCode.UNSUPPORTED_VERSION) {
    return { verdict: 'error', detail: 'UNSUPPORTED_VERSION' };
  }
  if (!schema) return { verdict: 'undecodable', detail: `answer to unknown API ${apiKey}` };
  // ApiVersions at a version we do not know is answered as v0 (KIP-511).
  const answeredVersion = known ? version : apiKey === API_VERSIONS_KEY ? 0 : version;
  try {
    const { body } = decodeResponse(answer, schema, answeredVersion);
    return { verdict: hasErrorCode(body) ? 'error' : 'ok', detail: '' };
  } catch (error) {
    return { verdict: 'undecodable', detail: `${answer.length} bytes: ${(error as Error).message}` };
  }
}

export async function runFuzz(settings: FuzzDriverOptions): Promise<FuzzReport> {
  const options = {
    connections: DEFAULT_CONNECTIONS,
    pipelineDepth: DEFAULT_PIPELINE_DEPTH,
    probeAfterMs: DEFAULT_PROBE_AFTER_MS,
    parkAfterMs: DEFAULT_PARK_AFTER_MS,
    ...settings,
  };
  const started = Date.now();
  const report: FuzzReport = {
    sent: 0,
    examined: 0,
    okResponses: 0,
    errorResponses: 0,
    silent: 0,
    closes: 0,
    unexamined: 0,
    undecodable: 0,
    undecodableExamples: [],
    stalls: [],
    recent: [],
    aborted: null,
    parkedAtEnd: 0,
    elapsedMs: 0,
  };
  let nextIndex = 0;
  let nextProgress = options.progressEvery ?? Number.POSITIVE_INFINITY;
  const examined = (count = 1) => {
    report.examined += count;
    if (report.examined >= nextProgress) {
      nextProgress += options.progressEvery ?? Number.POSITIVE_INFINITY;
      report.elapsedMs = Date.now() - started;
      options.onProgress?.(report);
    }
  };
  const done = () => report.examined >= options.frames || report.aborted !== null;

  /** Connections a worker left waiting for a slow answer; closed when the run ends. */
  const parked = new Set<net.Socket>();

  /**
   * One connection's life: write, read answers, account for every frame when it ends. Resolves when the
   * connection closes, or when it is parked: its oldest frame has waited `parkAfterMs` (a long poll, a
   * rebalance), so the worker goes on with a new connection while this one waits for its answer or a stall.
   */
  const connection = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host: options.host, port: options.port });
      const reader = new FrameReader(MAX_RESPONSE_BYTES);
      const inFlight: FuzzFrame[] = [];
      let ended = false;
      let closedByUs = false;
      let connected = false;
      /** Set when the last answer was UNSUPPORTED_VERSION, after which the broker closes by design. */
      let closeExplained = false;
      let probing = false;
      let depth = 1;
      let lastProgressAt = Date.now();
      let quietTimer: NodeJS.Timeout | null = null;
      const connectTimer = setTimeout(
        () => socket.destroy(new Error('connect timed out')),
        CONNECT_TIMEOUT_MS,
      );

      const park = () => {
        ended = true;
        parked.add(socket);
        resolve();
      };
      /** Probe, park, then give up on a connection whose oldest frame gets no answer. */
      const watchQuiet = () => {
        if (quietTimer) clearTimeout(quietTimer);
        quietTimer = null;
        if (inFlight.length === 0) return;
        const quietMs = Date.now() - lastProgressAt;
        if (quietMs >= options.stallTimeoutMs) {
          report.stalls.push(sighting(inFlight[0]!, `no answer in ${options.stallTimeoutMs} ms`));
          closedByUs = true;
          socket.destroy();
          return;
        }
        if (quietMs >= options.probeAfterMs && !probing && !ended) {
          probing = true;
          socket.write(PROBE);
        }
        if (quietMs >= options.parkAfterMs && !parked.has(socket) && parked.size < MAX_PARKED) park();
        const next = [options.probeAfterMs, options.parkAfterMs, options.stallTimeoutMs].find(
          (t) => t > quietMs,
        )!;
        quietTimer = setTimeout(watchQuiet, next - quietMs);
      };
      const topUp = () => {
        while (!ended && !probing && !done() && inFlight.length < depth) {
          const frame = options.fuzzer.frame(nextIndex++);
          inFlight.push(frame);
          report.sent++;
          report.recent.push(sighting(frame, 'sent'));
          if (report.recent.length > RECENT_FRAMES) report.recent.shift();
          socket.write(frame.bytes);
          if (frame.endsConnection) {
            ended = true;
            socket.end();
          }
        }
        if (!ended && done()) {
          // Enough frames examined: what is still in flight stays unexamined (acks=0 frames never answer).
          ended = true;
          closedByUs = true;
          socket.end();
        }
        if (parked.has(socket) && inFlight.length === 0) {
          closedByUs = true;
          socket.destroy();
        }
        watchQuiet();
      };
      const answered = (answer: Buffer) => {
        lastProgressAt = Date.now();
        const correlationId = answer.readInt32BE(0);
        depth = Math.min(depth * 2, options.pipelineDepth);
        if (correlationId === PROBE_CORRELATION_ID && probing) {
          // Everything written before the probe was taken without an answer.
          probing = false;
          report.silent += inFlight.length;
          examined(inFlight.splice(0).length);
          return;
        }
        // Frames before the one answered went unanswered: the broker took them silently.
        const position = Math.max(
          0,
          inFlight.findIndex((f) => f.bytes.length >= 12 && f.bytes.readInt32BE(8) === correlationId),
        );
        const silent = inFlight.splice(0, position);
        report.silent += silent.length;
        const frame = inFlight.shift();
        examined(silent.length + (frame ? 1 : 0));
        if (!frame) return;
        const { verdict, detail } = classify(frame, answer);
        if (verdict === 'ok') report.okResponses++;
        else if (verdict === 'error') report.errorResponses++;
        else {
          report.undecodable++;
          if (report.undecodableExamples.length < MAX_EXAMPLES) {
            report.undecodableExamples.push(sighting(frame, detail));
          }
        }
        closeExplained = detail === 'UNSUPPORTED_VERSION';
      };

      socket.once('connect', () => {
        connected = true;
        clearTimeout(connectTimer);
        topUp();
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          for (const answer of reader.push(chunk)) answered(answer);
        } catch (error) {
          report.undecodable++;
          if (report.undecodableExamples.length < MAX_EXAMPLES && inFlight[0]) {
            report.undecodableExamples.push(
              sighting(inFlight[0], `bad answer framing: ${(error as Error).message}`),
            );
          }
          closedByUs = true;
          socket.destroy();
          return;
        }
        topUp();
      });
      socket.on('error', () => undefined);
      socket.once('close', () => {
        clearTimeout(connectTimer);
        if (quietTimer) clearTimeout(quietTimer);
        parked.delete(socket);
        if (!connected) {
          report.aborted ??= `cannot connect to ${options.host}:${options.port}: is the broker alive?`;
          resolve();
          return;
        }
        if (!closedByUs) report.closes++;
        // The oldest unanswered frame is the one the broker closed on (or that we gave up on).
        if (inFlight.length > 0 && !closeExplained && !(closedByUs && done())) {
          inFlight.shift();
          examined();
        }
        report.unexamined += inFlight.length;
        resolve();
      });
    });

  const worker = async () => {
    while (!done()) await connection();
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  report.elapsedMs = Date.now() - started;
  // Whatever the parked connections still wait for is not needed any more.
  const closing = [...parked].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
  report.parkedAtEnd = parked.size;
  for (const socket of parked) socket.destroy();
  await Promise.all(closing);
  return report;
}
