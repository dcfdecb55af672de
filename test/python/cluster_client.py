"""Drives a Python Kafka client against a broker cluster for test/cluster-interop.test.ts, printing JSON lines.

Usage:
  cluster_client.py CLIENT BOOTSTRAP produce TOPIC PARTITIONS
      one producer (acks=all; idempotent for confluent) for the whole run: each stdin line "START COUNT" sends
      value v-N to partition N % PARTITIONS for N in [START, START+COUNT), waits for every answer and prints
      {"acked": [...], "failed": [[value, error], ...]}; ends at the end of stdin
  cluster_client.py CLIENT BOOTSTRAP consume TOPIC GROUP SECONDS
      a group member that prints {"p", "o", "v"} per record and commits as it goes, until SIGTERM (or
      SECONDS); then commits synchronously, closes and prints {"closed": true}
CLIENT: kafka-python | confluent
"""
import json
import logging
import signal
import sys
import time

CLIENT, BOOTSTRAP, PHASE = sys.argv[1], sys.argv[2], sys.argv[3]
ARGS = sys.argv[4:]
STOP = {"requested": False}


def emit(value):
    print(json.dumps(value), flush=True)


def on_term(_signum, _frame):
    STOP["requested"] = True


signal.signal(signal.SIGTERM, on_term)
logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                    format="%(asctime)s %(levelname)s %(name)s %(message)s")


def kp_producer():
    from kafka import KafkaProducer
    # kafka-python has no idempotent producer: retries with one request in flight keep the order, and a retry
    # whose first attempt was written makes a duplicate (at least once).
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", retries=100, retry_backoff_ms=200,
                             max_in_flight_requests_per_connection=1, linger_ms=5, request_timeout_ms=15000,
                             metadata_max_age_ms=5000)

    def produce(topic, partitions, start, count):
        return kp_send(producer, topic, partitions, start, count)

    return produce, lambda: producer.close(10)


def kp_send(producer, topic, partitions, start, count):
    futures = []
    for n in range(start, start + count):
        value = f"v-{n}"
        futures.append((value, producer.send(topic, value=value.encode(), partition=n % partitions)))
    producer.flush(120)
    acked, failed = [], []
    for value, future in futures:
        try:
            future.get(timeout=1)
            acked.append(value)
        except Exception as error:  # noqa: BLE001 - every failure is reported to the test
            failed.append([value, repr(error)])
    return {"acked": acked, "failed": failed}


def kp_consume(topic, group, seconds):
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=True, auto_commit_interval_ms=200, session_timeout_ms=10000,
                             heartbeat_interval_ms=500, metadata_max_age_ms=5000, request_timeout_ms=15000)
    deadline = time.time() + seconds
    while not STOP["requested"] and time.time() < deadline:
        for tp, messages in consumer.poll(timeout_ms=200).items():
            for message in messages:
                emit({"p": tp.partition, "o": message.offset, "v": message.value.decode()})
    consumer.commit()
    consumer.close()
    emit({"closed": True})


def ck_producer():
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "message.timeout.ms": 120000, "topic.metadata.refresh.interval.ms": 5000})

    def produce(topic, partitions, start, count):
        return ck_send(producer, topic, partitions, start, count)

    return produce, lambda: producer.flush(30)


def ck_send(producer, topic, partitions, start, count):
    acked, failed = [], []

    def report(error, message):
        value = message.value().decode()
        if error is None:
            acked.append(value)
        else:
            failed.append([value, str(error)])

    for n in range(start, start + count):
        producer.produce(topic, value=f"v-{n}", partition=n % partitions, on_delivery=report)
        producer.poll(0)
    left = producer.flush(150)
    if left:
        failed.append(["(unsent)", f"{left} messages still queued"])
    return {"acked": acked, "failed": failed}


def ck_consume(topic, group, seconds):
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": True, "auto.commit.interval.ms": 200, "session.timeout.ms": 10000,
                         "heartbeat.interval.ms": 500, "topic.metadata.refresh.interval.ms": 5000})
    consumer.subscribe([topic])
    deadline = time.time() + seconds
    while not STOP["requested"] and time.time() < deadline:
        message = consumer.poll(0.2)
        if message is None:
            continue
        if message.error():
            print(f"consumer error: {message.error()}", file=sys.stderr, flush=True)
            continue
        emit({"p": message.partition(), "o": message.offset(), "v": message.value().decode()})
    try:
        consumer.commit(asynchronous=False)
    except Exception as error:  # noqa: BLE001 - _NO_OFFSET when auto-commit already stored everything
        print(f"final commit: {error}", file=sys.stderr, flush=True)
    consumer.close()
    emit({"closed": True})


CLIENTS = {"kafka-python": (kp_producer, kp_consume), "confluent": (ck_producer, ck_consume)}
open_producer, consume = CLIENTS[CLIENT]

if PHASE == "produce":
    send, close = open_producer()
    while True:
        line = sys.stdin.readline()
        if not line.strip():
            break
        start, count = (int(word) for word in line.split())
        emit(send(ARGS[0], int(ARGS[1]), start, count))
    close()
    emit({"closed": True})
elif PHASE == "consume":
    consume(ARGS[0], ARGS[1], float(ARGS[2]))
else:
    raise SystemExit(f"unknown phase {PHASE}")
