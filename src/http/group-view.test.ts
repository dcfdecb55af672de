import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withInProcessGroup } from './group-view.js';
import type { GroupView, InProcessGroup } from './types.js';

const HIGH_WATERMARK = 1_000;
const highWatermarkOf = () => HIGH_WATERMARK;

/** Two threads over three partitions of `in`; the third has not been checkpointed yet. */
const pipelines: InProcessGroup = {
  groupId: 'monitor',
  threads: {
    members: () => [{ memberId: 'thread-1' }, { memberId: 'thread-2' }],
    positions: () => [
      { topic: 'in', partition: 1, nextOffset: 990 },
      { topic: 'in', partition: 0, nextOffset: 995 },
      { topic: 'in', partition: 2, nextOffset: 400 },
    ],
  },
};

/** The group as its checkpoint commits leave it with the coordinator: no members, lag from the commits. */
const committed: GroupView = {
  groupId: 'monitor',
  state: 'Empty',
  protocolType: 'consumer',
  members: [],
  offsets: [0, 1].map((partition) => ({
    topic: 'in',
    partition,
    committedOffset: 500,
    processedOffset: null,
    highWatermark: HIGH_WATERMARK,
    lag: 500,
  })),
};

const other: GroupView = { ...committed, groupId: 'another', offsets: [] };

describe('withInProcessGroup', () => {
  it('lists the threads as members and measures lag from what they processed', () => {
    const [first, merged] = withInProcessGroup([other, committed], pipelines, true, highWatermarkOf);
    assert.equal(first, other);
    assert.equal(merged?.state, 'Stable');
    assert.deepEqual(
      merged?.members.map((m) => [m.memberId, m.clientId, m.clientHost]),
      [
        ['thread-1', 'edgestream-pipelines', 'in-process'],
        ['thread-2', 'edgestream-pipelines', 'in-process'],
      ],
    );
    assert.deepEqual(
      merged?.offsets.map((o) => [o.partition, o.committedOffset, o.processedOffset, o.lag]),
      [
        [0, 500, 995, 5],
        [1, 500, 990, 10],
        [2, null, 400, 600],
      ],
    );
  });

  it('never shows a partition processed below what a checkpoint committed after the last report', () => {
    const ahead = committed.offsets.map((o) => ({ ...o, committedOffset: 998 }));
    const [merged] = withInProcessGroup([{ ...committed, offsets: ahead }], pipelines, true, highWatermarkOf);
    assert.deepEqual(
      merged?.offsets.map((o) => [o.partition, o.committedOffset, o.processedOffset, o.lag]),
      [
        [0, 998, 998, 2],
        [1, 998, 998, 2],
        [2, null, 400, 600],
      ],
    );
  });

  it('lists the group before its first checkpoint commits anything, in order', () => {
    const groups = withInProcessGroup([other], pipelines, true, highWatermarkOf);
    assert.deepEqual(
      groups.map((g) => [g.groupId, g.members.length, g.offsets.length]),
      [
        ['another', 0, 0],
        ['monitor', 2, 3],
      ],
    );
  });

  it('on a cluster adds processed offsets to the protocol members, never the threads as members', () => {
    const member = { memberId: 'm', groupInstanceId: null, clientId: 'node-1', clientHost: '/10.0.0.1' };
    const [merged] = withInProcessGroup(
      [{ ...committed, state: 'Stable', members: [member] }],
      pipelines,
      false,
      highWatermarkOf,
    );
    assert.deepEqual(merged?.members, [member]);
    assert.deepEqual(
      merged?.offsets.map((o) => o.lag),
      [5, 10, 600],
    );
    assert.deepEqual(withInProcessGroup([other], pipelines, false, highWatermarkOf), [other]);
  });

  it('keeps the lag from the commit for a partition no thread reports', () => {
    const idle: InProcessGroup = { groupId: 'monitor', threads: { members: () => [], positions: () => [] } };
    const [merged] = withInProcessGroup([committed], idle, true, highWatermarkOf);
    assert.equal(merged?.state, 'Empty');
    assert.deepEqual(
      merged?.offsets.map((o) => [o.processedOffset, o.lag]),
      [
        [null, 500],
        [null, 500],
      ],
    );
  });
});
