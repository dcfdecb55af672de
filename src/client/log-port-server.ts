import type { MessagePort } from 'node:worker_threads';
import { readBatchHeader, splitBatches } from '../protocol/index.js';
import type { PartitionBatches } from './batch-records.js';
import { partitionKey } from './client-checks.js';
import type { EmbeddedLogClient } from './embedded-client.js';
import {
  asBuffer,
  type LogPortCall,
  type LogPortCalls,
  type LogPortOp,
  type LogPortReply,
  type LogPortRequest,
  type LogPortResult,
  toPortError,
  transferable,
} from './log-port-messages.js';
import type { FetchOptions, FetchRequest, TopicPartition } from './types.js';

/** A worker's fetch answers at once when it found this much. */
const FETCH_MIN_BYTES = 64 * 1024;
/** How long a fetch that found less waits for more: the latency a record may gain on its way to a worker. */
const FETCH_LINGER_MS = 5;

/** Where a worker's member stands among the workers that share every group: member `slot` of `slots`. */
export interface WorkerSlot {
  slot: number;
  slots: number;
}

type Handlers = {
  [Op in LogPortOp]: (request: LogPortCalls[Op]['request']) => Promise<LogPortCalls[Op]['result']>;
};

/**
 * Serves one worker thread's PortLogClient from the thread that owns the log, through the embedded client:
 * the worker encodes and decodes record batches, this side only writes and reads them. The workers share each
 * group by a fixed split of its partitions (member `slot` gets every `slots`-th one), so a worker restarted in
 * the same slot gets the same partitions and resumes them from their checkpoints.
 */
export class LogPortServer {
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  private readonly handlers: Handlers;

  constructor(
    private readonly port: MessagePort,
    private readonly client: EmbeddedLogClient,
    private readonly slot: WorkerSlot,
    /** Counts records handed to a worker in the broker's metrics. */
    private readonly served: (topic: string, bytes: number, records: number) => void,
  ) {
    this.handlers = {
      describe: async ({ topic }) => client.describeTopic(topic),
      ensureTopic: ({ spec }) => client.ensureTopic(spec),
      offsets: ({ partition }) => client.offsets(partition),
      alterTopicConfig: ({ topic, config }) => client.alterTopicConfig(topic, config),
      deleteRecords: ({ entries }) => client.deleteRecords(entries),
      append: async ({ appends }) => {
        // A Buffer crosses the port as a plain Uint8Array.
        return client.appendBatches(
          appends.map((append) => ({
            ...append,
            batches: append.batches.map((batch) => ({ ...batch, bytes: asBuffer(batch.bytes) })),
          })),
        );
      },
      fetch: async ({ requests, options }) => this.countServed(await this.fetchLingering(requests, options)),
      join: async ({ groupId, topics }) => {
        client.checkGroupIsOurs(groupId);
        return this.share(client.partitionsOf(topics));
      },
      commit: async ({ groupId, offsets }) => {
        await client.commitOffsets(groupId, offsets);
        return null;
      },
    };
    port.on('message', (message: LogPortCall) => this.serve(message));
  }

  /**
   * Stops answering (a worker that died or hung: whatever it still sends is dropped) and resolves once every
   * call already taken is done, so the next worker in this slot starts after the last write of this one.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.port.close();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private serve(message: LogPortCall): void {
    if (this.closed) return;
    const reply = this.answer(message)
      .then(
        (result): LogPortReply => ({ kind: 'reply', id: message.id, ok: true, ...result }),
        (error: unknown): LogPortReply => ({
          kind: 'reply',
          id: message.id,
          ok: false,
          error: toPortError(error),
        }),
      )
      .then((answer) => {
        this.inFlight.delete(reply);
        if (!this.closed) this.port.postMessage(answer, movedBytes(answer));
      });
    this.inFlight.add(reply);
  }

  /** Dispatches to the op's handler; the switch ties each request to its handler and its result's type. */
  private async answer(message: LogPortRequest): Promise<LogPortResult> {
    const { handlers } = this;
    switch (message.op) {
      case 'describe':
        return { op: message.op, result: await handlers.describe(message.request) };
      case 'ensureTopic':
        return { op: message.op, result: await handlers.ensureTopic(message.request) };
      case 'offsets':
        return { op: message.op, result: await handlers.offsets(message.request) };
      case 'alterTopicConfig':
        return { op: message.op, result: await handlers.alterTopicConfig(message.request) };
      case 'deleteRecords':
        return { op: message.op, result: await handlers.deleteRecords(message.request) };
      case 'append':
        return { op: message.op, result: await handlers.append(message.request) };
      case 'fetch':
        return { op: message.op, result: await handlers.fetch(message.request) };
      case 'join':
        return { op: message.op, result: await handlers.join(message.request) };
      case 'commit':
        return { op: message.op, result: await handlers.commit(message.request) };
    }
  }

  /**
   * A fetch that found less than FETCH_MIN_BYTES waits FETCH_LINGER_MS for more before it answers (as a
   * Kafka consumer's fetch.min.bytes with fetch.max.wait.ms): a worker with a core of its own would otherwise
   * take each produce request's batch alone, paying a round trip, a processing pass and its output writes
   * per batch.
   */
  private async fetchLingering(requests: FetchRequest[], options: FetchOptions): Promise<PartitionBatches[]> {
    const first = await this.client.fetchBatches(requests, options);
    const bytes = first.reduce((sum, read) => sum + read.bytes.length, 0);
    if (bytes === 0 || bytes >= Math.min(FETCH_MIN_BYTES, options.maxBytes) || this.closed) return first;
    await new Promise((resolve) => setTimeout(resolve, FETCH_LINGER_MS));
    // Only what came since is read: the first read's bytes are kept, not read again.
    const endOffsets = new Map(
      first.map((read) => [partitionKey(read.topic, read.partition), read.endOffset]),
    );
    const rest = requests.map((request) => ({
      ...request,
      offset: endOffsets.get(partitionKey(request.topic, request.partition)) ?? request.offset,
    }));
    const more = await this.client.fetchBatches(rest, { maxBytes: options.maxBytes - bytes, maxWaitMs: 0 });
    return besideEachOther(first, more);
  }

  private share(partitions: TopicPartition[]): TopicPartition[] {
    return partitions.filter((_, index) => index % this.slot.slots === this.slot.slot);
  }

  private countServed(reads: PartitionBatches[]): PartitionBatches[] {
    for (const read of reads) {
      let records = 0;
      for (const batch of splitBatches(read.bytes)) records += readBatchHeader(batch).recordsCount;
      this.served(read.topic, read.bytes.length, records);
    }
    return reads;
  }
}

/**
 * The reads of a fetch and of its continuation, each partition's side by side (first, then what followed):
 * a fetch returns each partition's records together.
 */
function besideEachOther(first: PartitionBatches[], more: PartitionBatches[]): PartitionBatches[] {
  const following = new Map(more.map((read) => [partitionKey(read.topic, read.partition), read]));
  const reads: PartitionBatches[] = [];
  for (const read of first) {
    reads.push(read);
    const key = partitionKey(read.topic, read.partition);
    const next = following.get(key);
    if (next) reads.push(next);
    following.delete(key);
  }
  reads.push(...following.values());
  return reads;
}

/**
 * What a reply moves to the worker instead of copying: a fetch's reads, memory of their own that nothing on
 * this thread keeps (ReadResult.records), so this thread makes no garbage of them.
 */
function movedBytes(answer: LogPortReply): ArrayBuffer[] {
  return answer.ok && answer.op === 'fetch' ? transferable(answer.result.map((read) => read.bytes)) : [];
}
