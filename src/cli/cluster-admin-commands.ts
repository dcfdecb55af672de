import { type ParseArgsConfig, parseArgs } from 'node:util';
import { splitHostPort } from '../broker/config.js';
import { BrokerChannel } from '../cluster/broker-channel.js';
import { AlterPartitionReassignments } from '../protocol/apis/alter-partition-reassignments.js';
import { ElectionType, ElectLeaders } from '../protocol/apis/elect-leaders.js';
import { ListPartitionReassignments } from '../protocol/apis/list-partition-reassignments.js';
import { ErrorCode, errorCodeName } from '../protocol/index.js';
import { printTable } from './table.js';
import { UsageError } from './usage-error.js';

export const CLUSTER_ADMIN_USAGE = `  edgestream cluster elect-leaders [--topic T --partition P] [--unclean]
                                           preferred (or unclean) leader election, every partition by default
  edgestream cluster reassign TOPIC PARTITION BROKER,BROKER,...    move a partition's replicas
  edgestream cluster reassign TOPIC PARTITION --cancel | reassign --list
        (elect-leaders and reassign take --brokers HOST:PORT, default 127.0.0.1:9092, a PLAINTEXT listener)
`;

const CLIENT_ID = 'edgestream-cli';
const REQUEST_TIMEOUT_MS = 30_000;
/** How long the broker may wait for the controller: a little less than the request's own timeout. */
const ADMIN_TIMEOUT_MS = 25_000;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({
      args,
      options: { brokers: { type: 'string', default: '127.0.0.1:9092' } as const, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * One request to the first broker of --brokers, with our own protocol encoder: neither @platformatic/kafka's
 * Admin nor kafkajs sends ElectLeaders, so these commands speak to a PLAINTEXT listener directly.
 */
async function withBroker<T>(brokers: unknown, work: (channel: BrokerChannel) => Promise<T>): Promise<T> {
  const first = String(brokers).split(',')[0]!;
  let address: { host: string; port: number };
  try {
    address = splitHostPort(first);
  } catch (error) {
    throw new UsageError(`--brokers: ${error instanceof Error ? error.message : String(error)}`);
  }
  const channel = new BrokerChannel(address, CLIENT_ID, REQUEST_TIMEOUT_MS);
  try {
    return await work(channel);
  } finally {
    channel.close();
  }
}

function codeText(errorCode: number): string {
  return errorCode === ErrorCode.NONE ? 'OK' : (errorCodeName(errorCode) ?? `error ${errorCode}`);
}

function nonNegativeInteger(text: string | undefined, what: string): number {
  const value = Number(text);
  if (text === undefined || !Number.isInteger(value) || value < 0)
    throw new UsageError(`${what} expects an integer >= 0, got '${text ?? ''}'`);
  return value;
}

/**
 * `edgestream cluster elect-leaders`: ElectLeaders for one partition or all; prints each partition's
 * outcome. Exit 1 if any failed (ELECTION_NOT_NEEDED is no failure).
 */
export async function electLeadersCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    topic: { type: 'string' },
    partition: { type: 'string' },
    unclean: { type: 'boolean', default: false },
  });
  if ((values.topic === undefined) !== (values.partition === undefined))
    throw new UsageError('--topic and --partition go together');
  const topicPartitions =
    typeof values.topic === 'string'
      ? [{ topic: values.topic, partitions: [nonNegativeInteger(String(values.partition), '--partition')] }]
      : null;
  const response = await withBroker(values.brokers, (channel) =>
    channel.request(
      ElectLeaders,
      2,
      {
        electionType: values.unclean === true ? ElectionType.UNCLEAN : ElectionType.PREFERRED,
        topicPartitions,
        timeoutMs: ADMIN_TIMEOUT_MS,
      },
      REQUEST_TIMEOUT_MS,
    ),
  );
  const rows = response.replicaElectionResults.flatMap((t) =>
    t.partitionResult.map((p) => [
      t.topic,
      String(p.partitionId),
      codeText(p.errorCode),
      p.errorMessage ?? '',
    ]),
  );
  if (rows.length > 0) printTable([['TOPIC', 'PARTITION', 'RESULT', 'MESSAGE'], ...rows]);
  const failed = (code: number) => code !== ErrorCode.NONE && code !== ErrorCode.ELECTION_NOT_NEEDED;
  if (failed(response.errorCode)) {
    process.stderr.write(`elect-leaders: ${codeText(response.errorCode)}\n`);
    return 1;
  }
  return response.replicaElectionResults.some((t) => t.partitionResult.some((p) => failed(p.errorCode)))
    ? 1
    : 0;
}

/** `edgestream cluster reassign`: start, cancel or list partition reassignments. */
export async function reassignCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    list: { type: 'boolean', default: false },
    cancel: { type: 'boolean', default: false },
  });
  if (values.list === true) {
    if (positionals.length > 0) throw new UsageError('reassign --list takes no arguments');
    const response = await withBroker(values.brokers, (channel) =>
      channel.request(
        ListPartitionReassignments,
        0,
        { timeoutMs: ADMIN_TIMEOUT_MS, topics: null },
        REQUEST_TIMEOUT_MS,
      ),
    );
    if (response.errorCode !== ErrorCode.NONE) {
      process.stderr.write(
        `reassign --list: ${codeText(response.errorCode)}: ${response.errorMessage ?? ''}\n`,
      );
      return 1;
    }
    const rows = response.topics.flatMap((t) =>
      t.partitions.map((p) => [
        t.name,
        String(p.partitionIndex),
        p.replicas.join(','),
        p.addingReplicas.join(','),
        p.removingReplicas.join(','),
      ]),
    );
    if (rows.length === 0) process.stdout.write('no reassignment in progress\n');
    else printTable([['TOPIC', 'PARTITION', 'REPLICAS', 'ADDING', 'REMOVING'], ...rows]);
    return 0;
  }
  const cancel = values.cancel === true;
  const [topic, partitionText, brokerList] = positionals;
  if (topic === undefined || positionals.length !== (cancel ? 2 : 3))
    throw new UsageError(
      cancel
        ? 'usage: reassign TOPIC PARTITION --cancel'
        : 'usage: reassign TOPIC PARTITION BROKER,BROKER,...',
    );
  const partition = nonNegativeInteger(partitionText, 'PARTITION');
  const replicas = cancel ? null : brokerList!.split(',').map((id) => nonNegativeInteger(id, 'BROKER'));
  const response = await withBroker(values.brokers, (channel) =>
    channel.request(
      AlterPartitionReassignments,
      0,
      {
        timeoutMs: ADMIN_TIMEOUT_MS,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, replicas }] }],
      },
      REQUEST_TIMEOUT_MS,
    ),
  );
  const answer = response.responses[0]?.partitions[0];
  const errorCode =
    response.errorCode !== ErrorCode.NONE ? response.errorCode : (answer?.errorCode ?? ErrorCode.NONE);
  if (errorCode !== ErrorCode.NONE) {
    const message = response.errorMessage ?? answer?.errorMessage ?? '';
    process.stderr.write(`reassign: ${codeText(errorCode)}${message ? `: ${message}` : ''}\n`);
    return 1;
  }
  process.stdout.write(
    cancel
      ? `reassignment of ${topic}-${partition} cancelled\n`
      : `reassignment of ${topic}-${partition} to [${replicas!.join(',')}] started (see reassign --list)\n`,
  );
  return 0;
}
