import {
  type apiVersionsV3,
  type Broker,
  type Connection,
  type ConnectionPool,
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

/** The library's code for a request that got no answer within requestTimeoutMs. */
const TIMEOUT_ERROR_CODE = 'PLT_KFK_TIMEOUT';

/** Answers meaning the key's coordinator is elsewhere (or being elected): it is looked up again. */
const MOVED_ERRORS: readonly ErrorCodeName[] = ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE'];
/** Answers meaning the coordinator is busy with the key (completing a transaction, loading its log). */
const BUSY_ERRORS: readonly ErrorCodeName[] = ['CONCURRENT_TRANSACTIONS', 'COORDINATOR_LOAD_IN_PROGRESS'];

/**
 * Waits between attempts: short at first, since CONCURRENT_TRANSACTIONS usually clears within a few
 * milliseconds (the previous transaction's markers being written), longer while a coordinator is elected.
 */
const RETRY_BACKOFF_BASE_MS = 20;
const RETRY_BACKOFF_CAP_MS = 1_000;

const FIND_COORDINATOR_APIS = [findCoordinatorV6.api, findCoordinatorV5.api, findCoordinatorV4.api];

export type CoordinatorKeyType = (typeof FindCoordinatorKeyTypes)[keyof typeof FindCoordinatorKeyTypes];

/** A request to a coordinator, given a connection to it and the API versions the cluster serves. */
export type CoordinatorRequest<T> = (
  connection: Connection,
  apis: apiVersionsV3.ApiVersionsResponseApi[],
) => Promise<T>;

/** What CoordinatorRequests needs of the client: the cluster's brokers and the API versions they serve. */
export interface CoordinatorCluster {
  /** Every broker the cluster's metadata lists; FindCoordinator goes to the first that connects. */
  brokers(): Promise<Broker[]>;
  apis(): Promise<apiVersionsV3.ApiVersionsResponseApi[]>;
}

/**
 * Requests to the coordinator of a key (a transactional id, a group) over connections of their own, sent
 * without the library's client, which keeps the first coordinator it found for good (see remote-transactions).
 * The coordinator is looked up with FindCoordinator and remembered until it answers that it no longer is
 * one, or its connection fails; busy answers are retried with a short backoff. Bounded: past the deadline the
 * last failure is thrown.
 */
export class CoordinatorRequests {
  private readonly coordinators = new Map<string, Broker>();

  constructor(
    private readonly connections: ConnectionPool,
    private readonly cluster: CoordinatorCluster,
  ) {}

  /**
   * `request` sent to the coordinator of `key`, again (to a coordinator found afresh when it moved) until it is
   * answered, fails otherwise, or `deadlineMs` (a Date.now() time) passes.
   */
  async send<T>(
    keyType: CoordinatorKeyType,
    key: string,
    deadlineMs: number,
    request: CoordinatorRequest<T>,
  ): Promise<T> {
    const backoff = new Backoff(RETRY_BACKOFF_BASE_MS, RETRY_BACKOFF_CAP_MS);
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

  /** FindCoordinator, sent to the first broker that connects; its answer names the coordinator's address. */
  private async find(
    keyType: CoordinatorKeyType,
    key: string,
    apis: apiVersionsV3.ApiVersionsResponseApi[],
  ): Promise<Broker> {
    const connection = await this.connections.getFirstAvailable(await this.cluster.brokers());
    const answer = await usableApi(apis, 'FindCoordinator', FIND_COORDINATOR_APIS).async(
      connection,
      keyType,
      [key],
    );
    const found = answer.coordinators.find((coordinator) => coordinator.key === key);
    if (!found) {
      throw new LogClientError(
        'UNSUPPORTED_BY_CLUSTER',
        `FindCoordinator answered no coordinator for '${key}'`,
      );
    }
    return { host: found.host, port: found.port };
  }
}

/** The coordinator said it is not (or not yet) one, or could not be reached: it is looked up again. */
function coordinatorMoved(error: unknown): boolean {
  return (
    MOVED_ERRORS.some((id) => kafkaError(error, id)) ||
    kafkaErrorWhere(error, 'code', NETWORK_ERROR_CODE) ||
    kafkaErrorWhere(error, 'code', TIMEOUT_ERROR_CODE)
  );
}
