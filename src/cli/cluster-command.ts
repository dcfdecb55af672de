import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Admin } from '@platformatic/kafka';
import { CLUSTER_ADMIN_USAGE } from './cluster-admin-commands.js';
import { untilSignal } from './signals.js';
import { SupervisedProcess } from './supervised-process.js';
import { UsageError } from './usage-error.js';
import { checkZooKeeperInstalled, type Ensemble, startZooKeeperEnsemble } from './zookeeper-ensemble.js';

export const CLUSTER_USAGE = `  edgestream cluster local [--nodes 3]    try a replicated cluster on this machine: a ZooKeeper ensemble of
        [--data-dir DIR]                   three (apt-get install zookeeper) and N brokers on 127.0.0.1; runs
        [--base-port 9092]                 until Ctrl-C (data in a temporary directory unless --data-dir)
${CLUSTER_ADMIN_USAGE}`;

const MAIN_SCRIPT = fileURLToPath(new URL('./main.js', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const PROBE_INTERVAL_MS = 250;
/** A broker's controlled shutdown is bounded by 10 s; past this it is killed. */
const BROKER_STOP_TIMEOUT_MS = 30_000;

interface LocalBroker {
  id: number;
  address: string;
  dataDir: string;
  logFile: string;
  process: SupervisedProcess;
}

function option(values: Record<string, string | boolean | undefined>, key: string): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
}

function positiveInteger(text: string, flag: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new UsageError(`${flag} expects an integer from 1 to ${max}, got '${text}'`);
  return value;
}

function lastLines(file: string, count: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-count).join('\n');
  } catch {
    return '(no log)';
  }
}

/** True once the broker answers Metadata and names all `count` brokers of the cluster. */
async function listsAllBrokers(address: string, count: number): Promise<boolean> {
  const admin = new Admin({
    clientId: 'edgestream-cluster-local',
    bootstrapBrokers: [address],
    retries: 0,
    connectTimeout: 2_000,
    requestTimeout: 2_000,
  });
  try {
    return (await admin.metadata({ topics: [], forceUpdate: true })).brokers.size === count;
  } catch {
    return false;
  } finally {
    await admin.close();
  }
}

/**
 * `edgestream cluster local`: a ZooKeeper ensemble of three and N brokers (child processes of `edgestream
 * broker --zookeeper`) on this machine, until SIGINT/SIGTERM. Then the brokers stop one after the other
 * (SIGTERM: each hands its leaderships to the others first), then the ensemble.
 */
export async function clusterCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'elect-leaders')
    return (await import('./cluster-admin-commands.js')).electLeadersCommand(rest);
  if (action === 'reassign') return (await import('./cluster-admin-commands.js')).reassignCommand(rest);
  if (action !== 'local') throw new UsageError(`unknown cluster action '${action ?? ''}'`);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        nodes: { type: 'string', default: '3' },
        'data-dir': { type: 'string' },
        'base-port': { type: 'string', default: '9092' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const nodes = positiveInteger(option(values, 'nodes') ?? '3', '--nodes', 32);
  const basePort = positiveInteger(option(values, 'base-port') ?? '9092', '--base-port', 65_536 - nodes);
  const givenDir = option(values, 'data-dir');
  checkZooKeeperInstalled();
  const root = givenDir
    ? path.resolve(givenDir)
    : fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-local-'));
  fs.mkdirSync(path.join(root, 'logs'), { recursive: true });

  let stopRequested = false;
  const signal = untilSignal().then(() => {
    stopRequested = true;
    process.stderr.write('stopping the cluster…\n');
  });
  let ensemble: Ensemble | null = null;
  const brokers: LocalBroker[] = [];
  const shutdown = async (keepDir: boolean) => {
    // One at a time, so each broker's leaderships move to brokers still running.
    for (const broker of brokers) {
      await broker.process.stop('SIGTERM', BROKER_STOP_TIMEOUT_MS);
    }
    await ensemble?.stop('SIGTERM');
    if (!keepDir) fs.rmSync(root, { recursive: true, force: true });
  };

  try {
    process.stderr.write('starting a ZooKeeper ensemble of three…\n');
    ensemble = await startZooKeeperEnsemble({ members: 3, dir: path.join(root, 'zookeeper') });
    process.stdout.write(
      `zookeeper: ${ensemble.connectString} (java pids ${ensemble.members.map((m) => m.pid).join(' ')})\n`,
    );
    for (let id = 1; id <= nodes && !stopRequested; id++) {
      const address = `127.0.0.1:${basePort + id - 1}`;
      const dataDir = path.join(root, `broker-${id}`);
      const logFile = path.join(root, 'logs', `broker-${id}.log`);
      const brokerArgs = [
        ...['--node-id', String(id), '--zookeeper', ensemble.connectString],
        ...['--data-dir', dataDir, '--listen', address],
      ];
      const child = await SupervisedProcess.start(
        process.execPath,
        [MAIN_SCRIPT, 'broker', ...brokerArgs],
        logFile,
      );
      brokers.push({ id, address, dataDir, logFile, process: child });
    }
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const waiting = new Set(brokers);
    while (waiting.size > 0 && !stopRequested) {
      for (const broker of waiting) {
        if (!broker.process.running) {
          throw new Error(
            `broker ${broker.id} exited before serving (log ${broker.logFile}):\n${lastLines(broker.logFile, 5)}`,
          );
        }
        if (await listsAllBrokers(broker.address, nodes)) waiting.delete(broker);
      }
      if (waiting.size === 0) break;
      if (Date.now() > deadline) {
        const ids = [...waiting].map((b) => b.id).join(', ');
        throw new Error(
          `broker(s) ${ids} not serving a cluster of ${nodes} within ${READY_TIMEOUT_MS} ms (logs in ${root}/logs)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
  } catch (error) {
    process.stderr.write(
      `edgestream: the local cluster did not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    await shutdown(true);
    return 1;
  }
  if (stopRequested) {
    await shutdown(givenDir !== undefined);
    return 0;
  }

  for (const broker of brokers) {
    process.stdout.write(
      `broker ${broker.id}: ${broker.address} (pid ${broker.process.pid}, data ${broker.dataDir}, log ${broker.logFile})\n`,
    );
  }
  process.stdout.write(`bootstrap: ${brokers.map((b) => b.address).join(',')}\n`);
  process.stderr.write('cluster running; Ctrl-C stops it\n');

  const failure = await Promise.race([
    signal.then(() => null),
    ...brokers.map((b) =>
      b.process.exited.then((status) => `broker ${b.id} exited (status ${status}, log ${b.logFile})`),
    ),
    ...ensemble.members.map((m) => m.exited.then(() => `ZooKeeper member ${m.id} exited`)),
  ]);
  if (failure !== null)
    process.stderr.write(`edgestream: ${failure}; stopping the cluster (logs kept in ${root})\n`);
  await shutdown(failure !== null || givenDir !== undefined);
  return failure === null ? 0 : 1;
}
