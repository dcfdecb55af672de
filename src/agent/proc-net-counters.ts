import { readFile } from 'node:fs/promises';
import type { TcpHostEvent } from '../simulate/telemetry.js';
import { AgentError } from './errors.js';
import type { EventLabels } from './socket-sampler.js';

/**
 * The host's TCP counters from /proc/net/snmp (`Tcp:`) and /proc/net/netstat (`TcpExt:`): each is a pair of
 * lines, the names then the values, with the group name first on both.
 */

/** The counters of one group (`Tcp`, `TcpExt`) by name; absent names are counters this kernel lacks. */
export type CounterGroup = Map<string, number>;

/** Every group of a /proc/net/snmp or /proc/net/netstat text. */
export function parseProcNet(text: string): Map<string, CounterGroup> {
  const groups = new Map<string, CounterGroup>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    const group = names[0]!;
    if (!group.endsWith(':') || values[0] !== group || names.length !== values.length) {
      throw new AgentError(
        'PROC_NET_UNREADABLE',
        `unexpected /proc/net line pair at line ${i + 1}: '${lines[i]}'`,
      );
    }
    const counters: CounterGroup = new Map();
    for (let j = 1; j < names.length; j++) counters.set(names[j]!, Number(values[j]));
    groups.set(group.slice(0, -1), counters);
  }
  return groups;
}

/** The counters a tcp_host event carries: [field, group, kernel name]. */
const COUNTERS = [
  ['activeOpens', 'Tcp', 'ActiveOpens'],
  ['passiveOpens', 'Tcp', 'PassiveOpens'],
  ['attemptFails', 'Tcp', 'AttemptFails'],
  ['estabResets', 'Tcp', 'EstabResets'],
  ['inSegs', 'Tcp', 'InSegs'],
  ['outSegs', 'Tcp', 'OutSegs'],
  ['retransSegs', 'Tcp', 'RetransSegs'],
  ['inErrs', 'Tcp', 'InErrs'],
  ['outRsts', 'Tcp', 'OutRsts'],
  ['timeouts', 'TcpExt', 'TCPTimeouts'],
  ['lostRetransmits', 'TcpExt', 'TCPLostRetransmit'],
  ['fastRetrans', 'TcpExt', 'TCPFastRetrans'],
  ['slowStartRetrans', 'TcpExt', 'TCPSlowStartRetrans'],
  ['synRetrans', 'TcpExt', 'TCPSynRetrans'],
  ['listenOverflows', 'TcpExt', 'ListenOverflows'],
  ['listenDrops', 'TcpExt', 'ListenDrops'],
] as const;

type CounterField = (typeof COUNTERS)[number][0];
export type HostCounters = Record<CounterField, number> & { currEstab: number };

/** The tcp_host counters out of the parsed snmp and netstat texts; a counter the kernel lacks reads 0. */
export function hostCountersOf(
  snmp: Map<string, CounterGroup>,
  netstat: Map<string, CounterGroup>,
): HostCounters {
  const groups = new Map([...snmp, ...netstat]);
  return {
    currEstab: groups.get('Tcp')?.get('CurrEstab') ?? 0,
    ...perCounter((_field, group, name) => groups.get(group)?.get(name) ?? 0),
  };
}

/** One value per counter field, made from COUNTERS itself, so every field is there by construction. */
function perCounter(
  value: (field: CounterField, group: string, name: string) => number,
): Record<CounterField, number> {
  return Object.fromEntries(
    COUNTERS.map(([field, group, name]) => [field, value(field, group, name)]),
  ) as Record<CounterField, number>;
}

/** Reads both files; on Linux they always exist, so failing to read them is an error. */
export async function readHostCounters(procNetDir = '/proc/net'): Promise<HostCounters> {
  try {
    const [snmp, netstat] = await Promise.all([
      readFile(`${procNetDir}/snmp`, 'latin1'),
      readFile(`${procNetDir}/netstat`, 'latin1'),
    ]);
    return hostCountersOf(parseProcNet(snmp), parseProcNet(netstat));
  } catch (error) {
    if (error instanceof AgentError) throw error;
    throw new AgentError(
      'PROC_NET_UNREADABLE',
      `${procNetDir}/snmp and netstat: ${(error as Error).message}`,
    );
  }
}

/** tcp_host events from successive readings: the first reading is the baseline and gives none. */
export class HostCounterDeltas {
  private previous: HostCounters | null = null;

  constructor(private readonly labels: EventLabels) {}

  next(counters: HostCounters, ts: number, intervalMs: number): TcpHostEvent | null {
    const before = this.previous;
    this.previous = counters;
    if (!before) return null;
    const event: TcpHostEvent = {
      ts,
      site: this.labels.site,
      edge: this.labels.edge,
      stream: 'unknown',
      type: 'tcp_host',
      intervalMs,
      currEstab: counters.currEstab,
      ...deltas(before, counters),
    };
    return event;
  }
}

/** Counters are unsigned 64-bit in the kernel; one that went backwards (a namespace reset) counts from 0. */
function deltas(before: HostCounters, now: HostCounters): Record<CounterField, number> {
  return perCounter((field) => (now[field] >= before[field] ? now[field] - before[field] : now[field]));
}
