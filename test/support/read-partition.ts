import type { ConsumedRecord, LogClient, TopicPartition } from '../../src/client/types.js';

/**
 * Every record a reader of `client` gets from the partition, from its start to its end when called. Offsets
 * that hold no record (transaction markers, aborted records for a read_committed client, compacted gaps) are
 * passed with the fetch's readUpTo, so a partition ending in a marker is read to its end, not forever.
 */
export async function readPartition(client: LogClient, partition: TopicPartition): Promise<ConsumedRecord[]> {
  const { earliest, latest } = await client.offsets(partition);
  const records: ConsumedRecord[] = [];
  for (let offset = earliest; offset < latest; ) {
    let next = offset;
    const fetched = await client.fetch([{ ...partition, offset }], {
      maxBytes: 4 * 1024 * 1024,
      maxWaitMs: 0,
      readUpTo: (_topic, _partition, upTo) => {
        next = Math.max(next, upTo);
      },
    });
    for (const record of fetched) {
      if (record.offset < offset || record.offset >= latest) continue;
      records.push(record);
      next = Math.max(next, record.offset + 1);
    }
    if (next <= offset)
      throw new Error(`the fetch of ${partition.topic}-${partition.partition} at ${offset} did not move`);
    offset = next;
  }
  return records;
}

/** readPartition() of every partition of the topic, partition after partition. */
export async function readTopic(client: LogClient, topic: string): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  const partitions = await client.partitionCount(topic);
  for (let partition = 0; partition < partitions; partition++) {
    records.push(...(await readPartition(client, { topic, partition })));
  }
  return records;
}
