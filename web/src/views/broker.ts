import {
  type ClusterReplication,
  cluster,
  type GroupInfo,
  type GroupOffset,
  groups,
  type TopicInfo,
  topics,
} from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { count, rate } from '../format.js';
import { plural, table } from '../table.js';
import type { View, ViewContext } from '../view.js';
import { clusterSection, type Details } from './cluster.js';

/** Offsets are polled this often; throughput is the difference between two polls. */
const POLL_INTERVAL_MS = 2_000;

/**
 * Topics with partitions, offsets and produce throughput; consumer groups with their lag. Topics a stream
 * application keeps for itself (named after its group: changelogs, repartitions, checkpoints) and the
 * broker's own (`__consumer_offsets`) are folded away. On a replicated cluster a Cluster section comes first.
 */
export function mountBroker(container: HTMLElement, _context: ViewContext): View {
  const status = h('p', { class: 'status', role: 'status' });
  const clusterView = h('div', { class: 'cluster-view' });
  const topicList = h('div', { class: 'topic-list' });
  const topicNote = h('p', { class: 'meta' });
  const groupList = h('div', { class: 'group-list' });
  replaceChildren(
    container,
    h(
      'section',
      { class: 'page broker-page' },
      status,
      clusterView,
      h(
        'div',
        { class: 'broker-columns' },
        h('div', {}, h('h2', {}, 'Topics'), topicNote, topicList),
        h('div', {}, h('h2', {}, 'Consumer groups'), groupList),
      ),
    ),
  );
  let previous: { atMs: number; endOffsets: Map<string, number> } | null = null;
  /** Which <details> the user opened or closed, so a poll does not undo it. */
  const toggled = new Map<string, boolean>();

  const poll = async () => {
    try {
      // A server without /api/cluster (or a failing one) must not keep topics and groups from showing.
      const [topicResponse, groupResponse, replication] = await Promise.all([
        topics(),
        groups(),
        cluster().catch((): ClusterReplication | null => null),
      ]);
      const atMs = Date.now();
      const endOffsets = new Map(topicResponse.topics.map((topic) => [topic.name, totalEndOffset(topic)]));
      const rates = new Map<string, number>();
      for (const [name, endOffset] of endOffsets) {
        const before = previous?.endOffsets.get(name);
        if (previous !== null && before !== undefined)
          rates.set(name, ((endOffset - before) * 1000) / (atMs - previous.atMs));
      }
      previous = { atMs, endOffsets };
      const groupIds = groupResponse.groups.map((group) => group.groupId);
      const internal = (name: string) =>
        name.startsWith('__') || groupIds.some((id) => name.startsWith(`${id}-`));
      const details: Details = (key, openByDefault, summary, ...content) =>
        h(
          'details',
          {
            open: toggled.get(key) ?? openByDefault,
            ontoggle: (event: Event) => toggled.set(key, (event.target as HTMLDetailsElement).open),
          },
          h('summary', {}, summary),
          ...content,
        );
      const internalTopics = topicResponse.topics.filter((topic) => internal(topic.name));
      replaceChildren(clusterView, replication?.clustered ? clusterSection(replication, details) : null);
      topicNote.textContent = replication?.clustered
        ? `Every topic of the cluster; offsets are broker ${replication.nodeId}'s replicas ("–" where it holds none).`
        : '';
      replaceChildren(
        topicList,
        ...topicResponse.topics
          .filter((topic) => !internal(topic.name))
          .map((topic) => topicCard(topic, rates.get(topic.name) ?? null, details)),
        internalTopics.length > 0
          ? details(
              'internal-topics',
              false,
              `Internal topics of stream applications and the broker (${internalTopics.length})`,
              topicSummaryTable(internalTopics, rates),
            )
          : null,
      );
      replaceChildren(
        groupList,
        ...(groupResponse.groups.length > 0
          ? groupResponse.groups.map((group) => groupCard(group, internal, details))
          : [h('p', { class: 'muted' }, 'No consumer groups')]),
      );
      const unreachable = groupResponse.unreachableBrokers ?? [];
      status.textContent = [
        topicResponse.truncated || groupResponse.truncated ? 'Showing the first 1000 topics or groups.' : '',
        unreachable.length > 0
          ? `Consumer groups of broker${unreachable.length === 1 ? '' : 's'} ${unreachable.join(', ')} are missing: no answer in time.`
          : '',
      ]
        .filter((text) => text !== '')
        .join(' ');
    } catch (error) {
      status.textContent = `Could not read the broker: ${error instanceof Error ? error.message : String(error)}`;
    }
  };
  const timer = window.setInterval(() => void poll(), POLL_INTERVAL_MS);
  void poll();
  return { destroy: () => window.clearInterval(timer) };
}

/** Summed over the partitions with a replica on this broker (all of them on a single node). */
function totalEndOffset(topic: TopicInfo): number {
  return topic.partitions.reduce((sum, partition) => sum + (partition.logEndOffset ?? 0), 0);
}

function retained(topic: TopicInfo): number {
  return topic.partitions.reduce((sum, p) => sum + (p.logEndOffset ?? 0) - (p.logStartOffset ?? 0), 0);
}

/** On a cluster: partitions of the topic with no replica on this broker, whose offsets it does not know. */
function remote(topic: TopicInfo): number {
  return topic.partitions.filter((p) => p.logEndOffset === null).length;
}

function topicCard(topic: TopicInfo, recordsPerSec: number | null, details: Details): HTMLElement {
  return h(
    'article',
    { class: 'card topic-card', 'data-topic': topic.name },
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'card-title' }, topic.name),
      h('span', { class: 'throughput', 'data-throughput': recordsPerSec ?? '' }, rate(recordsPerSec)),
    ),
    details(
      `topic:${topic.name}`,
      true,
      remote(topic) === topic.partitions.length
        ? `${plural(topic.partitions.length, 'partition')} · no replica on this broker`
        : `${plural(topic.partitions.length, 'partition')} · end offset ${count(totalEndOffset(topic))} · ${count(retained(topic))} records retained` +
            (remote(topic) > 0 ? ` · ${remote(topic)} not on this broker` : ''),
      table(
        ['partition', 'log start', 'log end', 'high watermark'],
        topic.partitions.map((p) => ({
          cells: [
            String(p.partition),
            count(p.logStartOffset),
            count(p.logEndOffset),
            count(p.highWatermark),
          ],
        })),
      ),
    ),
  );
}

function topicSummaryTable(list: readonly TopicInfo[], rates: ReadonlyMap<string, number>): HTMLElement {
  return table(
    ['topic', 'partitions', 'records', 'throughput'],
    list.map((topic) => ({
      cells: [
        topic.name,
        String(topic.partitions.length),
        count(retained(topic)),
        rate(rates.get(topic.name) ?? null),
      ],
    })),
  );
}

function groupCard(group: GroupInfo, internal: (topic: string) => boolean, details: Details): HTMLElement {
  const byTopic = new Map<string, GroupOffset[]>();
  for (const offset of group.offsets)
    byTopic.set(offset.topic, [...(byTopic.get(offset.topic) ?? []), offset]);
  const lagOf = (offsets: readonly GroupOffset[]) =>
    offsets.reduce((sum, offset) => sum + (offset.lag ?? 0), 0);
  const totalLag = lagOf(group.offsets);
  const topicNames = [...byTopic.keys()].sort(
    (a, b) => Number(internal(a)) - Number(internal(b)) || a.localeCompare(b),
  );
  return h(
    'article',
    { class: 'card group-card', 'data-group': group.groupId, 'data-lag': totalLag },
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'card-title' }, group.groupId),
      h(
        'span',
        { class: 'state', 'data-state': group.state === 'Stable' ? 'healthy' : 'pending' },
        group.state,
      ),
    ),
    h(
      'p',
      { class: 'meta' },
      `${plural(group.members.length, 'member')} · total lag `,
      h('strong', { class: 'lag' }, count(totalLag)),
    ),
    table(
      ['topic', 'partitions', 'lag'],
      topicNames.map((topic) => {
        const offsets = byTopic.get(topic) ?? [];
        return {
          attributes: { 'data-topic': topic, 'data-lag': lagOf(offsets) },
          cells: [topic, String(offsets.length), count(lagOf(offsets))],
        };
      }),
    ),
    details(
      `group:${group.groupId}`,
      false,
      'Members and lag per partition',
      ...(group.members.length > 0
        ? [
            table(
              ['member', 'client', 'host'],
              group.members.map((member) => ({
                attributes: { class: 'group-member' },
                cells: [member.memberId, member.clientId, member.clientHost],
              })),
            ),
          ]
        : []),
      // "processed" is known only for the process's own pipelines, a heartbeat old; their lag is measured
      // from it, other consumers' from what they committed.
      table(
        ['topic', 'partition', 'committed', 'processed', 'high watermark', 'lag'],
        group.offsets.map((offset) => ({
          cells: [
            offset.topic,
            String(offset.partition),
            count(offset.committedOffset),
            count(offset.processedOffset),
            count(offset.highWatermark),
            count(offset.lag),
          ],
        })),
      ),
    ),
  );
}
