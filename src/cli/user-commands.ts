import fs from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import {
  CredentialStore,
  CredentialStoreError,
  checkUserName,
  isScramMechanism,
  makeScramCredential,
  SCRAM_MECHANISMS,
  type ScramMechanism,
} from '../security/index.js';
import { UsageError } from './usage-error.js';

export const USER_USAGE = `  edgestream user create NAME --data-dir DIR  add a SASL user (or set its password) on a broker's data directory
        [--mechanism M]                    SCRAM-SHA-512 (default) or SCRAM-SHA-256; PLAIN logins check it too
        [--iterations N]                   SCRAM iterations (default 8192, 4096-16384)
        --password-stdin | --password-file FILE   where the password comes from (never the command line)
  edgestream user list --data-dir DIR      the users and their mechanisms
  edgestream user delete NAME --data-dir DIR [--mechanism M]   remove a user (or one of its credentials)
`;

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

function openStore(dataDir: unknown, command: string): CredentialStore {
  if (typeof dataDir !== 'string') throw new UsageError(`user ${command} needs --data-dir DIR`);
  if (!fs.existsSync(dataDir)) throw new UsageError(`--data-dir ${dataDir} does not exist`);
  return CredentialStore.open(dataDir);
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
    'data-dir': { type: 'string' },
    mechanism: { type: 'string' },
    iterations: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    'password-file': { type: 'string' },
  });
  const name = userName(positionals, 'create');
  const mechanism = mechanismOf(values.mechanism) ?? 'SCRAM-SHA-512';
  const iterations = values.iterations === undefined ? DEFAULT_ITERATIONS : Number(values.iterations);
  const store = openStore(values['data-dir'], 'create');
  const password = readPassword(values);
  let credential: Awaited<ReturnType<typeof makeScramCredential>>;
  try {
    credential = await makeScramCredential(mechanism, password, iterations);
  } catch (error) {
    if (error instanceof RangeError)
      throw new UsageError(`--iterations ${values.iterations}: ${error.message}`);
    throw error;
  }
  store.upsert(name, mechanism, credential);
  process.stdout.write(`user ${name}: ${mechanism} credential stored (${iterations} iterations)\n`);
  return 0;
}

export async function userList(args: string[]): Promise<number> {
  const { values } = parse(args, { 'data-dir': { type: 'string' } });
  for (const { user, credentials } of openStore(values['data-dir'], 'list').describe()) {
    const mechanisms = credentials.map((c) => `${c.mechanism}(${c.iterations})`).join(' ');
    process.stdout.write(`${user}\t${mechanisms}\n`);
  }
  return 0;
}

export async function userDelete(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    'data-dir': { type: 'string' },
    mechanism: { type: 'string' },
  });
  const name = userName(positionals, 'delete');
  const mechanism = mechanismOf(values.mechanism);
  if (!openStore(values['data-dir'], 'delete').delete(name, mechanism)) {
    process.stderr.write(`edgestream: no ${mechanism ?? 'credential'} for user ${name}\n`);
    return 1;
  }
  process.stdout.write(`user ${name}: ${mechanism ?? 'every'} credential deleted\n`);
  return 0;
}
