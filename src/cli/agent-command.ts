import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import {
  ACCESS_LOG_FORMATS,
  AGENT_DEFAULTS,
  AGENT_LIMITS,
  Agent,
  isAccessLogFormat,
  SPOOL_BYTES_MIN,
} from '../agent/index.js';
import { RemoteLogClient } from '../client/remote-client.js';
import { CONNECTION_SECURITY_FLAGS, connectionSecurityUsage, securityFromFlags } from './security-flags.js';
import { untilSignal } from './signals.js';
import { UsageError } from './usage-error.js';

export const AGENT_USAGE = `  edgestream agent --brokers HOST:PORT --edge NAME --site NAME
                                           run on an edge server: its connections' TCP stats (cdn.tcp), host TCP
                                           counters and access-log totals (cdn.host), CMCD player events (cdn.qoe)
        [--interval 1s]                    sampling interval (ms, s or m; default 1s)
        [--port 80]                        serving port whose connections are sampled; repeatable
        [--access-log FILE] [--format nginx|combined|json]   follow an access log, rotation-safe (format nginx by default)
        [--spool-dir DIR]                  store-and-forward spool (default $TMPDIR/edgestream-agent-EDGE)
        [--spool-max-bytes N]              spool bound; the oldest events go first past it (default 256 MiB)
${connectionSecurityUsage('')}`;

/** Runs the agent until SIGINT/SIGTERM; exits 1 when sampling fails for good (no `ss`, no /proc/net). */
export async function agentCommand(args: string[]): Promise<number> {
  const values = parseAgentArgs(args);
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime });
  const client = new RemoteLogClient({
    bootstrapBrokers: values.brokers,
    clientId: `edgestream-agent-${values.edge}`,
    security: securityFromFlags(values.flags),
  });
  const agent = new Agent({
    client,
    edge: values.edge,
    site: values.site,
    intervalMs: values.intervalMs,
    ports: values.ports,
    accessLog: values.accessLog,
    spoolDir: values.spoolDir,
    spoolBytesMax: values.spoolBytesMax,
    partitions: AGENT_DEFAULTS.partitions,
    logger,
  });
  let exitCode = 0;
  try {
    await agent.start();
    logger.info({ edge: values.edge, site: values.site, ports: values.ports }, 'agent started');
    const signal = await Promise.race([untilSignal(), agent.whenFailed()]);
    logger.info({ signal }, 'shutting down');
  } catch (error) {
    exitCode = 1;
    process.stderr.write(`edgestream: ${error instanceof Error ? error.message : String(error)}\n`);
  } finally {
    await agent.close().catch(() => undefined);
    await client.close();
  }
  return exitCode;
}

interface AgentArgs {
  brokers: string[];
  edge: string;
  site: string;
  intervalMs: number;
  ports: number[];
  accessLog: { path: string; format: 'nginx' | 'combined' | 'json' } | null;
  spoolDir: string;
  spoolBytesMax: number;
  flags: Record<string, unknown>;
}

const AGENT_FLAGS = {
  brokers: { type: 'string' },
  edge: { type: 'string' },
  site: { type: 'string' },
  interval: { type: 'string' },
  port: { type: 'string', multiple: true },
  'access-log': { type: 'string' },
  format: { type: 'string' },
  'spool-dir': { type: 'string' },
  'spool-max-bytes': { type: 'string' },
  ...CONNECTION_SECURITY_FLAGS,
} as const;

function parseAgentArgs(args: string[]): AgentArgs {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; strict: true; options: typeof AGENT_FLAGS }>>;
  try {
    parsed = parseArgs({ args, strict: true, options: AGENT_FLAGS });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  const required = (name: 'brokers' | 'edge' | 'site'): string => {
    const value = values[name];
    if (value === undefined || value === '') throw new UsageError(`agent: --${name} is required`);
    return value;
  };
  const edge = required('edge');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(edge)) {
    throw new UsageError(`agent: --edge expects 1-64 letters, digits, '.', '_' or '-', got '${edge}'`);
  }
  const ports = (values.port ?? AGENT_DEFAULTS.ports.map(String)).map((raw) => {
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new UsageError(`agent: --port expects a TCP port in [1, 65535], got '${raw}'`);
    }
    return port;
  });
  if (ports.length > AGENT_LIMITS.portsMax) {
    throw new UsageError(`agent: at most ${AGENT_LIMITS.portsMax} --port flags, got ${ports.length}`);
  }
  const accessLogPath = values['access-log'];
  const format = values.format ?? (accessLogPath === undefined ? undefined : 'nginx');
  if (format !== undefined && !isAccessLogFormat(format)) {
    throw new UsageError(`agent: --format expects ${ACCESS_LOG_FORMATS.join(', ')}, got '${format}'`);
  }
  if (format !== undefined && accessLogPath === undefined)
    throw new UsageError('agent: --format needs --access-log');
  const spoolBytesMax = Number(values['spool-max-bytes'] ?? AGENT_DEFAULTS.spoolBytesMax);
  if (!Number.isSafeInteger(spoolBytesMax) || spoolBytesMax < SPOOL_BYTES_MIN) {
    throw new UsageError(
      `agent: --spool-max-bytes expects an integer of at least ${SPOOL_BYTES_MIN}, got '${values['spool-max-bytes']}'`,
    );
  }
  return {
    brokers: required('brokers').split(','),
    edge,
    site: required('site'),
    intervalMs: intervalMsOf(values.interval),
    ports,
    accessLog: accessLogPath === undefined || format === undefined ? null : { path: accessLogPath, format },
    spoolDir: values['spool-dir'] ?? path.join(os.tmpdir(), `edgestream-agent-${edge}`),
    spoolBytesMax,
    flags: values,
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };

/** `500ms`, `1s`, `2.5s`, `1m`; a bare number is milliseconds. */
function intervalMsOf(raw: string | undefined): number {
  if (raw === undefined) return AGENT_DEFAULTS.intervalMs;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw);
  const intervalMs = match ? Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!) : Number.NaN;
  const { intervalMsMin, intervalMsMax } = AGENT_LIMITS;
  if (!(intervalMs >= intervalMsMin && intervalMs <= intervalMsMax)) {
    throw new UsageError(
      `agent: --interval expects ${intervalMsMin} ms to ${intervalMsMax / 60_000} min (e.g. 1s), got '${raw}'`,
    );
  }
  return intervalMs;
}
