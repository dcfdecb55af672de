import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiVersions } from './apis/api-versions.js';
import { DescribeGroups } from './apis/describe-groups.js';
import type { Fetch, FetchRequest, FetchResponse } from './apis/fetch.js';
import { Heartbeat, type HeartbeatRequest, type HeartbeatResponse } from './apis/heartbeat.js';
import { JoinGroup, type JoinGroupRequest, type JoinGroupResponse } from './apis/join-group.js';
import type { DecodedResponseOf, RequestOf, ResponseOf } from './message-types.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from './messages.js';
import { defineApi } from './schema.js';
import { ProtocolError } from './wire.js';

/**
 * The derived types, checked by the compiler (`tsc -p .` fails if any line marked @ts-expect-error compiles,
 * or any Equal check is false), and the claims they make about the codec, checked at run time.
 */

/** True only when X and Y are the same type (not merely assignable either way). */
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

// Every field present in a decoded request; nullable and null-defaulted ones may be null.
expectType<
  Equal<
    HeartbeatRequest,
    { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }
  >
>();
// A response needs the fields without a default; throttleTimeMs (v1+) has none here, so it is required.
expectType<Equal<HeartbeatResponse, { throttleTimeMs: number; errorCode: number }>>();
// int64 is a number, uuid a Buffer, `records` Buffer | null; arrays and structs are derived recursively.
type FetchPartition = FetchRequest['topics'][number]['partitions'][number];
expectType<Equal<FetchPartition['fetchOffset'], number>>();
expectType<Equal<FetchRequest['topics'][number]['topicId'], Buffer>>();
expectType<Equal<FetchResponse['responses'][number]['partitions'][number]['records'], Buffer | null>>();
// A nullable array with a null default, and a tagged struct (optional when written, filled when read).
type PartitionOut = FetchResponse['responses'][number]['partitions'][number];
expectType<
  Equal<PartitionOut['abortedTransactions'], { producerId: number; firstOffset: number }[] | null | undefined>
>();
type PartitionIn = DecodedResponseOf<typeof Fetch>['responses'][number]['partitions'][number];
expectType<Equal<PartitionIn['currentLeader'], { leaderId: number; leaderEpoch: number }>>();
// Non-nullable bytes in every version decode as a Buffer; the encoder also takes null (as empty bytes).
expectType<Equal<JoinGroupRequest['protocols'][number]['metadata'], Buffer>>();
expectType<Equal<JoinGroupResponse['members'][number]['metadata'], Buffer | null>>();

export const wellFormed: HeartbeatResponse = { throttleTimeMs: 0, errorCode: 0 };

// @ts-expect-error a misspelled field does not compile
export const misspelled: HeartbeatResponse = { throttleTimeMs: 0, errorcode: 0 };
// @ts-expect-error a field of the wrong type does not compile
export const wrongType: HeartbeatResponse = { throttleTimeMs: 0, errorCode: 'NONE' };
// @ts-expect-error a required field cannot be left out
export const missing: HeartbeatResponse = { errorCode: 0 };
// @ts-expect-error null only where the schema makes the field nullable
export const notNullable: JoinGroupResponse['members'][number] = { memberId: null, metadata: null };

export function readsOnlyDeclaredFields(request: HeartbeatRequest): string {
  // @ts-expect-error a field the schema does not declare cannot be read
  return request.groupID;
}

export function recordsMayBeNull(partition: PartitionIn): number {
  // @ts-expect-error records is Buffer | null
  return partition.records.length;
}

// Renaming a field in the schema changes the derived type, so code using the old name stops compiling.
const Renamed = defineApi({
  apiKey: 12,
  name: 'Heartbeat',
  versions: [0, 4],
  flexibleFrom: 4,
  request: [{ name: 'consumerGroupId', type: 'string', versions: '0+' }],
  response: [{ name: 'errorCode', type: 'int16', versions: '0+' }],
});
export function usesOldName(request: RequestOf<typeof Renamed>): ResponseOf<typeof Renamed> {
  // @ts-expect-error groupId was renamed consumerGroupId
  const groupId: string = request.groupId;
  return { errorCode: groupId.length };
}

// ------------------------------------------------------------------------------------------------ runtime

const header = (apiKey: number, apiVersion: number) => ({
  apiKey,
  apiVersion,
  correlationId: 1,
  clientId: 'c',
});

describe('derived types describe what the codec produces', () => {
  test('a nullable field absent in the version decodes as null, not undefined', () => {
    const frame = encodeRequest(Heartbeat, header(12, 0), {
      groupId: 'g',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
    });
    const { body } = decodeRequest(frame.subarray(4), Heartbeat);
    assert.deepEqual(body, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null });
  });

  test('a defaulted field left out when encoding decodes as its default', () => {
    const frame = encodeRequest(JoinGroup, header(11, 5), {
      groupId: 'g',
      sessionTimeoutMs: 10_000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: null }],
    });
    const { body } = decodeRequest(frame.subarray(4), JoinGroup);
    assert.equal(body.rebalanceTimeoutMs, -1);
    assert.equal(body.groupInstanceId, null);
    assert.deepEqual(body.protocols[0]?.metadata, Buffer.alloc(0), 'null bytes are written as empty');
  });

  test('ApiVersions: the client-software strings and throttle time may be left out (defaults)', () => {
    const request = encodeRequest(ApiVersions, header(18, 3), {});
    assert.deepEqual(decodeRequest(request.subarray(4), ApiVersions).body, {
      clientSoftwareName: '',
      clientSoftwareVersion: '',
    });
    const apiKeys = [{ apiKey: 18, minVersion: 0, maxVersion: 3 }];
    const response = Buffer.concat(encodeResponse(ApiVersions, 1, 9, { errorCode: 0, apiKeys }));
    // size, correlation id, errorCode, apiKeys (int32 count, three int16), throttleTimeMs 0
    assert.equal(
      response.toString('hex'),
      '00000014' + '00000009' + '0000' + '00000001' + '001200000003' + '00000000',
    );
    assert.deepEqual(decodeResponse(response.subarray(4), ApiVersions, 1).body, {
      errorCode: 0,
      apiKeys,
      throttleTimeMs: 0,
    });
  });

  test('a null element in an array of strings is refused, as the type string[] promises', () => {
    // DescribeGroups v0: header, then groups: int32 count 1, one string of length -1 (null).
    const frame = Buffer.from('000f 0000 00000001 0001 63 00000001 ffff'.replace(/\s/g, ''), 'hex');
    assert.throws(() => decodeRequest(frame, DescribeGroups), ProtocolError);
  });

  test('the same array with a real string decodes', () => {
    const frame = Buffer.from('000f 0000 00000001 0001 63 00000001 0001 67'.replace(/\s/g, ''), 'hex');
    assert.deepEqual(decodeRequest(frame, DescribeGroups).body.groups, ['g']);
  });
});
