import { AddOffsetsToTxn } from '../../../src/protocol/apis/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../../src/protocol/apis/add-partitions-to-txn.js';
import { AlterClientQuotas } from '../../../src/protocol/apis/alter-client-quotas.js';
import { AlterConfigs, IncrementalAlterConfigs } from '../../../src/protocol/apis/alter-configs.js';
import { AlterPartitionReassignments } from '../../../src/protocol/apis/alter-partition-reassignments.js';
import { AlterUserScramCredentials } from '../../../src/protocol/apis/alter-user-scram-credentials.js';
import { ApiVersions } from '../../../src/protocol/apis/api-versions.js';
import { CreateAcls } from '../../../src/protocol/apis/create-acls.js';
import { CreatePartitions } from '../../../src/protocol/apis/create-partitions.js';
import { CreateTopics } from '../../../src/protocol/apis/create-topics.js';
import { DeleteAcls } from '../../../src/protocol/apis/delete-acls.js';
import { DeleteGroups } from '../../../src/protocol/apis/delete-groups.js';
import { DeleteRecords } from '../../../src/protocol/apis/delete-records.js';
import { DeleteTopics } from '../../../src/protocol/apis/delete-topics.js';
import { DescribeAcls } from '../../../src/protocol/apis/describe-acls.js';
import { DescribeClientQuotas } from '../../../src/protocol/apis/describe-client-quotas.js';
import { DescribeCluster } from '../../../src/protocol/apis/describe-cluster.js';
import { DescribeConfigs } from '../../../src/protocol/apis/describe-configs.js';
import { DescribeGroups } from '../../../src/protocol/apis/describe-groups.js';
import { DescribeLogDirs } from '../../../src/protocol/apis/describe-log-dirs.js';
import { DescribeProducers } from '../../../src/protocol/apis/describe-producers.js';
import { DescribeTransactions } from '../../../src/protocol/apis/describe-transactions.js';
import { DescribeUserScramCredentials } from '../../../src/protocol/apis/describe-user-scram-credentials.js';
import { ElectLeaders } from '../../../src/protocol/apis/elect-leaders.js';
import { EndTxn } from '../../../src/protocol/apis/end-txn.js';
import { Fetch } from '../../../src/protocol/apis/fetch.js';
import { FindCoordinator } from '../../../src/protocol/apis/find-coordinator.js';
import { Heartbeat } from '../../../src/protocol/apis/heartbeat.js';
import { InitProducerId } from '../../../src/protocol/apis/init-producer-id.js';
import { JoinGroup } from '../../../src/protocol/apis/join-group.js';
import { LeaveGroup } from '../../../src/protocol/apis/leave-group.js';
import { ListGroups } from '../../../src/protocol/apis/list-groups.js';
import { ListOffsets } from '../../../src/protocol/apis/list-offsets.js';
import { ListPartitionReassignments } from '../../../src/protocol/apis/list-partition-reassignments.js';
import { ListTransactions } from '../../../src/protocol/apis/list-transactions.js';
import { Metadata } from '../../../src/protocol/apis/metadata.js';
import { OffsetCommit } from '../../../src/protocol/apis/offset-commit.js';
import { OffsetDelete } from '../../../src/protocol/apis/offset-delete.js';
import { OffsetFetch } from '../../../src/protocol/apis/offset-fetch.js';
import { Produce } from '../../../src/protocol/apis/produce.js';
import { SaslAuthenticate } from '../../../src/protocol/apis/sasl-authenticate.js';
import { SaslHandshake } from '../../../src/protocol/apis/sasl-handshake.js';
import { SyncGroup } from '../../../src/protocol/apis/sync-group.js';
import { TxnOffsetCommit } from '../../../src/protocol/apis/txn-offset-commit.js';
import { WriteTxnMarkers } from '../../../src/protocol/apis/write-txn-markers.js';
import type { ApiSchema } from '../../../src/protocol/index.js';
import { type FrameNode, serialize, slotsOf } from './frame-tree.js';
import {
  BYTE_MUTATIONS,
  cutAt,
  endlessVarintAt,
  INVALID_UTF8,
  longString,
  lyingCount,
  type MutationContext,
  startsWithUvarint,
  TREE_MUTATIONS,
} from './mutations.js';
import { fuzzedRecords, type RecordFuzzOptions } from './record-batches.js';
import { SeededRandom } from './seeded-random.js';
import { validRequest } from './valid-frames.js';

/** Every request schema in src/protocol/apis: the fuzzer refuses to run against a broker offering others. */
export const REQUEST_SCHEMAS: readonly ApiSchema[] = [
  Produce,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  FindCoordinator,
  JoinGroup,
  Heartbeat,
  LeaveGroup,
  SyncGroup,
  DescribeGroups,
  ListGroups,
  ApiVersions,
  CreateTopics,
  DeleteTopics,
  InitProducerId,
  DescribeConfigs,
  SaslHandshake,
  SaslAuthenticate,
  DescribeAcls,
  CreateAcls,
  DeleteAcls,
  DescribeUserScramCredentials,
  AlterUserScramCredentials,
  DescribeClientQuotas,
  AlterClientQuotas,
  CreatePartitions,
  DeleteRecords,
  AlterConfigs,
  IncrementalAlterConfigs,
  DescribeLogDirs,
  AddPartitionsToTxn,
  AddOffsetsToTxn,
  EndTxn,
  WriteTxnMarkers,
  TxnOffsetCommit,
  DescribeTransactions,
  ListTransactions,
  DeleteGroups,
  OffsetDelete,
  DescribeCluster,
  ElectLeaders,
  AlterPartitionReassignments,
  ListPartitionReassignments,
  DescribeProducers,
];

export interface AdvertisedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface ApiVersionPair {
  schema: ApiSchema;
  version: number;
}

/** Every (API, version) in the broker's ApiVersions answer, each with the schema describing it. */
export function advertisedPairs(advertised: readonly AdvertisedApi[]): ApiVersionPair[] {
  return advertised.flatMap(({ apiKey, minVersion, maxVersion }) => {
    const schema = REQUEST_SCHEMAS.find((s) => s.apiKey === apiKey);
    if (!schema) throw new Error(`the broker offers API ${apiKey}, which the fuzzer has no schema for`);
    return Array.from({ length: maxVersion - minVersion + 1 }, (_, i) => ({
      schema,
      version: minVersion + i,
    }));
  });
}

export interface FuzzFrame {
  /** With the seed, all it takes to build this frame again. */
  index: number;
  bytes: Buffer;
  api: string;
  version: number;
  mutation: string;
  /** The size prefix lies: the frame must be the last one written on its connection. */
  endsConnection: boolean;
}

export interface ProtocolFuzzerOptions {
  seed: number;
  pairs: readonly ApiVersionPair[];
  records: RecordFuzzOptions;
}

/** How often each mutation is drawn for a random frame; 'stacked' applies two or three tree mutations. */
const WEIGHTS: ReadonlyArray<[string, number]> = [
  ['valid', 8],
  ['invalid-utf8', 12],
  ['long-string', 5],
  ['lying-string-length', 6],
  ['array-count', 10],
  ['int-extremes', 6],
  ['tagged-fields', 5],
  ['records', 4],
  ['header', 3],
  ['stacked', 5],
  ['truncate', 10],
  ['endless-varint', 8],
  ['byte-flips', 10],
  ['frame-size', 1],
  ['noise', 2],
];
/** Produce frames are the way into the log: most of them carry a mutated record batch. */
const PRODUCE_RECORDS_CHANCE = 0.5;
const STACKABLE = ['invalid-utf8', 'long-string', 'array-count', 'int-extremes', 'tagged-fields', 'records'];
const TOTAL_WEIGHT = WEIGHTS.reduce((sum, [, weight]) => sum + weight, 0);

type SystematicCase =
  | { pair: number; kind: 'valid' }
  | { pair: number; kind: 'truncate'; at: number }
  | { pair: number; kind: 'utf8' | 'long' | 'count' | 'endless' | 'records'; slot: number; variant: number };

const LONG_VARIANTS = 5;
const COUNT_VARIANTS = 7;
const RECORD_VARIANTS = 40;

/**
 * Builds frame N of a run from (seed, N) alone. The first `systematicCount` frames walk every advertised
 * API version exhaustively: the valid frame, a cut at every field boundary, every invalid UTF-8 pattern and
 * over-long value in every string, every lying count in every array, a never-ending varint at every varint,
 * mutated record batches in every records field. Frames after that draw an API version and a mutation.
 */
export class ProtocolFuzzer {
  private readonly cases: SystematicCase[] = [];

  constructor(private readonly options: ProtocolFuzzerOptions) {
    if (options.pairs.length === 0) throw new Error('nothing to fuzz: no API version offered');
    options.pairs.forEach((_, pair) => {
      const nodes = this.pairRequest(pair, 0);
      const frame = serialize(nodes);
      this.cases.push({ pair, kind: 'valid' });
      for (const at of frame.boundaries)
        if (at > 4 && at < frame.bytes.length) this.cases.push({ pair, kind: 'truncate', at });
      slotsOf(nodes).forEach(({ node }, slot) => {
        const add = (kind: 'utf8' | 'long' | 'count' | 'endless' | 'records', variants: number) => {
          for (let variant = 0; variant < variants; variant++) this.cases.push({ pair, kind, slot, variant });
        };
        if (node.kind === 'string') {
          add('utf8', INVALID_UTF8.length);
          add('long', LONG_VARIANTS);
        }
        if (node.kind === 'count') add('count', COUNT_VARIANTS);
        if (node.kind === 'bytes' && node.records) add('records', RECORD_VARIANTS);
        if (startsWithUvarint(node)) add('endless', 1);
      });
    });
  }

  get systematicCount(): number {
    return this.cases.length;
  }

  frame(index: number): FuzzFrame {
    const systematic = this.cases[index];
    return systematic ? this.systematicFrame(index, systematic) : this.randomFrame(index);
  }

  /** The valid request of a pair, the same for every systematic case of that pair. */
  private pairRequest(pair: number, correlationId: number): FrameNode[] {
    const { schema, version } = this.options.pairs[pair]!;
    return validRequest(schema, version, correlationId, SeededRandom.forFrame(this.options.seed, -1 - pair));
  }

  private systematicFrame(index: number, test: SystematicCase): FuzzFrame {
    const { schema, version } = this.options.pairs[test.pair]!;
    const nodes = this.pairRequest(test.pair, index);
    const result = (bytes: Buffer, mutation: string): FuzzFrame => ({
      index,
      bytes,
      api: schema.name,
      version,
      mutation: `systematic ${mutation}`,
      endsConnection: false,
    });
    if (test.kind === 'valid') return result(serialize(nodes).bytes, 'valid');
    if (test.kind === 'truncate')
      return result(cutAt(serialize(nodes).bytes, test.at), `cut at byte ${test.at}`);
    const { node } = slotsOf(nodes)[test.slot]!;
    const rng = SeededRandom.forFrame(this.options.seed, index);
    let what: string;
    if (test.kind === 'endless') {
      return result(endlessVarintAt(serialize(nodes), node, rng), `${node.path}: varint never ends`);
    } else if (node.kind === 'string' && test.kind === 'utf8') {
      const pattern = INVALID_UTF8[test.variant]!;
      node.value = Buffer.concat([pattern, pattern, pattern]);
      what = `3 x ${pattern.toString('hex')}`;
    } else if (node.kind === 'string' && test.kind === 'long') {
      const long = longString(test.variant);
      node.value = long.value;
      what = long.what;
    } else if (node.kind === 'count') {
      what = lyingCount(node, test.variant);
    } else if (node.kind === 'bytes') {
      const fuzzed = fuzzedRecords(rng, this.options.records);
      node.value = fuzzed.bytes;
      what = fuzzed.what;
    } else {
      throw new Error(`systematic case ${test.kind} does not fit node ${node.kind}`);
    }
    return result(serialize(nodes).bytes, `${node.path}: ${what}`);
  }

  private randomFrame(index: number): FuzzFrame {
    const rng = SeededRandom.forFrame(this.options.seed, index);
    const { schema, version } = rng.pick(this.options.pairs);
    const nodes = validRequest(schema, version, index, rng);
    const context: MutationContext = { nodes, rng, records: this.options.records };
    const frame = (bytes: Buffer, mutation: string, endsConnection = false): FuzzFrame => ({
      index,
      bytes,
      api: schema.name,
      version,
      mutation,
      endsConnection,
    });
    const name = schema === Produce && rng.chance(PRODUCE_RECORDS_CHANCE) ? 'records' : drawMutation(rng);
    if (name === 'valid') return frame(serialize(nodes).bytes, 'valid');
    if (name === 'stacked') {
      const done = Array.from({ length: 2 + rng.below(2) }, () => {
        const stacked = rng.pick(STACKABLE);
        const what = TREE_MUTATIONS[stacked]!(context, slotsOf(nodes));
        return what === null ? null : `${stacked} ${what}`;
      }).filter((what) => what !== null);
      return frame(serialize(nodes).bytes, `stacked: ${done.join('; ') || 'nothing to aim at'}`);
    }
    const tree = TREE_MUTATIONS[name];
    if (tree) {
      const what = tree(context, slotsOf(nodes));
      if (what !== null) return frame(serialize(nodes).bytes, `${name} ${what}`);
    }
    // A byte mutation, or random flips where the drawn mutation found nothing to aim at in this frame.
    const serialized = serialize(nodes);
    const aimed = BYTE_MUTATIONS[name]?.(serialized, rng, nodes) ?? null;
    const mutated = aimed ?? BYTE_MUTATIONS['byte-flips']!(serialized, rng, nodes)!;
    const label = aimed ? name : 'byte-flips';
    return frame(mutated.bytes, `${label} ${mutated.what}`, mutated.endsConnection);
  }
}

function drawMutation(rng: SeededRandom): string {
  let ticket = rng.below(TOTAL_WEIGHT);
  for (const [name, weight] of WEIGHTS) {
    if (ticket < weight) return name;
    ticket -= weight;
  }
  return 'valid';
}
