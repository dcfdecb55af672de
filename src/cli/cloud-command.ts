import { parseArgs } from 'node:util';
import { Admin } from '@platformatic/kafka';
import pino from 'pino';
import { RemoteLogClient } from '../client/remote-client.js';
import { buildCloudTopology, MAX_TOP } from '../monitor/cloud-pipeline.js';
import { type Duration, toMillis } from '../streams/duration.js';
import { StreamsApp } from '../streams/streams-app.js';
import {
  CONNECTION_SECURITY_FLAGS,
  connectionSecurityFromFlags,
  connectionSecurityUsage,
  securityFromFlags,
} from './security-flags.js';
import { untilSignal } from './signals.js';
import { UsageError } from './usage-error.js';

export const CLOUD_USAGE = `  edgestream cloud --brokers HOST:PORT    rank the worst edge servers over every site's forwarded aggregates
        [--sources REGEX]                  forwarded topics (default ^.+\\.cdn\\.aggregates$, the prefix names the site)
        [--output TOPIC]                   rankings as JSON, one per window (default cloud.worst-edges)
        [--metric M] [--field F] [--top N] default edge_tcp_10s, retransmit_pct, 10
        [--lateness DURATION]              how late a site's windows may arrive and still count (default 1m)
${connectionSecurityUsage('')}`;

const DEFAULTS = {
  sources: '^.+\\.cdn\\.aggregates$',
  suffix: '.cdn.aggregates',
  output: 'cloud.worst-edges',
  metric: 'edge_tcp_10s',
  field: 'retransmit_pct',
  top: 10,
} as const;

/** The window of a metric named `<dimension>_<family>_<window>`, e.g. 10 s for edge_tcp_10s. */
function windowOf(metric: string): number {
  const window = /_(\d+(?:ms|s|m|h))$/.exec(metric)?.[1];
  if (window === undefined)
    throw new UsageError(`--metric '${metric}' does not end in a window such as _10s`);
  return toMillis(window as Duration);
}

/**
 * The cloud layer's pipeline: a consumer group on the central cluster that merges every site's forwarded
 * aggregates into one ranking per window. Runs until SIGINT/SIGTERM.
 */
export async function cloudCommand(args: string[]): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        brokers: { type: 'string' },
        sources: { type: 'string', default: DEFAULTS.sources },
        output: { type: 'string', default: DEFAULTS.output },
        metric: { type: 'string', default: DEFAULTS.metric },
        field: { type: 'string', default: DEFAULTS.field },
        top: { type: 'string', default: String(DEFAULTS.top) },
        lateness: { type: 'string', default: '1m' },
        ...CONNECTION_SECURITY_FLAGS,
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.brokers === undefined) throw new UsageError('cloud needs --brokers HOST:PORT');
  let sources: RegExp;
  try {
    sources = new RegExp(values.sources!);
  } catch (error) {
    throw new UsageError(`--sources: ${(error as Error).message}`);
  }
  const top = Number(values.top);
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP)
    throw new UsageError(`--top expects an integer in [1, ${MAX_TOP}], got '${values.top}'`);
  const window = windowOf(values.metric!);
  let lateness: number;
  try {
    lateness = toMillis(values.lateness as Duration);
  } catch {
    throw new UsageError(`--lateness expects a duration such as 30s or 1m, got '${values.lateness}'`);
  }
  const bootstrapBrokers = values.brokers.split(',');
  const admin = new Admin({
    clientId: 'edgestream-cloud-admin',
    bootstrapBrokers,
    retries: 0,
    ...connectionSecurityFromFlags(values),
  });
  const topics = (await admin.listTopics({ includeInternals: false })).filter((topic) => sources.test(topic));
  await admin.close();
  if (topics.length === 0) throw new UsageError(`no topic on ${values.brokers} matches --sources ${sources}`);
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime });
  const client = new RemoteLogClient({
    bootstrapBrokers,
    clientId: 'edgestream-cloud',
    security: securityFromFlags(values),
  });
  const app = new StreamsApp({ applicationId: 'edgestream-cloud', client, logger });
  buildCloudTopology(app.builder, {
    sourceTopics: topics,
    suffix: DEFAULTS.suffix,
    outputTopic: values.output!,
    metric: values.metric!,
    field: values.field!,
    top,
    window,
    maxOutOfOrderness: lateness,
  });
  await app.start();
  logger.info({ sources: topics, output: values.output }, 'cloud pipeline started');
  const signal = await untilSignal();
  logger.info({ signal }, 'shutting down');
  await app.close();
  await client.close();
  return 0;
}
