import { ErrorCode } from '../protocol/index.js';

/** A partition's assignment as the topic node keeps it: replicas, and those being added and removed. */
export interface PartitionPlacement {
  replicas: number[];
  adding: number[];
  removing: number[];
}

export type ReassignmentPlan = PartitionPlacement | { errorCode: number; message: string };

/**
 * What AlterPartitionReassignments asks of one partition (KIP-455, as Kafka's ZooKeeper mode does it): the
 * replicas become the target followed by the original replicas not in it, those of the target that were
 * not replicas are being added and the others removed; the controller completes it once the added ones are
 * in sync. A reassignment of a partition being reassigned starts again from its original replicas; a null
 * target cancels one (back to the original replicas: the added ones delete their copies). A target that is
 * the original set in another order applies at once. `registered`: the brokers that joined the cluster,
 * running or down; a replica being added must be one of them (a down one waits for the broker to return),
 * the original replicas belong to the cluster already.
 */
export function planReassignment(
  current: PartitionPlacement,
  target: readonly number[] | null,
  registered: ReadonlySet<number>,
): ReassignmentPlan {
  const pending = current.adding.length > 0 || current.removing.length > 0;
  const original = current.replicas.filter((id) => !current.adding.includes(id));
  if (target === null) {
    if (!pending) return { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, message: 'nothing to cancel' };
    return { replicas: original, adding: [], removing: [] };
  }
  if (target.length === 0 || new Set(target).size !== target.length) {
    return {
      errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: `replicas [${target.join(',')}] must be distinct brokers, at least one`,
    };
  }
  const adding = target.filter((id) => !original.includes(id));
  const unknown = adding.find((id) => !registered.has(id));
  if (unknown !== undefined) {
    return {
      errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: `broker ${unknown} is not registered`,
    };
  }
  const removing = original.filter((id) => !target.includes(id));
  return { replicas: [...target, ...removing], adding, removing };
}
