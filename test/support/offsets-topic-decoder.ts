import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { encodeRecordBatch } from '../../src/protocol/index.js';

/**
 * A reader of __consumer_offsets records written from Kafka's message definitions (OffsetCommitKey/Value,
 * GroupMetadataKey/Value in apache/kafka's group-coordinator), by hand and independent of the broker's codec,
 * so a test checks the bytes against Kafka's layout and not against the code that wrote them.
 */

export type DecodedOffsetsRecord =
  | {
      kind: 'offset';
      group: string;
      topic: string;
      partition: number;
      value: { offset: number; leaderEpoch: number; metadata: string; commitTimestamp: number } | null;
    }
  | {
      kind: 'group';
      group: string;
      value: {
        protocolType: string;
        generation: number;
        protocol: string | null;
        leader: string | null;
        members: Array<{ memberId: string; clientId: string; clientHost: string; sessionTimeout: number }>;
      } | null;
    };

class Bytes {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  int16(): number {
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  int64(): number {
    const v = Number(this.buf.readBigInt64BE(this.at));
    this.at += 8;
    return v;
  }
  /** Classic STRING / NULLABLE_STRING: int16 length, -1 for null. */
  string(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const v = this.buf.toString('utf8', this.at, this.at + length);
    this.at += length;
    return v;
  }
  /** BYTES: int32 length. */
  bytes(): Buffer {
    const length = this.int32();
    const v = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return v;
  }
  get done(): boolean {
    return this.at === this.buf.length;
  }
}

export function decodeOffsetsRecord(key: Buffer, value: Buffer | null): DecodedOffsetsRecord {
  const k = new Bytes(key);
  const keyVersion = k.int16();
  if (keyVersion === 0 || keyVersion === 1) {
    const group = k.string()!;
    const topic = k.string()!;
    const partition = k.int32();
    if (!k.done) throw new Error('trailing bytes after an OffsetCommitKey');
    if (value === null) return { kind: 'offset', group, topic, partition, value: null };
    const v = new Bytes(value);
    const version = v.int16();
    if (version < 0 || version > 3) throw new Error(`OffsetCommitValue v${version} is not read here`);
    const offset = v.int64();
    const leaderEpoch = version >= 3 ? v.int32() : -1;
    const metadata = v.string()!;
    const commitTimestamp = v.int64();
    if (version === 1) v.int64(); // expireTimestamp
    if (!v.done) throw new Error('trailing bytes after an OffsetCommitValue');
    return {
      kind: 'offset',
      group,
      topic,
      partition,
      value: { offset, leaderEpoch, metadata, commitTimestamp },
    };
  }
  if (keyVersion === 2) {
    const group = k.string()!;
    if (!k.done) throw new Error('trailing bytes after a GroupMetadataKey');
    if (value === null) return { kind: 'group', group, value: null };
    const v = new Bytes(value);
    const version = v.int16();
    if (version < 0 || version > 3) throw new Error(`GroupMetadataValue v${version} is not read here`);
    const protocolType = v.string()!;
    const generation = v.int32();
    const protocol = v.string();
    const leader = v.string();
    if (version >= 2) v.int64(); // currentStateTimestamp
    const members = Array.from({ length: v.int32() }, () => {
      const memberId = v.string()!;
      if (version >= 3) v.string(); // groupInstanceId
      const clientId = v.string()!;
      const clientHost = v.string()!;
      if (version >= 1) v.int32(); // rebalanceTimeout
      const sessionTimeout = v.int32();
      v.bytes(); // subscription
      v.bytes(); // assignment
      return { memberId, clientId, clientHost, sessionTimeout };
    });
    if (!v.done) throw new Error('trailing bytes after a GroupMetadataValue');
    return { kind: 'group', group, value: { protocolType, generation, protocol, leader, members } };
  }
  throw new Error(`unknown key version ${keyVersion}`);
}

/**
 * __consumer_offsets as a plain consumer sees it: kcat (librdkafka 2.0.2) prints each record as
 * `<key length>|<key><value length>|<value>` (length -1 for null), read here as bytes.
 */
export async function readOffsetsTopic(bootstrap: string): Promise<DecodedOffsetsRecord[]> {
  const { stdout } = await promisify(execFile)(
    'kcat',
    ['-b', bootstrap, '-C', '-t', '__consumer_offsets', '-e', '-q', '-f', '%K|%k%S|%s'],
    { encoding: 'buffer', timeout: 60_000, maxBuffer: 64 << 20 },
  );
  const records: DecodedOffsetsRecord[] = [];
  let at = 0;
  const field = (): Buffer | null => {
    const bar = stdout.indexOf('|', at);
    const length = Number(stdout.toString('latin1', at, bar));
    at = bar + 1;
    if (length < 0) return null;
    const bytes = stdout.subarray(at, at + length);
    at += length;
    return bytes;
  };
  while (at < stdout.length) {
    const key = field();
    const value = field();
    assert.ok(key, 'every record of the offsets topic has a key');
    records.push(decodeOffsetsRecord(key, value));
  }
  return records;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/**
 * Records of the JSON format Edgestream's store wrote before Kafka's: group 'old' with t-0 at 10 (leader
 * epoch 2, metadata 'm') and t-1 at 11, and group 'gone' committed then deleted (a tombstone).
 */
export function legacyOffsetsBatch(): Buffer {
  return encodeRecordBatch([
    {
      key: json(['old', 't', 0]),
      value: json({ offset: 10, leaderEpoch: 2, metadata: 'm', commitTimestamp: 5 }),
    },
    {
      key: json(['old', 't', 1]),
      value: json({ offset: 11, leaderEpoch: -1, metadata: null, commitTimestamp: 6 }),
    },
    {
      key: json(['gone', 't', 0]),
      value: json({ offset: 1, leaderEpoch: -1, metadata: '', commitTimestamp: 1 }),
    },
    { key: json(['gone', 't', 0]), value: null },
  ]);
}
