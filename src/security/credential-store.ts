import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CredentialSource } from './credential-source.js';
import { parseJsonText, writeJsonFile } from './json-file.js';
import {
  SCRAM_MAX_ITERATIONS,
  SCRAM_MIN_ITERATIONS,
  type ScramCredential,
  type ScramMechanism,
} from './scram.js';

/** Users a store holds at most: a broker checks credentials from memory. */
export const MAX_USERS = 10_000;
/** Longest user name, in characters. */
export const MAX_USER_NAME_CHARS = 256;
/** How often a lookup may look at the file for changes made by another process (offline `user create`). */
const RELOAD_CHECK_INTERVAL_MS = 1000;
const FILE_NAME = 'scram-credentials.json';
/** Beside the users file of a broker in a cluster: its users are in ZooKeeper, not in this directory. */
const CLUSTER_MARK_FILE = 'scram-credentials-in-cluster.json';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
const storedCredential = z.object({
  salt: base64,
  iterations: z.number().int().min(SCRAM_MIN_ITERATIONS).max(SCRAM_MAX_ITERATIONS),
  storedKey: base64,
  serverKey: base64,
});
const clusterMark = z.object({ version: z.literal(1), zookeeper: z.string().min(1) });
const storedFile = z.object({
  version: z.literal(1),
  users: z.record(
    z.string().min(1).max(MAX_USER_NAME_CHARS),
    z.object({
      'SCRAM-SHA-256': storedCredential.optional(),
      'SCRAM-SHA-512': storedCredential.optional(),
    }),
  ),
});
type StoredFile = z.infer<typeof storedFile>;
type StoredCredential = z.infer<typeof storedCredential>;

export interface UserDescription {
  user: string;
  credentials: Array<{ mechanism: ScramMechanism; iterations: number }>;
}

export type CredentialStoreErrorCode =
  | 'INVALID_USER_NAME'
  | 'USER_LIMIT'
  | 'INVALID_FILE'
  /** A user's node in the coordination service is not what the layout says: it is not overwritten. */
  | 'INVALID_NODE'
  /** The coordination service did not answer, or other writers kept winning: the change may not be made. */
  | 'UNAVAILABLE';

export class CredentialStoreError extends Error {
  override readonly name = 'CredentialStoreError';

  constructor(
    readonly code: CredentialStoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One change of `alter`: a credential to set, or null to remove the user's credential for the mechanism. */
export interface CredentialChange {
  user: string;
  mechanism: ScramMechanism;
  credential: ScramCredential | null;
}

/**
 * The SCRAM credentials of a broker's users, in `<dataDir>/security/scram-credentials.json` (salted, iterated
 * keys only). Written atomically; a running broker picks up changes another process made to the file.
 */
export class CredentialStore implements CredentialSource {
  private users: StoredFile['users'];
  private fileStamp: string;
  private checkedAtMs = 0;

  private constructor(
    readonly file: string,
    private readonly onReloadFailed: (error: CredentialStoreError) => void,
  ) {
    this.users = {};
    this.fileStamp = '';
    this.reload();
  }

  /**
   * Opens the store of `dataDir`; a file that does not parse is an error here. A change made later that does
   * not parse is reported to `onReloadFailed`, and the users read before stay in force.
   */
  static open(
    dataDir: string,
    onReloadFailed: (error: CredentialStoreError) => void = (error) => {
      throw error;
    },
  ): CredentialStore {
    const dir = path.join(dataDir, 'security');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return new CredentialStore(path.join(dir, FILE_NAME), onReloadFailed);
  }

  /** The stored credential of `user` for `mechanism`, or null. */
  get(user: string, mechanism: ScramMechanism): ScramCredential | null {
    this.reloadIfChanged();
    const stored = Object.hasOwn(this.users, user) ? this.users[user]![mechanism] : undefined;
    return stored ? decodeCredential(stored) : null;
  }

  hasUsers(): boolean {
    this.reloadIfChanged();
    return Object.keys(this.users).length > 0;
  }

  describe(): UserDescription[] {
    this.reloadIfChanged();
    return Object.entries(this.users)
      .map(([user, credentials]) => ({
        user,
        credentials: (Object.entries(credentials) as Array<[ScramMechanism, StoredCredential | undefined]>)
          .filter((entry): entry is [ScramMechanism, StoredCredential] => entry[1] !== undefined)
          .map(([mechanism, credential]) => ({ mechanism, iterations: credential.iterations })),
      }))
      .sort((a, b) => a.user.localeCompare(b.user));
  }

  /** Sets the credential of `user` for `mechanism`, adding the user if new. */
  upsert(user: string, mechanism: ScramMechanism, credential: ScramCredential): void {
    this.alter([{ user, mechanism, credential }]);
  }

  /**
   * Applies `changes` in order with one write of the file (AlterUserScramCredentials changes many users at
   * once); a user left without credentials is removed. Nothing is written if a name or the limit fails.
   */
  alter(changes: readonly CredentialChange[]): void {
    for (const { user } of changes) checkUserName(user);
    this.reload();
    const users = { ...this.users };
    for (const { user, mechanism, credential } of changes) {
      const remaining = { ...(Object.hasOwn(users, user) ? users[user] : {}) };
      if (credential === null) delete remaining[mechanism];
      else remaining[mechanism] = encodeCredential(credential);
      if (Object.keys(remaining).length === 0) delete users[user];
      else users[user] = remaining;
    }
    if (Object.keys(users).length > Math.max(MAX_USERS, Object.keys(this.users).length)) {
      throw new CredentialStoreError(
        'USER_LIMIT',
        `${MAX_USERS} users are stored at most; that is the limit`,
      );
    }
    this.write(users);
  }

  /** Removes the credential of `user` for `mechanism` (every mechanism if null); false if there was none. */
  delete(user: string, mechanism: ScramMechanism | null): boolean {
    this.reload();
    if (!Object.hasOwn(this.users, user)) return false;
    const users = { ...this.users };
    if (mechanism === null) {
      delete users[user];
    } else {
      const remaining = { ...users[user] };
      if (!remaining[mechanism]) return false;
      delete remaining[mechanism];
      if (Object.keys(remaining).length === 0) delete users[user];
      else users[user] = remaining;
    }
    this.write(users);
    return true;
  }

  private write(users: StoredFile['users']): void {
    const content: StoredFile = { version: 1, users };
    writeJsonFile(this.file, content, 0o600);
    this.users = users;
    this.fileStamp = stampOf(this.file);
  }

  private reloadIfChanged(): void {
    const now = Date.now();
    if (now - this.checkedAtMs < RELOAD_CHECK_INTERVAL_MS) return;
    this.checkedAtMs = now;
    const stamp = stampOf(this.file);
    if (stamp === this.fileStamp) return;
    try {
      this.reload();
    } catch (error) {
      if (!(error instanceof CredentialStoreError)) throw error;
      this.fileStamp = stamp;
      this.onReloadFailed(error);
    }
  }

  private reload(): void {
    const stamp = stampOf(this.file);
    if (stamp === '') {
      this.users = {};
      this.fileStamp = stamp;
      return;
    }
    const corrupt = (why: string) => new CredentialStoreError('INVALID_FILE', `${this.file}: ${why}`);
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      throw corrupt(`unreadable (${(error as Error).message})`);
    }
    this.users = parseJsonText(text, storedFile, corrupt).users;
    this.fileStamp = stamp;
  }
}

/**
 * Notes in `dataDir` whether its broker keeps its users in the ZooKeeper of a cluster (`zookeeper`, its
 * connect string) or in the directory (null), so offline user commands on the directory refuse rather than
 * change a file the broker does not read.
 */
export function markUsersInCluster(dataDir: string, zookeeper: string | null): void {
  const file = path.join(dataDir, 'security', CLUSTER_MARK_FILE);
  if (zookeeper === null) fs.rmSync(file, { force: true });
  else writeJsonFile(file, { version: 1, zookeeper } satisfies z.infer<typeof clusterMark>, 0o600);
}

/** The ZooKeeper connect string where the users of `dataDir`'s broker are kept, or null if in `dataDir`. */
export function usersInClusterOf(dataDir: string): string | null {
  const file = path.join(dataDir, 'security', CLUSTER_MARK_FILE);
  const corrupt = (why: string) => new CredentialStoreError('INVALID_FILE', `${file}: ${why}`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return parseJsonText(text, clusterMark, corrupt).zookeeper;
}

export function checkUserName(user: string): void {
  if (user.length === 0 || user.length > MAX_USER_NAME_CHARS || /[\p{Cc}]/u.test(user)) {
    throw new CredentialStoreError(
      'INVALID_USER_NAME',
      `user name ${JSON.stringify(user.slice(0, 40))}: expected 1 to ${MAX_USER_NAME_CHARS} characters without control characters`,
    );
  }
}

/** Size and modification time: what tells that another process rewrote the file (or '' if there is none). */
function stampOf(file: string): string {
  try {
    const stat = fs.statSync(file);
    return `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function encodeCredential(credential: ScramCredential): StoredCredential {
  return {
    salt: credential.salt.toString('base64'),
    iterations: credential.iterations,
    storedKey: credential.storedKey.toString('base64'),
    serverKey: credential.serverKey.toString('base64'),
  };
}

function decodeCredential(stored: StoredCredential): ScramCredential {
  return {
    salt: Buffer.from(stored.salt, 'base64'),
    iterations: stored.iterations,
    storedKey: Buffer.from(stored.storedKey, 'base64'),
    serverKey: Buffer.from(stored.serverKey, 'base64'),
  };
}
