"""kafka-python forced onto the message formats before Kafka 0.11, printing JSON results.

Usage: old_format_client.py BOOTSTRAP PHASE API_VERSION TOPIC [ARGS...]
API_VERSION: 0.9 (Produce v1 / Fetch v1: magic 0) | 0.10 (Produce v2 / Fetch v2: magic 1) | auto
PHASE: produce TOPIC START COUNT COMPRESSION | consume TOPIC EXPECTED
"""
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

BOOTSTRAP, PHASE, API, TOPIC = sys.argv[1:5]
ARGS = sys.argv[5:]
T0 = 1_700_000_000_000
VERSION = {"0.9": {"api_version": (0, 9)}, "0.10": {"api_version": (0, 10)}, "auto": {}}[API]


def produce(start, count, compression):
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=20,
                             compression_type=None if compression == "none" else compression, **VERSION)
    for n in range(start, start + count):
        key = None if n % 7 == 0 else f"key-{n}".encode()
        producer.send(TOPIC, key=key, value=f"value-{n}".encode(), partition=0, timestamp_ms=T0 + n)
    producer.flush()
    producer.close()
    return {"produced": count}


def consume(expected):
    # No group: the (0, 9)/(0, 10) group protocol is not what is under test, the fetch format is.
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, consumer_timeout_ms=2000, fetch_max_bytes=4096,
                             max_partition_fetch_bytes=4096, **VERSION)
    partition = TopicPartition(TOPIC, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    seen = []
    deadline = time.time() + 60
    while len(seen) < expected and time.time() < deadline:
        for message in consumer:
            key = None if message.key is None else message.key.decode()
            seen.append([message.offset, key, message.value.decode(), message.timestamp])
            if len(seen) >= expected:
                break
    consumer.close()
    return {"records": seen}


if PHASE == "produce":
    print(json.dumps(produce(int(ARGS[0]), int(ARGS[1]), ARGS[2])), flush=True)
elif PHASE == "consume":
    print(json.dumps(consume(int(ARGS[0]))), flush=True)
else:
    raise SystemExit(f"unknown phase {PHASE}")
