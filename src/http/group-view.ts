import type { CommittedOffsetView, GroupMemberView, GroupView, InProcessGroup } from './types.js';

/** What the broker page shows as an in-process group's members' client. */
const IN_PROCESS_CLIENT_ID = 'edgestream-pipelines';
const IN_PROCESS_CLIENT_HOST = 'in-process';

/** One partition's row: lag from the processed offset where it is known, else from the committed one. */
export function offsetView(
  topic: string,
  partition: number,
  committedOffset: number | null,
  processedOffset: number | null,
  highWatermark: number | null,
): CommittedOffsetView {
  const position = processedOffset ?? committedOffset;
  return {
    topic,
    partition,
    committedOffset,
    processedOffset,
    highWatermark,
    lag: highWatermark === null || position === null ? null : Math.max(0, highWatermark - position),
  };
}

/**
 * `groups` (ordered by id) with the in-process group's processed offsets on its partitions. Its threads are
 * added as members when `threadsAreMembers`: on a single node they commit without joining the group; on a
 * cluster they are Kafka-protocol members already, and only this node's partitions get processed offsets.
 * On a single node the group is listed from the start, before its first checkpoint commits anything.
 */
export function withInProcessGroup(
  groups: readonly GroupView[],
  inProcess: InProcessGroup,
  threadsAreMembers: boolean,
  highWatermarkOf: (topic: string, partition: number) => number | null,
): GroupView[] {
  const listed = groups.find((group) => group.groupId === inProcess.groupId);
  if (!listed && !threadsAreMembers) return [...groups];
  const processed = new Map(
    inProcess.threads.positions().map((p) => [partitionKey(p.topic, p.partition), p] as const),
  );
  const offsets = (listed?.offsets ?? []).map((committed) => {
    const key = partitionKey(committed.topic, committed.partition);
    const position = processed.get(key);
    processed.delete(key);
    // A worker reports its position every heartbeat, a checkpoint may commit in between: what has been
    // committed has been processed, so the report never shows less.
    const processedOffset =
      position === undefined
        ? null
        : Math.max(position.nextOffset, committed.committedOffset ?? position.nextOffset);
    return offsetView(
      committed.topic,
      committed.partition,
      committed.committedOffset,
      processedOffset,
      committed.highWatermark,
    );
  });
  for (const { topic, partition, nextOffset } of processed.values())
    offsets.push(offsetView(topic, partition, null, nextOffset, highWatermarkOf(topic, partition)));
  offsets.sort(byPartition);
  const threads: GroupMemberView[] = threadsAreMembers
    ? inProcess.threads.members().map(({ memberId }) => ({
        memberId,
        groupInstanceId: null,
        clientId: IN_PROCESS_CLIENT_ID,
        clientHost: IN_PROCESS_CLIENT_HOST,
      }))
    : [];
  const members = [...(listed?.members ?? []), ...threads];
  const merged: GroupView = {
    groupId: inProcess.groupId,
    state: threads.length > 0 ? 'Stable' : (listed?.state ?? 'Empty'),
    protocolType: listed?.protocolType ?? '',
    members,
    offsets,
  };
  return [...groups.filter((group) => group !== listed), merged].sort(byGroupId);
}

export function byGroupId(a: { groupId: string }, b: { groupId: string }): number {
  return a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0;
}

export function byPartition(a: CommittedOffsetView, b: CommittedOffsetView): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
