"""kafkaio demo: start a local Apache Kafka, then drive it with kafkaio.

Run with ``make demo``. Shows what exists so far: the cluster client's bootstrap and
negotiated broker release, the brokers in metadata, creating a topic with the admin client,
producing keyed records with the idempotent producer, reading the end offsets back, and
consuming everything as a consumer-group member that commits its positions.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid

from kafkaio.admin import Admin, NewTopic, OffsetSpec
from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.consumer import Consumer
from kafkaio.producer import Producer
from kafkaio.testing import KafkaCluster


async def show_cluster(bootstrap_servers: str) -> None:
    async with ClusterClient(
        bootstrap_servers=bootstrap_servers, client_id="kafkaio-demo"
    ) as client:
        release = ".".join(map(str, client.api_version or ()))
        print(f"bootstrapped from {bootstrap_servers}; broker release detected: {release}")
        for broker in client.cluster.brokers():
            print(f"  broker {broker.node_id} at {broker.host}:{broker.port} rack={broker.rack}")
        print(
            f"  cluster id {client.cluster.cluster_id}, controller {client.cluster.controller_id}"
        )


async def create_topic(admin: Admin, topic: str) -> None:
    created = await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    created.raise_on_error()
    # Brokers learn about a new topic a moment after the controller commits it.
    for _ in range(100):
        descriptions = await admin.describe_topics([topic])
        description = descriptions[topic]
        if description.error is None and all(p.leader is not None for p in description.partitions):
            break
        await asyncio.sleep(0.1)
    descriptions.raise_on_error()
    print(f"created topic {topic!r} (id {description.topic_id}):")
    for p in description.partitions:
        print(f"  partition {p.partition}: leader {p.leader}, replicas {p.replicas}")
    listed = await admin.list_topics()
    print(f"topics in the cluster: {sorted(listed)}")


async def produce(bootstrap_servers: str, topic: str) -> None:
    """Send keyed records with the idempotent producer and report where they landed."""
    async with Producer(bootstrap_servers=bootstrap_servers, compression_type="lz4") as producer:
        futures = [
            await producer.send(topic, value=f"event {i}".encode(), key=f"user-{i % 10}".encode())
            for i in range(1000)
        ]
        metadata = await asyncio.gather(*futures)
    per_partition: dict[int, int] = {}
    for md in metadata:
        per_partition[md.partition] = per_partition.get(md.partition, 0) + 1
    print(f"produced {len(metadata)} records (idempotent, lz4): per partition {per_partition}")


async def run(bootstrap_servers: str) -> None:
    await show_cluster(bootstrap_servers)
    topic = f"kafkaio-demo-{uuid.uuid4().hex[:8]}"
    async with Admin(bootstrap_servers=bootstrap_servers) as admin:
        await create_topic(admin, topic)
        await produce(bootstrap_servers, topic)
        tps = [TopicPartition(topic, p) for p in range(3)]
        ends = await admin.list_offsets({tp: OffsetSpec.latest() for tp in tps})
        print("end offsets read back:", {tp.partition: r.offset for tp, r in ends.items()})
        await consume(bootstrap_servers, topic, expected=sum(r.offset for r in ends.values()))
        lag = await admin.consumer_group_lag(f"{topic}-readers")
        print("group lag after the commit:", {tp.partition: i.lag for tp, i in lag.items()})


async def consume(bootstrap_servers: str, topic: str, expected: int) -> None:
    """Read everything back as a group member and commit the positions."""
    async with Consumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"{topic}-readers",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    ) as consumer:
        seen = 0
        last_value = b""
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=5_000)
            if not batch:
                break
            for records in batch.values():
                seen += len(records)
                last_value = records[-1].value or b""
        await consumer.commit()
        print(f"consumed {seen} of {expected} records as group member {consumer.member_id}")
        print(f"  e.g. {last_value.decode()!r}; committed positions for the group")


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print("starting a local Apache Kafka (KRaft, 1 node) on loopback ...")
    with KafkaCluster(nodes=1) as cluster:
        print(f"Kafka is up at {cluster.bootstrap_servers}")
        asyncio.run(run(cluster.bootstrap_servers))
    print("broker stopped; demo done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
