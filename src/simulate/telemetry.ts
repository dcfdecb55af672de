/**
 * The telemetry a CDN edge sends to Edgestream: TCP statistics sampled per client connection by each edge
 * server, and QoE events reported by the players it serves. Values are JSON objects; docs/telemetry.md explains
 * the topics, keys and the value distributions the simulator draws from.
 */

/** TCP statistics of edge servers, keyed by edge server id. */
export const TCP_TOPIC = 'cdn.tcp';
/** Player QoE events, keyed by the id of the edge server that serves the session. */
export const QOE_TOPIC = 'cdn.qoe';
/**
 * Per-edge-server totals (the host's TCP counters, its access log's requests), keyed by edge server id. A topic
 * of its own: cdn.tcp holds per-connection samples only, and host totals there would be counted twice.
 */
export const HOST_TOPIC = 'cdn.host';

/** The `stream` of events whose source could not tell it (a player that sent no CMCD `cid`). */
export const UNKNOWN_STREAM = 'unknown';

/** Fields every event carries: when and where it happened. */
export interface EventBase {
  /** Event time, milliseconds since the epoch; also the Kafka record timestamp. */
  ts: number;
  /** Site (PoP) of the edge server, e.g. `fra1`. */
  site: string;
  /** Edge server id, unique across sites, e.g. `edge-017`; the record key. */
  edge: string;
  /** Live stream (channel) the connection or session delivers, e.g. `sports-1`. */
  stream: string;
}

/**
 * One sample of a client connection's TCP state on an edge server (what `ss -ti` / tcp_info report), covering
 * the `intervalMs` before `ts`. Counters are deltas over that interval, gauges are the value at `ts`.
 */
export interface TcpStatsEvent extends EventBase {
  type: 'tcp_stats';
  /** Connection id, unique on its edge server. */
  conn: string;
  /** Length of the sampled interval in ms. */
  intervalMs: number;
  /** Data segments sent in the interval, retransmissions included. */
  segmentsOut: number;
  /** Segments retransmitted in the interval (tcpi_total_retrans delta). */
  retransmits: number;
  /** Payload bytes sent in the interval. */
  bytesSent: number;
  /** Smoothed round-trip time in ms (tcpi_rtt). */
  rttMs: number;
  /** RTT variation in ms (tcpi_rttvar). */
  rttVarMs: number;
  /** Congestion window in segments (tcpi_snd_cwnd). */
  cwnd: number;
  /** Delivery rate estimate in kbit/s (tcpi_delivery_rate). */
  deliveryRateKbps: number;
}

/**
 * CMCD (CTA-5004) keys a player sends with each segment request; names as in the spec so CDN logs can be
 * joined with them.
 */
export interface Cmcd {
  /** Encoded bitrate of the requested object, kbit/s. */
  br: number;
  /** Buffer length at request time, ms. */
  bl: number;
  /** Measured throughput the player sees, kbit/s. */
  mtp: number;
  /** Object type: `v` video, `a` audio, `m` manifest, `i` init segment. */
  ot: 'v' | 'a' | 'm' | 'i';
  /** Session id, the same for every request of one playback session. */
  sid: string;
  /** Content id of the stream. */
  cid: string;
  /** Startup: true while the player is filling its buffer before first frame or after a rebuffer. */
  su: boolean;
  /** Object duration, ms. */
  d: number;
}

/** Fields of every player session event. */
export interface QoeBase extends EventBase {
  /** Playback session id (equals `cmcd.sid` on segment events). */
  session: string;
}

/** The player started playing: `startupMs` from the play request to the first frame. */
export interface SessionStartEvent extends QoeBase {
  type: 'session_start';
  startupMs: number;
  /** Bitrate of the first rendition played, kbit/s. */
  bitrateKbps: number;
}

/** One segment download as the player saw it. */
export interface SegmentEvent extends QoeBase {
  type: 'segment';
  /** Request sent to last byte received, ms. */
  downloadMs: number;
  /** HTTP status the edge answered with (5xx when the origin failed). */
  httpStatus: number;
  bytes: number;
  cmcd: Cmcd;
}

/** Playback stalled: the buffer ran dry. */
export interface RebufferStartEvent extends QoeBase {
  type: 'rebuffer_start';
}

/** Playback resumed after a stall of `durationMs`. */
export interface RebufferEndEvent extends QoeBase {
  type: 'rebuffer_end';
  durationMs: number;
}

/** The player's adaptation logic switched renditions. */
export interface BitrateSwitchEvent extends QoeBase {
  type: 'bitrate_switch';
  fromKbps: number;
  toKbps: number;
}

/** The session ended; `playedMs` is the time spent playing (stalls excluded). */
export interface SessionEndEvent extends QoeBase {
  type: 'session_end';
  playedMs: number;
}

export type QoeEvent =
  | SessionStartEvent
  | SegmentEvent
  | RebufferStartEvent
  | RebufferEndEvent
  | BitrateSwitchEvent
  | SessionEndEvent;

export type QoeEventType = QoeEvent['type'];

export type TelemetryEvent = TcpStatsEvent | QoeEvent;

/**
 * The host-wide TCP counters of an edge server (/proc/net/snmp `Tcp:` and /proc/net/netstat `TcpExt:`), as
 * deltas over the `intervalMs` before `ts`; `currEstab` is the gauge at `ts`. `stream` is `unknown`: the
 * counters cover every connection of the host.
 */
export interface TcpHostEvent extends EventBase {
  type: 'tcp_host';
  intervalMs: number;
  /** Connections this host opened (ActiveOpens) and accepted (PassiveOpens). */
  activeOpens: number;
  passiveOpens: number;
  /** Connection attempts that failed (AttemptFails) and established connections reset (EstabResets). */
  attemptFails: number;
  estabResets: number;
  /** Established connections at `ts` (CurrEstab). */
  currEstab: number;
  /** Segments received (InSegs), sent (OutSegs, retransmissions excluded) and retransmitted (RetransSegs). */
  inSegs: number;
  outSegs: number;
  retransSegs: number;
  /** Segments received with errors (InErrs) and resets sent (OutRsts). */
  inErrs: number;
  outRsts: number;
  /** Retransmission timeouts (TCPTimeouts) and retransmissions lost again (TCPLostRetransmit). */
  timeouts: number;
  lostRetransmits: number;
  /** Fast and slow-start retransmissions (TCPFastRetrans, TCPSlowStartRetrans), SYN retransmissions (TCPSynRetrans). */
  fastRetrans: number;
  slowStartRetrans: number;
  synRetrans: number;
  /** Connections the accept queue had no room for (ListenOverflows) and SYNs dropped at listen (ListenDrops). */
  listenOverflows: number;
  listenDrops: number;
}

/**
 * What an edge server's access log said over the `intervalMs` before `ts`: requests by status class and by
 * cache status (nginx `$upstream_cache_status`: HIT, MISS, EXPIRED, ...; `-` when the request did not go
 * through the cache), and the lines that could not be read. `stream` is `unknown`: the counts cover the host.
 */
export interface HttpAccessEvent extends EventBase {
  type: 'http_access';
  intervalMs: number;
  requests: number;
  /** Response body bytes ($body_bytes_sent). */
  bytesSent: number;
  /** Requests per status class, keys `1xx`..`5xx`. */
  statusClasses: Record<string, number>;
  /** Requests per cache status; empty when the log format has none (`combined`). */
  cacheStatuses: Record<string, number>;
  /** Lines skipped: unparsable, or longer than the agent's line bound. */
  malformedLines: number;
}

export type HostEvent = TcpHostEvent | HttpAccessEvent;

/** The bitrate ladder of every simulated stream, kbit/s. */
export const BITRATE_LADDER_KBPS = [800, 1_800, 3_500, 6_000, 8_000] as const;

/** Segment duration of the simulated streams, ms (typical for low-latency HLS/DASH live sports). */
export const SEGMENT_DURATION_MS = 2_000;
