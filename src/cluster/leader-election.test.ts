import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../protocol/index.js';
import {
  type AdminElectionVerdict,
  adminElectionResult,
  adminElectionVerdict,
  type BrokerLiveness,
  completedReassignment,
  damagedLeaderKept,
  electLeader,
  fitToReplicas,
  initialState,
  preferredLeaderChange,
  reconcileState,
} from './leader-election.js';
import type { PartitionState } from './zk-layout.js';

const CONTROLLER_EPOCH = 9;

function brokers(live: number[], shuttingDown: number[] = []): BrokerLiveness {
  return { live: new Set(live), shuttingDown: new Set(shuttingDown) };
}

/** A state written by an earlier controller (epoch 4), so that a change visibly stamps the current one. */
function state(leader: number, leaderEpoch: number, isr: number[]): PartitionState {
  return { version: 1, controllerEpoch: 4, leader, leaderEpoch, isr };
}

describe('electLeader', () => {
  it('takes the first replica in assignment order that is live and in the ISR', () => {
    // The ISR lists 3 first, but the assignment order (preferred replica first) decides, as in Kafka.
    assert.equal(electLeader([1, 2, 3], [3, 2], brokers([1, 2, 3]), false), 2);
    assert.equal(electLeader([1, 2, 3], [3, 2], brokers([1, 3]), false), 3);
    assert.equal(electLeader([1, 2, 3], [1, 2, 3], brokers([1, 2, 3]), false), 1);
  });

  it('never elects a broker in controlled shutdown, even a live in-sync one', () => {
    assert.equal(electLeader([1, 2, 3], [1, 2, 3], brokers([1, 2, 3], [1]), false), 2);
    assert.equal(electLeader([1, 2, 3], [1, 2], brokers([1, 2, 3], [1, 2]), false), -1);
  });

  it('elects an out-of-sync replica only when unclean election is allowed', () => {
    // The ISR ({1}) is gone; 2 and 3 are live but may miss acknowledged records.
    assert.equal(electLeader([1, 2, 3], [1], brokers([2, 3]), false), -1);
    assert.equal(electLeader([1, 2, 3], [1], brokers([2, 3]), true), 2);
    // Unclean or not, a shutting-down broker is not a candidate.
    assert.equal(electLeader([1, 2, 3], [1], brokers([2, 3], [2]), true), 3);
    assert.equal(electLeader([1, 2, 3], [1], brokers([], []), true), -1);
  });

  it('prefers a clean candidate over an earlier unclean one when unclean election is allowed', () => {
    assert.equal(electLeader([1, 2, 3], [3], brokers([1, 2, 3]), true), 3);
  });
});

describe('reconcileState', () => {
  it('leader lost: the next live ISR member leads at epoch+1 and dead brokers leave the ISR', () => {
    const change = reconcileState(
      state(1, 5, [1, 2, 3]),
      [1, 2, 3],
      brokers([2, 3]),
      CONTROLLER_EPOCH,
      false,
    );
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: 2, leaderEpoch: 6, isr: [2, 3] },
      reason: 'leader-lost',
    });
    const alsoFollowerDead = reconcileState(
      state(1, 5, [1, 2, 3]),
      [1, 2, 3],
      brokers([3]),
      CONTROLLER_EPOCH,
      false,
    );
    assert.deepEqual(alsoFollowerDead?.state, {
      version: 1,
      controllerEpoch: CONTROLLER_EPOCH,
      leader: 3,
      leaderEpoch: 6,
      isr: [3],
    });
  });

  it('leader lost: a live replica outside the ISR is not elected without unclean election', () => {
    // Broker 3 is live but was out of sync: the partition goes offline and keeps its last ISR, since only
    // broker 1 or 2 is sure to hold every acknowledged record.
    const change = reconcileState(state(1, 5, [1, 2]), [1, 2, 3], brokers([3]), CONTROLLER_EPOCH, false);
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: -1, leaderEpoch: 6, isr: [1, 2] },
      reason: 'leader-lost',
    });
  });

  it('leader lost with unclean election: a live out-of-sync replica leads alone', () => {
    const change = reconcileState(state(1, 5, [1, 2]), [1, 2, 3], brokers([3]), CONTROLLER_EPOCH, true);
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: 3, leaderEpoch: 6, isr: [3] },
      reason: 'leader-lost',
    });
  });

  it('an offline partition with nobody back stays as it is', () => {
    assert.equal(reconcileState(state(-1, 6, [1, 2]), [1, 2, 3], brokers([]), CONTROLLER_EPOCH, false), null);
    // An out-of-sync replica coming back changes nothing without unclean election.
    assert.equal(
      reconcileState(state(-1, 6, [1, 2]), [1, 2, 3], brokers([3]), CONTROLLER_EPOCH, false),
      null,
    );
  });

  it('an offline partition recovers when a member of its last ISR returns', () => {
    const change = reconcileState(state(-1, 6, [1, 2]), [1, 2, 3], brokers([2, 3]), CONTROLLER_EPOCH, false);
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: 2, leaderEpoch: 7, isr: [2] },
      reason: 'offline-recovered',
    });
  });

  it('a shutting-down leader hands over to the next in-sync replica and leaves the ISR', () => {
    const change = reconcileState(
      state(1, 5, [1, 2, 3]),
      [1, 2, 3],
      brokers([1, 2, 3], [1]),
      CONTROLLER_EPOCH,
      false,
    );
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: 2, leaderEpoch: 6, isr: [2, 3] },
      reason: 'controlled-shutdown',
    });
  });

  it('a shutting-down leader keeps leading when nobody else is in sync', () => {
    assert.equal(
      reconcileState(state(1, 5, [1]), [1, 2, 3], brokers([1, 2, 3], [1]), CONTROLLER_EPOCH, false),
      null,
    );
    // Not even with unclean election allowed: the leader is alive and has every record, so electing an
    // out-of-sync replica would throw acknowledged records away for nothing (Kafka's controlled shutdown
    // election is never unclean).
    assert.equal(
      reconcileState(state(1, 5, [1]), [1, 2, 3], brokers([1, 2, 3], [1]), CONTROLLER_EPOCH, true),
      null,
    );
  });

  it('a dead follower leaves the ISR at epoch+1 under the same leader', () => {
    const change = reconcileState(
      state(1, 5, [1, 2, 3]),
      [1, 2, 3],
      brokers([1, 2]),
      CONTROLLER_EPOCH,
      false,
    );
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: 1, leaderEpoch: 6, isr: [1, 2] },
      reason: 'isr-member-lost',
    });
  });

  it('a shutting-down follower leaves the ISR for a controlled shutdown', () => {
    const change = reconcileState(
      state(1, 5, [1, 2, 3]),
      [1, 2, 3],
      brokers([1, 2, 3], [3]),
      CONTROLLER_EPOCH,
      false,
    );
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: 1, leaderEpoch: 6, isr: [1, 2] },
      reason: 'controlled-shutdown',
    });
  });

  it('nothing to do: null, and a live replica outside the ISR is not added by the controller', () => {
    assert.equal(
      reconcileState(state(1, 5, [1, 2, 3]), [1, 2, 3], brokers([1, 2, 3]), CONTROLLER_EPOCH, false),
      null,
    );
    // Only the leader adds a follower back, once it has caught up.
    assert.equal(
      reconcileState(state(1, 5, [1, 2]), [1, 2, 3], brokers([1, 2, 3]), CONTROLLER_EPOCH, true),
      null,
    );
    // A dead replica outside the ISR concerns nobody.
    assert.equal(
      reconcileState(state(1, 5, [1, 2]), [1, 2, 3], brokers([1, 2]), CONTROLLER_EPOCH, false),
      null,
    );
  });
});

describe('replicas reported offline (/brokers/offline_replicas)', () => {
  /** All three brokers live; `damaged` still hold their damage, `refetching` are cut and fetching again. */
  function reporting(damaged: number[], refetching: number[] = []): BrokerLiveness {
    return {
      ...brokers([1, 2, 3]),
      offlineReplicas: new Set([...damaged, ...refetching]),
      damagedReplicas: new Set(damaged),
    };
  }

  it('a damaged leader hands over to the next in-sync replica and leaves the ISR', () => {
    const change = reconcileState(state(1, 5, [1, 2, 3]), [1, 2, 3], reporting([1]), CONTROLLER_EPOCH, false);
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: 2, leaderEpoch: 6, isr: [2, 3] },
      reason: 'replica-offline',
    });
  });

  it('a damaged leader that is the only in-sync replica keeps leading, unclean election or not', () => {
    for (const unclean of [false, true]) {
      assert.equal(
        reconcileState(state(1, 5, [1]), [1, 2, 3], reporting([1]), CONTROLLER_EPOCH, unclean),
        null,
      );
    }
    assert.equal(damagedLeaderKept(state(1, 5, [1]), reporting([1])), true);
    assert.equal(damagedLeaderKept(state(1, 5, [1]), reporting([], [1])), false);
    assert.equal(damagedLeaderKept(state(1, 5, [1]), brokers([1, 2, 3])), false);
  });

  it('a damaged follower leaves the ISR at epoch+1 under the same leader', () => {
    const change = reconcileState(state(1, 5, [1, 2, 3]), [1, 2, 3], reporting([3]), CONTROLLER_EPOCH, false);
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: 1, leaderEpoch: 6, isr: [1, 2] },
      reason: 'replica-offline',
    });
  });

  it('a refetching replica stays in the ISR its leader gave it back, but is elected neither clean nor unclean', () => {
    assert.equal(
      reconcileState(state(1, 5, [1, 2]), [1, 2, 3], reporting([], [2]), CONTROLLER_EPOCH, false),
      null,
    );
    assert.equal(electLeader([1, 2, 3], [1, 2], reporting([], [1]), false), 2);
    assert.equal(electLeader([1, 2, 3], [1], { ...reporting([], [2, 3]), live: new Set([2, 3]) }, true), -1);
    // The leader is gone, the only other in-sync replica is reported: the partition goes offline.
    const lost = reconcileState(
      state(1, 5, [1, 2]),
      [1, 2, 3],
      { ...reporting([], [2]), live: new Set([2, 3]) },
      CONTROLLER_EPOCH,
      false,
    );
    assert.equal(lost?.state.leader, -1);
  });

  it('a reported preferred replica is not restored as leader', () => {
    assert.equal(
      preferredLeaderChange(state(2, 5, [1, 2, 3]), [1, 2, 3], reporting([], [1]), CONTROLLER_EPOCH),
      null,
    );
    assert.equal(
      preferredLeaderChange(state(2, 5, [1, 2, 3]), [1, 2, 3], reporting([1]), CONTROLLER_EPOCH),
      null,
    );
  });
});

describe('preferredLeaderChange', () => {
  it('moves leadership back to the preferred replica at epoch+1, ISR unchanged', () => {
    const change = preferredLeaderChange(
      state(2, 6, [2, 3, 1]),
      [1, 2, 3],
      brokers([1, 2, 3]),
      CONTROLLER_EPOCH,
    );
    assert.deepEqual(change, {
      state: { version: 1, controllerEpoch: CONTROLLER_EPOCH, leader: 1, leaderEpoch: 7, isr: [2, 3, 1] },
      reason: 'preferred-leader',
    });
  });

  it('does nothing when the preferred replica leads, is out of sync, down or shutting down, or when offline', () => {
    assert.equal(
      preferredLeaderChange(state(1, 6, [1, 2, 3]), [1, 2, 3], brokers([1, 2, 3]), CONTROLLER_EPOCH),
      null,
    );
    assert.equal(
      preferredLeaderChange(state(2, 6, [2, 3]), [1, 2, 3], brokers([1, 2, 3]), CONTROLLER_EPOCH),
      null,
    );
    assert.equal(
      preferredLeaderChange(state(2, 6, [2, 3, 1]), [1, 2, 3], brokers([2, 3]), CONTROLLER_EPOCH),
      null,
    );
    assert.equal(
      preferredLeaderChange(state(2, 6, [2, 3, 1]), [1, 2, 3], brokers([1, 2, 3], [1]), CONTROLLER_EPOCH),
      null,
    );
    assert.equal(
      preferredLeaderChange(state(-1, 6, [1]), [1, 2, 3], brokers([1, 2, 3]), CONTROLLER_EPOCH),
      null,
    );
  });
});

describe('initialState', () => {
  it('the first live replica leads at epoch 0 and every live replica is in sync', () => {
    assert.deepEqual(initialState([3, 1, 2], brokers([1, 2, 3]), CONTROLLER_EPOCH), {
      version: 1,
      controllerEpoch: CONTROLLER_EPOCH,
      leader: 3,
      leaderEpoch: 0,
      isr: [3, 1, 2],
    });
    assert.deepEqual(initialState([3, 1, 2], brokers([1, 2]), CONTROLLER_EPOCH), {
      version: 1,
      controllerEpoch: CONTROLLER_EPOCH,
      leader: 1,
      leaderEpoch: 0,
      isr: [1, 2],
    });
  });

  it('is null when no replica is live', () => {
    assert.equal(initialState([1, 2], brokers([3]), CONTROLLER_EPOCH), null);
  });
});

describe('adminElectionVerdict and adminElectionResult (ElectLeaders)', () => {
  const replicas = [1, 2, 3];
  it('preferred: not needed when the first replica leads, elect when it is live and in sync, else unavailable', () => {
    const code = (verdict: AdminElectionVerdict) => (verdict === 'elect' ? 'elect' : verdict.errorCode);
    const all = brokers([1, 2, 3]);
    assert.equal(
      code(adminElectionVerdict(0, state(1, 3, [1, 2, 3]), replicas, all)),
      ErrorCode.ELECTION_NOT_NEEDED,
    );
    assert.equal(code(adminElectionVerdict(0, state(2, 3, [1, 2, 3]), replicas, all)), 'elect');
    // Out of the ISR (catching up), down, or shutting down: not available.
    assert.equal(
      code(adminElectionVerdict(0, state(2, 3, [2, 3]), replicas, all)),
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    );
    assert.equal(
      code(adminElectionVerdict(0, state(2, 3, [1, 2, 3]), replicas, brokers([2, 3]))),
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    );
    assert.equal(
      code(adminElectionVerdict(0, state(2, 3, [1, 2, 3]), replicas, brokers([1, 2, 3], [1]))),
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    );
    assert.equal(
      code(adminElectionVerdict(0, undefined, replicas, all)),
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    );
  });

  it('unclean: not needed while a leader is up, elect any live replica when none of the ISR is, else none eligible', () => {
    const code = (verdict: AdminElectionVerdict) => (verdict === 'elect' ? 'elect' : verdict.errorCode);
    assert.equal(
      code(adminElectionVerdict(1, state(2, 3, [2]), replicas, brokers([1, 2, 3]))),
      ErrorCode.ELECTION_NOT_NEEDED,
    );
    // Offline partition whose only in-sync replica (2) is gone; 3 is live but was behind.
    assert.equal(code(adminElectionVerdict(1, state(-1, 4, [2]), replicas, brokers([3]))), 'elect');
    assert.equal(
      code(adminElectionVerdict(1, state(-1, 4, [2]), replicas, brokers([4]))),
      ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
    );
  });

  it('reads the outcome from the state the controller left', () => {
    assert.equal(adminElectionResult(0, state(1, 5, [1, 2, 3]), replicas).errorCode, ErrorCode.NONE);
    assert.equal(
      adminElectionResult(0, state(2, 5, [2, 3]), replicas).errorCode,
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    );
    assert.equal(adminElectionResult(1, state(3, 5, [3]), replicas).errorCode, ErrorCode.NONE);
    assert.equal(adminElectionResult(1, null, replicas).errorCode, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
  });
});

describe('reassignments (fitToReplicas, completedReassignment)', () => {
  const reassigning = { adding: [4], removing: [3] };

  it('completes once the added replica is in sync, dropping the removed one from the ISR at a new epoch', () => {
    // Replicas during the reassignment: the target [1, 2, 4], then 3 being removed.
    assert.equal(
      completedReassignment(state(1, 5, [1, 2, 3]), [1, 2, 4, 3], reassigning, brokers([1, 2, 3, 4]), 9),
      null,
    );
    assert.deepEqual(
      completedReassignment(state(1, 5, [1, 2, 3, 4]), [1, 2, 4, 3], reassigning, brokers([1, 2, 3, 4]), 9),
      { version: 1, controllerEpoch: 9, leader: 1, leaderEpoch: 6, isr: [1, 2, 4] },
    );
  });

  it('moves leadership off a removed leader to the first in-sync replica of the target', () => {
    assert.deepEqual(
      completedReassignment(state(3, 5, [3, 1, 2, 4]), [1, 2, 4, 3], reassigning, brokers([1, 2, 3, 4]), 9),
      { version: 1, controllerEpoch: 9, leader: 1, leaderEpoch: 6, isr: [1, 2, 4] },
    );
    // No target replica live and in sync: it waits.
    assert.equal(
      completedReassignment(state(3, 5, [3, 4]), [1, 2, 4, 3], reassigning, brokers([3]), 9),
      null,
    );
  });

  it('fits a state to replicas that shrank under it (a cancelled reassignment)', () => {
    assert.equal(fitToReplicas(state(1, 5, [1, 2, 3]), [1, 2, 3], brokers([1, 2, 3, 4]), 9), null);
    assert.deepEqual(fitToReplicas(state(4, 5, [4, 1, 2, 3]), [1, 2, 3], brokers([1, 2, 3, 4]), 9), {
      state: { version: 1, controllerEpoch: 9, leader: 1, leaderEpoch: 6, isr: [1, 2, 3] },
      reason: 'reassignment',
    });
  });
});
