import fs from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import {
  CredentialStore,
  CredentialStoreError,
  checkUserName,
  isScramMechanism,
  makeScramCredential,
  newScramSalt,
  SCRAM_MECHANISMS,
  type ScramMechanism,
  usersInClusterOf,
} from '../security/index.js';
import {
  CONNECTION_SECURITY_FLAGS,
  connectionSecurityFromFlags,
  connectionSecurityUsage,
} from './security-flags.js';
import { UsageError } from './usage-error.js';
import {
  deleteRemoteUser,
  describeRemoteUsers,
  type RemoteBrokers,
  type RemoteUserDescription,
  upsertRemoteUser,
} from './user-remote.js';

export const USER_USAGE = `  edgestream user create NAME --data-dir DIR  add a SASL user (or set its password) on a broker's data directory
        [--mechanism M]                    SCRAM-SHA-512 (default) or SCRAM-SHA-256; PLAIN logins check it too
        [--iterations N]                   SCRAM iterations (default 8192, 4096-16384)
        --password-stdin | --password-file FILE   where the password comes from (never the command line)
  edgestream user list --data-dir DIR      the users and their mechanisms
  edgestream user delete NAME --data-dir DIR [--mechanism M]   remove a user (or one of its credentials)
        (online, through a running broker: --brokers HOST:PORT,... instead of --data-dir, as a client with
         ALTER (create, delete) or DESCRIBE (list) on the cluster; the password is salted before it is sent;
         the only way for a broker in a cluster, whose users are shared by every broker, in ZooKeeper)
${connectionSecurityUsage('')}`;

/** Where the users are: a data directory (offline) or a running broker (Kafka's user SCRAM APIs). */
type UserTarget = { store: CredentialStore } | { remote: RemoteBrokers };

const TARGET_FLAGS = {
  'data-dir': { type: 'string' },
  brokers: { type: 'string' },
  ...CONNECTION_SECURITY_FLAGS,
} as const;

const DEFAULT_ITERATIONS = 8192;
/** A password longer than this is a mistake (a file passed for the wrong flag). */
const MAX_PASSWORD_BYTES = 1024;

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function targetOf(values: Record<string, unknown>, command: string): UserTarget {
  const dataDir = values['data-dir'];
  const brokers = values.brokers;
  if (typeof dataDir === 'string' && typeof brokers === 'string') {
    throw new UsageError(`user ${command} takes --data-dir DIR or --brokers HOST:PORT, not both`);
  }
  if (typeof brokers === 'string') {
    return { remote: { brokers: brokers.split(','), security: connectionSecurityFromFlags(values) } };
  }
  if (typeof dataDir !== 'string') {
    throw new UsageError(`user ${command} needs --data-dir DIR (offline) or --brokers HOST:PORT (online)`);
  }
  if (!fs.existsSync(dataDir)) throw new UsageError(`--data-dir ${dataDir} does not exist`);
  const zookeeper = usersInClusterOf(dataDir);
  if (zookeeper !== null) {
    // Its broker reads the users from ZooKeeper: a change to the directory's file would do nothing.
    throw new UsageError(
      `--data-dir ${dataDir} is a broker's in the cluster of ZooKeeper ${zookeeper}, whose SASL users every ` +
        `broker shares: use --brokers HOST:PORT (any broker's PLAINTEXT listener) instead of --data-dir`,
    );
  }
  return { store: CredentialStore.open(dataDir) };
}

function mechanismOf(value: unknown): ScramMechanism | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || !isScramMechanism(value)) {
    throw new UsageError(`--mechanism ${String(value)}: expected one of ${SCRAM_MECHANISMS.join(', ')}`);
  }
  return value;
}

/** The first line of the password source, without its line ending. */
function readPassword(values: Record<string, unknown>): string {
  let text: string;
  if (values['password-stdin'] === true) text = fs.readFileSync(0, 'utf8');
  else if (typeof values['password-file'] === 'string')
    text = fs.readFileSync(values['password-file'], 'utf8');
  else throw new UsageError('user create needs --password-stdin or --password-file FILE');
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password.length === 0) throw new UsageError('the password is empty');
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw new UsageError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  return password;
}

function userName(positionals: string[], command: string): string {
  const [name, ...extra] = positionals;
  if (name === undefined || extra.length > 0) throw new UsageError(`user ${command} takes one NAME`);
  try {
    checkUserName(name);
  } catch (error) {
    if (error instanceof CredentialStoreError) throw new UsageError(error.message);
    throw error;
  }
  return name;
}

export async function userCreate(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...TARGET_FLAGS,
    mechanism: { type: 'string' },
    iterations: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    'password-file': { type: 'string' },
  });
  const name = userName(positionals, 'create');
  const mechanism = mechanismOf(values.mechanism) ?? 'SCRAM-SHA-512';
  const iterations = values.iterations === undefined ? DEFAULT_ITERATIONS : Number(values.iterations);
  const target = targetOf(values, 'create');
  const password = readPassword(values);
  try {
    if ('remote' in target) {
      await upsertRemoteUser(target.remote, name, mechanism, password, iterations, newScramSalt());
    } else {
      target.store.upsert(name, mechanism, await makeScramCredential(mechanism, password, iterations));
    }
  } catch (error) {
    // Salting checks the iteration count before it starts (4096 to 16384, as Kafka).
    if (error instanceof RangeError)
      throw new UsageError(`--iterations ${values.iterations}: ${error.message}`);
    throw error;
  }
  process.stdout.write(`user ${name}: ${mechanism} credential stored (${iterations} iterations)\n`);
  return 0;
}

export async function userList(args: string[]): Promise<number> {
  const { values } = parse(args, TARGET_FLAGS);
  const target = targetOf(values, 'list');
  const users: RemoteUserDescription[] =
    'remote' in target ? await describeRemoteUsers(target.remote, null) : target.store.describe();
  for (const { user, credentials } of users) {
    const mechanisms = credentials.map((c) => `${c.mechanism}(${c.iterations})`).join(' ');
    process.stdout.write(`${user}\t${mechanisms}\n`);
  }
  return 0;
}

export async function userDelete(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...TARGET_FLAGS, mechanism: { type: 'string' } });
  const name = userName(positionals, 'delete');
  const mechanism = mechanismOf(values.mechanism);
  const target = targetOf(values, 'delete');
  const deleted =
    'remote' in target
      ? await deleteRemote(target.remote, name, mechanism)
      : target.store.delete(name, mechanism);
  if (!deleted) {
    process.stderr.write(`edgestream: no ${mechanism ?? 'credential'} for user ${name}\n`);
    return 1;
  }
  process.stdout.write(`user ${name}: ${mechanism ?? 'every'} credential deleted\n`);
  return 0;
}

/**
 * Deletes over the protocol as the store does offline: a null mechanism is each the user has (asked first,
 * since a deletion names one mechanism); false if there is none.
 */
async function deleteRemote(
  remote: RemoteBrokers,
  name: string,
  mechanism: ScramMechanism | null,
): Promise<boolean> {
  const described = (await describeRemoteUsers(remote, null)).find((u) => u.user === name);
  const held = (described?.credentials ?? []).map((c) => c.mechanism).filter(isScramMechanism);
  const mechanisms = mechanism === null ? held : held.filter((m) => m === mechanism);
  if (mechanisms.length === 0) return false;
  await deleteRemoteUser(remote, name, mechanisms);
  return true;
}
