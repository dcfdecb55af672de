import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../protocol/index.js';
import { planReassignment } from './reassignment.js';

const registered = new Set([1, 2, 3, 4]);
const settled = (replicas: number[]) => ({ replicas, adding: [], removing: [] });

describe('planReassignment', () => {
  it('adds the new replicas before the removed ones leave: target first, then the replicas being removed', () => {
    assert.deepEqual(planReassignment(settled([1, 2, 3]), [1, 2, 4], registered), {
      replicas: [1, 2, 4, 3],
      adding: [4],
      removing: [3],
    });
    assert.deepEqual(planReassignment(settled([1, 2, 3]), [2, 3], registered), {
      replicas: [2, 3, 1],
      adding: [],
      removing: [1],
    });
    // The same set in another order: nothing to add or remove.
    assert.deepEqual(planReassignment(settled([1, 2, 3]), [3, 1, 2], registered), settled([3, 1, 2]));
  });

  it('starts a reassignment of a partition being reassigned again from its original replicas', () => {
    const pending = { replicas: [1, 2, 4, 3], adding: [4], removing: [3] };
    assert.deepEqual(planReassignment(pending, [1, 3, 2], registered), settled([1, 3, 2]));
    assert.deepEqual(planReassignment(pending, null, registered), settled([1, 2, 3]));
  });

  it('refuses what Kafka refuses', () => {
    const code = (target: number[] | null) => {
      const plan = planReassignment(settled([1, 2, 3]), target, registered);
      return 'errorCode' in plan ? plan.errorCode : ErrorCode.NONE;
    };
    assert.equal(code(null), ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    assert.equal(code([]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal(code([1, 1, 2]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal(code([1, 2, 9]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  });

  it('asks only the replicas being added to be registered: the original ones are in the cluster already', () => {
    const onlyOneAndTwo = new Set([1, 2]);
    assert.deepEqual(planReassignment(settled([1, 2, 3]), [3, 1, 2], onlyOneAndTwo), settled([3, 1, 2]));
    assert.deepEqual(planReassignment(settled([1, 2, 3]), [1, 4], onlyOneAndTwo), {
      errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: 'broker 4 is not registered',
    });
  });
});
