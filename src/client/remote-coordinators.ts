import {
  type apiVersionsV3,
  type Broker,
  type Connection,
  type FindCoordinatorKeyTypes,
  findCoordinatorV4,
  findCoordinatorV5,
  findCoordinatorV6,
} from '@platformatic/kafka';
import type { ErrorCodeName } from '../protocol/index.js';
import { Backoff } from './backoff.js';
import { LogClientError } from './client-errors.js';
import { usableApi } from './remote-apis.js';
import { kafkaError, kafkaErrorWhere, NETWORK_ERROR_CODE } from './remote-errors.js';

/** Answers meaning the key's coordinator is elsewhere (or being elected): it is looked up again. */
const MOVED_ERRORS: readonly ErrorCodeName[] = ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE'];
/** Answers meaning the coordinator is busy with the key (completing a transaction, loading its log). */
const BUSY_ERRORS: readonly ErrorCodeName[] = ['CONCURRENT_TRANSACTIONS', 'COORDINATOR_LOAD_IN_PROGRESS'];

/**
 * Waits between attempts: short at first, since CONCURRENT_TRANSACTIONS usually clears within milliseconds
 * (the previous transaction's markers being written), longer while a coordinator is elected.
 */
export const COORDINATOR_RETRY_BACKOFF = { baseMs: 20, capMs: 1_000 } as const;

const FIND_COORDINATOR_APIS = [findCoordinatorV6.api, findCoordinatorV5.api, findCoordinatorV4.api];

export type CoordinatorKeyType = (typeof FindCoordinatorKeyTypes)[keyof typeof FindCoordinatorKeyTypes];
type SupportedApis = apiVersionsV3.ApiVersionsResponseApi[];

/** A request to a coordinator, given a connection to it and the API versions the cluster serves. */
export type CoordinatorRequest<T> = (connection: Connection, apis: SupportedApis) => Promise<T>;

/** The connections CoordinatorRequests sends on: a ConnectionPool. */
export interface CoordinatorConnections {
  get(broker: Broker): Promise<Connection>;
  getFirstAvailable(brokers: Broker[]): Promise<Connection>;
}

/** What CoordinatorRequests needs of the client: the cluster's brokers and the API versions they serve. */
export interface CoordinatorCluster {
  /** Every broker the cluster's metadata lists; FindCoordinator goes to the first that connects. */
  brokers(): Promise<Broker[]>;
  apis(): Promise<SupportedApis>;
}

/** Looks up the coordinator of a key: FindCoordinator, in production. */
export type FindCoordinator = (
  keyType: CoordinatorKeyType,
  key: string,
  apis: SupportedApis,
) => Promise<Broker>;

/**
 * Requests to the coordinator of a key (a transactional id, a group), sent without the library's clients, which
 * keep the first coordinator they found for good (see remote-transactions.ts). The coordinator is looked up
 * and remembered until it answers that it no longer is one, or a request to it fails on the network (the
 * library's request timeout counts as that too); busy answers are retried on the same coordinator. Every
 * retry waits (COORDINATOR_RETRY_BACKOFF); past the caller's deadline the last failure is thrown.
 */
export class CoordinatorRequests {
  private readonly coordinators = new Map<string, Broker>();

  constructor(
    private readonly connections: CoordinatorConnections,
    private readonly cluster: CoordinatorCluster,
    private readonly find: FindCoordinator = (keyType, key, apis) =>
      findCoordinator(connections, cluster, keyType, key, apis),
  ) {}

  /**
   * `request` sent to the coordinator of `key`, again (to a coordinator found afresh when it moved) until it is
   * answered, fails otherwise, or `deadlineMs` (a Date.now() time) would pass before the next attempt.
   */
  async send<T>(
    keyType: CoordinatorKeyType,
    key: string,
    deadlineMs: number,
    request: CoordinatorRequest<T>,
  ): Promise<T> {
    const backoff = new Backoff(COORDINATOR_RETRY_BACKOFF.baseMs, COORDINATOR_RETRY_BACKOFF.capMs);
    const cacheKey = `${keyType}:${key}`;
    for (;;) {
      try {
        const apis = await this.cluster.apis();
        let coordinator = this.coordinators.get(cacheKey);
        if (!coordinator) {
          coordinator = await this.find(keyType, key, apis);
          this.coordinators.set(cacheKey, coordinator);
        }
        return await request(await this.connections.get(coordinator), apis);
      } catch (error) {
        const moved = coordinatorMoved(error);
        if (!(moved || BUSY_ERRORS.some((id) => kafkaError(error, id)))) throw error;
        const delayMs = backoff.nextDelayMs();
        if (Date.now() + delayMs > deadlineMs) throw error;
        if (moved) this.coordinators.delete(cacheKey);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }
}

/** FindCoordinator, sent to the first broker that connects; its answer names the coordinator's address. */
async function findCoordinator(
  connections: CoordinatorConnections,
  cluster: CoordinatorCluster,
  keyType: CoordinatorKeyType,
  key: string,
  apis: SupportedApis,
): Promise<Broker> {
  const connection = await connections.getFirstAvailable(await cluster.brokers());
  const answer = await usableApi(apis, 'FindCoordinator', FIND_COORDINATOR_APIS).async(connection, keyType, [
    key,
  ]);
  const found = answer.coordinators.find((coordinator) => coordinator.key === key);
  if (!found) {
    throw new LogClientError(
      'UNSUPPORTED_BY_CLUSTER',
      `FindCoordinator answered no coordinator for '${key}'`,
    );
  }
  return { host: found.host, port: found.port };
}

/** The coordinator said it is not (or not yet) one, or could not be reached: it is looked up again. */
function coordinatorMoved(error: unknown): boolean {
  return (
    MOVED_ERRORS.some((id) => kafkaError(error, id)) || kafkaErrorWhere(error, 'code', NETWORK_ERROR_CODE)
  );
}
