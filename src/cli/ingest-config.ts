import os from 'node:os';
import { z } from 'zod';
import type { Broker } from '../broker/broker.js';
import type { LogClient } from '../client/index.js';
import type { ApiRoute } from '../http/api-routes.js';
import { ingestRoutes } from '../http/ingest-routes.js';
import type { ClusterView } from '../http/types.js';
import { BeaconIngest, IngestMetrics, RestProxy } from '../ingest/index.js';

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

export interface IngestWiring {
  routes: ApiRoute[];
  metrics: IngestMetrics;
  /** The topic beacons append to, created before the first beacon; null when beacons are off. */
  beaconTopic: string | null;
}

/** The ingest routes of a runtime's HTTP API, over its client and the broker's topics and security. */
export function ingestWiring(
  section: IngestSection,
  context: {
    client: LogClient;
    broker: Broker;
    cluster: ClusterView;
    autoCreatePartitions: number | null;
    qoeTopic: string;
  },
): IngestWiring {
  const metrics = new IngestMetrics();
  const { restProxy, beacons } = section;
  const { client, broker, cluster } = context;
  const beaconTopic = beacons.topic ?? context.qoeTopic;
  const routes = ingestRoutes({
    metrics,
    restProxy: restProxy.enabled
      ? {
          proxy: new RestProxy({
            client,
            topics: () => cluster.topics().map((t) => ({ name: t.name, partitions: t.partitions.length })),
            autoCreatePartitions: context.autoCreatePartitions,
            doors: broker.doors,
            metrics,
            maxRecordsPerRequest: restProxy.maxRecordsPerRequest,
          }),
          maxBodyBytes: restProxy.maxBodyBytes,
        }
      : null,
    beacons: beacons.enabled
      ? {
          ingest: new BeaconIngest({
            client,
            topic: beaconTopic,
            site: beacons.site,
            defaultEdge: beacons.edge ?? os.hostname(),
            allowedOrigins: beacons.allowedOrigins,
            token: beacons.token ?? null,
            metrics,
          }),
          maxBodyBytes: beacons.maxBodyBytes,
          maxReportsPerRequest: beacons.maxReportsPerRequest,
        }
      : null,
  });
  return { routes, metrics, beaconTopic: beacons.enabled ? beaconTopic : null };
}
