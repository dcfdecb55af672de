import http from 'node:http';
import { parseArgs } from 'node:util';
import { Admin } from '@platformatic/kafka';
import pino from 'pino';
import { RemoteLogClient } from '../client/remote-client.js';
import { Mirror, MirrorMetrics, mirrorConfigSchema, mirrorOptionsFromConfig } from '../mirror/index.js';
import {
  connectionSecurityFlags,
  connectionSecurityFromFlags,
  connectionSecurityUsage,
  securityFromFlags,
} from './security-flags.js';
import { untilSignal } from './signals.js';
import { UsageError } from './usage-error.js';

export const MIRROR_USAGE = `  edgestream mirror --source HOST:PORT --target HOST:PORT --topics REGEX --prefix PREFIX
                                           forward topics to another cluster, exactly once across restarts
        [--client-id ID]                   client id prefix on both clusters (default edgestream-mirror)
        [--compression CODEC]              none (default), gzip, snappy or lz4 for batches sent to the target
        [--transactional-id ID]            forward in transactions under ID (default CLIENT_ID:PREFIX)
        [--no-transactions]                an idempotent producer instead, for a target without transactions
        [--sample-percent P]               forward P% of keys of every topic (deterministic by key hash)
        [--metrics HOST:PORT]              Prometheus /metrics endpoint
${connectionSecurityUsage('source-')}${connectionSecurityUsage('target-')}`;

/** Runs a mirror between two clusters until SIGINT/SIGTERM; exits 1 if it stops on an error of its own. */
export async function mirrorCommand(args: string[]): Promise<number> {
  const values = parseMirrorArgs(args);
  const parsed = mirrorConfigSchema.safeParse({
    target: values.target.split(','),
    security: securityFromFlags(values.flags, 'target-'),
    topics: values.topics,
    prefix: values.prefix,
    clientId: values.clientId,
    compression: values.compression,
    transactions: values.transactions,
    ...(values.transactionalId === undefined ? {} : { transactionalId: values.transactionalId }),
    policies:
      values.samplePercent === undefined
        ? []
        : [{ topics: '.*', samplePercent: Number(values.samplePercent) }],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`mirror: ${issue.path.join('.') || 'arguments'}: ${issue.message}`);
  }
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime });
  const sourceBrokers = values.source.split(',');
  const source = new RemoteLogClient({
    bootstrapBrokers: sourceBrokers,
    clientId: `${parsed.data.clientId}-source`,
    security: securityFromFlags(values.flags, 'source-'),
  });
  const admin = new Admin({
    clientId: `${parsed.data.clientId}-source-admin`,
    bootstrapBrokers: sourceBrokers,
    retries: 0,
    ...connectionSecurityFromFlags(values.flags, 'source-'),
  });
  const metrics = new MirrorMetrics();
  const mirror = new Mirror(
    mirrorOptionsFromConfig(
      parsed.data,
      { client: source, listTopics: () => admin.listTopics({ includeInternals: false }) },
      logger.child({ component: 'mirror' }),
      metrics,
    ),
  );
  const metricsServer = values.metrics === undefined ? null : await serveMetrics(values.metrics, metrics);
  await mirror.start();
  const signalled = untilSignal();
  let exitCode = 0;
  try {
    const signal = await Promise.race([signalled, mirror.whenStopped().then(() => null)]);
    logger.info({ signal }, 'shutting down');
  } catch (error) {
    exitCode = 1;
    process.stderr.write(`edgestream: ${error instanceof Error ? error.message : String(error)}\n`);
  } finally {
    await mirror.close();
    await Promise.allSettled([source.close(), admin.close()]);
    if (metricsServer) await new Promise((resolve) => metricsServer.close(resolve));
  }
  return exitCode;
}

interface MirrorArgs {
  source: string;
  target: string;
  topics: string;
  prefix: string;
  clientId: string;
  compression: string;
  transactions: boolean;
  transactionalId: string | undefined;
  samplePercent: string | undefined;
  metrics: string | undefined;
  /** Every flag as given, for the clusters' security settings. */
  flags: Record<string, unknown>;
}

function parseMirrorArgs(args: string[]): MirrorArgs {
  const values = parseMirrorFlags(args);
  for (const required of ['source', 'target', 'topics', 'prefix'] as const) {
    if (values[required] === undefined) throw new UsageError(`mirror needs --${required}`);
  }
  return {
    source: values.source!,
    target: values.target!,
    topics: values.topics!,
    prefix: values.prefix!,
    clientId: values['client-id'],
    compression: values.compression,
    transactions: !values['no-transactions'],
    transactionalId: values['transactional-id'],
    samplePercent: values['sample-percent'],
    metrics: values.metrics,
    flags: values,
  };
}

function parseMirrorFlags(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      options: {
        source: { type: 'string' },
        target: { type: 'string' },
        topics: { type: 'string' },
        prefix: { type: 'string' },
        'client-id': { type: 'string', default: 'edgestream-mirror' },
        compression: { type: 'string', default: 'none' },
        'transactional-id': { type: 'string' },
        'no-transactions': { type: 'boolean', default: false },
        'sample-percent': { type: 'string' },
        metrics: { type: 'string' },
        ...connectionSecurityFlags('source-'),
        ...connectionSecurityFlags('target-'),
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function serveMetrics(listen: string, metrics: MirrorMetrics): Promise<http.Server> {
  const match = /^([^\s:]+):(\d{1,5})$/.exec(listen);
  if (!match) throw new UsageError(`--metrics '${listen}' is not HOST:PORT`);
  const server = http.createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(match[2]), match[1], resolve);
  });
  return server;
}
