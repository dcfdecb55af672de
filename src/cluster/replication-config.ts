/**
 * Topic configs that belong to replication rather than to the log: kept with the topic's other overrides in
 * the shared config node, and taken out before the log sees them.
 */
export const REPLICATION_CONFIG_KEYS = ['min.insync.replicas', 'unclean.leader.election.enable'] as const;

export interface ReplicationConfig {
  minInsyncReplicas: number;
  uncleanLeaderElection: boolean;
}

/** Splits a topic's overrides into the log's and replication's, validating replication's. */
export function splitTopicConfig(
  config: Record<string, string>,
  defaults: ReplicationConfig,
): { log: Record<string, string>; replication: ReplicationConfig } | Error {
  const log: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!(REPLICATION_CONFIG_KEYS as readonly string[]).includes(key)) log[key] = value;
  }
  const minIsr = config['min.insync.replicas'];
  const unclean = config['unclean.leader.election.enable'];
  if (minIsr !== undefined && !/^[1-9]\d{0,2}$/.test(minIsr)) {
    return new Error(`min.insync.replicas=${minIsr} is invalid: expected an integer >= 1`);
  }
  if (unclean !== undefined && unclean !== 'true' && unclean !== 'false') {
    return new Error(`unclean.leader.election.enable=${unclean} is invalid: expected true or false`);
  }
  return {
    log,
    replication: {
      minInsyncReplicas: minIsr === undefined ? defaults.minInsyncReplicas : Number(minIsr),
      uncleanLeaderElection: unclean === undefined ? defaults.uncleanLeaderElection : unclean === 'true',
    },
  };
}
