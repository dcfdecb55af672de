"""Runs one transaction with confluent-kafka (librdkafka) against a broker and prints a JSON result.

Usage: transactions_client.py BOOTSTRAP TRANSACTIONAL_ID TOPIC COUNT commit|abort GROUP SOURCE_TOPIC OFFSET

Produces COUNT records "<outcome>-<n>" to TOPIC in one transaction, adds the offset OFFSET of SOURCE_TOPIC
partition 0 for GROUP to it (send_offsets_to_transaction), then commits or aborts.
"""
import json
import sys

from confluent_kafka import Consumer, Producer, TopicPartition

BOOTSTRAP, TXN_ID, TOPIC, COUNT, OUTCOME, GROUP, SOURCE, OFFSET = sys.argv[1:9]

producer = Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": TXN_ID, "linger.ms": 5})
producer.init_transactions(30)
producer.begin_transaction()
for n in range(int(COUNT)):
    producer.produce(TOPIC, key=f"k-{n % 3}".encode(), value=f"{OUTCOME}-{n}".encode())
producer.flush(30)
group = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": GROUP})
producer.send_offsets_to_transaction(
    [TopicPartition(SOURCE, 0, int(OFFSET))], group.consumer_group_metadata(), 30
)
group.close()
if OUTCOME == "commit":
    producer.commit_transaction(30)
else:
    producer.abort_transaction(30)
print(json.dumps({"outcome": OUTCOME, "produced": int(COUNT)}), flush=True)
