import type { Kafka } from 'kafkajs';

/** Creates `topic` with `partitions` through kafkajs and produces `perPartition` records (`v0`, `v1`, ...) to each. */
export async function seedTopic(
  client: Kafka,
  topic: string,
  partitions: number,
  perPartition: number,
): Promise<void> {
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  await admin.disconnect();
  const producer = client.producer();
  await producer.connect();
  for (let partition = 0; partition < partitions; partition++) {
    await producer.send({
      topic,
      messages: Array.from({ length: perPartition }, (_, i) => ({ partition, value: `v${i}` })),
    });
  }
  await producer.disconnect();
}
