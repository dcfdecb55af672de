import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ClusterNode } from '../cluster/index.js';
import {
  AclAuthorizer,
  AclStore,
  type Authorizer,
  type CredentialSource,
  CredentialStore,
  CredentialStoreError,
  FileAclStorage,
  FileQuotaStorage,
  LoginThrottle,
  markUsersInCluster,
  QuotaStore,
  ReloadingTlsContext,
  type SaslSettings,
} from '../security/index.js';
import type { ClientQuotas } from './client-quotas.js';
import { type BrokerConfig, listenersOf } from './config.js';

/**
 * After a failed SASL authentication from an address, its next attempt is refused unchecked for 100 ms,
 * doubling per further failure up to 5 s; forgotten after a quiet minute.
 */
const KAFKA_LOGIN_THROTTLE = {
  firstDelayMs: 100,
  maxDelayMs: 5000,
  forgetAfterMs: 60_000,
  maxSources: 10_000,
};

export interface BrokerSecurity {
  tls: ReloadingTlsContext | null;
  sasl: SaslSettings | null;
  /**
   * The SASL users, opened whatever the listeners so AlterUserScramCredentials can add the first ones before
   * a SASL listener serves them: one small file, read again only when it changes; in a cluster the users
   * every broker shares in ZooKeeper.
   */
  credentials: CredentialSource;
}

/**
 * The certificate the TLS listeners need, the SASL users, and the SASL settings of SASL listeners.
 * `clusterCredentials`: the cluster's users when the broker is in one (null otherwise).
 */
export function openSecurity(
  config: BrokerConfig,
  logger: Logger,
  clusterCredentials: CredentialSource | null,
): BrokerSecurity {
  const protocols = listenersOf(config).map((l) => l.protocol);
  const tls = config.tls
    ? new ReloadingTlsContext(
        {
          certFile: config.tls.cert,
          keyFile: config.tls.key,
          caFile: config.tls.ca,
          clientAuth: config.tls.clientAuth,
        },
        {
          reloaded: () => logger.info({ cert: config.tls!.cert }, 'TLS certificate reloaded'),
          reloadFailed: (error) =>
            logger.error({ err: error }, 'TLS certificate change not loaded; the previous one stays in use'),
        },
      )
    : null;
  const credentials = clusterCredentials ?? openLocalCredentials(config.dataDir, logger);
  markUsersInCluster(config.dataDir, config.cluster ? config.cluster.zookeeper : null);
  if (clusterCredentials) warnOfLocalUsers(config.dataDir, logger);
  let sasl: SaslSettings | null = null;
  if (protocols.includes('SASL_PLAINTEXT') || protocols.includes('SASL_SSL')) {
    if (!credentials.hasUsers()) {
      logger.warn(
        { dataDir: config.dataDir },
        config.cluster
          ? 'no SASL users yet: nobody can log in until one is added (edgestream user create NAME --brokers HOST:PORT)'
          : 'no SASL users yet: nobody can log in until one is added (edgestream user create NAME --data-dir DIR)',
      );
    }
    sasl = {
      mechanisms: config.sasl.mechanisms,
      credentials,
      maxReauthMs: config.sasl.maxReauthMs,
      decoySecret: randomBytes(32),
      loginThrottle: new LoginThrottle(KAFKA_LOGIN_THROTTLE),
    };
  }
  return { tls, sasl, credentials };
}

/** Users named in the warning of a broker that ignores its users file (all are counted). */
const MAX_USERS_NAMED = 50;

function openLocalCredentials(dataDir: string, logger: Logger): CredentialStore {
  return CredentialStore.open(dataDir, (error) =>
    logger.error({ err: error }, 'SASL users file change not loaded; the users read before stay in force'),
  );
}

/**
 * A broker that joins a cluster with users in its own file does not use them (nor copy them: the cluster's
 * users may already say otherwise): it says so, naming them and how to add them to the cluster.
 */
function warnOfLocalUsers(dataDir: string, logger: Logger): void {
  let local: CredentialStore;
  try {
    local = CredentialStore.open(dataDir);
  } catch (error) {
    // Not read, so not in the way: a file the broker ignores must not stop it.
    if (!(error instanceof CredentialStoreError)) throw error;
    logger.warn({ err: error }, 'SASL users file ignored in a cluster (and it does not parse)');
    return;
  }
  if (!local.hasUsers()) return;
  const users = local.describe().map((d) => d.user);
  logger.warn(
    { file: local.file, userCount: users.length, users: users.slice(0, MAX_USERS_NAMED) },
    'SASL users in this file are not used: in a cluster every broker uses the users kept in ZooKeeper; ' +
      'add those still needed with edgestream user create NAME --brokers HOST:PORT --password-stdin',
  );
}

/**
 * Who other brokers are when they fetch as followers: they connect to the PLAINTEXT listener (inter-broker
 * TLS and SASL are not built), where everyone is User:ANONYMOUS.
 */
export const INTER_BROKER_PRINCIPAL = 'User:ANONYMOUS';

/**
 * The ACL authorizer when the config turns it on, else null. A single broker keeps its ACLs in
 * `<dataDir>/security`, beside the SASL users; a broker in a cluster shares them with the others in
 * ZooKeeper, and lets the inter-broker principal do CLUSTER_ACTION whatever the ACLs say, so no ACL change
 * can stop replication (which is why a clustered broker's PLAINTEXT listener must stay on a private network).
 */
export async function openAuthorizer(
  config: BrokerConfig,
  cluster: ClusterNode | null,
): Promise<Authorizer | null> {
  if (!config.authorizer) return null;
  const storage = cluster?.acls ?? new FileAclStorage(path.join(config.dataDir, 'security'));
  const store = await AclStore.open(storage, { maxAcls: config.maxAcls });
  return new AclAuthorizer(store, {
    superUsers: config.superUsers,
    allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
    clusterActionPrincipals: cluster ? [INTER_BROKER_PRINCIPAL] : [],
  });
}

/** Most entities (users, client ids, pairs, defaults) with quotas. */
const MAX_QUOTA_ENTITIES = 10_000;

/**
 * The client quotas, applied to `quotas` now and on every change: in `<dataDir>/security/quotas.json` for a
 * single broker, shared in ZooKeeper by the brokers of a cluster (each enforces them on its own clients).
 */
export async function openQuotas(
  config: BrokerConfig,
  quotas: ClientQuotas,
  cluster: ClusterNode | null,
): Promise<QuotaStore> {
  const storage = cluster?.clientQuotas ?? new FileQuotaStorage(path.join(config.dataDir, 'security'));
  const store = await QuotaStore.open(storage, { maxEntities: MAX_QUOTA_ENTITIES });
  store.follow((kept) => quotas.update(kept));
  return store;
}
