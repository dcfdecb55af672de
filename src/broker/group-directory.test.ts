import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commitOne, joinAndSync, joinParams, withCoordinator } from '../../test/support/group-fixtures.js';
import { ErrorCode } from '../protocol/index.js';

const MINUTE_MS = 60_000;
const RETENTION_MINUTES = 7 * 24 * 60;
/** Members that must not expire while a test runs on a loaded machine. */
const LONG_SESSION_MS = 60_000;

/** A clock the test moves by hand, so retention is tested without waiting days. */
function manualClock(): { now: () => number; advance(ms: number): void } {
  let ms = Date.UTC(2025, 0, 1);
  return { now: () => ms, advance: (by) => (ms += by) };
}

describe('group lifetime', () => {
  it('a group limit filled by throwaway commits makes room for a real consumer group', () =>
    withCoordinator(
      async ({ coordinator, logger }) => {
        for (let i = 0; i < 150; i++) {
          assert.equal((await commitOne(coordinator, `throwaway-${i}`, i))[0]!.errorCode, ErrorCode.NONE);
        }
        assert.equal(coordinator.list().length, 100, 'the least recently used throwaway groups were evicted');
        assert.equal(coordinator.fetchOffsets('throwaway-0', null).length, 0, 'with their offsets');

        const member = await joinAndSync(coordinator, 'real');
        assert.equal(member.errorCode, ErrorCode.NONE);
        assert.equal((await commitOne(coordinator, 'real', 7, member))[0]!.errorCode, ErrorCode.NONE);
        assert.equal(coordinator.fetchOffsets('real', null)[0]!.offset, 7);
        assert.equal(logger.at('warn').length, 1, 'a flood of evictions is one warning, not one per group');
      },
      { limits: { maxGroups: 100 } },
    ));

  it('refuses a new group with COORDINATOR_NOT_AVAILABLE only while every group has members', () =>
    withCoordinator(
      async ({ coordinator }) => {
        const a = await joinAndSync(coordinator, 'a', { sessionTimeoutMs: LONG_SESSION_MS });
        const b = await joinAndSync(coordinator, 'b', { sessionTimeoutMs: LONG_SESSION_MS });
        assert.equal(b.errorCode, ErrorCode.NONE);
        assert.equal(
          (await coordinator.join(joinParams('', { groupId: 'c' }))).errorCode,
          ErrorCode.COORDINATOR_NOT_AVAILABLE,
        );
        assert.equal(
          (await commitOne(coordinator, 'c', 1))[0]!.errorCode,
          ErrorCode.COORDINATOR_NOT_AVAILABLE,
        );
        coordinator.leave({ groupId: 'a', members: [{ memberId: a.memberId, groupInstanceId: null }] });
        assert.equal((await joinAndSync(coordinator, 'c')).errorCode, ErrorCode.NONE, "a's slot is free");
        assert.deepEqual(
          coordinator
            .list()
            .map((g) => g.groupId)
            .sort(),
          ['b', 'c'],
        );
      },
      { limits: { maxGroups: 2 } },
    ));

  it('expires a group without members once its offsets outlive the retention, also on disk', () => {
    const clock = manualClock();
    return withCoordinator(
      async (fixture) => {
        const { coordinator } = fixture;
        await commitOne(coordinator, 'idle', 1);
        const live = await joinAndSync(coordinator, 'live', { sessionTimeoutMs: LONG_SESSION_MS });
        await commitOne(coordinator, 'live', 2, live);
        clock.advance(RETENTION_MINUTES * MINUTE_MS - 1);
        assert.deepEqual(await coordinator.expireGroups(), [], 'nothing is older than the retention yet');
        clock.advance(1);
        assert.deepEqual(
          await coordinator.expireGroups(),
          ['idle'],
          'a group with members keeps its offsets',
        );
        assert.equal(coordinator.fetchOffsets('idle', [{ topic: 't', partitions: [0] }])[0]!.offset, -1);

        const restarted = await fixture.restart();
        assert.deepEqual(
          restarted.list().map((g) => g.groupId),
          ['live'],
          'the tombstones keep a restart from bringing the group back',
        );
        assert.equal(restarted.fetchOffsets('live', null)[0]!.offset, 2);
      },
      { now: clock.now, offsetsRetentionMinutes: RETENTION_MINUTES },
    );
  });

  it('counts the retention of a group from when it lost its last member, not from its last commit', () => {
    const clock = manualClock();
    return withCoordinator(
      async ({ coordinator }) => {
        const member = await joinAndSync(coordinator, 'g', { sessionTimeoutMs: LONG_SESSION_MS });
        await commitOne(coordinator, 'g', 5, member);
        clock.advance(2 * RETENTION_MINUTES * MINUTE_MS);
        coordinator.leave({ groupId: 'g', members: [{ memberId: member.memberId, groupInstanceId: null }] });
        assert.deepEqual(await coordinator.expireGroups(), []);
        clock.advance(RETENTION_MINUTES * MINUTE_MS);
        assert.deepEqual(await coordinator.expireGroups(), ['g']);
      },
      { now: clock.now, offsetsRetentionMinutes: RETENTION_MINUTES },
    );
  });

  it('expires member ids handed out with MEMBER_ID_REQUIRED after the session timeout (KIP-394)', () =>
    withCoordinator(async ({ coordinator }) => {
      const sessionTimeoutMs = 100;
      const v4Join = (memberId: string) =>
        coordinator.join(joinParams(memberId, { requireKnownMemberId: true, sessionTimeoutMs }));
      const pending = await Promise.all(Array.from({ length: 1000 }, () => v4Join('')));
      assert.ok(pending.every((p) => p.errorCode === ErrorCode.MEMBER_ID_REQUIRED));
      // Timers fire in order of their due time: once this one has, every pending id's timer has too.
      await new Promise((resolve) => setTimeout(resolve, 3 * sessionTimeoutMs));
      assert.deepEqual(await coordinator.expireGroups(), ['g'], 'no members, no pending ids, no offsets');
      assert.equal((await v4Join(pending[0]!.memberId)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    }));
});
