import { ErrorCode } from '../protocol/index.js';
import type { GroupCoordinator } from './group-coordinator.js';

/** Where a group's coordinator is, as FindCoordinator answers it. */
export type CoordinatorLocation =
  | { errorCode: 0; nodeId: number; host: string; port: number }
  | { errorCode: number; message: string };

/**
 * Which coordinator runs each group. A single node runs every group itself; in a cluster a group belongs
 * to one partition of the offsets topic and is run by that partition's leader.
 */
export interface GroupRouter {
  /** This broker's coordinator of the group, or null when another broker (or none yet) coordinates it. */
  coordinatorOf(groupId: string): GroupCoordinator | null;
  /** Every coordinator this broker runs (ListGroups, lag metrics). */
  all(): GroupCoordinator[];
  /** The `__consumer_offsets` partition that holds the group. */
  offsetsPartitionOf(groupId: string): number;
  /** A transaction's marker is acknowledged in an offsets partition: its coordinator here, if any, is told. */
  transactionEnded(offsetsPartition: number, producerId: number, committed: boolean): void;
  /** The coordinator of `groupId` at its address on `listener`, the one the asking client came through. */
  locate(groupId: string, listener: string): CoordinatorLocation | Promise<CoordinatorLocation>;
  close(): void;
}

/** One node: one coordinator for every group. */
export class LocalGroups implements GroupRouter {
  constructor(
    private readonly coordinator: GroupCoordinator,
    private readonly self: {
      nodeId: number;
      endpoints: ReadonlyMap<string, { host: string; port: number }>;
    },
  ) {}

  coordinatorOf(): GroupCoordinator {
    return this.coordinator;
  }

  all(): GroupCoordinator[] {
    return [this.coordinator];
  }

  /** A single node's offsets store has one partition. */
  offsetsPartitionOf(): number {
    return 0;
  }

  transactionEnded(_offsetsPartition: number, producerId: number, committed: boolean): void {
    this.coordinator.transactionEnded(producerId, committed);
  }

  locate(_groupId: string, listener: string): CoordinatorLocation {
    return locateSelf(this.self, listener);
  }

  close(): void {
    this.coordinator.close();
  }
}

/** This broker as the coordinator, at its address on `listener`. */
export function locateSelf(
  self: { nodeId: number; endpoints: ReadonlyMap<string, { host: string; port: number }> },
  listener: string,
): CoordinatorLocation {
  const endpoint = self.endpoints.get(listener);
  if (!endpoint)
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: `no ${listener} listener` };
  return { errorCode: 0, nodeId: self.nodeId, ...endpoint };
}

/**
 * Kafka's partition for a group id: the absolute value of Java's String.hashCode modulo the partition
 * count, so tools that compute a group's offsets partition find the same one here.
 */
export function offsetsPartitionOf(groupId: string, partitions: number): number {
  let hash = 0;
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0;
  return (hash & 0x7fffffff) % partitions;
}
