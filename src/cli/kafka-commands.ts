import { createInterface } from 'node:readline';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import {
  Admin,
  Consumer,
  IncrementalAlterConfigOperationTypes,
  type Message,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import {
  CONNECTION_SECURITY_FLAGS,
  connectionSecurityFromFlags,
  connectionSecurityUsage,
} from './security-flags.js';
import { untilSignal } from './signals.js';
import { printTable } from './table.js';
import { UsageError } from './usage-error.js';

/**
 * The rpk-style admin commands. They talk the Kafka protocol through @platformatic/kafka, so they work
 * against any Kafka-compatible cluster, not only Edgestream.
 */

export const KAFKA_USAGE = `  edgestream topic create NAME [-p PARTITIONS] [-r REPLICATION-FACTOR] [-c KEY=VALUE]...
                                           -r defaults to the cluster's (3 on a cluster of three or more)
  edgestream topic list | describe NAME | delete NAME     describe shows leader, replicas and ISR per partition
  edgestream topic alter-config NAME [--set KEY=VALUE]... [--delete KEY]...   change the topic's config overrides
  edgestream topic add-partitions NAME COUNT        grow the topic to COUNT partitions (never fewer)
  edgestream topic trim NAME --before OFFSET [--partition P]   delete the records below OFFSET (all partitions
                                           without --partition); --before=-1 trims up to the high watermark
        (topic, produce, consume and group take --brokers HOST:PORT,..., default 127.0.0.1:9092)
  edgestream produce TOPIC [--key-separator :]      one record per stdin line, KEY:VALUE when a separator is given
  edgestream consume TOPIC [-g GROUP] [--from-beginning] [-n COUNT] [--idle-ms MS]
  edgestream group list | describe GROUP | delete GROUP     describe shows members and lag per partition;
                                           delete needs a group without members and drops its offsets
  edgestream group seek GROUP --topic T [--partition P] (--to-earliest | --to-latest | --to-offset N |
                                           --to-datetime ISO)    for an empty group: prints the plan, commits it
${connectionSecurityUsage('')}`;

const CLIENT_ID = 'edgestream-cli';
const brokersOption = {
  brokers: { type: 'string', default: '127.0.0.1:9092' },
  ...CONNECTION_SECURITY_FLAGS,
} as const;
const RESOURCE_TOPIC = 2;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({
      args,
      options: { ...brokersOption, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The cluster the flags name, reached with the TLS and SASL settings they give. */
function connection(values: Record<string, unknown>) {
  return {
    clientId: CLIENT_ID,
    bootstrapBrokers: String(values.brokers).split(','),
    retries: 2,
    ...connectionSecurityFromFlags(values),
  };
}

async function withAdmin<T>(values: Record<string, unknown>, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(connection(values));
  try {
    return await work(admin);
  } finally {
    await admin.close();
  }
}

/** ListOffsets' special timestamps: the log start and the high watermark of a partition. */
const EARLIEST = -2n;
const LATEST = -1n;

/** The offset at `timestamp` (EARLIEST, LATEST, or ms: the first record at or after it, -1 if none), per partition. */
async function offsetsAt(
  admin: Admin,
  topics: Map<string, number>,
  timestamp: bigint = LATEST,
): Promise<Map<string, bigint[]>> {
  const listed = await admin.listOffsets({
    topics: [...topics].map(([name, count]) => ({
      name,
      partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp })),
    })),
  });
  return new Map(
    listed.map((t) => [
      t.name,
      [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.offset),
    ]),
  );
}

/** KEY=VALUE of `flag`, a usage error naming the flag otherwise. */
function keyValue(flag: string, pair: string): { name: string; value: string } {
  const at = pair.indexOf('=');
  if (at < 1) throw new UsageError(`${flag} expects KEY=VALUE, got '${pair}'`);
  return { name: pair.slice(0, at), value: pair.slice(at + 1) };
}

export async function topicCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parse(rest, {
    partitions: { type: 'string', short: 'p', default: '4' },
    'replication-factor': { type: 'string', short: 'r' },
    config: { type: 'string', short: 'c', multiple: true, default: [] },
    set: { type: 'string', multiple: true, default: [] },
    delete: { type: 'string', multiple: true, default: [] },
    partition: { type: 'string' },
    before: { type: 'string' },
  });
  const name = positionals[0];
  return withAdmin(values, async (admin) => {
    switch (action) {
      case 'list':
        for (const topic of (await admin.listTopics()).sort()) process.stdout.write(`${topic}\n`);
        return 0;
      case 'create': {
        if (!name) throw new UsageError('topic create needs a NAME');
        const configs = (values.config as string[]).map((pair) => keyValue('-c', pair));
        const partitions = Number(values.partitions);
        if (!Number.isInteger(partitions) || partitions < 1)
          throw new UsageError(`-p expects a partition count >= 1, got '${values.partitions}'`);
        const factor = values['replication-factor'];
        const replicas = factor === undefined ? undefined : Number(factor);
        if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1))
          throw new UsageError(`-r expects a replication factor >= 1, got '${factor}'`);
        // Without -r, -1: the cluster's default replication factor.
        const [created] = await admin.createTopics({ topics: [name], partitions, replicas, configs });
        process.stdout.write(
          `created ${name} with ${partitions} partitions, ${created?.replicas ?? replicas ?? 'default'} replicas\n`,
        );
        return 0;
      }
      case 'delete':
        if (!name) throw new UsageError('topic delete needs a NAME');
        await admin.deleteTopics({ topics: [name] });
        process.stdout.write(`deleted ${name}\n`);
        return 0;
      case 'describe': {
        if (!name) throw new UsageError('topic describe needs a NAME');
        const metadata = await admin.metadata({ topics: [name] });
        const topic = metadata.topics.get(name);
        if (!topic) throw new Error(`topic ${name} does not exist`);
        const [starts, ends] = await Promise.all([
          admin.listOffsets({
            topics: [
              {
                name,
                partitions: topic.partitions.map((_, partitionIndex) => ({ partitionIndex, timestamp: -2n })),
              },
            ],
          }),
          offsetsAt(admin, new Map([[name, topic.partitionsCount]])),
        ]);
        const startOf = new Map(starts[0]!.partitions.map((p) => [p.partitionIndex, p.offset]));
        process.stdout.write(`topic ${name}  id ${topic.id}  partitions ${topic.partitionsCount}\n\n`);
        printTable([
          ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG-START', 'HIGH-WATERMARK'],
          ...topic.partitions.map((p, i) => [
            String(i),
            String(p.leader),
            p.replicas.join(','),
            p.isr.join(','),
            String(startOf.get(i) ?? ''),
            String(ends.get(name)![i]),
          ]),
        ]);
        const [described] = await admin.describeConfigs({
          resources: [{ resourceType: RESOURCE_TOPIC, resourceName: name }],
        });
        process.stdout.write('\n');
        printTable([
          ['CONFIG', 'VALUE'],
          ...(described?.configs ?? []).map((c) => [c.name, String(c.value)]),
        ]);
        return 0;
      }
      case 'alter-config': {
        if (!name) throw new UsageError('topic alter-config needs a NAME');
        const sets = (values.set as string[]).map((pair) => keyValue('--set', pair));
        const deletes = values.delete as string[];
        if (sets.length + deletes.length === 0)
          throw new UsageError('topic alter-config needs --set KEY=VALUE or --delete KEY');
        await admin.incrementalAlterConfigs({
          resources: [
            {
              resourceType: RESOURCE_TOPIC,
              resourceName: name,
              configs: [
                ...sets.map((c) => ({ ...c, configOperation: IncrementalAlterConfigOperationTypes.SET })),
                ...deletes.map((key) => ({
                  name: key,
                  configOperation: IncrementalAlterConfigOperationTypes.DELETE,
                })),
              ],
            },
          ],
        });
        const changes = [...sets.map((c) => `${c.name}=${c.value}`), ...deletes.map((key) => `-${key}`)];
        process.stdout.write(`altered ${name}: ${changes.join(' ')}\n`);
        return 0;
      }
      case 'add-partitions': {
        if (!name) throw new UsageError('topic add-partitions needs a NAME');
        const count = Number(positionals[1]);
        if (!Number.isInteger(count) || count < 1)
          throw new UsageError(
            `topic add-partitions expects a partition COUNT, got '${positionals[1] ?? ''}'`,
          );
        await admin.createPartitions({ topics: [{ name, count }] });
        process.stdout.write(`${name} now has ${count} partitions\n`);
        return 0;
      }
      case 'trim': {
        if (!name) throw new UsageError('topic trim needs a NAME');
        const before = values.before === undefined ? Number.NaN : Number(values.before);
        if (!Number.isSafeInteger(before) || before < -1)
          throw new UsageError(
            `topic trim needs --before OFFSET (an offset >= 0, or -1), got '${values.before ?? ''}'`,
          );
        let partitions: number[];
        if (values.partition === undefined) {
          const topic = (await admin.metadata({ topics: [name] })).topics.get(name);
          if (!topic) throw new Error(`topic ${name} does not exist`);
          partitions = Array.from({ length: topic.partitionsCount }, (_, p) => p);
        } else {
          const partition = Number(values.partition);
          if (!Number.isInteger(partition) || partition < 0)
            throw new UsageError(`--partition expects a partition number, got '${values.partition}'`);
          partitions = [partition];
        }
        const [trimmed] = await admin.deleteRecords({
          topics: [
            { name, partitions: partitions.map((partition) => ({ partition, offset: BigInt(before) })) },
          ],
        });
        printTable([
          ['PARTITION', 'LOG-START'],
          ...[...(trimmed?.partitions ?? [])]
            .sort((a, b) => a.partition - b.partition)
            .map((p) => [String(p.partition), String(p.lowWatermark)]),
        ]);
        return 0;
      }
      default:
        throw new UsageError(`unknown topic action '${action ?? ''}'`);
    }
  });
}

export async function produceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'key-separator': { type: 'string' } });
  const topic = positionals[0];
  if (!topic) throw new UsageError('produce needs a TOPIC');
  const separator = values['key-separator'] as string | undefined;
  const producer = new Producer({
    ...connection(values),
    serializers: stringSerializers,
    autocreateTopics: true,
  });
  let sent = 0;
  try {
    let pending: Array<{ topic: string; key?: string; value: string }> = [];
    const flush = async () => {
      if (pending.length === 0) return;
      await producer.send({ messages: pending });
      sent += pending.length;
      pending = [];
    };
    for await (const line of createInterface({ input: process.stdin })) {
      const at = separator ? line.indexOf(separator) : -1;
      pending.push(
        at >= 0
          ? { topic, key: line.slice(0, at), value: line.slice(at + separator!.length) }
          : { topic, value: line },
      );
      if (pending.length >= 1000) await flush();
    }
    await flush();
  } finally {
    await producer.close();
  }
  process.stderr.write(`produced ${sent} records to ${topic}\n`);
  return 0;
}

export async function consumeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    group: { type: 'string', short: 'g' },
    'from-beginning': { type: 'boolean', default: false },
    count: { type: 'string', short: 'n' },
    'idle-ms': { type: 'string', default: '0' },
  });
  const topic = positionals[0];
  if (!topic) throw new UsageError('consume needs a TOPIC');
  const limit = values.count === undefined ? Number.POSITIVE_INFINITY : Number(values.count);
  const idleMs = Number(values['idle-ms']);
  const groupId = (values.group as string | undefined) ?? `edgestream-cli-${process.pid}-${Date.now()}`;
  const consumer = new Consumer({
    ...connection(values),
    groupId,
    deserializers: stringDeserializers,
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: values.group ? 'committed' : values['from-beginning'] ? 'earliest' : 'latest',
    fallbackMode: values['from-beginning'] ? 'earliest' : 'latest',
    // Committed by hand, the last printed record of each partition: autocommit would also commit what the
    // stream had already fetched past a `-n` limit, records this command never printed.
    autocommit: false,
  });
  const lastPrinted = new Map<string, Message<string, string, string, string>>();
  let received = 0;
  let idle: NodeJS.Timeout | null = null;
  const signal = untilSignal();
  try {
    await Promise.race([
      signal,
      new Promise<void>((resolve, reject) => {
        const armIdle = () => {
          if (idleMs <= 0) return;
          if (idle) clearTimeout(idle);
          idle = setTimeout(resolve, idleMs);
        };
        armIdle();
        stream.on('data', (message: Message<string, string, string, string>) => {
          // Records the stream delivers after the limit (fetched in the same batch) are neither printed nor committed.
          if (received >= limit) return;
          process.stdout.write(
            `${message.partition}\t${message.offset}\t${message.key ?? ''}\t${message.value}\n`,
          );
          lastPrinted.set(`${message.topic}:${message.partition}`, message);
          armIdle();
          if (++received >= limit) resolve();
        });
        stream.on('error', reject);
      }),
    ]);
  } finally {
    if (idle) clearTimeout(idle);
    // On every way out (the count, idle, SIGINT, SIGTERM, an error) the consumer leaves its group (LeaveGroup
    // in close()), so the group shows it gone at once instead of after its session timeout.
    await stream.close();
    if (values.group !== undefined)
      await Promise.all([...lastPrinted.values()].map((message) => message.commit()));
    await consumer.close();
  }
  return 0;
}

export async function groupCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parse(rest, {
    topic: { type: 'string', short: 't' },
    partition: { type: 'string', short: 'p' },
    'to-earliest': { type: 'boolean', default: false },
    'to-latest': { type: 'boolean', default: false },
    'to-offset': { type: 'string' },
    'to-datetime': { type: 'string' },
  });
  const groupId = positionals[0];
  return withAdmin(values, async (admin) => {
    if (action === 'list') {
      const groups = await admin.listGroups();
      printTable([
        ['GROUP', 'STATE', 'PROTOCOL-TYPE'],
        ...[...groups.values()].map((g) => [g.id, g.state, g.protocolType]),
      ]);
      return 0;
    }
    if (action !== 'describe' && action !== 'delete' && action !== 'seek') {
      throw new UsageError(`unknown group action '${action ?? ''}'`);
    }
    if (!groupId) throw new UsageError(`group ${action} needs a GROUP`);
    if (action === 'delete') {
      // Only a group without members: the broker answers NON_EMPTY_GROUP otherwise.
      await admin.deleteGroups({ groups: [groupId] });
      process.stdout.write(`deleted group ${groupId} and its committed offsets\n`);
      return 0;
    }
    if (action === 'seek') return seekGroup(admin, groupId, values);
    const group = (await admin.describeGroups({ groups: [groupId] })).get(groupId);
    const [offsets] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const committed = offsets?.topics ?? [];
    const counts = new Map(
      committed.map((t) => [t.name, Math.max(...t.partitions.map((p) => p.partitionIndex)) + 1]),
    );
    const ends = counts.size > 0 ? await offsetsAt(admin, counts) : new Map<string, bigint[]>();
    process.stdout.write(
      `group ${groupId}  state ${group?.state ?? 'unknown'}  members ${group?.members.size ?? 0}\n\n`,
    );
    const rows = committed.flatMap((t) =>
      t.partitions.map((p) => {
        const end = ends.get(t.name)?.[p.partitionIndex] ?? -1n;
        const lag = p.committedOffset >= 0n && end >= 0n ? end - p.committedOffset : -1n;
        return [t.name, String(p.partitionIndex), String(p.committedOffset), String(end), String(lag)];
      }),
    );
    printTable([['TOPIC', 'PARTITION', 'COMMITTED', 'HIGH-WATERMARK', 'LAG'], ...rows]);
    return 0;
  });
}

/** The target a seek names: exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO. */
function seekTarget(
  values: Record<string, unknown>,
): { label: string; timestamp: bigint } | { offset: bigint } {
  const given = ['to-earliest', 'to-latest', 'to-offset', 'to-datetime'].filter(
    (flag) => values[flag] !== undefined && values[flag] !== false,
  );
  if (given.length !== 1) {
    throw new UsageError(
      'group seek needs one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO',
    );
  }
  if (values['to-earliest']) return { label: 'earliest', timestamp: EARLIEST };
  if (values['to-latest']) return { label: 'latest', timestamp: LATEST };
  if (values['to-offset'] !== undefined) {
    const text = String(values['to-offset']);
    if (!/^\d+$/.test(text)) throw new UsageError(`--to-offset needs an offset, not '${text}'`);
    return { offset: BigInt(text) };
  }
  const ms = Date.parse(String(values['to-datetime']));
  if (Number.isNaN(ms))
    throw new UsageError(`--to-datetime needs an ISO date, not '${values['to-datetime']}'`);
  return { label: 'datetime', timestamp: BigInt(ms) };
}

/**
 * Like kafka-consumer-groups --reset-offsets --execute: only for a group without members (its members would
 * overwrite the new offsets), prints the plan, then commits it. An offset outside a partition's records is
 * moved to the nearest end, and a time after the last record to the high watermark, as Kafka does.
 */
async function seekGroup(admin: Admin, groupId: string, values: Record<string, unknown>): Promise<number> {
  const topic = values.topic as string | undefined;
  if (!topic) throw new UsageError('group seek needs --topic TOPIC');
  const target = seekTarget(values);
  const state = (await admin.describeGroups({ groups: [groupId] })).get(groupId)?.state ?? 'DEAD';
  if (state.toUpperCase() !== 'EMPTY' && state.toUpperCase() !== 'DEAD') {
    process.stderr.write(
      `group ${groupId} is ${state}: stop its consumers first, a seek needs an empty group\n`,
    );
    return 1;
  }
  const described = (await admin.metadata({ topics: [topic] })).topics.get(topic);
  if (!described) throw new Error(`topic ${topic} does not exist`);
  const every = Array.from({ length: described.partitionsCount }, (_, p) => p);
  const partitions = values.partition === undefined ? every : [Number(values.partition)];
  if (partitions.some((p) => !every.includes(p))) {
    throw new UsageError(`topic ${topic} has partitions 0-${described.partitionsCount - 1}`);
  }
  const counts = new Map([[topic, described.partitionsCount]]);
  const [starts, ends] = await Promise.all([
    offsetsAt(admin, counts, EARLIEST),
    offsetsAt(admin, counts, LATEST),
  ]);
  const atTime = 'timestamp' in target ? await offsetsAt(admin, counts, target.timestamp) : null;
  const plan = partitions.map((partition) => {
    const start = starts.get(topic)![partition]!;
    const end = ends.get(topic)![partition]!;
    let offset = 'offset' in target ? target.offset : atTime!.get(topic)![partition]!;
    if (offset < 0n || offset > end) offset = end;
    if (offset < start) offset = start;
    return { partition, offset };
  });
  const [current] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
  const committedOf = (partition: number) =>
    current?.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)
      ?.committedOffset ?? -1n;
  printTable([
    ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
    ...plan.map((p) => [
      groupId,
      topic,
      String(p.partition),
      String(committedOf(p.partition)),
      String(p.offset),
    ]),
  ]);
  await admin.alterConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionOffsets: plan }] });
  process.stdout.write(`moved group ${groupId} to the offsets above\n`);
  return 0;
}
