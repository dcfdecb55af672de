import {
  AlterUserScramCredentials,
  type AlterUserScramCredentialsRequest,
  type AlterUserScramCredentialsResponse,
} from '../../protocol/apis/alter-user-scram-credentials.js';
import {
  DescribeUserScramCredentials,
  type DescribeUserScramCredentialsResponse,
} from '../../protocol/apis/describe-user-scram-credentials.js';
import {
  AclOperation,
  type CredentialChange,
  type CredentialSource,
  CredentialStoreError,
  checkUserName,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MECHANISM_CODES,
  SCRAM_MIN_ITERATIONS,
  scramCredentialFromSaltedPassword,
  scramMechanismOfCode,
} from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../error-codes.js';

/** A salt longer than this is no salt a client made (they are 16 to 64 bytes); it would only grow the file. */
const MAX_SALT_BYTES = 1024;

type AlterResult = AlterUserScramCredentialsResponse['results'][number];
type DescribeResult = DescribeUserScramCredentialsResponse['results'][number];
type Deletion = AlterUserScramCredentialsRequest['deletions'][number];
type Upsertion = AlterUserScramCredentialsRequest['upsertions'][number];

interface Failure {
  errorCode: number;
  errorMessage: string;
}

export interface UserScramHandlerOptions {
  credentials: CredentialSource;
  access: Access;
}

/**
 * DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554) over the broker's SASL users (its data
 * directory, or ZooKeeper in a cluster) as Kafka answers them: DESCRIBE on the cluster to list users, ALTER
 * to change them. Alter answers once per user named, and a user's changes are made only if all are valid.
 */
export function userScramHandlers(options: UserScramHandlerOptions): ApiHandler[] {
  return [describeHandler(options), alterHandler(options)];
}

function describeHandler({ credentials, access }: UserScramHandlerOptions): ApiHandler {
  return defineHandler(DescribeUserScramCredentials, (request, context) => {
    if (!access.allowsCluster(context, DescribeUserScramCredentials.name, AclOperation.DESCRIBE)) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: `${context.session.principal} may not describe users: it lacks DESCRIBE on the cluster`,
        results: [],
      };
    }
    const known = new Map(credentials.describe().map((d) => [d.user, d.credentials]));
    const infosOf = (user: string): DescribeResult['credentialInfos'] =>
      known.get(user)!.map(({ mechanism, iterations }) => ({
        mechanism: SCRAM_MECHANISM_CODES[mechanism],
        iterations,
      }));
    // As Kafka: no list, or an empty one, describes every user.
    if (request.users === null || request.users.length === 0) {
      const results = [...known.keys()].map((user) => ({
        user,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        credentialInfos: infosOf(user),
      }));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
    }
    const counts = countBy(request.users.map((u) => u.name));
    const results = [...counts].map(([user, count]): DescribeResult => {
      if (count > 1) {
        return failedDescribe(user, {
          errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: 'cannot describe the SCRAM credentials of the same user twice in one request',
        });
      }
      if (!known.has(user)) {
        return failedDescribe(user, {
          errorCode: ErrorCode.RESOURCE_NOT_FOUND,
          errorMessage: 'attempt to describe a user credential that does not exist',
        });
      }
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: infosOf(user) };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  });
}

function alterHandler({ credentials, access }: UserScramHandlerOptions): ApiHandler {
  return defineHandler(AlterUserScramCredentials, async (request, context) => {
    const users = [...new Set([...request.deletions, ...request.upsertions].map((op) => op.name))];
    if (!access.allowsCluster(context, AlterUserScramCredentials.name, AclOperation.ALTER)) {
      const errorMessage = `${context.session.principal} may not alter users: it lacks ALTER on the cluster`;
      const refusal = { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage };
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, ...refusal })) };
    }
    const { failures, changes } = validate(request, credentials);
    let storeFailure: Failure | null = null;
    try {
      if (changes.length > 0) await credentials.alter(changes);
    } catch (error) {
      if (!(error instanceof CredentialStoreError)) throw error;
      storeFailure = { errorCode: errorCodeOf(error), errorMessage: errorMessageOf(error) };
    }
    const results = users.map(
      (user): AlterResult => ({
        user,
        ...(failures.get(user) ?? storeFailure ?? { errorCode: ErrorCode.NONE, errorMessage: null }),
      }),
    );
    return { throttleTimeMs: 0, results };
  });
}

/**
 * Why each user's changes cannot be made, checked in Kafka's order: a bad name, mechanism or iteration
 * count; the same user and mechanism twice; a deletion of a credential that is not there. The changes are
 * those of the other users, deletions first.
 */
function validate(
  request: AlterUserScramCredentialsRequest,
  credentials: CredentialSource,
): { failures: Map<string, Failure>; changes: CredentialChange[] } {
  const failures = new Map<string, Failure>();
  const fail = (user: string, failure: Failure) => {
    if (!failures.has(user)) failures.set(user, failure);
  };
  const all = [...request.deletions, ...request.upsertions];
  const checked = all.map(checkOperation);
  checked.forEach((outcome, i) => {
    if ('errorCode' in outcome) fail(all[i]!.name, outcome);
  });
  const pairs = countBy(all.map((op) => `${op.mechanism}:${op.name}`));
  for (const op of all) {
    if (pairs.get(`${op.mechanism}:${op.name}`)! > 1) {
      fail(op.name, {
        errorCode: ErrorCode.DUPLICATE_RESOURCE,
        errorMessage: 'a user credential cannot be altered twice in the same request',
      });
    }
  }
  for (const { name, mechanism } of request.deletions) {
    if (!failures.has(name) && credentials.get(name, scramMechanismOfCode(mechanism)!) === null) {
      fail(name, {
        errorCode: ErrorCode.RESOURCE_NOT_FOUND,
        errorMessage: 'attempt to delete a user credential that does not exist',
      });
    }
  }
  const changes = checked.filter(
    (outcome, i): outcome is CredentialChange => !('errorCode' in outcome) && !failures.has(all[i]!.name),
  );
  return { failures, changes };
}

/** The change one deletion or upsertion makes, or why it is invalid on its own. */
function checkOperation(op: Deletion | Upsertion): Failure | CredentialChange {
  const unacceptable = (errorMessage: string) => ({
    errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
    errorMessage,
  });
  if (op.name.length === 0) return unacceptable('user name must not be empty');
  try {
    checkUserName(op.name);
  } catch (error) {
    if (!(error instanceof CredentialStoreError)) throw error;
    return unacceptable(error.message);
  }
  const mechanism = scramMechanismOfCode(op.mechanism);
  if (mechanism === null) {
    return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: 'unknown SCRAM mechanism' };
  }
  if (!('iterations' in op)) return { user: op.name, mechanism, credential: null };
  if (op.iterations < SCRAM_MIN_ITERATIONS) {
    return unacceptable(`too few iterations: at least ${SCRAM_MIN_ITERATIONS}`);
  }
  if (op.iterations > SCRAM_MAX_ITERATIONS) {
    return unacceptable(`too many iterations: at most ${SCRAM_MAX_ITERATIONS}`);
  }
  if (op.salt.length === 0 || op.salt.length > MAX_SALT_BYTES) {
    return unacceptable(`a salt of ${op.salt.length} bytes: expected 1 to ${MAX_SALT_BYTES}`);
  }
  try {
    // A copy of the salt: the request's bytes are a view of the frame.
    const salt = Buffer.from(op.salt);
    const credential = scramCredentialFromSaltedPassword(mechanism, op.saltedPassword, op.iterations, salt);
    return { user: op.name, mechanism, credential };
  } catch (error) {
    // A salted password of the wrong length for the mechanism's hash.
    if (!(error instanceof RangeError)) throw error;
    return unacceptable(error.message);
  }
}

function failedDescribe(user: string, failure: Failure): DescribeResult {
  return { user, ...failure, credentialInfos: [] };
}

function countBy(keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}
