import assert from 'node:assert/strict';
import { z } from 'zod';
import { FindCoordinator } from '../../src/protocol/apis/find-coordinator.js';
import type { BrokerCluster } from './broker-cluster.js';
import { WireClient } from './wire-client.js';

const FindCoordinatorAnswer = z.object({
  coordinators: z.array(z.object({ nodeId: z.number(), errorCode: z.number() })),
});

/** The broker coordinating `transactionalId`, as broker `via` answers FindCoordinator (key type 1). */
export async function transactionCoordinatorOf(
  cluster: BrokerCluster,
  transactionalId: string,
  via: number,
): Promise<number> {
  const client = await WireClient.connect(cluster.broker(via).port);
  try {
    const answer = FindCoordinatorAnswer.parse(
      await client.request(FindCoordinator, 4, { keyType: 1, coordinatorKeys: [transactionalId] }),
    );
    assert.equal(answer.coordinators[0]!.errorCode, 0);
    return answer.coordinators[0]!.nodeId;
  } finally {
    await client.close();
  }
}
