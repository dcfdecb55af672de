import { clamp, Random } from './random.js';
import { FAULT_PROFILES, type Fault, type FaultScope, faultActiveAt, SCENARIO_LIMITS } from './scenarios.js';
import {
  BITRATE_LADDER_KBPS,
  type Cmcd,
  QOE_TOPIC,
  type QoeEvent,
  SEGMENT_DURATION_MS,
  TCP_TOPIC,
  type TcpStatsEvent,
  type TelemetryEvent,
} from './telemetry.js';

/**
 * Deterministic CDN telemetry: the same options (seed and start time included) give the same events in the same
 * order, whatever the wall clock or the speed of the consumer. Time advances in slices of event time; a slice
 * holds exactly its share of the target rate.
 */

export interface GeneratorOptions {
  seed: number;
  /** Event time of the start of the run, ms since the epoch. */
  startMs: number;
  ratePerSec: number;
  edges: number;
  sites: number;
  sliceMs: number;
  faults: readonly Fault[];
  /** Concurrent player sessions per edge server. */
  sessionsPerEdge?: number;
  /** Share of events that are TCP samples; the rest are QoE events. */
  tcpShare?: number;
  /** Share of events stamped earlier than events already emitted. */
  lateFraction?: number;
  /** A late event is at most this much older than the newest event emitted before it. */
  maxLatenessMs?: number;
}

export const GENERATOR_DEFAULTS = {
  sessionsPerEdge: 200,
  tcpShare: 0.4,
  lateFraction: 0.01,
  maxLatenessMs: 2_000,
} as const;

export const GENERATOR_LIMITS = {
  maxRatePerSec: 2_000_000,
  maxEdges: 10_000,
  maxSessionsPerEdge: 10_000,
  minSliceMs: 1,
  maxSliceMs: 1_000,
  maxLatenessMs: 60_000,
} as const;

export interface EdgeServer {
  id: string;
  site: string;
  /** Median RTT of this edge's clients when healthy, ms. */
  baseRttMs: number;
}

export interface Fleet {
  edges: EdgeServer[];
  sites: string[];
}

export interface GeneratedEvent {
  topic: typeof TCP_TOPIC | typeof QOE_TOPIC;
  /** Record key: the edge server id. */
  edge: string;
  event: TelemetryEvent;
  /** The fault that changed this event, if one did. */
  faultId: string | null;
  late: boolean;
}

/** What a fault did within one slice: events it changed, or for a dying edge, events it kept from being sent. */
export interface FaultActivity {
  faultId: string;
  events: number;
  firstTs: number;
}

export interface Slice {
  index: number;
  startMs: number;
  endMs: number;
  events: GeneratedEvent[];
  faults: FaultActivity[];
  /** Events that were not emitted because their edge was silent. */
  silenced: number;
}

const POP_CODES = ['fra', 'ams', 'lhr', 'cdg', 'mad', 'mil', 'waw', 'sto', 'vie', 'zrh', 'prg', 'dub'];
/** Live channels with their share of sessions: a few big matches draw most viewers. */
const STREAMS: readonly [string, number][] = [
  ['sports-1', 0.35],
  ['sports-2', 0.2],
  ['sports-3', 0.12],
  ['sports-4', 0.08],
  ['news-1', 0.1],
  ['kids-1', 0.06],
  ['movies-1', 0.05],
  ['music-1', 0.04],
];
const TCP_SAMPLE_INTERVAL_MS = 1_000;
const MSS_BYTES = 1_448;
const AUDIO_BITRATE_KBPS = 128;
const HEALTHY_LOSS_RATE = 0.002;
const MAX_BUFFER_MS = 30_000;

/** Per-event effect of the faults acting on one edge at one time. */
interface Effects {
  silenced: boolean;
  lossRate: number;
  rttFactor: number;
  downloadFactor: number;
  originErrorRate: number;
  tcpFault: string | null;
  segmentFault: string | null;
  silencedBy: string | null;
}

const FAULT_EFFECTS = {
  retransmitStormLossRate: 0.08,
  flappingLossRate: 0.05,
  flappingRttFactor: 4,
  latencySpikeRttFactor: 8,
  latencySpikeDownloadFactor: 2,
  originErrorRate: 0.35,
} as const;

type Phase = 'new' | 'playing' | 'stall_pending' | 'stalled' | 'switch_pending';

interface Session {
  serial: number;
  id: string;
  conn: string;
  stream: string;
  phase: Phase;
  bitrateIndex: number;
  switchToIndex: number;
  bufferMs: number;
  segmentsLeft: number;
  segmentsPlayed: number;
  startupPending: boolean;
}

interface EdgeState {
  server: EdgeServer;
  siteIndex: number;
  sessions: Session[];
  nextSerial: number;
}

function positiveInteger(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer in [1, ${max}], got ${value}`);
  }
}

function share(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`);
}

function siteName(index: number): string {
  return `${POP_CODES[index % POP_CODES.length]}${Math.floor(index / POP_CODES.length) + 1}`;
}

/** Edge servers `edge-001`... spread round-robin over sites `fra1`, `ams1`...; RTTs drawn from the seed. */
export function buildFleet(edges: number, sites: number, seed: number): Fleet {
  positiveInteger('edges', edges, GENERATOR_LIMITS.maxEdges);
  positiveInteger('sites', sites, edges);
  const random = new Random(seed ^ 0x5eed);
  const siteNames = Array.from({ length: sites }, (_, i) => siteName(i));
  const siteRttMs = siteNames.map(() => random.uniform(12, 45));
  const width = Math.max(3, String(edges).length);
  return {
    sites: siteNames,
    edges: Array.from({ length: edges }, (_, i) => ({
      id: `edge-${String(i + 1).padStart(width, '0')}`,
      site: siteNames[i % sites]!,
      baseRttMs: siteRttMs[i % sites]! * random.uniform(0.85, 1.15),
    })),
  };
}

interface ResolvedFault {
  fault: Fault;
  edgeIndex: number;
  siteIndex: number;
  scopes: readonly FaultScope[];
}

export class TelemetryGenerator {
  readonly fleet: Fleet;
  lateEvents = 0;
  private readonly random: Random;
  private readonly edgeStates: EdgeState[];
  private readonly faults: ResolvedFault[];
  /** The faults whose window overlaps the slice being generated: a long schedule (scenario `cycle`) holds
   * thousands, and checking each of them for every event would cost more than generating the event. */
  private sliceFaults: ResolvedFault[] = [];
  private readonly sessionsPerEdge: number;
  private readonly tcpShare: number;
  private readonly lateFraction: number;
  private readonly maxLatenessMs: number;
  private readonly effects: Effects = {
    silenced: false,
    lossRate: HEALTHY_LOSS_RATE,
    rttFactor: 1,
    downloadFactor: 1,
    originErrorRate: 0,
    tcpFault: null,
    segmentFault: null,
    silencedBy: null,
  };
  private sliceIndex = 0;

  constructor(private readonly options: GeneratorOptions) {
    positiveInteger('ratePerSec', options.ratePerSec, GENERATOR_LIMITS.maxRatePerSec);
    if (
      !Number.isInteger(options.sliceMs) ||
      options.sliceMs < GENERATOR_LIMITS.minSliceMs ||
      options.sliceMs > GENERATOR_LIMITS.maxSliceMs
    ) {
      throw new RangeError(
        `sliceMs must be an integer in [${GENERATOR_LIMITS.minSliceMs}, ${GENERATOR_LIMITS.maxSliceMs}], got ${options.sliceMs}`,
      );
    }
    if (!Number.isSafeInteger(options.startMs) || options.startMs < 0) {
      throw new RangeError(`startMs must be epoch milliseconds, got ${options.startMs}`);
    }
    this.sessionsPerEdge = options.sessionsPerEdge ?? GENERATOR_DEFAULTS.sessionsPerEdge;
    positiveInteger('sessionsPerEdge', this.sessionsPerEdge, GENERATOR_LIMITS.maxSessionsPerEdge);
    this.tcpShare = options.tcpShare ?? GENERATOR_DEFAULTS.tcpShare;
    share('tcpShare', this.tcpShare);
    this.lateFraction = options.lateFraction ?? GENERATOR_DEFAULTS.lateFraction;
    share('lateFraction', this.lateFraction);
    this.maxLatenessMs = options.maxLatenessMs ?? GENERATOR_DEFAULTS.maxLatenessMs;
    positiveInteger('maxLatenessMs', this.maxLatenessMs, GENERATOR_LIMITS.maxLatenessMs);
    if (options.faults.length > SCENARIO_LIMITS.maxFaults) {
      throw new RangeError(`${options.faults.length} faults; the limit is ${SCENARIO_LIMITS.maxFaults}`);
    }
    this.fleet = buildFleet(options.edges, options.sites, options.seed);
    this.random = new Random(options.seed);
    this.faults = options.faults.map((fault) => this.resolveFault(fault));
    this.edgeStates = this.fleet.edges.map((server) => ({
      server,
      siteIndex: this.fleet.sites.indexOf(server.site),
      sessions: [],
      nextSerial: 0,
    }));
    for (const state of this.edgeStates) {
      for (let i = 0; i < this.sessionsPerEdge; i++) state.sessions.push(this.newSession(state));
    }
  }

  /** Event time at which the next slice ends: the simulator sends it once the wall clock has passed it. */
  get nextSliceEndMs(): number {
    return this.options.startMs + (this.sliceIndex + 1) * this.options.sliceMs;
  }

  /** Offset from the start of the run of the next slice. */
  get nextSliceOffsetMs(): number {
    return this.sliceIndex * this.options.sliceMs;
  }

  nextSlice(): Slice {
    const index = this.sliceIndex++;
    const { sliceMs, ratePerSec, startMs } = this.options;
    const sliceStartMs = startMs + index * sliceMs;
    // Whole events per slice whose running total follows the rate exactly.
    const count =
      Math.floor(((index + 1) * ratePerSec * sliceMs) / 1000) -
      Math.floor((index * ratePerSec * sliceMs) / 1000);
    const events: GeneratedEvent[] = [];
    const activity = new Map<string, FaultActivity>();
    this.sliceFaults = this.faultsOverlapping(
      sliceStartMs - startMs - this.maxLatenessMs,
      sliceStartMs + sliceMs - startMs,
    );
    let silenced = 0;
    for (let j = 0; j < count; j++) {
      const nominalMs = sliceStartMs + Math.floor((j * sliceMs) / count);
      const late = this.random.chance(this.lateFraction);
      const ts = late ? Math.max(startMs, nominalMs - 1 - this.random.below(this.maxLatenessMs)) : nominalMs;
      const state = this.edgeStates[this.random.below(this.edgeStates.length)]!;
      const effects = this.effectsAt(state, ts - startMs);
      if (effects.silenced) {
        silenced++;
        noteFault(activity, effects.silencedBy!, ts);
        continue;
      }
      const generated = this.random.chance(this.tcpShare)
        ? this.tcpEvent(state, ts, effects)
        : this.qoeEvent(state, ts, effects);
      if (late) this.lateEvents++;
      generated.late = late;
      if (generated.faultId) noteFault(activity, generated.faultId, ts);
      events.push(generated);
    }
    return {
      index,
      startMs: sliceStartMs,
      endMs: sliceStartMs + sliceMs,
      events,
      faults: [...activity.values()],
      silenced,
    };
  }

  /** Faults acting at some offset in [fromOffsetMs, toOffsetMs), in the order they were given. */
  private faultsOverlapping(fromOffsetMs: number, toOffsetMs: number): ResolvedFault[] {
    return this.faults.filter(
      ({ fault }) => fault.startOffsetMs < toOffsetMs && fault.endOffsetMs > fromOffsetMs,
    );
  }

  private resolveFault(fault: Fault): ResolvedFault {
    const edgeIndex =
      fault.dimension === 'edge' ? this.fleet.edges.findIndex((e) => e.id === fault.target) : -1;
    const siteIndex = fault.dimension === 'site' ? this.fleet.sites.indexOf(fault.target) : -1;
    if (edgeIndex < 0 && siteIndex < 0) {
      throw new RangeError(`fault ${fault.id}: no ${fault.dimension} '${fault.target}' in the fleet`);
    }
    return { fault, edgeIndex, siteIndex, scopes: FAULT_PROFILES[fault.kind].scopes };
  }

  private effectsAt(state: EdgeState, offsetMs: number): Effects {
    const effects = this.effects;
    effects.silenced = false;
    effects.lossRate = HEALTHY_LOSS_RATE;
    effects.rttFactor = 1;
    effects.downloadFactor = 1;
    effects.originErrorRate = 0;
    effects.tcpFault = null;
    effects.segmentFault = null;
    effects.silencedBy = null;
    for (const resolved of this.sliceFaults) {
      const onTarget =
        resolved.edgeIndex >= 0
          ? this.edgeStates[resolved.edgeIndex] === state
          : resolved.siteIndex === state.siteIndex;
      if (!onTarget || !faultActiveAt(resolved.fault, offsetMs)) continue;
      applyFault(effects, resolved);
    }
    return effects;
  }

  private newSession(state: EdgeState): Session {
    const serial = state.nextSerial++;
    return {
      serial,
      id: this.random.hexId(),
      conn: `c${serial}`,
      stream: this.pickStream(),
      phase: 'new',
      bitrateIndex: 1 + this.random.below(3),
      switchToIndex: 0,
      bufferMs: 0,
      segmentsLeft: Math.round(clamp(this.random.logNormal(300, 1), 5, 10_000)),
      segmentsPlayed: 0,
      startupPending: true,
    };
  }

  private pickStream(): string {
    let draw = this.random.next();
    for (const [name, weight] of STREAMS) {
      draw -= weight;
      if (draw < 0) return name;
    }
    return STREAMS[0]![0];
  }

  private tcpEvent(state: EdgeState, ts: number, effects: Effects): GeneratedEvent {
    const session = state.sessions[this.random.below(state.sessions.length)]!;
    const random = this.random;
    const bitrateKbps = BITRATE_LADDER_KBPS[session.bitrateIndex]!;
    const bytesSent = Math.round(
      ((bitrateKbps * 1000) / 8) * (TCP_SAMPLE_INTERVAL_MS / 1000) * random.uniform(0.7, 1.3),
    );
    const segmentsOut = Math.ceil(bytesSent / MSS_BYTES);
    const rttMs = clamp(random.logNormal(state.server.baseRttMs * effects.rttFactor, 0.35), 1, 5_000);
    const bdpSegments = (bitrateKbps * rttMs) / (8 * MSS_BYTES);
    const event: TcpStatsEvent = {
      type: 'tcp_stats',
      ts,
      site: state.server.site,
      edge: state.server.id,
      stream: session.stream,
      conn: session.conn,
      intervalMs: TCP_SAMPLE_INTERVAL_MS,
      segmentsOut,
      retransmits: Math.min(segmentsOut, random.poisson(segmentsOut * effects.lossRate)),
      bytesSent,
      rttMs: round1(rttMs),
      rttVarMs: round1(rttMs * random.uniform(0.1, 0.5)),
      cwnd: Math.round(clamp((bdpSegments * random.uniform(1.5, 3)) / (1 + effects.lossRate * 50), 2, 1_000)),
      deliveryRateKbps: Math.round(((bytesSent * 8) / TCP_SAMPLE_INTERVAL_MS) * random.uniform(1, 1.6)),
    };
    return { topic: TCP_TOPIC, edge: state.server.id, event, faultId: effects.tcpFault, late: false };
  }

  private qoeEvent(state: EdgeState, ts: number, effects: Effects): GeneratedEvent {
    const slot = this.random.below(state.sessions.length);
    let session = state.sessions[slot]!;
    if (session.phase === 'new' && session.segmentsLeft === 0) {
      session = this.newSession(state);
      state.sessions[slot] = session;
    }
    const { site, id: edge } = state.server;
    const { stream, id: sessionId } = session;
    let event: QoeEvent;
    let faultId: string | null = null;
    switch (session.phase) {
      case 'new':
        event = {
          type: 'session_start',
          ts,
          site,
          edge,
          stream,
          session: sessionId,
          startupMs: Math.round(
            clamp(this.random.logNormal(1_100 * effects.downloadFactor, 0.45), 100, 60_000),
          ),
          bitrateKbps: BITRATE_LADDER_KBPS[session.bitrateIndex]!,
        };
        session.phase = 'playing';
        session.bufferMs = 2 * SEGMENT_DURATION_MS;
        break;
      case 'stall_pending':
        event = { type: 'rebuffer_start', ts, site, edge, stream, session: sessionId };
        session.phase = 'stalled';
        break;
      case 'stalled':
        event = {
          type: 'rebuffer_end',
          ts,
          site,
          edge,
          stream,
          session: sessionId,
          durationMs: Math.round(clamp(this.random.logNormal(800 * effects.downloadFactor, 0.6), 50, 60_000)),
        };
        session.phase = 'playing';
        session.bufferMs = SEGMENT_DURATION_MS;
        session.startupPending = true;
        break;
      case 'switch_pending':
        event = {
          type: 'bitrate_switch',
          ts,
          site,
          edge,
          stream,
          session: sessionId,
          fromKbps: BITRATE_LADDER_KBPS[session.bitrateIndex]!,
          toKbps: BITRATE_LADDER_KBPS[session.switchToIndex]!,
        };
        session.bitrateIndex = session.switchToIndex;
        session.phase = 'playing';
        break;
      case 'playing':
        if (session.segmentsLeft === 0) {
          event = {
            type: 'session_end',
            ts,
            site,
            edge,
            stream,
            session: sessionId,
            playedMs: session.segmentsPlayed * SEGMENT_DURATION_MS,
          };
          session.phase = 'new';
          break;
        }
        event = this.segmentEvent(ts, session, state, effects);
        faultId = effects.segmentFault;
        break;
    }
    return { topic: QOE_TOPIC, edge: state.server.id, event, faultId, late: false };
  }

  private segmentEvent(ts: number, session: Session, state: EdgeState, effects: Effects): QoeEvent {
    const random = this.random;
    const audio = random.chance(0.2);
    const bitrateKbps = audio ? AUDIO_BITRATE_KBPS : BITRATE_LADDER_KBPS[session.bitrateIndex]!;
    const rttMs = state.server.baseRttMs * effects.rttFactor;
    // Transfer time grows with the RTT (slow start and ACK clocking) and with the size of the segment.
    const medianMs = (120 + 6 * rttMs) * (bitrateKbps / 3_500 + 0.2) * effects.downloadFactor;
    const downloadMs = Math.round(clamp(random.logNormal(medianMs, 0.5), 5, 120_000));
    const bytes = Math.round(
      ((bitrateKbps * 1000) / 8) * (SEGMENT_DURATION_MS / 1000) * random.uniform(0.9, 1.1),
    );
    const cmcd: Cmcd = {
      br: bitrateKbps,
      bl: Math.round(session.bufferMs),
      mtp: Math.round((bytes * 8) / downloadMs),
      ot: audio ? 'a' : 'v',
      sid: session.id,
      cid: `live/${session.stream}`,
      su: session.startupPending,
      d: SEGMENT_DURATION_MS,
    };
    const httpStatus = this.httpStatus(effects);
    if (!audio) this.advancePlayback(session, downloadMs);
    const { site, id: edge } = state.server;
    return {
      type: 'segment',
      ts,
      site,
      edge,
      stream: session.stream,
      session: session.id,
      downloadMs,
      httpStatus,
      bytes,
      cmcd,
    };
  }

  private httpStatus(effects: Effects): number {
    const random = this.random;
    if (random.chance(effects.originErrorRate)) return [502, 503, 504][random.below(3)]!;
    if (random.chance(0.001)) return random.chance(0.5) ? 503 : 504;
    return random.chance(0.0005) ? 404 : 200;
  }

  /** The buffer gains a segment and loses the time the download took; an empty buffer means a stall next. */
  private advancePlayback(session: Session, downloadMs: number): void {
    const random = this.random;
    session.segmentsLeft--;
    session.segmentsPlayed++;
    session.startupPending = false;
    session.bufferMs = clamp(session.bufferMs + SEGMENT_DURATION_MS - downloadMs, 0, MAX_BUFFER_MS);
    if (session.bufferMs === 0 || random.chance(0.002)) {
      session.phase = 'stall_pending';
    } else if (downloadMs > 0.7 * SEGMENT_DURATION_MS && session.bitrateIndex > 0) {
      session.switchToIndex = session.bitrateIndex - 1;
      session.phase = 'switch_pending';
    } else if (
      downloadMs < 0.2 * SEGMENT_DURATION_MS &&
      session.bufferMs > 8_000 &&
      session.bitrateIndex < BITRATE_LADDER_KBPS.length - 1 &&
      random.chance(0.05)
    ) {
      session.switchToIndex = session.bitrateIndex + 1;
      session.phase = 'switch_pending';
    }
  }
}

function applyFault(effects: Effects, resolved: ResolvedFault): void {
  const id = resolved.fault.id;
  switch (resolved.fault.kind) {
    case 'dying-edge':
      effects.silenced = true;
      effects.silencedBy ??= id;
      return;
    case 'retransmit-storm':
      effects.lossRate = Math.max(effects.lossRate, FAULT_EFFECTS.retransmitStormLossRate);
      break;
    case 'flapping-link':
      effects.lossRate = Math.max(effects.lossRate, FAULT_EFFECTS.flappingLossRate);
      effects.rttFactor *= FAULT_EFFECTS.flappingRttFactor;
      break;
    case 'latency-spike':
      effects.rttFactor *= FAULT_EFFECTS.latencySpikeRttFactor;
      effects.downloadFactor *= FAULT_EFFECTS.latencySpikeDownloadFactor;
      break;
    case 'origin-5xx':
      effects.originErrorRate = Math.max(effects.originErrorRate, FAULT_EFFECTS.originErrorRate);
      break;
  }
  if (resolved.scopes.includes('tcp')) effects.tcpFault ??= id;
  if (resolved.scopes.includes('segment')) effects.segmentFault ??= id;
}

function noteFault(activity: Map<string, FaultActivity>, faultId: string, ts: number): void {
  const seen = activity.get(faultId);
  if (seen) {
    seen.events++;
    if (ts < seen.firstTs) seen.firstTs = ts;
  } else {
    activity.set(faultId, { faultId, events: 1, firstTs: ts });
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
