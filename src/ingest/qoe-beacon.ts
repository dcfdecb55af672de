import { z } from 'zod';
import type { QoeEvent } from '../simulate/telemetry.js';
import { BeaconError } from './ingest-errors.js';

/**
 * The simple QoE beacon (`POST /beacons/qoe`): a player's own events in the shape of docs/telemetry.md, one
 * object or an array of them. `ts`, `site` and `edge` may be left out: the arrival time, this site and the
 * edge the request names (`?edge=`) or the configured one fill them in.
 */

/** Where and when a beacon arrived: what fills the fields a player may leave out. */
export interface BeaconContext {
  nowMs: number;
  site: string;
  edge: string;
}

const text = z.string().min(1).max(256);
const milliseconds = z
  .number()
  .finite()
  .min(0)
  .max(24 * 60 * 60_000);
const kbps = z.number().finite().min(0).max(1_000_000);

const base = {
  ts: z.number().int().min(0).max(8.64e15).optional(),
  site: text.optional(),
  edge: text.optional(),
  stream: text,
  session: text,
};

const cmcd = z.strictObject({
  br: kbps,
  bl: milliseconds,
  mtp: kbps,
  ot: z.enum(['v', 'a', 'm', 'i']),
  sid: text,
  cid: z.string().max(256),
  su: z.boolean(),
  d: milliseconds,
});

const eventSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...base, type: z.literal('session_start'), startupMs: milliseconds, bitrateKbps: kbps }),
  z.strictObject({
    ...base,
    type: z.literal('segment'),
    downloadMs: milliseconds,
    httpStatus: z.number().int().min(100).max(599),
    bytes: z
      .number()
      .int()
      .min(0)
      .max(2 ** 40),
    cmcd,
  }),
  z.strictObject({ ...base, type: z.literal('rebuffer_start') }),
  z.strictObject({ ...base, type: z.literal('rebuffer_end'), durationMs: milliseconds }),
  z.strictObject({ ...base, type: z.literal('bitrate_switch'), fromKbps: kbps, toKbps: kbps }),
  z.strictObject({ ...base, type: z.literal('session_end'), playedMs: z.number().finite().min(0) }),
]);

/** The events of a QoE beacon body, each completed from `context`; 400 naming the index and field otherwise. */
export function qoeEventsOfBeacon(input: unknown, context: BeaconContext, maxEvents: number): QoeEvent[] {
  const items = Array.isArray(input) ? input : [input];
  if (items.length === 0) throw new BeaconError(400, 'BAD_BODY', 'the beacon holds no event');
  if (items.length > maxEvents)
    throw new BeaconError(
      413,
      'LIMIT_EXCEEDED',
      `the beacon holds ${items.length} events; at most ${maxEvents} are taken per request`,
    );
  return items.map((item, i) => {
    const parsed = eventSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join('.') || '(event)';
      const where = Array.isArray(input) ? `events[${i}].${field}` : field;
      throw new BeaconError(400, 'BAD_BODY', `${where}: ${issue.message}`);
    }
    const { ts, site, edge, ...event } = parsed.data;
    return { ...event, ts: ts ?? context.nowMs, site: site ?? context.site, edge: edge ?? context.edge };
  });
}
