"""Drives a real Python Kafka client against a secured listener, printing one JSON result.

Usage: secure_client.py CLIENT BOOTSTRAP SECURITY_JSON PHASE [ARGS...]
CLIENT: kafka-python | confluent
SECURITY_JSON: {"protocol", "mechanism", "user", "password", "ca", "cert", "key"} (absent keys unused)
PHASE: roundtrip TOPIC GROUP COUNT   produce COUNT records, read them back in GROUP, commit
       metadata                      list topics (to see how a refused login fails)
"""
import json
import sys
import time

CLIENT, BOOTSTRAP, SECURITY, PHASE = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
ARGS = sys.argv[5:]


def emit(value):
    print(json.dumps(value), flush=True)


def kp_options():
    options = {"bootstrap_servers": BOOTSTRAP, "security_protocol": SECURITY["protocol"]}
    if "mechanism" in SECURITY:
        options.update(sasl_mechanism=SECURITY["mechanism"], sasl_plain_username=SECURITY["user"],
                       sasl_plain_password=SECURITY["password"])
    if "ca" in SECURITY:
        options.update(ssl_cafile=SECURITY["ca"], ssl_check_hostname=True)
    if "cert" in SECURITY:
        options.update(ssl_certfile=SECURITY["cert"], ssl_keyfile=SECURITY["key"])
    return options


def ck_options():
    options = {"bootstrap.servers": BOOTSTRAP, "security.protocol": SECURITY["protocol"]}
    if "mechanism" in SECURITY:
        options.update({"sasl.mechanisms": SECURITY["mechanism"], "sasl.username": SECURITY["user"],
                        "sasl.password": SECURITY["password"]})
    if "ca" in SECURITY:
        options["ssl.ca.location"] = SECURITY["ca"]
    if "cert" in SECURITY:
        options.update({"ssl.certificate.location": SECURITY["cert"], "ssl.key.location": SECURITY["key"]})
    return options


def kp_roundtrip(topic, group, count):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    producer = KafkaProducer(acks="all", **kp_options())
    for n in range(count):
        producer.send(topic, key=f"k{n % 7}".encode(), value=f"v{n}".encode())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(topic, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=3000, **kp_options())
    seen = set()
    deadline = time.time() + 60
    while len(seen) < count and time.time() < deadline:
        for message in consumer:
            seen.add(message.value.decode())
            if len(seen) >= count:
                break
    consumer.commit()
    partitions = consumer.partitions_for_topic(topic) or set()
    committed = sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions)
    consumer.close()
    return {"read": len(seen), "committed": committed}


def ck_roundtrip(topic, group, count):
    from confluent_kafka import Consumer, Producer, TopicPartition
    errors = []
    producer = Producer({**ck_options(), "acks": "all", "error_cb": lambda e: errors.append(str(e))})
    for n in range(count):
        producer.produce(topic, key=f"k{n % 7}".encode(), value=f"v{n}".encode())
    if producer.flush(60) != 0:
        raise RuntimeError(f"records left unsent: {errors[-3:]}")
    consumer = Consumer({**ck_options(), "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe([topic])
    seen = set()
    deadline = time.time() + 60
    while len(seen) < count and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen.add(message.value().decode())
    consumer.commit(asynchronous=False)
    metadata = consumer.list_topics(topic, timeout=10)
    partitions = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
    committed = sum(max(tp.offset, 0) for tp in consumer.committed(partitions, timeout=10))
    consumer.close()
    return {"read": len(seen), "committed": committed}


def kp_metadata():
    from kafka import KafkaAdminClient
    try:
        admin = KafkaAdminClient(request_timeout_ms=10000, **kp_options())
        topics = admin.list_topics()
        admin.close()
        return {"topics": sorted(topics)}
    except Exception as error:  # the refusal itself is the result
        return {"error": f"{type(error).__name__}: {error}"}


def ck_metadata():
    from confluent_kafka.admin import AdminClient
    errors = []
    admin = AdminClient({**ck_options(), "error_cb": lambda e: errors.append(str(e))})
    try:
        metadata = admin.list_topics(timeout=10)
        return {"topics": sorted(metadata.topics)}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}", "errors": errors[:3]}


PHASES = {
    ("kafka-python", "roundtrip"): lambda: kp_roundtrip(ARGS[0], ARGS[1], int(ARGS[2])),
    ("confluent", "roundtrip"): lambda: ck_roundtrip(ARGS[0], ARGS[1], int(ARGS[2])),
    ("kafka-python", "metadata"): kp_metadata,
    ("confluent", "metadata"): ck_metadata,
}

emit(PHASES[(CLIENT, PHASE)]())
