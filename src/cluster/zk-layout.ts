import { z } from 'zod';

/**
 * Where the cluster keeps its shared state in the coordination service, in the spirit of Kafka's ZooKeeper
 * layout (docs/cluster.md draws it). Every value is JSON, validated when read: a node written by a newer or
 * broken writer is reported, never trusted.
 */
export const Paths = {
  brokerIds: '/brokers/ids',
  broker: (id: number) => `/brokers/ids/${id}`,
  /**
   * Ephemeral per broker, present while it has damaged replicas (Kafka's /log_dir_event_notification):
   * the controller moves their leaderships and ISR memberships away and never elects them.
   */
  offlineReplicaReports: '/brokers/offline_replicas',
  offlineReplicaReport: (id: number) => `/brokers/offline_replicas/${id}`,
  topics: '/brokers/topics',
  topic: (topic: string) => `/brokers/topics/${topic}`,
  partitions: (topic: string) => `/brokers/topics/${topic}/partitions`,
  partition: (topic: string, partition: number) => `/brokers/topics/${topic}/partitions/${partition}`,
  partitionState: (topic: string, partition: number) =>
    `/brokers/topics/${topic}/partitions/${partition}/state`,
  topicConfigs: '/config/topics',
  topicConfig: (topic: string) => `/config/topics/${topic}`,
  /** Per SASL user, its SCRAM credentials (Kafka's /config/users), the name URL-encoded (userNodeName). */
  userConfigs: '/config/users',
  userConfig: (nodeName: string) => `/config/users/${nodeName}`,
  /** Ephemeral, the elected controller's broker id as decimal text. */
  controller: '/controller',
  /** The controller epoch as decimal text; its node version fences every controller write. */
  controllerEpoch: '/controller_epoch',
  deleteTopics: '/admin/delete_topics',
  deleteTopic: (topic: string) => `/admin/delete_topics/${topic}`,
  /** Leader elections an admin asked for (ElectLeaders), one node each; the controller carries them out. */
  leaderElections: '/admin/elect_leaders',
  leaderElection: (id: string) => `/admin/elect_leaders/${id}`,
  controlledShutdowns: '/admin/controlled_shutdown',
  controlledShutdown: (id: number) => `/admin/controlled_shutdown/${id}`,
  clusterId: '/cluster/id',
  /** The last block of producer ids a broker claimed (Kafka's /latest_producer_id_block). */
  producerIdBlock: '/latest_producer_id_block',
  /** Every ACL binding of the cluster, the JSON of acls.json; its version is every change's compare-and-set. */
  acls: '/edgestream/security/acls',
  /** Every client quota of the cluster, the JSON of quotas.json; compare-and-set as the ACLs. */
  clientQuotas: '/edgestream/security/quotas',
  /** The dynamic broker configs (AlterConfigs on a BROKER), per broker id or '' for all: compare-and-set. */
  brokerConfigs: '/edgestream/config/brokers',
  /**
   * Persistent and empty, one per broker that ever started in the cluster (KRaft keeps a broker's registration
   * while it is down, fenced): a reassignment may name a broker that is down, not one that never joined.
   * /brokers/ids/<id> goes with the broker's session, so it cannot tell the two apart.
   */
  registeredBrokers: '/edgestream/brokers',
  registeredBroker: (id: number) => `/edgestream/brokers/${id}`,
} as const;

/** /brokers/ids/<id> (ephemeral): how clients and other brokers reach a live broker. */
export const BrokerRegistration = z.object({
  version: z.literal(1),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  rack: z.string().nullable(),
  timestamp: z.number().int(),
  /** Every listener's advertised address by listener name; host and port above are the inter-broker one. */
  endpoints: z
    .array(
      z.object({
        listener: z.string().min(1),
        host: z.string().min(1),
        port: z.number().int().min(1).max(65_535),
      }),
    )
    .max(8)
    .default([]),
});
export type BrokerRegistration = z.infer<typeof BrokerRegistration>;

/** Where clients of `listener` reach a broker; a registration without endpoints has its one address. */
export function endpointOf(
  registration: BrokerRegistration,
  listener: string,
): { host: string; port: number } | null {
  if (registration.endpoints.length === 0) return { host: registration.host, port: registration.port };
  const endpoint = registration.endpoints.find((e) => e.listener === listener);
  return endpoint ? { host: endpoint.host, port: endpoint.port } : null;
}

/** Entries per offline replica report: far more partitions than one broker hosts (a report stays ~60 KiB). */
export const MAX_OFFLINE_REPLICAS_REPORTED = 1000;

/**
 * /brokers/offline_replicas/<id> (ephemeral): the broker's replicas whose log was found damaged, until each
 * is back in its ISR. `refetching`: already cut at the damage and fetching the rest from its leader, so its
 * log holds no damage any more and the leader may take it back into the ISR; until then (false) the replica
 * still holds the damage and must neither lead nor stay in the ISR.
 */
export const OfflineReplicaReport = z.object({
  version: z.literal(1),
  replicas: z
    .array(
      z.object({
        topic: z.string().min(1),
        partition: z.number().int().min(0),
        refetching: z.boolean(),
      }),
    )
    .max(MAX_OFFLINE_REPLICAS_REPORTED),
});
export type OfflineReplicaReport = z.infer<typeof OfflineReplicaReport>;

const PartitionReplicas = z.record(z.string().regex(/^\d+$/), z.array(z.number().int().min(0)).min(1));

/**
 * /brokers/topics/<topic>: the topic id and each partition's replicas, the first one preferred as leader.
 * While a partition is reassigned (AlterPartitionReassignments, as Kafka's ZooKeeper mode keeps it), its
 * replicas are the target ones followed by those being removed, `addingReplicas` names the targets that were
 * not replicas before and `removingReplicas` the replicas not in the target; both go when it completes.
 */
export const TopicAssignment = z.object({
  version: z.literal(1),
  topicId: z.string().regex(/^[0-9a-f]{32}$/),
  partitions: PartitionReplicas,
  addingReplicas: z.record(z.string().regex(/^\d+$/), z.array(z.number().int().min(0))).optional(),
  removingReplicas: z.record(z.string().regex(/^\d+$/), z.array(z.number().int().min(0))).optional(),
});
export type TopicAssignment = z.infer<typeof TopicAssignment>;

/** Partitions per election request: more than a cluster of edge brokers holds (a node stays ~200 KiB). */
export const MAX_PARTITIONS_PER_ELECTION = 5000;

/**
 * /admin/elect_leaders/<id>: an ElectLeaders request (Kafka's /admin/preferred_replica_election, one node
 * per request so concurrent ones do not refuse each other). type 0 preferred, 1 unclean (Kafka's
 * ElectionType). The controller applies it in its next pass and deletes the node in the same fenced write.
 */
export const LeaderElectionRequest = z.object({
  version: z.literal(1),
  type: z.union([z.literal(0), z.literal(1)]),
  partitions: z
    .array(z.object({ topic: z.string().min(1), partition: z.number().int().min(0) }))
    .max(MAX_PARTITIONS_PER_ELECTION),
});
export type LeaderElectionRequest = z.infer<typeof LeaderElectionRequest>;

/**
 * /config/topics/<topic>: the topic's config overrides, Kafka's key names. /config/users/<user> has the same
 * form, as in Kafka: its SCRAM credentials under their mechanism's name (cluster-credentials.ts), other keys kept.
 */
export const TopicConfigNode = z.object({
  version: z.literal(1),
  config: z.record(z.string(), z.string()),
});
export type TopicConfigNode = z.infer<typeof TopicConfigNode>;

/**
 * /brokers/topics/<topic>/partitions/<n>/state: who leads, since which leader epoch, and the in-sync
 * replicas. Only the controller changes the leader (fenced by its controller epoch); the leader changes
 * the ISR (fenced by this node's version, which moves on every change).
 */
export const PartitionState = z.object({
  version: z.literal(1),
  controllerEpoch: z.number().int(),
  leader: z.number().int().min(-1),
  leaderEpoch: z.number().int().min(0),
  isr: z.array(z.number().int().min(0)),
});
export type PartitionState = z.infer<typeof PartitionState>;

/**
 * A user's node name: the name URL-encoded as Kafka's Sanitizer does, dots too, so any user name is one ASCII
 * node name ('/' and '.' and '..' are not) and decoding gives the name back.
 */
export function userNodeName(user: string): string {
  return encodeURIComponent(user).replace(
    /[.!'()*~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function userOfNodeName(nodeName: string): string | null {
  try {
    return decodeURIComponent(nodeName);
  } catch {
    return null;
  }
}

export function encodeNode<T>(value: T): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** The node's value, or an Error naming the path when it is not what the layout says. */
export function decodeNode<T>(schema: z.ZodType<T>, path: string, data: Buffer): T | Error {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (error) {
    return new Error(`${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : new Error(`${path} is invalid: ${parsed.error.message}`);
}
