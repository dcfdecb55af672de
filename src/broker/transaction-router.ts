import type { LogManager } from '../log/index.js';
import { type CoordinatorLocation, locateSelf } from './group-router.js';
import { TransactionCoordinator, type TransactionCoordinatorOptions } from './transaction-coordinator.js';
import { TRANSACTION_STATE_TOPIC } from './transaction-log.js';

/**
 * Compacted (the latest state of each transactional id is what counts) in small segments, so the cleaner
 * soon drops superseded states.
 */
export const TRANSACTION_STATE_TOPIC_CONFIG = {
  'cleanup.policy': 'compact',
  'segment.bytes': String(1024 * 1024),
  'retention.ms': '-1',
};

/**
 * Which coordinator runs each transactional id, as GroupRouter does for groups: a single node runs every
 * transactional id itself.
 */
export interface TransactionRouter {
  /** This broker's coordinator of the id, or null when another broker (or none) coordinates it. */
  coordinatorOf(transactionalId: string): TransactionCoordinator | null;
  /** Every coordinator this broker runs (ListTransactions). */
  all(): TransactionCoordinator[];
  locate(transactionalId: string, listener: string): CoordinatorLocation | Promise<CoordinatorLocation>;
  close(): void;
}

/** One node: one coordinator over partition 0 of its own `__transaction_state`, durable writes. */
export class LocalTransactions implements TransactionRouter {
  private constructor(
    private readonly coordinator: TransactionCoordinator,
    private readonly self: { nodeId: number; endpoints: ReadonlyMap<string, { host: string; port: number }> },
  ) {}

  static open(
    logs: LogManager,
    self: { nodeId: number; endpoints: ReadonlyMap<string, { host: string; port: number }> },
    options: TransactionCoordinatorOptions,
  ): LocalTransactions {
    if (!logs.hasTopic(TRANSACTION_STATE_TOPIC)) {
      logs.createTopic(TRANSACTION_STATE_TOPIC, 1, TRANSACTION_STATE_TOPIC_CONFIG);
    }
    const log = logs.partition(TRANSACTION_STATE_TOPIC, 0);
    const coordinator = TransactionCoordinator.load(
      log,
      { write: (payload) => log.write(payload), acknowledged: () => log.durable() },
      options,
    );
    return new LocalTransactions(coordinator, self);
  }

  coordinatorOf(): TransactionCoordinator {
    return this.coordinator;
  }

  all(): TransactionCoordinator[] {
    return [this.coordinator];
  }

  locate(_transactionalId: string, listener: string): CoordinatorLocation {
    return locateSelf(this.self, listener);
  }

  close(): void {
    this.coordinator.close();
  }
}
