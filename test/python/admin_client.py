"""Topic admin calls of one Python client against a broker; prints one JSON line of what it saw.

usage: admin_client.py kafka-python|confluent BOOTSTRAP TOPIC
Creates TOPIC with 1 partition, grows it to 3, sets retention.ms=120000 (validate-only first, then for
real) and describes it back: {"partitions": N, "retention": [value, source]}.
"""
import json
import sys

RETENTION = "120000"


def kafka_python(bootstrap, topic):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="admin-py", request_timeout_ms=30000)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
        admin.create_partitions({topic: NewPartitions(3)}, validate_only=True)
        admin.create_partitions({topic: NewPartitions(3)})
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": RETENTION})
        admin.alter_configs([resource])
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        retention = None
        for response in described:
            for result in response.resources:
                error_code, _message, _type, _name, entries = result[:5]
                assert error_code == 0, result
                for entry in entries:
                    if entry[0] == "retention.ms":
                        # v0 has is_default where later versions have config_source.
                        retention = [entry[1], entry[3] if response.API_VERSION >= 1 else None]
        partitions = len(admin.describe_topics([topic])[0]["partitions"])
        return {"partitions": partitions, "retention": retention}
    finally:
        admin.close()


def confluent(bootstrap, topic):
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result(30)
    for future in admin.create_partitions([NewPartitions(topic, 3)], validate_only=True).values():
        future.result(30)
    for future in admin.create_partitions([NewPartitions(topic, 3)]).values():
        future.result(30)
    resource = ConfigResource("topic", topic, set_config={"retention.ms": RETENTION})
    for future in admin.alter_configs([resource], validate_only=True).values():
        future.result(30)
    for future in admin.alter_configs([resource]).values():
        future.result(30)
    described = admin.describe_configs([ConfigResource("topic", topic)])
    entries = list(described.values())[0].result(30)
    entry = entries["retention.ms"]
    partitions = len(admin.list_topics(topic, timeout=30).topics[topic].partitions)
    return {"partitions": partitions, "retention": [entry.value, entry.source]}


def main():
    client, bootstrap, topic = sys.argv[1:4]
    report = kafka_python(bootstrap, topic) if client == "kafka-python" else confluent(bootstrap, topic)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
