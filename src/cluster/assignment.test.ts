import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignReplicas } from './assignment.js';

test('three brokers, RF 3: every partition on every broker, leaders rotate', () => {
  const brokers = [1, 2, 3].map((id) => ({ id, rack: null }));
  const assignment = assignReplicas(brokers, 6, 3, 0);
  for (const replicas of assignment) assert.deepEqual([...replicas].sort(), [1, 2, 3]);
  assert.deepEqual(
    assignment.map((r) => r[0]),
    [1, 2, 3, 1, 2, 3],
  );
});

test('racks: each partition has one replica per rack when there are as many racks as replicas', () => {
  const brokers = [
    { id: 1, rack: 'a' },
    { id: 2, rack: 'a' },
    { id: 3, rack: 'b' },
    { id: 4, rack: 'b' },
    { id: 5, rack: 'c' },
    { id: 6, rack: 'c' },
  ];
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack]));
  for (const replicas of assignReplicas(brokers, 12, 3, 5)) {
    assert.equal(new Set(replicas.map((id) => rackOf.get(id))).size, 3, `replicas ${replicas}`);
  }
});

test('refuses a replication factor larger than the brokers', () => {
  assert.throws(() => assignReplicas([{ id: 1, rack: null }], 1, 3, 0), /larger than the 1 live brokers/);
});
