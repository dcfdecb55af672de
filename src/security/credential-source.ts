import type { CredentialChange, UserDescription } from './credential-store.js';
import type { ScramCredential, ScramMechanism } from './scram.js';

/**
 * Where a broker's SASL users are: its data directory (CredentialStore) or, in a cluster, ZooKeeper
 * (ClusterCredentials). A login looks a credential up synchronously, from memory: it never waits on a disk or
 * on the coordination service.
 */
export interface CredentialSource {
  /** The credential of `user` for `mechanism`, or null. */
  get(user: string, mechanism: ScramMechanism): ScramCredential | null;
  hasUsers(): boolean;
  /** Every user with the mechanisms it has, by name. */
  describe(): UserDescription[];
  /**
   * Applies `changes` in order, all or none (AlterUserScramCredentials: a user's changes are made only if all
   * of them are valid); a user left without credentials is removed. A CredentialStoreError says why not.
   */
  alter(changes: readonly CredentialChange[]): void | Promise<void>;
}
