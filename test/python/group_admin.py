"""Group administration through the Python clients, one phase per invocation, printing JSON results.

Usage: group_admin.py BOOTSTRAP PHASE [ARGS...]
  kp-commit GROUP TOPIC PARTITION OFFSET METADATA   kafka-python 2.0.2 consumer commit (standalone, with metadata)
  kp-offsets GROUP        kafka-python KafkaAdminClient.list_consumer_group_offsets
  kp-delete GROUP...      kafka-python KafkaAdminClient.delete_consumer_groups: [[group, error code]]
  cf-groups               confluent-kafka 1.7.0 AdminClient.list_groups (it has no delete_consumer_groups)
"""
import json
import sys

BOOTSTRAP, PHASE = sys.argv[1], sys.argv[2]
ARGS = sys.argv[3:]


def emit(value):
    print(json.dumps(value), flush=True)


def kp_commit(group, topic, partition, offset, metadata):
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
    consumer.commit({TopicPartition(topic, partition): OffsetAndMetadata(offset, metadata)})
    consumer.close()


def kp_offsets(group):
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="py-group-admin")
    offsets = admin.list_consumer_group_offsets(group)
    admin.close()
    return {f"{tp.topic}:{tp.partition}": [om.offset, om.metadata] for tp, om in offsets.items()}


def kp_delete(groups):
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="py-group-admin")
    results = admin.delete_consumer_groups(groups)
    admin.close()
    return [[group, error.errno] for group, error in results]


def cf_groups():
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    return sorted([g.id, g.state] for g in admin.list_groups(timeout=30))


if PHASE == "kp-commit":
    kp_commit(ARGS[0], ARGS[1], int(ARGS[2]), int(ARGS[3]), ARGS[4])
    emit({"committed": True})
elif PHASE == "kp-offsets":
    emit(kp_offsets(ARGS[0]))
elif PHASE == "kp-delete":
    emit(kp_delete(ARGS))
elif PHASE == "cf-groups":
    emit(cf_groups())
else:
    raise SystemExit(f"unknown phase {PHASE}")
