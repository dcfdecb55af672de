import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/index.js';
import type { Group, JoinParams, Member } from './group-types.js';

/**
 * What one client may make the group coordinator hold or send back. Kafka bounds most of this only through
 * the size of the group metadata record; here every bound is named and refused with a Kafka error code.
 */
export interface GroupLimits {
  /** Groups known at once (with state here or committed offsets); the least recently used memberless group makes room. */
  maxGroups: number;
  /** group.max.size (KIP-389): members of one group, and separately its outstanding MEMBER_ID_REQUIRED ids. */
  groupMaxSize: number;
  /** Group ids, member ids, group instance ids, protocol types and protocol names. */
  maxIdBytes: number;
  /** The client id a member is described with. */
  maxClientIdBytes: number;
  /** One member's protocols as a JoinGroup carries them: names, metadata and their length prefixes. */
  maxMemberProtocolBytes: number;
  /** Every member's protocols together; bounds the group's memory and the leader's JoinGroup response. */
  maxGroupProtocolBytes: number;
  /** The assignments one leader's SyncGroup hands out. */
  maxGroupAssignmentBytes: number;
}

export const DEFAULT_GROUP_LIMITS: GroupLimits = {
  maxGroups: 10_000,
  groupMaxSize: 1_000,
  maxIdBytes: 255,
  maxClientIdBytes: 1024,
  maxMemberProtocolBytes: 256 * 1024,
  maxGroupProtocolBytes: 8 * 1024 * 1024,
  maxGroupAssignmentBytes: 8 * 1024 * 1024,
};

/** A member id is `<client id part>-<uuid>`, as Kafka builds it. */
const UUID_BYTES = 36;
const MEMBER_ID_SEPARATOR_BYTES = 1;
/** A protocol on the wire: int16 name length and int32 metadata length around the name and metadata. */
const PROTOCOL_PREFIX_BYTES = 2 + 4;

/** Checked once: limits that contradict each other are a programming or configuration error. */
export function checkedGroupLimits(limits: GroupLimits): GroupLimits {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new Error(`group limit ${name}=${value}: not a positive integer`);
  }
  if (limits.maxIdBytes < UUID_BYTES + MEMBER_ID_SEPARATOR_BYTES + 1) {
    throw new Error(`group limit maxIdBytes=${limits.maxIdBytes}: a member id needs room for a uuid`);
  }
  if (limits.maxGroupProtocolBytes < limits.maxMemberProtocolBytes) {
    throw new Error(
      'group limit maxGroupProtocolBytes is below maxMemberProtocolBytes: no member could join',
    );
  }
  return limits;
}

/** The error a JoinGroup gets for ids, names or protocols over their limits, before it changes any state. */
export function joinRequestError(params: JoinParams, limits: GroupLimits): number {
  if (!validGroupId(params.groupId, limits)) return ErrorCode.INVALID_GROUP_ID;
  // A member id this coordinator handed out always fits, so a longer one is simply unknown.
  if (tooLong(params.memberId, limits.maxIdBytes)) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (
    tooLong(params.groupInstanceId, limits.maxIdBytes) ||
    tooLong(params.protocolType, limits.maxIdBytes) ||
    tooLong(params.clientId, limits.maxClientIdBytes) ||
    params.protocols.some((p) => tooLong(p.name, limits.maxIdBytes)) ||
    protocolBytes(params.protocols) > limits.maxMemberProtocolBytes
  ) {
    return ErrorCode.INVALID_REQUEST;
  }
  return ErrorCode.NONE;
}

export function validGroupId(groupId: string, limits: GroupLimits): boolean {
  return groupId !== '' && !tooLong(groupId, limits.maxIdBytes);
}

/** The group's protocol bytes (measured against maxGroupProtocolBytes) were `memberId` to join with `protocols`. */
export function groupProtocolBytesWith(
  group: Group,
  memberId: string,
  protocols: Member['protocols'],
): number {
  let bytes = protocolBytes(protocols);
  for (const m of group.members.values()) if (m.memberId !== memberId) bytes += protocolBytes(m.protocols);
  return bytes;
}

/** Wire size of a member's protocols, the measure of maxMemberProtocolBytes and maxGroupProtocolBytes. */
function protocolBytes(protocols: Member['protocols']): number {
  let bytes = 0;
  for (const p of protocols) bytes += PROTOCOL_PREFIX_BYTES + Buffer.byteLength(p.name) + p.metadata.length;
  return bytes;
}

function tooLong(value: string | null, maxBytes: number): boolean {
  // A UTF-8 character takes at most 3 bytes per UTF-16 unit, so most values need no byte count.
  return value !== null && value.length * 3 > maxBytes && Buffer.byteLength(value) > maxBytes;
}

/** A new member id; the client id part is cut (on a character boundary) so the id fits maxIdBytes. */
export function newMemberId(clientId: string, limits: GroupLimits): string {
  const budget = limits.maxIdBytes - UUID_BYTES - MEMBER_ID_SEPARATOR_BYTES;
  return `${utf8Prefix(clientId || 'member', budget)}-${randomUUID()}`;
}

/** The longest prefix of `value` whose UTF-8 encoding fits `maxBytes`, never splitting a character. */
function utf8Prefix(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value) <= maxBytes) return value;
  let bytes = 0;
  let end = 0;
  for (const char of value) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return value.slice(0, end);
}
