import type { Logger } from 'pino';
import {
  CoordinationError,
  type CoordinationOp,
  type Coordinator,
  onNewSession,
  type Versioned,
} from '../coordination/index.js';
import {
  type CredentialChange,
  type CredentialSource,
  CredentialStoreError,
  checkUserName,
  MAX_USERS,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MECHANISMS,
  SCRAM_MIN_ITERATIONS,
  type ScramCredential,
  type ScramMechanism,
  type UserDescription,
} from '../security/index.js';
import { decodeNode, encodeNode, Paths, TopicConfigNode, userNodeName, userOfNodeName } from './zk-layout.js';

/** Retry delay of a read that failed while ZooKeeper was out of reach. */
const RELOAD_RETRY_MS = 250;
/**
 * Compare-and-set rounds of one alter: a round fails only because another writer changed one of the same
 * users in between, so running out means sustained contention on those users.
 */
const MAX_ALTER_ROUNDS = 20;
/**
 * Users one alteration changes at most: its multi-op must stay well under ZooKeeper's 1 MiB request limit
 * (jute.maxbuffer), and a user's node is under 400 bytes with both mechanisms.
 */
export const MAX_USERS_PER_ALTER = 1000;

type Credentials = Partial<Record<ScramMechanism, ScramCredential>>;

/** A user's node as read: its credentials, and every key of its config (kept when the credentials change). */
interface UserNode {
  version: number;
  config: Record<string, string>;
  credentials: Credentials;
}

/**
 * The SASL users of a cluster, in ZooKeeper as Kafka keeps them: /config/users/<user> holds
 * `{"version":1,"config":{"SCRAM-SHA-512":"salt=...,stored_key=...,server_key=...,iterations=N"}}` (salted,
 * iterated keys only, never a password). Every broker keeps all users in memory, filled at start and kept
 * current by watches on the users' parent and on each user, read again in a new session after an expiry: a
 * login never waits on ZooKeeper and works while it is away. Changes are compare-and-set on the nodes'
 * versions in one multi-op, so two brokers altering at once never lose a change.
 */
export class ClusterCredentials implements CredentialSource {
  private readonly users = new Map<string, UserNode>();
  /** Users whose node has a watch set in this session (a watch fires once; one per node is enough). */
  private readonly watched = new Set<string>();
  /** Per key (a user, or '' for the list): the number of its newest read, so a late older read is dropped. */
  private readonly reads = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly logger: Logger,
  ) {}

  /** Reads every user; later changes arrive by watches. */
  async start(): Promise<void> {
    await this.coordinator.create(Paths.userConfigs, Buffer.alloc(0), { parents: true });
    this.unsubscribe = onNewSession(this.coordinator, () => {
      this.watched.clear();
      void this.loadList();
    });
    await this.loadList();
    await this.settled();
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
  }

  get(user: string, mechanism: ScramMechanism): ScramCredential | null {
    return this.users.get(user)?.credentials[mechanism] ?? null;
  }

  hasUsers(): boolean {
    return this.users.size > 0;
  }

  describe(): UserDescription[] {
    return [...this.users]
      .map(([user, node]) => ({
        user,
        credentials: SCRAM_MECHANISMS.filter((m) => node.credentials[m] !== undefined).map((mechanism) => ({
          mechanism,
          iterations: node.credentials[mechanism]!.iterations,
        })),
      }))
      .sort((a, b) => a.user.localeCompare(b.user));
  }

  /**
   * Applies `changes` in one multi-op that compares every user's node version with the one its new value was
   * computed from; when another writer came first, reads again and retries. Returns once the changes are in
   * this broker's memory too (a describe right after sees them).
   */
  async alter(changes: readonly CredentialChange[]): Promise<void> {
    for (const { user } of changes) checkUserName(user);
    const users = [...new Set(changes.map((c) => c.user))];
    if (users.length > MAX_USERS_PER_ALTER) {
      throw new CredentialStoreError(
        'USER_LIMIT',
        `${users.length} users in one alteration; a cluster changes at most ${MAX_USERS_PER_ALTER} at once`,
      );
    }
    try {
      for (let round = 0; round < MAX_ALTER_ROUNDS; round++) {
        const current = await Promise.all(users.map((user) => this.readUser(user)));
        const ops = users.flatMap((user, i) => opsFor(user, current[i]!, changes));
        const added = ops.filter((op) => op.op === 'create').length;
        if (added > 0 && this.users.size + added > MAX_USERS) {
          throw new CredentialStoreError(
            'USER_LIMIT',
            `${MAX_USERS} users are stored at most; that is the limit`,
          );
        }
        if (ops.length === 0) return;
        if (await this.coordinator.commit(ops)) {
          await Promise.all(users.map((user) => this.loadUser(user)));
          return;
        }
      }
    } catch (error) {
      if (!(error instanceof CoordinationError)) throw error;
      throw new CredentialStoreError(
        'UNAVAILABLE',
        `users not changed (or not known to be): ZooKeeper did not answer (${error.message})`,
      );
    }
    throw new CredentialStoreError(
      'UNAVAILABLE',
      `users not changed: other writers changed the same users ${MAX_ALTER_ROUNDS} times meanwhile`,
    );
  }

  /** Resolves once every read started so far (and those they started) has been applied. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** The user's node now, unwatched; a node that is not of the layout is an error (it is not overwritten). */
  private async readUser(user: string): Promise<UserNode | null> {
    const path = Paths.userConfig(userNodeName(user));
    const node = await this.coordinator.get(path);
    if (node === null) return null;
    const parsed = parseUserNode(path, node.data, node.version);
    if (parsed instanceof Error) throw new CredentialStoreError('INVALID_NODE', parsed.message);
    return parsed;
  }

  /** Reads the list of users (watched), and each user not watched yet. */
  private loadList(): Promise<void> {
    return this.read('', async () => {
      const names = (await this.coordinator.children(Paths.userConfigs, () => void this.loadList())) ?? [];
      const users = names.map(userOfNodeName).filter((user): user is string => user !== null);
      if (users.length > MAX_USERS) {
        this.logger.error(
          { users: users.length, limit: MAX_USERS },
          `more SASL users in ZooKeeper than a broker keeps; only the first ${MAX_USERS} by name can log in`,
        );
      }
      const kept = new Set(users.sort().slice(0, MAX_USERS));
      return () => {
        for (const user of this.users.keys()) {
          if (kept.has(user)) continue;
          // Read again if a later list has it: this list may be older than the user's own read.
          this.users.delete(user);
          this.watched.delete(user);
        }
        for (const user of kept) if (!this.watched.has(user)) void this.loadUser(user);
      };
    });
  }

  /** Reads one user, watching its node unless watched already: a change or deletion reads it again. */
  private loadUser(user: string): Promise<void> {
    const path = Paths.userConfig(userNodeName(user));
    return this.read(user, async () => {
      const watch = this.watched.has(user)
        ? undefined
        : () => {
            this.watched.delete(user);
            void this.loadUser(user);
          };
      this.watched.add(user);
      let node: Versioned | null;
      try {
        node = await this.coordinator.get(path, watch);
      } catch (error) {
        // A request that failed set no watch.
        if (watch) this.watched.delete(user);
        throw error;
      }
      const parsed = node === null ? null : parseUserNode(path, node.data, node.version);
      return () => {
        if (parsed instanceof Error) {
          this.logger.error({ err: parsed }, 'SASL user node not loaded; the user as read before stays');
        } else if (parsed === null || Object.keys(parsed.credentials).length === 0) {
          this.users.delete(user);
        } else {
          this.users.set(user, parsed);
        }
      };
    });
  }

  /** As ClusterView's reads: the newest read of a key wins; one failed on a lost connection is retried. */
  private read(key: string, load: () => Promise<() => void>): Promise<void> {
    const running = this.readOnce(key, load);
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
    return running;
  }

  private async readOnce(key: string, load: () => Promise<() => void>): Promise<void> {
    const number = (this.reads.get(key) ?? 0) + 1;
    this.reads.set(key, number);
    for (;;) {
      if (this.closed) return;
      try {
        const apply = await load();
        if (this.reads.get(key) === number && !this.closed) apply();
        return;
      } catch (error) {
        if (!(error instanceof CoordinationError)) throw error;
        if (this.reads.get(key) !== number || error.code === 'CLOSED') return;
        await new Promise((resolve) => setTimeout(resolve, RELOAD_RETRY_MS));
      }
    }
  }
}

/** The ops that give `user` its changed credentials, compared with the version they were computed from. */
function opsFor(
  user: string,
  current: UserNode | null,
  changes: readonly CredentialChange[],
): CoordinationOp[] {
  const path = Paths.userConfig(userNodeName(user));
  const config = { ...current?.config };
  for (const change of changes) {
    if (change.user !== user) continue;
    if (change.credential === null) delete config[change.mechanism];
    else config[change.mechanism] = formatCredential(change.credential);
  }
  const data = encodeNode({ version: 1, config });
  if (current === null) {
    return Object.keys(config).length === 0 ? [] : [{ op: 'create', path, data }];
  }
  if (Object.keys(config).length === 0) return [{ op: 'delete', path, version: current.version }];
  return [{ op: 'set', path, data, version: current.version }];
}

/** Kafka's form of a SCRAM credential in ZooKeeper (ScramCredentialUtils.credentialToString). */
function formatCredential(credential: ScramCredential): string {
  return (
    `salt=${credential.salt.toString('base64')},stored_key=${credential.storedKey.toString('base64')},` +
    `server_key=${credential.serverKey.toString('base64')},iterations=${credential.iterations}`
  );
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parseCredential(text: string): ScramCredential | Error {
  const fields = new Map<string, string>();
  for (const field of text.split(',')) {
    const at = field.indexOf('=');
    if (at > 0) fields.set(field.slice(0, at), field.slice(at + 1));
  }
  const [salt, storedKey, serverKey] = ['salt', 'stored_key', 'server_key'].map((k) => fields.get(k) ?? '');
  const iterations = Number(fields.get('iterations'));
  if (![salt, storedKey, serverKey].every((value) => BASE64.test(value!))) {
    return new Error('expected salt, stored_key and server_key in base64');
  }
  if (
    !Number.isInteger(iterations) ||
    iterations < SCRAM_MIN_ITERATIONS ||
    iterations > SCRAM_MAX_ITERATIONS
  ) {
    return new Error(`expected iterations from ${SCRAM_MIN_ITERATIONS} to ${SCRAM_MAX_ITERATIONS}`);
  }
  return {
    salt: Buffer.from(salt!, 'base64'),
    iterations,
    storedKey: Buffer.from(storedKey!, 'base64'),
    serverKey: Buffer.from(serverKey!, 'base64'),
  };
}

function parseUserNode(path: string, data: Buffer, version: number): UserNode | Error {
  const node = decodeNode(TopicConfigNode, path, data);
  if (node instanceof Error) return node;
  const credentials: Credentials = {};
  for (const mechanism of SCRAM_MECHANISMS) {
    const text = node.config[mechanism];
    if (text === undefined) continue;
    const credential = parseCredential(text);
    if (credential instanceof Error) return new Error(`${path}: ${mechanism}: ${credential.message}`);
    credentials[mechanism] = credential;
  }
  return { version, config: node.config, credentials };
}
