import { WriteTxnMarkers, type WriteTxnMarkersResponse } from '../../protocol/apis/write-txn-markers.js';
import { AclOperation } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import type { TxnMarkerWriter } from '../transaction-markers.js';

type MarkerResult = WriteTxnMarkersResponse['markers'][number];

/**
 * WriteTxnMarkers: the coordinator-to-leader API (KIP-98). As Kafka, the caller needs CLUSTER_ACTION on the
 * cluster (brokers do; clients do not), else every partition answers CLUSTER_AUTHORIZATION_FAILED. Each
 * partition answers when its marker is durable and, on a cluster, on every in-sync replica.
 */
export function writeTxnMarkersHandler(writer: TxnMarkerWriter, access: Access): ApiHandler {
  return defineHandler(WriteTxnMarkers, async (request, context) => {
    const allowed = access.allowsCluster(context, WriteTxnMarkers.name, AclOperation.CLUSTER_ACTION);
    const markers = await Promise.all(
      request.markers.map(async (marker): Promise<MarkerResult> => {
        const partitions = marker.topics.flatMap((topic) =>
          topic.partitionIndexes.map((partition) => ({ topic: topic.name, partition })),
        );
        const results = allowed
          ? await writer.write(
              {
                producerId: marker.producerId,
                producerEpoch: marker.producerEpoch,
                coordinatorEpoch: marker.coordinatorEpoch,
                committed: marker.transactionResult,
              },
              partitions,
            )
          : partitions.map((p) => ({ ...p, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED }));
        return {
          producerId: marker.producerId,
          topics: marker.topics.map((topic) => ({
            name: topic.name,
            partitions: results
              .filter((result) => result.topic === topic.name)
              .map((result) => ({ partitionIndex: result.partition, errorCode: result.errorCode })),
          })),
        };
      }),
    );
    return { markers };
  });
}
