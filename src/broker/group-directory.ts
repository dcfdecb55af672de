import type { Logger } from '../log/index.js';
import type { Group } from './group-types.js';
import type { OffsetEntry, OffsetStore, StoredGroup } from './offset-store.js';

export interface GroupDirectoryOptions {
  maxGroups: number;
  /** offsets.retention.minutes in ms: how long a group without members outlives its last activity. */
  offsetsRetentionMs: number;
  now: () => number;
  logger: Logger;
}

/** Under a flood of throwaway groups, one warning per this many evictions. */
const EVICTIONS_PER_WARNING = 1000;

/**
 * Which groups exist and for how long. A group is known while it has state here or committed offsets. It ends,
 * with its offsets (durably, so a restart does not bring it back), once it has had no members and no activity
 * for the offsets retention (KIP-211), or, when the group count is at its limit, if it is the least recently
 * active group without members: throwaway groups cannot lock real ones out.
 */
export class GroupDirectory {
  private readonly groups = new Map<string, Group>();
  /** Every known group id and when it was last active (joined, synced, heartbeat, committed, emptied), oldest first. */
  private readonly activeAtMs = new Map<string, number>();
  private evictions = 0;

  constructor(
    private readonly offsets: OffsetStore,
    private readonly options: GroupDirectoryOptions,
  ) {
    // After a restart a group's last known activity is its newest commit or group record.
    const known = offsets.groups().map((groupId) => ({
      groupId,
      atMs: Math.max(
        newestCommitMs(offsets.entries(groupId)),
        offsets.storedGroup(groupId)?.currentStateTimestamp ?? 0,
      ),
    }));
    known.sort((a, b) => a.atMs - b.atMs);
    for (const { groupId, atMs } of known) this.activeAtMs.set(groupId, atMs);
  }

  get(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  /** Whether the group is known: with state here, committed offsets or a group record. */
  has(groupId: string): boolean {
    return this.activeAtMs.has(groupId);
  }

  /** Every known group id, including groups known only by their committed offsets. */
  ids(): string[] {
    return [...this.activeAtMs.keys()];
  }

  /** The group, made active and created if new; null when the limit is reached and every group has members. */
  admit(groupId: string): Group | null {
    let group = this.groups.get(groupId);
    if (!group) {
      const isNew = !this.activeAtMs.has(groupId);
      if (isNew && this.activeAtMs.size >= this.options.maxGroups && !this.evictOne()) return null;
      // A group known from its record goes on from its last generation, as the topic's readers saw it.
      group = emptyGroup(groupId, this.offsets.storedGroup(groupId));
      this.groups.set(groupId, group);
    }
    this.markActive(groupId);
    return group;
  }

  markActive(groupId: string): void {
    // Re-inserting keeps the map ordered from least to most recently active.
    this.activeAtMs.delete(groupId);
    this.activeAtMs.set(groupId, this.options.now());
  }

  /** Ends every group past the retention; resolves with their ids once their offsets are durably gone. */
  async expire(): Promise<string[]> {
    const cutoffMs = this.options.now() - this.options.offsetsRetentionMs;
    const expired: string[] = [];
    for (const [groupId, atMs] of this.activeAtMs) {
      const group = this.groups.get(groupId);
      // A group waiting for MEMBER_ID_REQUIRED rejoins stays until those ids expire.
      if (group && (group.members.size > 0 || group.pendingMemberIds.size > 0)) continue;
      // Like Kafka, a memberless group without offsets has nothing to keep.
      const hasOffsets = this.offsets.entries(groupId).length > 0;
      if (hasOffsets && atMs > cutoffMs) continue;
      expired.push(groupId);
    }
    await Promise.all(expired.map((groupId) => this.delete(groupId)));
    return expired;
  }

  /** Drops every group's state; committed offsets stay for the next start. */
  close(): void {
    for (const group of this.groups.values()) stopGroupTimers(group);
    this.groups.clear();
  }

  private evictOne(): boolean {
    for (const groupId of this.activeAtMs.keys()) {
      if ((this.groups.get(groupId)?.members.size ?? 0) > 0) continue;
      if (this.evictions++ % EVICTIONS_PER_WARNING === 0) {
        this.options.logger.warn(
          { groupId, maxGroups: this.options.maxGroups, evictions: this.evictions },
          'group limit reached: evicted the least recently active group without members, with its offsets',
        );
      }
      this.delete(groupId).catch((error: unknown) =>
        this.options.logger.error(
          { err: error, groupId },
          'could not delete the offsets of an evicted group',
        ),
      );
      return true;
    }
    return false;
  }

  /** Ends the group: its state here, and durably its offsets and group record. */
  async delete(groupId: string): Promise<void> {
    const group = this.groups.get(groupId);
    if (group) stopGroupTimers(group);
    this.groups.delete(groupId);
    this.activeAtMs.delete(groupId);
    await this.offsets.deleteGroup(groupId);
  }
}

function emptyGroup(groupId: string, stored: StoredGroup | undefined): Group {
  return {
    groupId,
    state: 'Empty',
    protocolType: stored?.protocolType || null,
    protocolName: null,
    generationId: stored?.generation ?? 0,
    leaderId: null,
    members: new Map(),
    pendingMemberIds: new Map(),
    rebalanceTimer: null,
    initialDelayPending: false,
  };
}

function stopGroupTimers(group: Group): void {
  if (group.rebalanceTimer) clearTimeout(group.rebalanceTimer);
  group.rebalanceTimer = null;
  for (const timer of group.pendingMemberIds.values()) clearTimeout(timer);
  group.pendingMemberIds.clear();
}

function newestCommitMs(entries: OffsetEntry[]): number {
  return entries.reduce((newest, e) => Math.max(newest, e.value.commitTimestamp), 0);
}
