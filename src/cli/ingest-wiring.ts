import os from 'node:os';
import type { Broker } from '../broker/broker.js';
import type { LogClient } from '../client/index.js';
import type { ApiRoute } from '../http/api-routes.js';
import { ingestRoutes } from '../http/ingest-routes.js';
import type { ClusterView } from '../http/types.js';
import { BeaconIngest, IngestMetrics, RestProxy } from '../ingest/index.js';
import type { IngestSection } from './ingest-config.js';

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
