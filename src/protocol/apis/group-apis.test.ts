import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '../codec.js';
import type { DecodedResponseOf, RequestOf } from '../message-types.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../messages.js';
import type { ApiSchema } from '../schema.js';
import { DeleteGroups } from './delete-groups.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  DescribeGroups,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
} from './describe-groups.js';
import {
  FindCoordinator,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
} from './find-coordinator.js';
import { Heartbeat, type HeartbeatRequest, type HeartbeatResponse } from './heartbeat.js';
import { JoinGroup, type JoinGroupRequest, type JoinGroupResponse } from './join-group.js';
import { LeaveGroup, type LeaveGroupRequest, type LeaveGroupResponse } from './leave-group.js';
import { ListGroups, type ListGroupsRequest, type ListGroupsResponse } from './list-groups.js';
import { OffsetCommit, type OffsetCommitRequest, type OffsetCommitResponse } from './offset-commit.js';
import { OffsetDelete } from './offset-delete.js';
import {
  OffsetFetch,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type OffsetFetchResponseTopic,
} from './offset-fetch.js';
import { SyncGroup, type SyncGroupRequest, type SyncGroupResponse } from './sync-group.js';

type Coordinator = FindCoordinatorResponse['coordinators'][number];
type JoinGroupResponseMember = JoinGroupResponse['members'][number];
type MemberIdentity = LeaveGroupRequest['members'][number];
type LeaveGroupMemberResponse = LeaveGroupResponse['members'][number];
type DescribedGroup = DescribeGroupsResponse['groups'][number];
type DescribedGroupMember = DescribedGroup['members'][number];
type ListedGroup = ListGroupsResponse['groups'][number];
type OffsetCommitRequestPartition = OffsetCommitRequest['topics'][number]['partitions'][number];
type OffsetFetchResponseGroup = OffsetFetchResponse['groups'][number];
type OffsetFetchResponsePartition = OffsetFetchResponseTopic['partitions'][number];

/** Every field optional, recursively: a message as it looks in one version. */
type DeepPartial<T> = T extends Buffer
  ? T
  : T extends (infer U)[]
    ? DeepPartial<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

const CLIENT_ID = 'edgestream-test';
const CORRELATION_ID = 0x01020304;

function frameOf(chunks: Buffer[]): Buffer {
  const frame = Buffer.concat(chunks);
  assert.equal(frame.readInt32BE(0), frame.length - 4, 'size prefix counts the bytes after it');
  return frame.subarray(4);
}

/**
 * `body` holds only some fields of a version (DeepPartial), so it is encoded through the untyped schema; the
 * decoded message has the schema's type.
 */
function roundTripRequest<A extends ApiSchema>(schema: A, version: number, body: object): RequestOf<A> {
  const header = {
    apiKey: schema.apiKey,
    apiVersion: version,
    correlationId: CORRELATION_ID,
    clientId: CLIENT_ID,
  };
  const untyped: ApiSchema = schema;
  const decoded = decodeRequest(frameOf([encodeRequest(untyped, header, body as Message)]), schema);
  assert.deepEqual(decoded.header, header);
  return decoded.body;
}

function roundTripResponse<A extends ApiSchema>(
  schema: A,
  version: number,
  body: object,
): DecodedResponseOf<A> {
  const untyped: ApiSchema = schema;
  const frame = frameOf(encodeResponse(untyped, version, CORRELATION_ID, body as Message));
  const decoded = decodeResponse(frame, schema, version);
  assert.equal(decoded.correlationId, CORRELATION_ID);
  return decoded.body;
}

/** The parts of `actual` that `expected` mentions, recursively, so fields absent from a version are ignored. */
function project(actual: unknown, expected: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual))
    return actual.map((item, i) => project(item, expected[i]));
  if (isRecord(expected) && isRecord(actual)) {
    const picked: Record<string, unknown> = {};
    for (const key of Object.keys(expected)) picked[key] = project(actual[key], expected[key]);
    return picked;
  }
  return actual;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !Array.isArray(value);
}

interface Case {
  schema: ApiSchema;
  /** Hard-coded from Apache Kafka's message definitions, not read from the schema under test. */
  versions: [number, number];
  flexibleFrom: number;
  request: (v: number) => object;
  response: (v: number) => object;
}

const consumerMetadata = Buffer.from('00010000000100066f7264657273ffffffff00000000', 'hex');
const consumerAssignment = Buffer.from(
  '0001000000010006' + '6f7264657273' + '000000020000000000000001ffffffff',
  'hex',
);

// ------------------------------------------------------------------------------------------ FindCoordinator

function findCoordinatorRequest(v: number): DeepPartial<FindCoordinatorRequest> {
  if (v >= 4) return { keyType: 0, coordinatorKeys: ['orders-consumers', 'billing-consumers'] };
  const body: DeepPartial<FindCoordinatorRequest> = { key: v === 2 ? 'payments-tx-7' : 'orders-consumers' };
  if (v >= 1) body.keyType = v === 2 ? 1 : 0;
  return body;
}

function findCoordinatorResponse(v: number): DeepPartial<FindCoordinatorResponse> {
  if (v >= 4) {
    const found: Coordinator = {
      key: 'orders-consumers',
      nodeId: 1,
      host: 'broker-1.internal',
      port: 9092,
      errorCode: 0,
      errorMessage: 'NONE',
    };
    const loading: Coordinator = {
      key: 'billing-consumers',
      nodeId: -1,
      host: '',
      port: -1,
      errorCode: 15,
      errorMessage: 'The coordinator is not available.',
    };
    return { throttleTimeMs: 0, coordinators: [found, loading] };
  }
  const body: DeepPartial<FindCoordinatorResponse> = {
    errorCode: 0,
    nodeId: 1,
    host: 'broker-1.internal',
    port: 9092,
  };
  if (v >= 1) {
    body.throttleTimeMs = 12;
    body.errorMessage = 'NONE';
  }
  return body;
}

// ------------------------------------------------------------------------------------------ JoinGroup

function joinGroupRequest(v: number): DeepPartial<JoinGroupRequest> {
  const body: DeepPartial<JoinGroupRequest> = {
    groupId: 'orders-consumers',
    sessionTimeoutMs: 45_000,
    memberId: v >= 4 ? 'rdkafka-3f1c2a9e-0b6d-4e55-9d7a-1c2b3d4e5f60' : '',
    protocolType: 'consumer',
    protocols: [
      { name: 'range', metadata: consumerMetadata },
      { name: 'roundrobin', metadata: Buffer.alloc(0) },
    ],
  };
  if (v >= 1) body.rebalanceTimeoutMs = 300_000;
  if (v >= 5) body.groupInstanceId = 'orders-pod-0';
  if (v >= 8) body.reason = 'need to re-join with the given member-id';
  return body;
}

function joinGroupResponse(v: number): DeepPartial<JoinGroupResponse> {
  const leader = 'rdkafka-3f1c2a9e-0b6d-4e55-9d7a-1c2b3d4e5f60';
  const members = [leader, 'kafkajs-77aa0c1d-5b2e-4f0a-a1b2-c3d4e5f60718'].map((memberId, i) => {
    const member: DeepPartial<JoinGroupResponseMember> = { memberId, metadata: consumerMetadata };
    if (v >= 5) member.groupInstanceId = `orders-pod-${i}`;
    return member;
  });
  const body: DeepPartial<JoinGroupResponse> = {
    errorCode: 0,
    generationId: 7,
    protocolName: 'range',
    leader,
    memberId: leader,
    members,
  };
  if (v >= 2) body.throttleTimeMs = 0;
  if (v >= 7) body.protocolType = 'consumer';
  if (v >= 9) body.skipAssignment = true;
  return body;
}

// ------------------------------------------------------------------------------------------ Heartbeat

function heartbeatRequest(v: number): DeepPartial<HeartbeatRequest> {
  const body: DeepPartial<HeartbeatRequest> = {
    groupId: 'orders-consumers',
    generationId: 7,
    memberId: 'member-1',
  };
  if (v >= 3) body.groupInstanceId = 'orders-pod-0';
  return body;
}

function heartbeatResponse(v: number): DeepPartial<HeartbeatResponse> {
  const body: DeepPartial<HeartbeatResponse> = { errorCode: 27 };
  if (v >= 1) body.throttleTimeMs = 0;
  return body;
}

// ------------------------------------------------------------------------------------------ LeaveGroup

function leaveGroupRequest(v: number): DeepPartial<LeaveGroupRequest> {
  if (v <= 2) return { groupId: 'orders-consumers', memberId: 'member-1' };
  const members = ['member-1', 'member-2'].map((memberId, i) => {
    const member: DeepPartial<MemberIdentity> = { memberId, groupInstanceId: `orders-pod-${i}` };
    if (v >= 5) member.reason = 'the consumer is being closed';
    return member;
  });
  return { groupId: 'orders-consumers', members };
}

function leaveGroupResponse(v: number): DeepPartial<LeaveGroupResponse> {
  const body: DeepPartial<LeaveGroupResponse> = { errorCode: 0 };
  if (v >= 1) body.throttleTimeMs = 0;
  if (v >= 3) {
    const members: LeaveGroupMemberResponse[] = [
      { memberId: 'member-1', groupInstanceId: 'orders-pod-0', errorCode: 0 },
      { memberId: 'member-2', groupInstanceId: 'orders-pod-1', errorCode: 25 },
    ];
    body.members = members;
  }
  return body;
}

// ------------------------------------------------------------------------------------------ SyncGroup

function syncGroupRequest(v: number): DeepPartial<SyncGroupRequest> {
  const body: DeepPartial<SyncGroupRequest> = {
    groupId: 'orders-consumers',
    generationId: 7,
    memberId: 'member-1',
    assignments: [
      { memberId: 'member-1', assignment: consumerAssignment },
      { memberId: 'member-2', assignment: Buffer.alloc(0) },
    ],
  };
  if (v >= 3) body.groupInstanceId = 'orders-pod-0';
  if (v >= 5) {
    body.protocolType = 'consumer';
    body.protocolName = 'range';
  }
  return body;
}

function syncGroupResponse(v: number): DeepPartial<SyncGroupResponse> {
  const body: DeepPartial<SyncGroupResponse> = { errorCode: 0, assignment: consumerAssignment };
  if (v >= 1) body.throttleTimeMs = 0;
  if (v >= 5) {
    body.protocolType = 'consumer';
    body.protocolName = 'range';
  }
  return body;
}

// ------------------------------------------------------------------------------------------ DescribeGroups

function describeGroupsRequest(v: number): DeepPartial<DescribeGroupsRequest> {
  const body: DeepPartial<DescribeGroupsRequest> = { groups: ['orders-consumers', 'billing-consumers'] };
  if (v >= 3) body.includeAuthorizedOperations = true;
  return body;
}

function describeGroupsResponse(v: number): DeepPartial<DescribeGroupsResponse> {
  const member: DeepPartial<DescribedGroupMember> = {
    memberId: 'member-1',
    clientId: 'rdkafka',
    clientHost: '/10.0.0.7',
    memberMetadata: consumerMetadata,
    memberAssignment: consumerAssignment,
  };
  if (v >= 4) member.groupInstanceId = 'orders-pod-0';
  const stable: DeepPartial<DescribedGroup> = {
    errorCode: 0,
    groupId: 'orders-consumers',
    groupState: 'Stable',
    protocolType: 'consumer',
    protocolData: 'range',
    members: [member],
  };
  const dead: DeepPartial<DescribedGroup> = {
    errorCode: 0,
    groupId: 'billing-consumers',
    groupState: 'Dead',
    protocolType: '',
    protocolData: '',
    members: [],
  };
  if (v >= 3) {
    stable.authorizedOperations = 0b1_1011_1000;
    dead.authorizedOperations = AUTHORIZED_OPERATIONS_OMITTED;
  }
  const body: DeepPartial<DescribeGroupsResponse> = { groups: [stable, dead] };
  if (v >= 1) body.throttleTimeMs = 0;
  return body;
}

// ------------------------------------------------------------------------------------------ ListGroups

function listGroupsRequest(v: number): DeepPartial<ListGroupsRequest> {
  return v >= 4 ? { statesFilter: ['Stable', 'PreparingRebalance'] } : {};
}

function listGroupsResponse(v: number): DeepPartial<ListGroupsResponse> {
  const groups = [
    ['orders-consumers', 'consumer', 'Stable'],
    ['connect-sink', 'connect', 'PreparingRebalance'],
  ].map(([groupId, protocolType, groupState]) => {
    const group: DeepPartial<ListedGroup> = { groupId, protocolType };
    if (v >= 4) group.groupState = groupState;
    return group;
  });
  const body: DeepPartial<ListGroupsResponse> = { errorCode: 0, groups };
  if (v >= 1) body.throttleTimeMs = 0;
  return body;
}

// ------------------------------------------------------------------------------------------ OffsetCommit

function offsetCommitRequest(v: number): DeepPartial<OffsetCommitRequest> {
  const partitions = [
    { partitionIndex: 0, committedOffset: 4_294_967_301, committedMetadata: '' },
    { partitionIndex: 1, committedOffset: 17, committedMetadata: 'consumer=pod-0' },
  ].map((fields) => {
    const partition: DeepPartial<OffsetCommitRequestPartition> = { ...fields };
    if (v >= 6) partition.committedLeaderEpoch = 4;
    if (v === 1) partition.commitTimestamp = 1_700_000_000_123;
    return partition;
  });
  const body: DeepPartial<OffsetCommitRequest> = {
    groupId: 'orders-consumers',
    topics: [
      { name: 'orders', partitions },
      { name: 'orders-retry', partitions: [] },
    ],
  };
  if (v >= 1) {
    body.generationIdOrMemberEpoch = 7;
    body.memberId = 'member-1';
  }
  if (v >= 2 && v <= 4) body.retentionTimeMs = 86_400_000;
  if (v >= 7) body.groupInstanceId = 'orders-pod-0';
  return body;
}

function offsetCommitResponse(v: number): DeepPartial<OffsetCommitResponse> {
  const body: DeepPartial<OffsetCommitResponse> = {
    topics: [
      {
        name: 'orders',
        partitions: [
          { partitionIndex: 0, errorCode: 0 },
          { partitionIndex: 1, errorCode: 22 },
        ],
      },
    ],
  };
  if (v >= 3) body.throttleTimeMs = 0;
  return body;
}

// ------------------------------------------------------------------------------------------ OffsetFetch

function offsetFetchRequest(v: number): DeepPartial<OffsetFetchRequest> {
  const topics = [
    { name: 'orders', partitionIndexes: [0, 1, 2] },
    { name: 'orders-retry', partitionIndexes: [] },
  ];
  const body: DeepPartial<OffsetFetchRequest> =
    v >= 8
      ? {
          groups: [
            { groupId: 'orders-consumers', topics },
            { groupId: 'billing-consumers', topics: [{ name: 'invoices', partitionIndexes: [5] }] },
          ],
        }
      : { groupId: 'orders-consumers', topics };
  if (v >= 7) body.requireStable = true;
  return body;
}

function offsetFetchPartitions(v: number): DeepPartial<OffsetFetchResponsePartition>[] {
  return [
    { partitionIndex: 0, committedOffset: 4_294_967_301, metadata: '', errorCode: 0 },
    { partitionIndex: 1, committedOffset: -1, metadata: '', errorCode: 0 },
    { partitionIndex: 2, committedOffset: 99, metadata: 'consumer=pod-0', errorCode: v >= 7 ? 88 : 0 },
  ].map((partition, i) => {
    const result: DeepPartial<OffsetFetchResponsePartition> = partition;
    if (v >= 5) result.committedLeaderEpoch = i === 1 ? -1 : 4;
    return result;
  });
}

function offsetFetchResponse(v: number): DeepPartial<OffsetFetchResponse> {
  const topics: DeepPartial<OffsetFetchResponseTopic>[] = [
    { name: 'orders', partitions: offsetFetchPartitions(v) },
  ];
  if (v >= 8) {
    const groups: DeepPartial<OffsetFetchResponseGroup>[] = [
      { groupId: 'orders-consumers', topics, errorCode: 0 },
      { groupId: 'billing-consumers', topics: [], errorCode: 16 },
    ];
    return { throttleTimeMs: 0, groups };
  }
  const body: DeepPartial<OffsetFetchResponse> = { topics };
  if (v >= 2) body.errorCode = 0;
  if (v >= 3) body.throttleTimeMs = 0;
  return body;
}

// ------------------------------------------------------------------------------------------ round trips

const cases: Case[] = [
  {
    schema: FindCoordinator,
    versions: [0, 4],
    flexibleFrom: 3,
    request: findCoordinatorRequest,
    response: findCoordinatorResponse,
  },
  {
    schema: JoinGroup,
    versions: [0, 9],
    flexibleFrom: 6,
    request: joinGroupRequest,
    response: joinGroupResponse,
  },
  {
    schema: Heartbeat,
    versions: [0, 4],
    flexibleFrom: 4,
    request: heartbeatRequest,
    response: heartbeatResponse,
  },
  {
    schema: LeaveGroup,
    versions: [0, 5],
    flexibleFrom: 4,
    request: leaveGroupRequest,
    response: leaveGroupResponse,
  },
  {
    schema: SyncGroup,
    versions: [0, 5],
    flexibleFrom: 4,
    request: syncGroupRequest,
    response: syncGroupResponse,
  },
  {
    schema: DescribeGroups,
    versions: [0, 5],
    flexibleFrom: 5,
    request: describeGroupsRequest,
    response: describeGroupsResponse,
  },
  {
    schema: ListGroups,
    versions: [0, 4],
    flexibleFrom: 3,
    request: listGroupsRequest,
    response: listGroupsResponse,
  },
  {
    schema: OffsetCommit,
    versions: [0, 8],
    flexibleFrom: 8,
    request: offsetCommitRequest,
    response: offsetCommitResponse,
  },
  {
    schema: OffsetFetch,
    versions: [0, 8],
    flexibleFrom: 6,
    request: offsetFetchRequest,
    response: offsetFetchResponse,
  },
  {
    schema: DeleteGroups,
    versions: [0, 2],
    flexibleFrom: 2,
    request: () => ({ groupsNames: ['orders-consumers', 'billing-consumers'] }),
    response: () => ({
      throttleTimeMs: 0,
      results: [
        { groupId: 'orders-consumers', errorCode: 0 },
        { groupId: 'billing-consumers', errorCode: 68 },
      ],
    }),
  },
  {
    schema: OffsetDelete,
    versions: [0, 0],
    flexibleFrom: Number.POSITIVE_INFINITY,
    request: () => ({
      groupId: 'orders-consumers',
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }, { partitionIndex: 3 }] }],
    }),
    response: () => ({
      errorCode: 0,
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, errorCode: 0 },
            { partitionIndex: 3, errorCode: 86 },
          ],
        },
      ],
    }),
  },
];

const expectedKeys: Record<string, number> = {
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  DeleteGroups: 42,
  OffsetDelete: 47,
};

for (const c of cases) {
  describe(`${c.schema.name} (key ${c.schema.apiKey})`, () => {
    test('api key, version range and first flexible version', () => {
      assert.equal(c.schema.apiKey, expectedKeys[c.schema.name]);
      assert.deepEqual(c.schema.versions, c.versions);
      assert.equal(c.schema.flexibleFrom, c.flexibleFrom);
    });
    for (let v = c.versions[0]; v <= c.versions[1]; v++) {
      test(`v${v} request round-trips`, () => {
        const body = c.request(v);
        assert.deepEqual(project(roundTripRequest(c.schema, v, body), body), body);
      });
      test(`v${v} response round-trips`, () => {
        const body = c.response(v);
        assert.deepEqual(project(roundTripResponse(c.schema, v, body), body), body);
      });
    }
  });
}

describe('fields absent from a version decode as their Kafka defaults', () => {
  test('JoinGroup v0 rebalanceTimeoutMs is -1', () => {
    assert.equal(roundTripRequest(JoinGroup, 0, joinGroupRequest(0)).rebalanceTimeoutMs, -1);
  });
  test('OffsetCommit v0 has generation -1; v5 has no retention (-1); v5 partitions have leader epoch -1', () => {
    assert.equal(roundTripRequest(OffsetCommit, 0, offsetCommitRequest(0)).generationIdOrMemberEpoch, -1);
    const v5 = roundTripRequest(OffsetCommit, 5, { ...offsetCommitRequest(5), retentionTimeMs: 1234 });
    assert.equal(v5.retentionTimeMs, -1);
    const topics = v5.topics;
    assert.equal(topics[0]?.partitions[0]?.committedLeaderEpoch, -1);
    assert.equal(topics[0]?.partitions[0]?.commitTimestamp, -1);
  });
  test('DescribeGroups v2 authorizedOperations is INT32_MIN', () => {
    const body = roundTripResponse(DescribeGroups, 2, describeGroupsResponse(2));
    assert.equal(body.groups[0]?.authorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
  });
  test('OffsetFetch v4 partitions have leader epoch -1', () => {
    const body = roundTripResponse(OffsetFetch, 4, offsetFetchResponse(4));
    assert.equal(body.topics[0]?.partitions[0]?.committedLeaderEpoch, -1);
  });
});

// ------------------------------------------------------------------------------------------ exact bytes

/** Hex written by hand from the protocol spec; whitespace and `|` are only for reading. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ''), 'hex');
}

const header = (apiKey: number, apiVersion: number) => ({
  apiKey,
  apiVersion,
  correlationId: 7,
  clientId: 'c1',
});

describe('JoinGroup exact bytes', () => {
  const request = {
    groupId: 'g',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    memberId: '',
    groupInstanceId: 'i',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from([1, 2, 3]) }],
  };
  // classic v5: int16 string lengths, int32 array/bytes lengths, no tagged fields
  const classicV5 = hex(`
    00000038 | 000b 0005 00000007 0002 6331
    0001 67 | 00002710 | 00007530 | 0000 | 0001 69 | 0008 636f6e73756d6572
    00000001 | 0005 72616e6765 | 00000003 010203`);
  // flexible v6: header tagged fields, compact lengths (n+1), a tagged-field count after every struct
  const flexibleV6 = hex(`
    00000030 | 000b 0006 00000007 0002 6331 00
    02 67 | 00002710 | 00007530 | 01 | 02 69 | 09 636f6e73756d6572
    02 | 06 72616e6765 | 04 010203 | 00
    00`);

  test('v5 request encodes to the classic bytes', () => {
    assert.deepEqual(encodeRequest(JoinGroup, header(11, 5), request), classicV5);
  });
  test('v6 request encodes to the flexible bytes', () => {
    assert.deepEqual(encodeRequest(JoinGroup, header(11, 6), request), flexibleV6);
  });
  test('requests with a null groupInstanceId decode (int16 -1 classic, 0 compact)', () => {
    const classic = decodeRequest(
      hex(
        '000b 0005 00000007 0002 6331 0001 67 00002710 00007530 0000 ffff' +
          ' 0008 636f6e73756d6572 00000001 0005 72616e6765 00000003 010203',
      ),
      JoinGroup,
    );
    assert.equal(classic.body.groupInstanceId, null);
    assert.equal(classic.body.sessionTimeoutMs, 10_000);
    assert.deepEqual(classic.body.protocols, [{ name: 'range', metadata: Buffer.from([1, 2, 3]) }]);
    const flexible = decodeRequest(
      hex(
        '000b 0006 00000007 0002 6331 00 02 67 00002710 00007530 01 00' +
          ' 09 636f6e73756d6572 02 06 72616e6765 04 010203 00 00',
      ),
      JoinGroup,
    );
    assert.equal(flexible.header.clientId, 'c1');
    assert.equal(flexible.body.groupInstanceId, null);
    assert.equal(flexible.body.protocolType, 'consumer');
    assert.deepEqual(flexible.body.protocols, [{ name: 'range', metadata: Buffer.from([1, 2, 3]) }]);
  });

  const response = {
    throttleTimeMs: 0,
    errorCode: 0,
    generationId: 1,
    protocolType: 'consumer',
    protocolName: 'range',
    leader: 'm1',
    skipAssignment: true,
    memberId: 'm1',
    members: [{ memberId: 'm1', groupInstanceId: 'i', metadata: Buffer.from([1, 2, 3]) }],
  };
  test('v2 response encodes to the classic bytes', () => {
    const expected = hex(`
      0000002c | 00000007 | 00000000 | 0000 | 00000001 | 0005 72616e6765 | 0002 6d31 | 0002 6d31
      00000001 | 0002 6d31 | 00000003 010203`);
    assert.deepEqual(Buffer.concat(encodeResponse(JoinGroup, 2, 7, response)), expected);
  });
  test('v9 response encodes to the flexible bytes', () => {
    const expected = hex(`
      00000031 | 00000007 00 | 00000000 | 0000 | 00000001 | 09 636f6e73756d6572 | 06 72616e6765 | 03 6d31
      01 | 03 6d31 | 02 | 03 6d31 | 02 69 | 04 010203 | 00
      00`);
    assert.deepEqual(Buffer.concat(encodeResponse(JoinGroup, 9, 7, response)), expected);
  });
});

describe('OffsetCommit exact bytes', () => {
  const request = {
    groupId: 'g',
    generationIdOrMemberEpoch: 3,
    memberId: 'm',
    groupInstanceId: 'i',
    retentionTimeMs: 86_400_000,
    topics: [
      {
        name: 't',
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: 0x1_0000_0005,
            committedLeaderEpoch: 5,
            commitTimestamp: 1_700_000_000_000,
            committedMetadata: 'x',
          },
        ],
      },
    ],
  };
  test('v1 request (per-partition commit timestamp) encodes to the classic bytes', () => {
    const expected = hex(`
      00000038 | 0008 0001 00000007 0002 6331
      0001 67 | 00000003 | 0001 6d | 00000001 | 0001 74 | 00000001
      00000000 | 00000001 00000005 | 0000018b cfe56800 | 0001 78`);
    assert.deepEqual(encodeRequest(OffsetCommit, header(8, 1), request), expected);
  });
  test('v2 request (retention time, no commit timestamp) encodes to the classic bytes', () => {
    const expected = hex(`
      00000038 | 0008 0002 00000007 0002 6331
      0001 67 | 00000003 | 0001 6d | 00000000 05265c00 | 00000001 | 0001 74 | 00000001
      00000000 | 00000001 00000005 | 0001 78`);
    assert.deepEqual(encodeRequest(OffsetCommit, header(8, 2), request), expected);
  });
  test('v8 request encodes to the flexible bytes', () => {
    const expected = hex(`
      00000030 | 0008 0008 00000007 0002 6331 00
      02 67 | 00000003 | 02 6d | 02 69 | 02 | 02 74 | 02
      00000000 | 00000001 00000005 | 00000005 | 02 78 | 00
      00
      00`);
    assert.deepEqual(encodeRequest(OffsetCommit, header(8, 8), request), expected);
  });
  test('requests with null metadata and groupInstanceId decode', () => {
    const classic = decodeRequest(
      hex(
        '0008 0001 00000007 0002 6331 0001 67 00000003 0001 6d 00000001 0001 74 00000001 00000000 00000001 00000005' +
          ' 0000018b cfe56800 ffff',
      ),
      OffsetCommit,
    );
    const classicPartition = (classic.body.topics as OffsetCommitRequest['topics'])[0]?.partitions[0];
    assert.equal(classicPartition?.committedOffset, 0x1_0000_0005);
    assert.equal(classicPartition?.commitTimestamp, 1_700_000_000_000);
    assert.equal(classicPartition?.committedMetadata, null);
    const flexible = decodeRequest(
      hex(
        '0008 0008 00000007 0002 6331 00 02 67 00000003 02 6d 00 02 02 74 02 00000000 00000001 00000005 00000005 00' +
          ' 00 00 00',
      ),
      OffsetCommit,
    );
    assert.equal(flexible.body.groupInstanceId, null);
    const flexiblePartition = (flexible.body.topics as OffsetCommitRequest['topics'])[0]?.partitions[0];
    assert.equal(flexiblePartition?.committedLeaderEpoch, 5);
    assert.equal(flexiblePartition?.committedMetadata, null);
  });

  const response = {
    throttleTimeMs: 0,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0 }] }],
  };
  test('v2 response encodes to the classic bytes (no throttle time before v3)', () => {
    const expected = hex('00000015 | 00000007 | 00000001 | 0001 74 | 00000001 | 00000000 0000');
    assert.deepEqual(Buffer.concat(encodeResponse(OffsetCommit, 2, 7, response)), expected);
  });
  test('v8 response encodes to the flexible bytes', () => {
    const expected = hex('00000016 | 00000007 00 | 00000000 | 02 | 02 74 | 02 | 00000000 0000 00 | 00 | 00');
    assert.deepEqual(Buffer.concat(encodeResponse(OffsetCommit, 8, 7, response)), expected);
  });
});

describe('OffsetFetch null topics (all topics) decode', () => {
  test('v2 classic null array (int32 -1)', () => {
    const { body } = decodeRequest(hex('0009 0002 00000007 0002 6331 0001 67 ffffffff'), OffsetFetch);
    assert.equal(body.groupId, 'g');
    assert.equal(body.topics, null);
  });
  test('v8 compact null array (0) inside a group', () => {
    const { body } = decodeRequest(hex('0009 0008 00000007 0002 6331 00 02 02 67 00 00 01 00'), OffsetFetch);
    const groups = body.groups as OffsetFetchRequest['groups'];
    assert.equal(groups.length, 1);
    assert.equal(groups[0]?.groupId, 'g');
    assert.equal(groups[0]?.topics, null);
    assert.equal(body.requireStable, true);
  });
});

// ------------------------------------------------------------------------------------------ nulls (known codec gap)

describe('null values of nullable fields', () => {
  test('JoinGroup v5-v9 request: null groupInstanceId and reason round-trip as null', () => {
    for (let v = 5; v <= 9; v++) {
      const body = roundTripRequest(JoinGroup, v, {
        ...joinGroupRequest(v),
        groupInstanceId: null,
        reason: null,
      });
      assert.equal(body.groupInstanceId, null, `v${v}`);
    }
  });
  test('JoinGroup v0-v4 request: absent groupInstanceId decodes as null (Kafka default)', () => {
    for (let v = 0; v <= 4; v++)
      assert.equal(roundTripRequest(JoinGroup, v, joinGroupRequest(v)).groupInstanceId, null);
  });
  test('JoinGroup v7+ response: null protocolType/protocolName/member groupInstanceId', () => {
    const body = roundTripResponse(JoinGroup, 7, {
      ...joinGroupResponse(7),
      protocolType: null,
      protocolName: null,
      members: [{ memberId: 'm1', groupInstanceId: null, metadata: consumerMetadata }],
    });
    assert.equal(body.protocolType, null);
    assert.equal(body.protocolName, null);
    assert.equal(body.members[0]?.groupInstanceId, null);
  });
  test('OffsetFetch v2-v8 request: null topics round-trip as null', () => {
    for (let v = 2; v <= 7; v++)
      assert.equal(roundTripRequest(OffsetFetch, v, { groupId: 'g', topics: null }).topics, null);
    const v8 = roundTripRequest(OffsetFetch, 8, { groups: [{ groupId: 'g', topics: null }] });
    assert.deepEqual(v8.groups, [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: null }]);
  });
  test('OffsetCommit request / FindCoordinator response: null metadata and error message', () => {
    const commit = roundTripRequest(OffsetCommit, 8, {
      groupId: 'g',
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] },
      ],
    });
    assert.equal(commit.topics[0]?.partitions[0]?.committedMetadata, null);
    const found = roundTripResponse(FindCoordinator, 3, {
      errorCode: 0,
      errorMessage: null,
      nodeId: 1,
      host: 'h',
      port: 1,
    });
    assert.equal(found.errorMessage, null);
  });
});
