"""Drives a real Python Kafka client against a broker, one phase per invocation, printing JSON results.

Usage: interop_client.py CLIENT BOOTSTRAP PHASE [ARGS...]
CLIENT: kafka-python | confluent
"""
import json
import sys
import time

CLIENT, BOOTSTRAP, PHASE = sys.argv[1], sys.argv[2], sys.argv[3]
ARGS = sys.argv[4:]
T0 = 1_700_000_000_000


def emit(value):
    print(json.dumps(value), flush=True)


def kp_create(topic, partitions):
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="py-admin")
    admin.create_topics([NewTopic(name=topic, num_partitions=partitions, replication_factor=1)])
    admin.close()


def kp_produce(topic, start, count):
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=5)
    for n in range(start, start + count):
        ts = T0 if n < 5000 else T0 + 1_000_000
        producer.send(topic, key=f"key-{n % 100}".encode(), value=f"value-{n}".encode(), timestamp_ms=ts)
    producer.flush()
    producer.close()


def kp_consume(topic, group, expected, timeout_s):
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=3000)
    seen = []
    deadline = time.time() + timeout_s
    while len(seen) < expected and time.time() < deadline:
        for message in consumer:
            seen.append([message.partition, message.offset, message.key.decode(), message.value.decode()])
            if len(seen) >= expected:
                break
    if group:
        consumer.commit()
    consumer.close()
    return seen


def kp_member(topic, group, seconds):
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=group, auto_offset_reset="earliest",
                             session_timeout_ms=10000, heartbeat_interval_ms=500)
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        consumer.poll(timeout_ms=200)
        assigned = sorted(tp.partition for tp in consumer.assignment())
        if assigned != last:
            emit({"assigned": assigned})
            last = assigned
    consumer.close()


def kp_offsets_for_time(topic, partitions, timestamp):
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    found = consumer.offsets_for_times({tp: timestamp for tp in tps})
    consumer.close()
    return {str(tp.partition): (found[tp].offset if found[tp] else -1) for tp in tps}


def ck_create(topic, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        future.result(30)


def ck_produce(topic, start, count):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "linger.ms": 5, "enable.idempotence": True})
    for n in range(start, start + count):
        ts = T0 if n < 5000 else T0 + 1_000_000
        producer.produce(topic, key=f"key-{n % 100}", value=f"value-{n}", timestamp=ts)
        producer.poll(0)
    if producer.flush(30) != 0:
        raise RuntimeError("messages left unsent")


def ck_consumer(group, extra=None):
    from confluent_kafka import Consumer
    config = {"bootstrap.servers": BOOTSTRAP, "group.id": group, "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "session.timeout.ms": 10000, "heartbeat.interval.ms": 500}
    config.update(extra or {})
    return Consumer(config)


def ck_consume(topic, group, expected, timeout_s):
    consumer = ck_consumer(group)
    consumer.subscribe([topic])
    seen = []
    deadline = time.time() + timeout_s
    while len(seen) < expected and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        seen.append([message.partition(), message.offset(), message.key().decode(), message.value().decode()])
    consumer.commit(asynchronous=False)
    consumer.close()
    return seen


def ck_member(topic, group, seconds):
    consumer = ck_consumer(group)
    state = {"assigned": None}

    def on_assign(_consumer, partitions):
        state["assigned"] = sorted(p.partition for p in partitions)
        emit({"assigned": state["assigned"]})

    consumer.subscribe([topic], on_assign=on_assign)
    deadline = time.time() + seconds
    while time.time() < deadline:
        consumer.poll(0.2)
    consumer.close()


def ck_offsets_for_time(topic, partitions, timestamp):
    from confluent_kafka import TopicPartition
    consumer = ck_consumer("py-offsets-for-time")
    found = consumer.offsets_for_times([TopicPartition(topic, p, timestamp) for p in range(partitions)], timeout=20)
    consumer.close()
    return {str(tp.partition): tp.offset for tp in found}


CLIENTS = {
    "kafka-python": (kp_create, kp_produce, kp_consume, kp_member, kp_offsets_for_time),
    "confluent": (ck_create, ck_produce, ck_consume, ck_member, ck_offsets_for_time),
}
create, produce, consume, member, offsets_for_time = CLIENTS[CLIENT]

if PHASE == "create":
    create(ARGS[0], int(ARGS[1]))
    emit({"created": ARGS[0]})
elif PHASE == "produce":
    produce(ARGS[0], int(ARGS[1]), int(ARGS[2]))
    emit({"produced": int(ARGS[2])})
elif PHASE == "consume":
    emit({"records": consume(ARGS[0], ARGS[1] or None, int(ARGS[2]), float(ARGS[3]))})
elif PHASE == "member":
    member(ARGS[0], ARGS[1], float(ARGS[2]))
elif PHASE == "offsets-for-time":
    emit({"offsets": offsets_for_time(ARGS[0], int(ARGS[1]), int(ARGS[2]))})
else:
    raise SystemExit(f"unknown phase {PHASE}")
