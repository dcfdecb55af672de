import { parseArgs } from 'node:util';
import pino from 'pino';
import { Broker } from '../broker/broker.js';
import { parseBrokerConfig } from '../broker/config.js';
import { untilSignal } from './signals.js';
import { UsageError } from './usage-error.js';

export const BROKER_USAGE = `  edgestream broker --data-dir DIR        run the Kafka-compatible broker
        [--listen HOST:PORT]               where clients connect (default 127.0.0.1:9092)
        [--advertised HOST:PORT]           the address given to clients in metadata
        [--listener PROTOCOL://HOST:PORT]  a listener in Kafka's form, repeatable, in place of --listen:
                                           PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
        [--advertised-listener PROTOCOL://HOST:PORT]  what clients of that listener are told (repeatable)
        [--tls-cert FILE --tls-key FILE]   PEM certificate and key of SSL/SASL_SSL listeners (reloaded on change)
        [--tls-ca FILE]                    PEM CA that client certificates must chain to
        [--tls-client-auth none|requested|required]  ask SSL clients for a certificate (principal: its subject)
        [--sasl-mechanism M]               PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (repeatable; default all three)
        [--max-reauth-ms N]                SASL sessions must re-authenticate within N ms (KIP-368; default 0: never)
        [--super-user User:NAME]           a principal allowed everything (repeatable)
        [--authorizer]                     check every request against the ACLs (a cluster's are shared in ZooKeeper)
        [--allow-everyone-if-no-acl-found] with --authorizer: a resource no ACL names is open to all
        [--metrics HOST:PORT]              Prometheus /metrics endpoint
        [--partitions N]                   partitions of auto-created topics (default 4)
        [--no-auto-create]                 refuse to create topics on first use
        [--node-id N]                      this broker's id in a cluster (default 1)
        [--zookeeper HOST:PORT,...]        join the replicated cluster this ZooKeeper ensemble coordinates
        [--rack R]                         spread each partition's replicas over racks
        [--zookeeper-session-timeout-ms N] how long a silent broker keeps its leaderships (default 6000)
        [--replica-lag-time-max-ms N]      a follower behind this long leaves the ISR (default 10000)
        [--min-insync-replicas N]          default min.insync.replicas of topics (default 1)
        [--leader-imbalance-check-interval-ms N]  how often the controller restores preferred leaders (default 30000)
`;

/** Runs the broker until SIGINT/SIGTERM, then finishes in-flight requests and flushes the logs. */
export async function brokerCommand(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        listen: { type: 'string' },
        advertised: { type: 'string' },
        metrics: { type: 'string' },
        partitions: { type: 'string' },
        'no-auto-create': { type: 'boolean' },
        'node-id': { type: 'string' },
        zookeeper: { type: 'string' },
        rack: { type: 'string' },
        'zookeeper-session-timeout-ms': { type: 'string' },
        'replica-lag-time-max-ms': { type: 'string' },
        'min-insync-replicas': { type: 'string' },
        'leader-imbalance-check-interval-ms': { type: 'string' },
        listener: { type: 'string', multiple: true },
        'advertised-listener': { type: 'string', multiple: true },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-client-auth': { type: 'string' },
        'sasl-mechanism': { type: 'string', multiple: true },
        'max-reauth-ms': { type: 'string' },
        'super-user': { type: 'string', multiple: true },
        authorizer: { type: 'boolean' },
        'allow-everyone-if-no-acl-found': { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (typeof values['data-dir'] !== 'string') throw new UsageError('broker needs --data-dir DIR');
  const number = (key: string) => (typeof values[key] === 'string' ? Number(values[key]) : undefined);
  for (const key of [
    'rack',
    'zookeeper-session-timeout-ms',
    'replica-lag-time-max-ms',
    'min-insync-replicas',
    'leader-imbalance-check-interval-ms',
  ]) {
    if (values[key] !== undefined && typeof values.zookeeper !== 'string') {
      throw new UsageError(`--${key} needs --zookeeper`);
    }
  }
  const cluster =
    typeof values.zookeeper === 'string'
      ? {
          zookeeper: values.zookeeper,
          ...(typeof values.rack === 'string' ? { rack: values.rack } : {}),
          zookeeperSessionTimeoutMs: number('zookeeper-session-timeout-ms'),
          replicaLagTimeMaxMs: number('replica-lag-time-max-ms'),
          minInsyncReplicas: number('min-insync-replicas'),
          preferredLeaderCheckIntervalMs: number('leader-imbalance-check-interval-ms'),
        }
      : null;
  const list = (key: string) => (Array.isArray(values[key]) ? values[key] : undefined);
  const text = (key: string) => (typeof values[key] === 'string' ? values[key] : undefined);
  const tlsCert = text('tls-cert');
  const tlsKey = text('tls-key');
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  if ((text('tls-ca') ?? text('tls-client-auth')) !== undefined && tlsCert === undefined) {
    throw new UsageError('--tls-ca and --tls-client-auth need --tls-cert and --tls-key');
  }
  if (values['allow-everyone-if-no-acl-found'] === true && values.authorizer !== true)
    throw new UsageError('--allow-everyone-if-no-acl-found needs --authorizer');
  if (list('listener') && text('listen') !== undefined)
    throw new UsageError('give --listen or --listener, not both');
  let config: ReturnType<typeof parseBrokerConfig>;
  try {
    config = parseBrokerConfig({
      cluster,
      nodeId: number('node-id'),
      dataDir: values['data-dir'],
      ...(typeof values.listen === 'string' ? { listen: values.listen } : {}),
      ...(typeof values.advertised === 'string' ? { advertised: values.advertised } : {}),
      ...(typeof values.metrics === 'string' ? { metricsListen: values.metrics } : {}),
      ...(typeof values.partitions === 'string' ? { defaultPartitions: Number(values.partitions) } : {}),
      autoCreateTopics: values['no-auto-create'] !== true,
      ...(list('listener') ? { listeners: list('listener') } : {}),
      ...(list('advertised-listener') ? { advertisedListeners: list('advertised-listener') } : {}),
      tls:
        tlsCert === undefined || tlsKey === undefined
          ? null
          : {
              cert: tlsCert,
              key: tlsKey,
              ca: text('tls-ca') ?? null,
              clientAuth: text('tls-client-auth'),
            },
      sasl: {
        ...(list('sasl-mechanism') ? { mechanisms: list('sasl-mechanism') } : {}),
        ...(number('max-reauth-ms') !== undefined ? { maxReauthMs: number('max-reauth-ms') } : {}),
      },
      superUsers: list('super-user') ?? [],
      authorizer: values.authorizer === true,
      allowEveryoneIfNoAclFound: values['allow-everyone-if-no-acl-found'] === true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime });
  const broker = await Broker.start(config, logger);
  const signal = await untilSignal();
  logger.info({ signal }, 'shutting down');
  await broker.close();
  return 0;
}
