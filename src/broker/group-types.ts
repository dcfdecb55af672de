// The group protocol's requests and results, and the state the coordinator keeps per group. Their error codes
// are Kafka's (ErrorCode in src/protocol/error-codes.ts).

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** What a member says of itself when it joins, and the coordinator keeps. */
export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: Array<{ name: string; metadata: Buffer }>;
}

export interface JoinParams extends MemberIdentity {
  groupId: string;
  protocolType: string;
  /** JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED and its id. */
  requireKnownMemberId: boolean;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface CommitParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  offsets: Array<{
    topic: string;
    partition: number;
    offset: number;
    leaderEpoch: number;
    metadata: string | null;
  }>;
}

export interface Member extends MemberIdentity {
  assignment: Buffer;
  joinWaiter: ((result: JoinResult) => void) | null;
  syncWaiter: ((result: SyncResult) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

export interface Group {
  groupId: string;
  state: GroupState;
  protocolType: string | null;
  protocolName: string | null;
  generationId: number;
  leaderId: string | null;
  members: Map<string, Member>;
  /** Ids handed out with MEMBER_ID_REQUIRED that may join next, each with the timer that expires it (KIP-394). */
  pendingMemberIds: Map<string, NodeJS.Timeout>;
  rebalanceTimer: NodeJS.Timeout | null;
  initialDelayPending: boolean;
}
