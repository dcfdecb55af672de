import { checkCommitEntries } from './client-checks.js';
import { LogClientError } from './client-errors.js';
import type {
  AssignmentListener,
  CommitEntry,
  GroupMembership,
  HeldPartition,
  TopicPartition,
} from './types.js';

/**
 * Joins `groupId` with a fixed share: registered in `joined` (the client's members by group) until it leaves,
 * and told its partitions before this resolves.
 */
export async function joinFixedShare(
  joined: Map<string, FixedMembership>,
  memberId: string,
  groupId: string,
  assigned: TopicPartition[],
  listener: AssignmentListener,
  commitOffsets: (offsets: CommitEntry[]) => Promise<void>,
): Promise<FixedMembership> {
  const membership = new FixedMembership(memberId, groupId, assigned, listener, commitOffsets, () =>
    joined.delete(groupId),
  );
  joined.set(groupId, membership);
  try {
    await listener.assigned(await membership.confirmAssignment());
  } catch (error) {
    joined.delete(groupId);
    throw error;
  }
  return membership;
}

/**
 * A member whose share of its group is fixed from join until leave: the one member of an in-process group,
 * or a pipeline worker with its fixed share. No other member can hold these partitions meanwhile, so they
 * are held from the start.
 */
export class FixedMembership implements GroupMembership {
  private leaving: Promise<void> | null = null;
  private left = false;

  constructor(
    readonly memberId: string,
    private readonly groupId: string,
    private readonly assigned: TopicPartition[],
    private readonly listener: AssignmentListener,
    private readonly commitOffsets: (offsets: CommitEntry[]) => Promise<void>,
    private readonly onLeft: () => void,
  ) {}

  assignment(): TopicPartition[] {
    return this.left ? [] : this.assigned.map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  async confirmAssignment(): Promise<HeldPartition[]> {
    return this.assignment().map((p) => ({ ...p, heldSince: 0 }));
  }

  async commit(offsets: CommitEntry[]): Promise<void> {
    if (this.left) throw new LogClientError('NOT_A_MEMBER', `this member has left group '${this.groupId}'`);
    checkCommitEntries(offsets);
    if (offsets.length > 0) await this.commitOffsets(offsets);
  }

  /** revoked() runs while this is still a member, so it can commit its final offsets. */
  leave(): Promise<void> {
    this.leaving ??= this.revokeAll();
    return this.leaving;
  }

  private async revokeAll(): Promise<void> {
    try {
      await this.listener.revoked(this.assignment());
    } finally {
      this.left = true;
      this.onLeft();
    }
  }
}
