import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Broker,
  Connection,
  FindCoordinatorKeyTypes,
  NetworkError,
  ResponseError,
} from '@platformatic/kafka';
import { ErrorCode } from '../protocol/index.js';
import { type CoordinatorConnections, CoordinatorRequests } from './remote-coordinators.js';

const END_TXN_KEY = 26;
const A: Broker = { host: 'a', port: 1 };
const B: Broker = { host: 'b', port: 2 };

/** A broker's answer with Kafka's error `code`, as the library's request builders throw it. */
function answered(code: number): ResponseError {
  return new ResponseError(END_TXN_KEY, 3, { '/': [code, null] }, {});
}

/**
 * A cluster whose FindCoordinator names the brokers of `found` in turn, with one (unconnected) Connection per
 * broker standing for it; brokers in `unreachable` refuse connections.
 */
function cluster(found: Broker[], unreachable: Broker[] = []) {
  const connections = new Map(found.map((broker) => [broker, new Connection('test')]));
  const pool: CoordinatorConnections = {
    get: async (broker) => {
      if (unreachable.includes(broker)) throw new NetworkError('connection refused');
      return connections.get(broker)!;
    },
    getFirstAvailable: async () => {
      throw new Error('FindCoordinator is faked');
    },
  };
  let finds = 0;
  const requests = new CoordinatorRequests(
    pool,
    { brokers: async () => found, apis: async () => [] },
    async () => found[Math.min(finds++, found.length - 1)]!,
  );
  const brokerOf = (connection: Connection) => [...connections].find(([, c]) => c === connection)![0];
  return { requests, brokerOf, finds: () => finds };
}

const soon = () => Date.now() + 10_000;
const TRANSACTION = FindCoordinatorKeyTypes.TRANSACTION;

describe('CoordinatorRequests', () => {
  it('looks the coordinator up again when it answers NOT_COORDINATOR', async () => {
    const { requests, brokerOf, finds } = cluster([A, B]);
    const sentTo: Broker[] = [];
    const answer = await requests.send(TRANSACTION, 'tx', soon(), async (connection) => {
      sentTo.push(brokerOf(connection));
      if (brokerOf(connection) === A) throw answered(ErrorCode.NOT_COORDINATOR);
      return 'done';
    });
    assert.equal(answer, 'done');
    assert.deepEqual(sentTo, [A, B]);
    assert.equal(finds(), 2);
  });

  it('moves to the coordinator found next when the connection to it fails', async () => {
    const { requests, brokerOf } = cluster([A, B], [A]);
    const sentTo: Broker[] = [];
    await requests.send(TRANSACTION, 'tx', soon(), async (connection) => {
      sentTo.push(brokerOf(connection));
    });
    assert.deepEqual(sentTo, [B]);
  });

  it('retries busy answers on the same coordinator, and remembers it for the next request', async () => {
    const { requests, brokerOf, finds } = cluster([A, B]);
    let attempts = 0;
    await requests.send(TRANSACTION, 'tx', soon(), async (connection) => {
      assert.equal(brokerOf(connection), A);
      if (++attempts < 3) throw answered(ErrorCode.CONCURRENT_TRANSACTIONS);
    });
    assert.equal(attempts, 3);
    await requests.send(TRANSACTION, 'tx', soon(), async (connection) => {
      assert.equal(brokerOf(connection), A);
    });
    assert.equal(finds(), 1);
  });

  it('throws any other answer at once', async () => {
    const { requests } = cluster([A]);
    let attempts = 0;
    await assert.rejects(
      requests.send(TRANSACTION, 'tx', soon(), async () => {
        attempts++;
        throw answered(ErrorCode.PRODUCER_FENCED);
      }),
      (error) => error instanceof ResponseError,
    );
    assert.equal(attempts, 1);
  });

  it('gives up with the last failure once the deadline would pass', async () => {
    const { requests } = cluster([A]);
    let attempts = 0;
    const started = Date.now();
    await assert.rejects(
      requests.send(TRANSACTION, 'tx', started + 300, async () => {
        attempts++;
        throw answered(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }),
      (error) => error instanceof ResponseError,
    );
    assert.ok(attempts > 1, `${attempts} attempts`);
    assert.ok(Date.now() - started < 2_000, 'bounded by the deadline');
  });
});
