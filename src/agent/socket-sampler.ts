import { execFile } from 'node:child_process';
import type { TcpStatsEvent } from '../simulate/telemetry.js';
import { AgentError } from './errors.js';

/**
 * Per-connection TCP state of the serving ports, read from the kernel's socket diagnostics (inet_diag) through
 * iproute2's `ss`, the kernel team's own inet_diag client (docs/agent.md says why, and what one sample costs).
 */

/** The tcp_info counters and gauges of one connection, as `ss -ti` prints them. */
export interface SocketInfo {
  /** `local:port-peer:port`, unique on the host while the connection lives. */
  conn: string;
  /** Data segments sent (data_segs_out; segs_out on kernels without it), retransmissions included. */
  segmentsOut: number;
  /** tcpi_total_retrans: the second number of `retrans:a/b`, 0 when ss prints none. */
  retransmitsTotal: number;
  /** bytes_sent (retransmitted bytes included); bytes_acked on kernels without it. */
  bytesSent: number;
  rttMs: number;
  rttVarMs: number;
  cwnd: number;
  deliveryRateKbps: number;
}

/** Output of one `ss` run past this is an error rather than memory use without end (~1 KB per socket). */
const SS_OUTPUT_BYTES_MAX = 256 * 1024 * 1024;
const SS_TIMEOUT_MS = 10_000;

/** The ss filter for established connections whose local port is one of `ports`. */
export function ssArguments(ports: readonly number[]): string[] {
  const filter = ports.map((port) => `sport = :${port}`).join(' or ');
  return ['-tinH', 'state', 'established', `( ${filter} )`];
}

/** Runs `ss` for the ports; a host without iproute2 gets an error that says what to install. */
export function runSs(ports: readonly number[], ssPath = 'ss'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      ssPath,
      ssArguments(ports),
      { maxBuffer: SS_OUTPUT_BYTES_MAX, timeout: SS_TIMEOUT_MS, encoding: 'latin1' },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(
            new AgentError(
              'SS_MISSING',
              `'${ssPath}' was not found: the agent reads per-connection TCP statistics with iproute2's ss ` +
                '(Debian/Ubuntu: apt-get install iproute2; RHEL: dnf install iproute)',
            ),
          );
        }
        reject(
          new AgentError(
            'SS_FAILED',
            `${ssPath} ${ssArguments(ports).join(' ')}: ${stderr || error.message}`,
          ),
        );
      },
    );
  });
}

/**
 * The sockets of `ss -tinH state established` output: per socket a line `Recv-Q Send-Q Local Peer` and an
 * indented line of `key:value` tcp_info fields. Sockets without the fields this needs (no tcp_info) are left out.
 */
export function parseSs(output: string): SocketInfo[] {
  const sockets: SocketInfo[] = [];
  let conn: string | null = null;
  for (const line of output.split('\n')) {
    if (line.length === 0) continue;
    if (line.charCodeAt(0) === 9 || line.charCodeAt(0) === 32) {
      if (conn !== null) {
        const info = parseInfoLine(conn, line);
        if (info) sockets.push(info);
      }
      conn = null;
      continue;
    }
    conn = connOf(line);
  }
  return sockets;
}

function connOf(line: string): string | null {
  const columns = line.trim().split(/\s+/);
  // Recv-Q Send-Q Local:Port Peer:Port [Process]
  if (columns.length < 4) return null;
  return `${columns[2]}-${columns[3]}`;
}

function parseInfoLine(conn: string, line: string): SocketInfo | null {
  const fields = new Map<string, string>();
  const tokens = line.trim().split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const colon = token.indexOf(':');
    if (colon > 0) fields.set(token.slice(0, colon), token.slice(colon + 1));
    else if (token === 'delivery_rate' && i + 1 < tokens.length) fields.set(token, tokens[++i]!);
  }
  const rtt = fields.get('rtt');
  const cwnd = fields.get('cwnd');
  if (rtt === undefined || cwnd === undefined) return null;
  const [rttMs, rttVarMs] = pairOf(rtt);
  const [, retransmitsTotal] = pairOf(fields.get('retrans') ?? '0/0');
  return {
    conn,
    segmentsOut: numberOf(fields.get('data_segs_out') ?? fields.get('segs_out')),
    retransmitsTotal,
    bytesSent: numberOf(fields.get('bytes_sent') ?? fields.get('bytes_acked')),
    rttMs,
    rttVarMs,
    cwnd: numberOf(cwnd),
    deliveryRateKbps: bitsPerSecond(fields.get('delivery_rate')) / 1000,
  };
}

function numberOf(text: string | undefined): number {
  const value = Number(text);
  return Number.isFinite(value) ? value : 0;
}

function pairOf(text: string): [number, number] {
  const slash = text.indexOf('/');
  return slash < 0 ? [numberOf(text), 0] : [numberOf(text.slice(0, slash)), numberOf(text.slice(slash + 1))];
}

const RATE_UNITS: Record<string, number> = { '': 1, K: 1e3, k: 1e3, M: 1e6, G: 1e9 };

/** `92170936bps`, or with -h style units `92.2Mbps`. */
function bitsPerSecond(text: string | undefined): number {
  const match = text === undefined ? null : /^([\d.]+)([KkMG]?)bps$/.exec(text);
  if (!match) return 0;
  return Number(match[1]) * RATE_UNITS[match[2]!]!;
}

/** Labels every event carries. */
export interface EventLabels {
  site: string;
  edge: string;
}

/**
 * Turns successive samples into tcp_stats events: counters as deltas since the previous sample. A connection
 * seen at the first sample has no previous one and reports from its second; one that appears later opened
 * within the interval and reports its counters since it opened. A connection whose counters went backwards is
 * a new one on the same addresses.
 */
export class SocketDeltas {
  private previous = new Map<string, SocketInfo>();
  private first = true;

  constructor(private readonly labels: EventLabels) {}

  /** The events of one sample taken at `ts`, `intervalMs` after the previous one. */
  next(sockets: readonly SocketInfo[], ts: number, intervalMs: number): TcpStatsEvent[] {
    const events: TcpStatsEvent[] = [];
    const current = new Map<string, SocketInfo>();
    for (const socket of sockets) {
      current.set(socket.conn, socket);
      const before = this.previous.get(socket.conn);
      if (this.first && !before) continue;
      const since = before && !wentBackwards(before, socket) ? before : null;
      events.push({
        ts,
        site: this.labels.site,
        edge: this.labels.edge,
        stream: 'unknown',
        type: 'tcp_stats',
        conn: socket.conn,
        intervalMs,
        segmentsOut: socket.segmentsOut - (since?.segmentsOut ?? 0),
        retransmits: socket.retransmitsTotal - (since?.retransmitsTotal ?? 0),
        bytesSent: socket.bytesSent - (since?.bytesSent ?? 0),
        rttMs: socket.rttMs,
        rttVarMs: socket.rttVarMs,
        cwnd: socket.cwnd,
        deliveryRateKbps: socket.deliveryRateKbps,
      });
    }
    this.first = false;
    // Connections that closed since the last sample are forgotten: their last partial interval is lost.
    this.previous = current;
    return events;
  }
}

function wentBackwards(before: SocketInfo, now: SocketInfo): boolean {
  return (
    now.segmentsOut < before.segmentsOut ||
    now.bytesSent < before.bytesSent ||
    now.retransmitsTotal < before.retransmitsTotal
  );
}
