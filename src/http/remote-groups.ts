import { BrokerChannel } from '../cluster/broker-channel.js';
import type { ClusterNode } from '../cluster/index.js';
import { DescribeGroups } from '../protocol/apis/describe-groups.js';
import { ListGroups } from '../protocol/apis/list-groups.js';
import { OffsetFetch } from '../protocol/apis/offset-fetch.js';
import { ErrorCode } from '../protocol/index.js';
import { byPartition, offsetView } from './group-view.js';
import type { CommittedOffsetView, GroupView } from './types.js';

/** Versions every broker of ours accepts (src/protocol/apis): v4 describes static members' instance ids. */
const LIST_GROUPS_VERSION = 3;
const DESCRIBE_GROUPS_VERSION = 4;
/** v8 fetches the offsets of many groups in one request (KIP-709). */
const OFFSET_FETCH_VERSION = 8;
/** Groups asked of one broker at most per request; the broker bounds the groups it keeps at 10 000. */
const MAX_GROUPS_PER_BROKER = 10_000;
const CLIENT_ID = 'edgestream-http';

export interface RemoteGroupsResult {
  groups: GroupView[];
  /** Live brokers that did not answer in time: their groups are missing. */
  unreachable: number[];
}

/**
 * The consumer groups the other live brokers coordinate, read over the Kafka protocol (ListGroups,
 * DescribeGroups, OffsetFetch), one short-lived connection per broker, all brokers at once and each within
 * `timeoutMs`. Lag is computed where this broker holds a replica of the partition (null elsewhere).
 */
export async function remoteGroups(
  node: ClusterNode,
  highWatermarkOf: (topic: string, partition: number) => number | null,
  timeoutMs: number,
): Promise<RemoteGroupsResult> {
  const others = [...node.view.brokers].filter(([id]) => id !== node.brokerId);
  const answers = await Promise.all(
    others.map(async ([id, registration]) => {
      const channel = new BrokerChannel(
        { host: registration.host, port: registration.port },
        CLIENT_ID,
        timeoutMs,
      );
      try {
        return { id, groups: await groupsOf(channel, highWatermarkOf, timeoutMs) };
      } catch {
        return { id, groups: null };
      } finally {
        channel.close();
      }
    }),
  );
  return {
    groups: answers.flatMap((answer) => answer.groups ?? []),
    unreachable: answers.filter((answer) => answer.groups === null).map((answer) => answer.id),
  };
}

async function groupsOf(
  channel: BrokerChannel,
  highWatermarkOf: (topic: string, partition: number) => number | null,
  timeoutMs: number,
): Promise<GroupView[]> {
  const listed = await channel.request(
    ListGroups,
    LIST_GROUPS_VERSION,
    { statesFilter: [], typesFilter: [] },
    timeoutMs,
  );
  if (listed.errorCode !== ErrorCode.NONE) throw new Error(`ListGroups: error ${listed.errorCode}`);
  const groupIds = listed.groups.slice(0, MAX_GROUPS_PER_BROKER).map((group) => group.groupId);
  if (groupIds.length === 0) return [];
  const [described, fetched] = await Promise.all([
    channel.request(
      DescribeGroups,
      DESCRIBE_GROUPS_VERSION,
      { groups: groupIds, includeAuthorizedOperations: false },
      timeoutMs,
    ),
    channel.request(
      OffsetFetch,
      OFFSET_FETCH_VERSION,
      { groupId: '', topics: null, groups: groupIds.map((groupId) => ({ groupId, topics: null })) },
      timeoutMs,
    ),
  ]);
  const offsetsOf = new Map(
    fetched.groups
      .filter((group) => group.errorCode === ErrorCode.NONE)
      .map((group) => [
        group.groupId,
        group.topics.flatMap((topic) =>
          topic.partitions
            .filter((p) => p.errorCode === ErrorCode.NONE && p.committedOffset >= 0)
            .map(
              (p): CommittedOffsetView =>
                offsetView(
                  topic.name,
                  p.partitionIndex,
                  p.committedOffset,
                  null,
                  highWatermarkOf(topic.name, p.partitionIndex),
                ),
            ),
        ),
      ]),
  );
  return described.groups
    .filter((group) => group.errorCode === ErrorCode.NONE && group.groupState !== 'Dead')
    .map(
      (group): GroupView => ({
        groupId: group.groupId,
        state: group.groupState,
        protocolType: group.protocolType,
        members: group.members.map((member) => ({
          memberId: member.memberId,
          groupInstanceId: member.groupInstanceId,
          clientId: member.clientId,
          clientHost: member.clientHost,
        })),
        offsets: (offsetsOf.get(group.groupId) ?? []).sort(byPartition),
      }),
    );
}
