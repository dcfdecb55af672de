import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  commitOne,
  FIXTURE_TOPIC,
  joinAndSync,
  joinParams,
  withCoordinator,
} from '../../test/support/group-fixtures.js';
import { ErrorCode } from '../protocol/index.js';
import { DEFAULT_GROUP_LIMITS } from './group-limits.js';

const { maxIdBytes, maxClientIdBytes, maxMemberProtocolBytes } = DEFAULT_GROUP_LIMITS;

describe('group limits', () => {
  it('refuses a group id over maxIdBytes with INVALID_GROUP_ID, in joins and in commits', () =>
    withCoordinator(async ({ coordinator }) => {
      const groupId = 'g'.repeat(maxIdBytes + 1);
      assert.equal(
        (await coordinator.join(joinParams('', { groupId }))).errorCode,
        ErrorCode.INVALID_GROUP_ID,
      );
      assert.equal((await commitOne(coordinator, groupId, 1))[0]!.errorCode, ErrorCode.INVALID_GROUP_ID);
      // Bytes count, not characters: 128 three-byte characters are 384 bytes.
      const wide = await coordinator.join(joinParams('', { groupId: '€'.repeat(128) }));
      assert.equal(wide.errorCode, ErrorCode.INVALID_GROUP_ID);
      assert.deepEqual(coordinator.list(), []);
      assert.equal((await joinAndSync(coordinator, 'g'.repeat(maxIdBytes))).errorCode, ErrorCode.NONE);
    }));

  it('refuses a client id over maxClientIdBytes and cuts the client id part of a member id to fit maxIdBytes', () =>
    withCoordinator(async ({ coordinator }) => {
      const huge = await coordinator.join(joinParams('', { clientId: 'c'.repeat(30 * 1024) }));
      assert.equal(huge.errorCode, ErrorCode.INVALID_REQUEST);
      // 'é' is two bytes: a cut must not split one.
      const clientId = `x${'é'.repeat((maxClientIdBytes - 1) / 2)}`;
      const v4 = await coordinator.join(joinParams('', { clientId, requireKnownMemberId: true }));
      assert.equal(v4.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
      assert.ok(Buffer.byteLength(v4.memberId) <= maxIdBytes, `${Buffer.byteLength(v4.memberId)} bytes`);
      assert.match(v4.memberId, /^xé+-[0-9a-f-]{36}$/);
      const joined = await coordinator.join(joinParams('', { clientId }));
      assert.equal(joined.errorCode, ErrorCode.NONE);
      assert.ok(Buffer.byteLength(joined.memberId) <= maxIdBytes);
      assert.equal(
        coordinator.describe('g').members[0]!.clientId,
        clientId,
        'the member is described as it is',
      );
    }));

  it('refuses member ids, group instance ids, protocol types and names over maxIdBytes', () =>
    withCoordinator(async ({ coordinator }) => {
      const long = 'i'.repeat(maxIdBytes + 1);
      const errorOf = async (overrides: Parameters<typeof joinParams>[1], memberId = '') =>
        (await coordinator.join(joinParams(memberId, overrides))).errorCode;
      assert.equal(await errorOf({}, long), ErrorCode.UNKNOWN_MEMBER_ID, 'never handed out, so unknown');
      assert.equal(await errorOf({ groupInstanceId: long }), ErrorCode.INVALID_REQUEST);
      assert.equal(await errorOf({ protocolType: long }), ErrorCode.INVALID_REQUEST);
      assert.equal(
        await errorOf({ protocols: [{ name: long, metadata: Buffer.alloc(0) }] }),
        ErrorCode.INVALID_REQUEST,
      );
      assert.equal(coordinator.describe('g').members.length, 0);
    }));

  it("refuses a member's protocols over maxMemberProtocolBytes, however they are split", () =>
    withCoordinator(async ({ coordinator }) => {
      const oneMiB = [{ name: 'range', metadata: Buffer.alloc(1024 * 1024) }];
      assert.equal(
        (await coordinator.join(joinParams('', { protocols: oneMiB }))).errorCode,
        ErrorCode.INVALID_REQUEST,
      );
      const manyEmpty = Array.from({ length: Math.ceil(maxMemberProtocolBytes / 6) + 1 }, () => ({
        name: '',
        metadata: Buffer.alloc(0),
      }));
      manyEmpty[0] = { name: 'range', metadata: Buffer.alloc(0) };
      assert.equal(
        (await coordinator.join(joinParams('', { protocols: manyEmpty }))).errorCode,
        ErrorCode.INVALID_REQUEST,
        'each protocol counts its length prefixes',
      );
      const fits = [{ name: 'range', metadata: Buffer.alloc(maxMemberProtocolBytes - 6 - 'range'.length) }];
      assert.equal((await coordinator.join(joinParams('', { protocols: fits }))).errorCode, ErrorCode.NONE);
    }));

  it('keeps the leader JoinGroup response under maxGroupProtocolBytes: the group is full in bytes', () =>
    withCoordinator(
      async ({ coordinator }) => {
        const protocols = [{ name: 'range', metadata: Buffer.alloc(40 * 1024) }];
        const joins = await Promise.all(
          Array.from({ length: 4 }, () => coordinator.join(joinParams('', { protocols }))),
        );
        assert.deepEqual(joins.map((j) => j.errorCode).sort(), [
          ErrorCode.NONE,
          ErrorCode.NONE,
          ErrorCode.GROUP_MAX_SIZE_REACHED,
          ErrorCode.GROUP_MAX_SIZE_REACHED,
        ]);
        const leader = joins.find((j) => j.members.length > 0)!;
        const responseMetadataBytes = leader.members.reduce((sum, m) => sum + m.metadata.length, 0);
        assert.ok(responseMetadataBytes <= 100 * 1024, `${responseMetadataBytes} bytes of metadata`);
      },
      { limits: { maxMemberProtocolBytes: 64 * 1024, maxGroupProtocolBytes: 100 * 1024 } },
    ));

  it('refuses members past group.max.size, and pending member ids past it too, with GROUP_MAX_SIZE_REACHED', () =>
    withCoordinator(
      async ({ coordinator }) => {
        const joins = await Promise.all(Array.from({ length: 3 }, () => coordinator.join(joinParams(''))));
        assert.deepEqual(joins.map((j) => j.errorCode).sort(), [
          ErrorCode.NONE,
          ErrorCode.NONE,
          ErrorCode.GROUP_MAX_SIZE_REACHED,
        ]);
        const v4Join = () => coordinator.join(joinParams('', { groupId: 'v4', requireKnownMemberId: true }));
        const pending = [await v4Join(), await v4Join(), await v4Join()];
        assert.deepEqual(
          pending.map((j) => j.errorCode),
          [ErrorCode.MEMBER_ID_REQUIRED, ErrorCode.MEMBER_ID_REQUIRED, ErrorCode.GROUP_MAX_SIZE_REACHED],
        );
      },
      { limits: { groupMaxSize: 2 } },
    ));

  it('refuses a SyncGroup whose assignments exceed maxGroupAssignmentBytes with INVALID_REQUEST', () =>
    withCoordinator(
      async ({ coordinator }) => {
        const joined = await coordinator.join(joinParams(''));
        const sync = (bytes: number) =>
          coordinator.sync({
            groupId: 'g',
            generationId: joined.generationId,
            memberId: joined.memberId,
            groupInstanceId: null,
            protocolType: null,
            protocolName: null,
            assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(bytes) }],
          });
        assert.equal((await sync(1025)).errorCode, ErrorCode.INVALID_REQUEST);
        assert.equal((await sync(1024)).errorCode, ErrorCode.NONE);
      },
      { limits: { maxGroupAssignmentBytes: 1024 } },
    ));

  it('keeps offsets only for partitions that exist (UNKNOWN_TOPIC_OR_PARTITION otherwise), as Kafka', () =>
    withCoordinator(async ({ coordinator }) => {
      const offset = { offset: 1, leaderEpoch: -1, metadata: null };
      const results = await coordinator.commitOffsets({
        groupId: 'g',
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        offsets: [
          { topic: FIXTURE_TOPIC, partition: 0, ...offset },
          { topic: FIXTURE_TOPIC, partition: 1_000_000, ...offset },
          { topic: 'no-such-topic', partition: 0, ...offset },
        ],
      });
      assert.deepEqual(
        results.map((r) => r.errorCode),
        [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      );
      assert.deepEqual(
        coordinator.fetchOffsets('g', null).map((o) => [o.topic, o.partition]),
        [[FIXTURE_TOPIC, 0]],
      );
    }));
});
