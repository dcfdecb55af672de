import { z } from 'zod';

const KIB = 1024;
const MIB = 1024 * KIB;

/** `https://player.example.com` or `http://localhost:8000`: a page origin as browsers send it, or `*`. */
const origin = z
  .string()
  .regex(
    /^(\*|https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?|https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?)$/,
    'expected an origin such as https://player.example.com, or *',
  );

const restProxySection = z.strictObject({
  enabled: z.boolean().default(true),
  /** A produce request's body at most; larger ones get 413 before they are read. */
  maxBodyBytes: z
    .number()
    .int()
    .min(KIB)
    .max(64 * MIB)
    .default(MIB),
  maxRecordsPerRequest: z.number().int().min(1).max(100_000).default(10_000),
});

const beaconsSection = z.strictObject({
  enabled: z.boolean().default(true),
  /** Default: monitor.topics.qoe, where the monitoring reads player events. */
  topic: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a topic name')
    .optional(),
  /** This site (PoP), for events that name none. */
  site: z.string().min(1).max(256).default('local'),
  /** The edge for beacons that name none (in the event or ?edge=); default: this machine's host name. */
  edge: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,256}$/, 'expected an edge id of [A-Za-z0-9._:-]')
    .optional(),
  /** Page origins whose scripts may send beacons; [] allows none (requests without Origin still pass). */
  allowedOrigins: z.array(origin).max(1000).default([]),
  /** A value every beacon must carry (?token= or X-Beacon-Token); absent: none. Pages show it: not a secret. */
  token: z.string().min(16).max(256).optional(),
  maxBodyBytes: z
    .number()
    .int()
    .min(KIB)
    .max(16 * MIB)
    .default(256 * KIB),
  /** CMCD reports or QoE events in one request at most. */
  maxReportsPerRequest: z.number().int().min(1).max(100_000).default(1_000),
});

/** The `ingest:` section: HTTP doors into the log served on the runtime's HTTP port (docs/ingest.md). */
export const ingestSection = z.strictObject({
  restProxy: restProxySection.default(restProxySection.parse({})),
  beacons: beaconsSection.default(beaconsSection.parse({})),
});

export type IngestSection = z.output<typeof ingestSection>;
