import type { Logger } from 'pino';
import { BrokerChannel, type ClusterNode, endpointOf, type LeaderPartition } from '../cluster/index.js';
import { WriteTxnMarkers } from '../protocol/apis/write-txn-markers.js';
import { type DecodedResponseOf, ErrorCode } from '../protocol/index.js';
import { ClusterInternalTopic, replicatedLogWriter } from './cluster-internal-topic.js';
import { type CoordinatorLocation, offsetsPartitionOf } from './group-router.js';
import {
  type TopicPartition,
  TransactionCoordinator,
  type TransactionCoordinatorOptions,
} from './transaction-coordinator.js';
import { TRANSACTION_STATE_TOPIC } from './transaction-log.js';
import type { TxnMarker, TxnMarkerWriter } from './transaction-markers.js';
import { TRANSACTION_STATE_TOPIC_CONFIG, type TransactionRouter } from './transaction-router.js';

/** WriteTxnMarkers v1, the flexible version every broker here serves. */
const WRITE_TXN_MARKERS_VERSION = 1;
const CLIENT_ID = 'edgestream-txn-coordinator';

export interface ClusterTransactionsOptions {
  /** transaction.state.log.num.partitions */
  statePartitions: number;
  /** How long a state change waits for the ISR of its `__transaction_state` partition. */
  writeTimeoutMs: number;
  /** How long a marker request to another broker may take. */
  markerTimeoutMs: number;
  /** Writes markers to the partitions this broker leads. */
  localMarkers: TxnMarkerWriter;
  coordinator: Omit<TransactionCoordinatorOptions, 'markers' | 'coordinatorEpoch' | 'logger'>;
  logger: Logger;
}

/**
 * Transactions on a cluster, as Kafka runs them: a transactional id belongs to one partition of the
 * replicated `__transaction_state` (by the hash of its id), whose leader coordinates it. On becoming such a
 * leader this broker loads the partition (completing the transactions it finds prepared) and coordinates at
 * the partition's leader epoch, which the markers carry as their coordinator epoch; on losing it, clients
 * are told NOT_COORDINATOR. Markers go to each partition's leader: this broker's own log, or WriteTxnMarkers
 * to the other broker.
 */
export class ClusterTransactions implements TransactionRouter {
  private readonly coordinators = new Map<number, TransactionCoordinator>();
  private readonly topic: ClusterInternalTopic;
  private readonly markers: ClusterMarkerWriter;

  constructor(
    private readonly cluster: ClusterNode,
    private readonly options: ClusterTransactionsOptions,
  ) {
    this.topic = new ClusterInternalTopic(cluster, {
      name: TRANSACTION_STATE_TOPIC,
      label: 'the transaction state topic',
      partitions: options.statePartitions,
      config: TRANSACTION_STATE_TOPIC_CONFIG,
      createTimeoutMs: options.writeTimeoutMs,
      // Kafka's partition of a transactional id: the same Java String.hashCode rule as a group's.
      partitionOf: offsetsPartitionOf,
    });
    this.markers = new ClusterMarkerWriter(cluster, options.localMarkers, options.markerTimeoutMs);
  }

  /** The replica manager's hook: this broker leads a `__transaction_state` partition from now on. */
  becameLeader(leader: LeaderPartition): void {
    if (leader.topic !== TRANSACTION_STATE_TOPIC) return;
    const partition = leader.partition;
    this.coordinators.get(partition)?.close();
    const coordinator = TransactionCoordinator.load(
      leader.log,
      replicatedLogWriter(this.cluster, TRANSACTION_STATE_TOPIC, partition, this.options.writeTimeoutMs),
      {
        ...this.options.coordinator,
        markers: this.markers,
        coordinatorEpoch: leader.leaderEpoch,
        logger: this.options.logger,
      },
    );
    this.coordinators.set(partition, coordinator);
    this.options.logger.info(
      { partition, transactionalIds: coordinator.list().length },
      'coordinating the transactions of a transaction state partition',
    );
  }

  /** The replica manager's hook: another broker leads the partition now. */
  stoppedLeading(topic: string, partition: number): void {
    if (topic !== TRANSACTION_STATE_TOPIC) return;
    this.coordinators.get(partition)?.close();
    this.coordinators.delete(partition);
  }

  coordinatorOf(transactionalId: string): TransactionCoordinator | null {
    return this.coordinators.get(this.topic.partitionOfKey(transactionalId)) ?? null;
  }

  all(): TransactionCoordinator[] {
    return [...this.coordinators.values()];
  }

  locate(transactionalId: string, listener: string): Promise<CoordinatorLocation> {
    return this.topic.locate(transactionalId, listener);
  }

  close(): void {
    for (const coordinator of this.coordinators.values()) coordinator.close();
    this.coordinators.clear();
    this.markers.close();
  }
}

type MarkerResult = TopicPartition & { errorCode: number };

/** Markers to each partition's leader: here through the local writer, elsewhere with WriteTxnMarkers. */
class ClusterMarkerWriter implements TxnMarkerWriter {
  /** One connection per other broker, reused; at most one per broker of the cluster. */
  private readonly channels = new Map<number, BrokerChannel>();

  constructor(
    private readonly cluster: ClusterNode,
    private readonly local: TxnMarkerWriter,
    private readonly timeoutMs: number,
  ) {}

  async write(marker: TxnMarker, partitions: readonly TopicPartition[]): Promise<MarkerResult[]> {
    const view = this.cluster.view;
    const results: MarkerResult[] = [];
    const byLeader = new Map<number, TopicPartition[]>();
    for (const p of partitions) {
      if (!view.topics.has(p.topic)) {
        results.push({ ...p, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
        continue;
      }
      const leader = view.state(p.topic, p.partition)?.state.leader ?? -1;
      const list = byLeader.get(leader) ?? [];
      list.push(p);
      byLeader.set(leader, list);
    }
    const answers = await Promise.all(
      [...byLeader].map(([leader, list]) => {
        if (leader === this.cluster.brokerId) return this.local.write(marker, list);
        return this.remote(leader, marker, list);
      }),
    );
    return [...results, ...answers.flat()];
  }

  close(): void {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }

  private async remote(
    leader: number,
    marker: TxnMarker,
    partitions: readonly TopicPartition[],
  ): Promise<MarkerResult[]> {
    const notWritten = (errorCode: number) => partitions.map((p) => ({ ...p, errorCode }));
    const registration = this.cluster.view.brokers.get(leader);
    const endpoint = registration ? endpointOf(registration, 'PLAINTEXT') : null;
    // No leader (yet), or one not registered: the coordinator retries.
    if (!endpoint) return notWritten(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    let channel = this.channels.get(leader);
    if (channel) channel.retarget(endpoint);
    else {
      channel = new BrokerChannel(endpoint, CLIENT_ID, this.timeoutMs);
      this.channels.set(leader, channel);
    }
    const topics = new Map<string, number[]>();
    for (const p of partitions) topics.set(p.topic, [...(topics.get(p.topic) ?? []), p.partition]);
    let response: DecodedResponseOf<typeof WriteTxnMarkers>;
    try {
      response = await channel.request(
        WriteTxnMarkers,
        WRITE_TXN_MARKERS_VERSION,
        {
          markers: [
            {
              producerId: marker.producerId,
              producerEpoch: marker.producerEpoch,
              transactionResult: marker.committed,
              coordinatorEpoch: marker.coordinatorEpoch,
              topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
            },
          ],
        },
        this.timeoutMs,
      );
    } catch {
      // The broker is out of reach or timed out: the coordinator retries.
      return notWritten(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    const answered = new Map<string, number>();
    for (const topic of response.markers[0]?.topics ?? []) {
      for (const p of topic.partitions) answered.set(`${p.partitionIndex}:${topic.name}`, p.errorCode);
    }
    return partitions.map((p) => ({
      ...p,
      errorCode: answered.get(`${p.partition}:${p.topic}`) ?? ErrorCode.NOT_LEADER_OR_FOLLOWER,
    }));
  }
}
