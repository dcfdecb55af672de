import {
  alterUserScramCredentialsV0,
  ConnectionPool,
  describeUserScramCredentialsV0,
  parseBroker,
  ResponseError,
} from '@platformatic/kafka';
import type { ConnectionSecurity } from '../client/remote-security.js';
import { errorCodeName } from '../protocol/index.js';
import {
  SCRAM_MECHANISM_CODES,
  type ScramMechanism,
  saltPassword,
  scramMechanismOfCode,
} from '../security/index.js';

/**
 * `edgestream user ... --brokers`: users managed over the Kafka protocol (KIP-554), as kafka-configs.sh
 * does it. @platformatic/kafka's Admin has no SCRAM calls, so this takes its connection pool (which already
 * does the TLS and SASL login the security flags ask for, as every other remote command does) and sends its
 * own v0 request functions for the two APIs, the encoders our protocol tests check ours against. Our own
 * encoder over a raw socket would have needed a second SASL client. One broker is enough: a single broker
 * keeps its own users, and the brokers of a cluster share theirs (in ZooKeeper), so any broker that answers
 * is the one.
 */

const CLIENT_ID = 'edgestream-cli';
const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export interface RemoteUserDescription {
  user: string;
  credentials: Array<{ mechanism: ScramMechanism | 'UNKNOWN'; iterations: number }>;
}

/** A per-user failure the broker answered with: Kafka's code and message. */
export class RemoteUserError extends Error {
  override readonly name = 'RemoteUserError';

  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(`${errorCodeName(errorCode) ?? `error code ${errorCode}`}: ${message}`);
  }
}

export interface RemoteBrokers {
  brokers: string[];
  security: ConnectionSecurity;
}

async function withConnection<T>(
  { brokers, security }: RemoteBrokers,
  work: (connection: Parameters<typeof describeUserScramCredentialsV0.api.async>[0]) => Promise<T>,
): Promise<T> {
  const pool = new ConnectionPool(CLIENT_ID, {
    connectTimeout: CONNECT_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    ...security,
  });
  try {
    return await work(await pool.getFirstAvailable(brokers.map((b) => parseBroker(b))));
  } finally {
    await pool.close();
  }
}

/** The library throws on any error code in a response; per-user errors are answers here, not failures. */
async function answered<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ResponseError && error.response !== undefined) return error.response as T;
    throw error;
  }
}

/** Every user (`users` null) or the named ones; a named user the broker does not know is a RemoteUserError. */
export async function describeRemoteUsers(
  remote: RemoteBrokers,
  users: string[] | null,
): Promise<RemoteUserDescription[]> {
  const response = await withConnection(remote, (connection) =>
    answered(
      describeUserScramCredentialsV0.api.async(
        connection,
        // The library's type says an array; a null one is encoded as Kafka's null (every user).
        users === null ? (null as never) : users.map((name) => ({ name })),
      ),
    ),
  );
  if (response.errorCode !== 0) {
    throw new RemoteUserError(
      response.errorCode,
      response.errorMessage ?? `error code ${response.errorCode}`,
    );
  }
  return response.results.map((result) => {
    if (result.errorCode !== 0) {
      throw new RemoteUserError(
        result.errorCode,
        `user ${result.user}: ${result.errorMessage ?? 'no message'}`,
      );
    }
    return {
      user: result.user,
      credentials: result.credentialInfos.map(({ mechanism, iterations }) => ({
        mechanism: scramMechanismOfCode(mechanism) ?? 'UNKNOWN',
        iterations,
      })),
    };
  });
}

/**
 * Sets `user`'s credential for `mechanism` on the broker: the password is salted here (RFC 5802's Hi), so
 * only the salt and SaltedPassword travel, as KIP-554 has it.
 */
export async function upsertRemoteUser(
  remote: RemoteBrokers,
  user: string,
  mechanism: ScramMechanism,
  password: string,
  iterations: number,
  salt: Buffer,
): Promise<void> {
  const saltedPassword = await saltPassword(mechanism, password, iterations, salt);
  const code = SCRAM_MECHANISM_CODES[mechanism];
  await alter(remote, [], [{ name: user, mechanism: code, iterations, salt, saltedPassword }]);
}

/** Removes `user`'s credentials for `mechanisms`. */
export async function deleteRemoteUser(
  remote: RemoteBrokers,
  user: string,
  mechanisms: readonly ScramMechanism[],
): Promise<void> {
  const deletions = mechanisms.map((mechanism) => ({
    name: user,
    mechanism: SCRAM_MECHANISM_CODES[mechanism],
  }));
  await alter(remote, deletions, []);
}

async function alter(
  remote: RemoteBrokers,
  deletions: Parameters<typeof alterUserScramCredentialsV0.createRequest>[0],
  upsertions: Parameters<typeof alterUserScramCredentialsV0.createRequest>[1],
): Promise<void> {
  const response = await withConnection(remote, (connection) =>
    answered(alterUserScramCredentialsV0.api.async(connection, deletions, upsertions)),
  );
  for (const result of response.results) {
    if (result.errorCode !== 0) {
      throw new RemoteUserError(
        result.errorCode,
        `user ${result.user}: ${result.errorMessage ?? 'no message'}`,
      );
    }
  }
}
