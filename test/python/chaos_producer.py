"""An idempotent acks=all librdkafka producer (python3-confluent-kafka) that keeps producing until SIGTERM.

Usage: chaos_producer.py BOOTSTRAP TOPIC PARTITIONS PREFIX
Prints one JSON line per delivery report: {"p": partition, "o": offset, "v": value} when acknowledged,
{"err": reason, "v": value} when not. On SIGTERM it stops producing and waits for every report.
"""
import json
import signal
import sys
import time

from confluent_kafka import Producer

BOOTSTRAP, TOPIC, PARTITIONS, PREFIX = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def report(error, message):
    value = message.value().decode()
    if error is None:
        print(json.dumps({"p": message.partition(), "o": message.offset(), "v": value}), flush=True)
    else:
        print(json.dumps({"err": str(error), "v": value}), flush=True)


producer = Producer({
    "bootstrap.servers": BOOTSTRAP,
    "enable.idempotence": True,
    "acks": "all",
    # Long enough to outlast any fault of the test: a record is only given up when the test ends.
    "message.timeout.ms": 600000,
    "linger.ms": 5,
    # One request in flight per connection. With several, librdkafka 2.0 answers the OUT_OF_ORDER_SEQUENCE_NUMBER
    # that requests behind a failed one get during a leader change (as Kafka answers them) by bumping its
    # producer epoch and sending possibly-written records again under the new epoch, which can write them
    # twice: a known limit of that client's idempotent producer (later librdkafka versions re-send such
    # requests in the same epoch), seen here as one record twice, at epoch 0 and again at epoch 1 sequence 0.
    "max.in.flight.requests.per.connection": 1,
})
stopping = False


def stop(_signum, _frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)
n = 0
while not stopping:
    producer.produce(TOPIC, value=f"{PREFIX}-{n}".encode(), partition=n % PARTITIONS, on_delivery=report)
    n += 1
    producer.poll(0)
    time.sleep(0.01)
left = producer.flush(120)
print(json.dumps({"done": n, "unflushed": left}), flush=True)
