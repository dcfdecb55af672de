import { ElectionType } from '../protocol/apis/elect-leaders.js';
import { ErrorCode } from '../protocol/index.js';
import type { PartitionState } from './zk-layout.js';

/** What the controller knows of the brokers when it decides a partition's leader. */
export interface BrokerLiveness {
  live: ReadonlySet<number>;
  /** Brokers in controlled shutdown: they keep serving but should lead nothing and leave every ISR. */
  shuttingDown: ReadonlySet<number>;
  /**
   * Replicas of this partition their brokers reported offline (`/brokers/offline_replicas`): never elected,
   * clean or unclean, nor restored as preferred leader.
   */
  offlineReplicas?: ReadonlySet<number>;
  /**
   * Those of them that still hold the damage: for this partition they count as lost brokers (leadership
   * moves away, they leave the ISR). The others are cut at the damage and fetching again, and their leader
   * takes them back into the ISR once caught up.
   */
  damagedReplicas?: ReadonlySet<number>;
}

export interface StateChange {
  state: PartitionState;
  reason:
    | 'leader-lost'
    | 'offline-recovered'
    | 'isr-member-lost'
    | 'controlled-shutdown'
    | 'preferred-leader'
    | 'replica-offline'
    | 'reassignment';
}

/**
 * The first replica, in assignment order, that is live, in the ISR and allowed to lead; with unclean
 * election enabled any live replica will do when no ISR member is left (it may lose acknowledged records).
 */
export function electLeader(
  replicas: readonly number[],
  isr: readonly number[],
  brokers: BrokerLiveness,
  uncleanAllowed: boolean,
): number {
  const eligible = (id: number) =>
    brokers.live.has(id) && !brokers.shuttingDown.has(id) && !brokers.offlineReplicas?.has(id);
  const clean = replicas.find((id) => isr.includes(id) && eligible(id));
  if (clean !== undefined) return clean;
  if (!uncleanAllowed) return -1;
  return replicas.find(eligible) ?? -1;
}

/**
 * The state the controller must write after brokers came or went, or null when the current one stands.
 * Every change the controller makes moves the leader epoch on, so a leader that missed it is fenced.
 * When no eligible replica is left the partition goes offline (leader -1) and keeps its last ISR: only
 * one of those replicas holds every acknowledged record, and it will lead again when it returns.
 */
export function reconcileState(
  current: PartitionState,
  replicas: readonly number[],
  brokers: BrokerLiveness,
  controllerEpoch: number,
  uncleanAllowed: boolean,
): StateChange | null {
  const next = (leader: number, isr: number[]): PartitionState => ({
    version: 1,
    controllerEpoch,
    leader,
    leaderEpoch: current.leaderEpoch + 1,
    isr,
  });
  const leaderUsable = current.leader >= 0 && keepsIsr(current.leader, brokers);
  if (!leaderUsable) {
    // Unclean only when the leader is gone: a live (shutting-down) leader still has every record.
    const unclean = uncleanAllowed && !brokers.live.has(current.leader);
    const leader = electLeader(replicas, current.isr, brokers, unclean);
    if (leader < 0) {
      if (current.leader < 0) return null;
      // A shutting-down or damaged leader with nobody to hand over to keeps leading: going offline helps
      // nobody, and a damaged one still serves everything before its damage (damagedLeaderKept says so).
      if (brokers.live.has(current.leader)) return null;
      return { state: next(-1, current.isr), reason: 'leader-lost' };
    }
    // A clean leader keeps the in-sync replicas that are still up; an unclean one starts a new ISR alone.
    const isr = current.isr.includes(leader) ? current.isr.filter((id) => keepsIsr(id, brokers)) : [leader];
    return {
      state: next(leader, isr),
      reason:
        current.leader < 0
          ? 'offline-recovered'
          : !brokers.live.has(current.leader)
            ? 'leader-lost'
            : brokers.shuttingDown.has(current.leader)
              ? 'controlled-shutdown'
              : 'replica-offline',
    };
  }
  const isr = current.isr.filter((id) => id === current.leader || keepsIsr(id, brokers));
  if (isr.length !== current.isr.length) {
    const removed = current.isr.filter((id) => !isr.includes(id));
    return {
      state: next(current.leader, isr),
      reason: current.isr.some((id) => brokers.shuttingDown.has(id))
        ? 'controlled-shutdown'
        : removed.some((id) => brokers.live.has(id))
          ? 'replica-offline'
          : 'isr-member-lost',
    };
  }
  return null;
}

/**
 * Whether the partition's leader is a damaged replica that keeps leading because no other in-sync replica
 * may take over (the controller says so): it serves up to its damage until another one catches up.
 */
export function damagedLeaderKept(current: PartitionState, brokers: BrokerLiveness): boolean {
  return (
    current.leader >= 0 &&
    brokers.live.has(current.leader) &&
    (brokers.damagedReplicas?.has(current.leader) ?? false)
  );
}

/** Whether a replica stays in (and may lead from) the ISR: its broker is up, staying and its log whole. */
function keepsIsr(id: number, brokers: BrokerLiveness): boolean {
  return brokers.live.has(id) && !brokers.shuttingDown.has(id) && !brokers.damagedReplicas?.has(id);
}

/** Moves leadership back to the preferred (first) replica when it is live, in sync and not leading. */
export function preferredLeaderChange(
  current: PartitionState,
  replicas: readonly number[],
  brokers: BrokerLiveness,
  controllerEpoch: number,
): StateChange | null {
  const preferred = replicas[0]!;
  if (current.leader === preferred || current.leader < 0) return null;
  if (!current.isr.includes(preferred) || !keepsIsr(preferred, brokers)) return null;
  if (brokers.offlineReplicas?.has(preferred)) return null;
  return {
    state: {
      version: 1,
      controllerEpoch,
      leader: preferred,
      leaderEpoch: current.leaderEpoch + 1,
      isr: current.isr,
    },
    reason: 'preferred-leader',
  };
}

/** The state of a new partition: the first live replica leads, every live replica is in sync. */
export function initialState(
  replicas: readonly number[],
  brokers: BrokerLiveness,
  controllerEpoch: number,
): PartitionState | null {
  const live = replicas.filter((id) => brokers.live.has(id));
  if (live.length === 0) return null;
  return { version: 1, controllerEpoch, leader: live[0]!, leaderEpoch: 0, isr: live };
}

/** What an admin's election (ElectLeaders) of a partition comes to before or after the controller's pass. */
export type AdminElectionVerdict = { errorCode: number; message: string | null } | 'elect';

/**
 * Kafka's answers to ElectLeaders for one partition from its state: ELECTION_NOT_NEEDED when the preferred
 * replica already leads (preferred) or a leader is up (unclean); PREFERRED_LEADER_NOT_AVAILABLE /
 * ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica may take over; otherwise 'elect', for the controller.
 */
export function adminElectionVerdict(
  type: ElectionType,
  current: PartitionState | undefined,
  replicas: readonly number[],
  brokers: BrokerLiveness,
): AdminElectionVerdict {
  const leader = current?.leader ?? -1;
  if (type === ElectionType.PREFERRED) {
    const preferred = replicas[0]!;
    if (leader === preferred)
      return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, message: `broker ${preferred} already leads` };
    if (current && preferredLeaderChange(current, replicas, brokers, current.controllerEpoch)) return 'elect';
    return {
      errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
      message: `preferred replica ${preferred} is not live and in sync, or the partition has no leader to hand over from`,
    };
  }
  if (leader >= 0 && brokers.live.has(leader))
    return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, message: `broker ${leader} leads` };
  if (electLeader(replicas, current?.isr ?? [], brokers, true) >= 0) return 'elect';
  return {
    errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
    message: `no replica of ${replicas.join(',')} is live`,
  };
}

/** The outcome of an election the controller carried out, read from the state it left. */
export function adminElectionResult(
  type: ElectionType,
  state: PartitionState | null,
  replicas: readonly number[],
): { errorCode: number; message: string | null } {
  const leader = state?.leader ?? -1;
  if (type === ElectionType.PREFERRED) {
    return leader === replicas[0]
      ? { errorCode: ErrorCode.NONE, message: null }
      : {
          errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
          message: `preferred replica ${replicas[0]} could not be elected (no longer live and in sync?)`,
        };
  }
  return leader >= 0
    ? { errorCode: ErrorCode.NONE, message: null }
    : { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, message: 'no live replica could be elected' };
}

/**
 * A state that names brokers that are no longer replicas (a reassignment was cancelled or completed under
 * it): they leave the ISR, and leadership moves to the first in-sync replica if the leader is one of them.
 */
export function fitToReplicas(
  current: PartitionState,
  replicas: readonly number[],
  brokers: BrokerLiveness,
  controllerEpoch: number,
): StateChange | null {
  const isr = current.isr.filter((id) => replicas.includes(id));
  const leaderStays = current.leader < 0 || replicas.includes(current.leader);
  if (leaderStays && isr.length === current.isr.length) return null;
  const leader = leaderStays ? current.leader : electLeader(replicas, isr, brokers, false);
  return {
    // With no in-sync replica left among them the partition is offline until one returns.
    state: {
      version: 1,
      controllerEpoch,
      leader,
      leaderEpoch: current.leaderEpoch + 1,
      isr: isr.length > 0 ? isr : current.isr,
    },
    reason: 'reassignment',
  };
}

/**
 * The state that completes a reassignment, or null while it must wait: every added replica is in the ISR
 * (it has caught up), and a replica of the target is live and in sync to lead (the current leader stays if
 * it is one). The ISR keeps only target replicas; the removed ones then delete their copies.
 */
export function completedReassignment(
  current: PartitionState,
  replicas: readonly number[],
  reassignment: { adding: readonly number[]; removing: readonly number[] },
  brokers: BrokerLiveness,
  controllerEpoch: number,
): PartitionState | null {
  if (!reassignment.adding.every((id) => current.isr.includes(id))) return null;
  const target = replicas.filter((id) => !reassignment.removing.includes(id));
  const isr = current.isr.filter((id) => target.includes(id));
  const leader = target.includes(current.leader) ? current.leader : electLeader(target, isr, brokers, false);
  if (leader < 0 || !isr.includes(leader)) return null;
  return { version: 1, controllerEpoch, leader, leaderEpoch: current.leaderEpoch + 1, isr };
}
