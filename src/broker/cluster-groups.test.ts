import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { ClusterAnswer, ClusterNode, CreateTopicRequest } from '../cluster/index.js';
import { ErrorCode } from '../protocol/index.js';
import { ClusterGroups } from './cluster-groups.js';
import { OFFSETS_TOPIC } from './offset-store.js';

/**
 * The part of a ClusterNode that FindCoordinator reaches before the offsets topic exists: the shared view
 * (no topics yet) and topic creation, which answers what the test says.
 */
function clusterAnswering(answer: ClusterAnswer): { node: ClusterNode; requests: CreateTopicRequest[] } {
  const requests: CreateTopicRequest[] = [];
  const fake = {
    view: { topics: new Map(), brokers: new Map(), state: () => undefined },
    createTopic: async (request: CreateTopicRequest) => {
      requests.push(request);
      return answer;
    },
  };
  return { node: fake as unknown as ClusterNode, requests };
}

function groups(node: ClusterNode): ClusterGroups {
  return new ClusterGroups(node, {
    offsetsPartitions: 12,
    offsetsCommitTimeoutMs: 1_000,
    coordinator: { initialRebalanceDelayMs: 0, partitionExists: () => true },
    logger: pino({ level: 'silent' }),
  });
}

describe('ClusterGroups.locate before the offsets topic exists', () => {
  it('passes on why the offsets topic could not be created (ZooKeeper out of reach)', async () => {
    const why =
      "cannot create topic '__consumer_offsets': the controller is out of reach while ZooKeeper is (no answer for 5000 ms); try again once it is back";
    const { node, requests } = clusterAnswering({ errorCode: ErrorCode.NOT_CONTROLLER, message: why });
    const location = await groups(node).locate('dashboards', 'PLAINTEXT');
    assert.equal(location.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.ok('message' in location);
    assert.equal(location.message, `the offsets topic does not exist yet and cannot be created now: ${why}`);
    assert.deepEqual(
      requests.map((r) => [r.name, r.partitions]),
      [[OFFSETS_TOPIC, 12]],
    );
  });

  it('names the error code when the refusal carries no message', async () => {
    const { node } = clusterAnswering({ errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, message: null });
    const location = await groups(node).locate('dashboards', 'PLAINTEXT');
    assert.ok('message' in location);
    assert.match(location.message, /cannot be created now: INVALID_REPLICATION_FACTOR$/);
  });

  it('says the topic is being created when the creation was accepted but not seen yet', async () => {
    for (const errorCode of [ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS]) {
      const { node } = clusterAnswering({ errorCode, message: null });
      const location = await groups(node).locate('dashboards', 'PLAINTEXT');
      assert.equal(location.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      assert.ok('message' in location);
      assert.equal(location.message, 'the offsets topic is being created');
    }
  });
});
