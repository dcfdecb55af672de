import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { FindCoordinator } from '../../src/protocol/apis/find-coordinator.js';
import type { BrokerCluster } from './broker-cluster.js';
import { WireClient } from './wire-client.js';

/** FindCoordinator's key types. */
export const CoordinatorKey = { GROUP: 0, TRANSACTION: 1 } as const;
export type CoordinatorKeyType = (typeof CoordinatorKey)[keyof typeof CoordinatorKey];

const FindCoordinatorAnswer = z.object({
  coordinators: z.array(z.object({ nodeId: z.number(), errorCode: z.number() })),
});

/** A kafkajs client of the cluster, bootstrapping from every broker but `except`. */
export function kafkaOf(cluster: BrokerCluster, clientId: string, except = -1): Kafka {
  return new Kafka({
    clientId,
    brokers: cluster.brokers.filter((b) => b.id !== except).map((b) => `127.0.0.1:${b.advertisedPort}`),
    logLevel: logLevel.NOTHING,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

/**
 * The broker coordinating `key` (a group or a transactional id), as broker `via` answers FindCoordinator v4;
 * rejects when it names none (the internal topic being created, its partition without a leader).
 */
export async function coordinatorOf(
  cluster: BrokerCluster,
  keyType: CoordinatorKeyType,
  key: string,
  via: number,
): Promise<number> {
  const client = await WireClient.connect(cluster.broker(via).port);
  try {
    const answer = FindCoordinatorAnswer.parse(
      await client.request(FindCoordinator, 4, { keyType, coordinatorKeys: [key] }),
    );
    assert.equal(answer.coordinators[0]!.errorCode, 0);
    return answer.coordinators[0]!.nodeId;
  } finally {
    await client.close();
  }
}
