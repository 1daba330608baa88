"""kafkaio demo: start a local Apache Kafka, then drive it with kafkaio's cluster client.

Run with ``make demo``. Shows what exists so far: bootstrap, the broker's negotiated API
versions, the brokers and topics in metadata, creating a topic through kafkaio's own
generated CreateTopics request, waiting for its partitions to appear, and producing keyed
records with the idempotent producer.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid

from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.errors import raise_for_code
from kafkaio.producer import Producer
from kafkaio.protocol.messages.create_topics import (
    CreatableTopic,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from kafkaio.testing import KafkaCluster


async def run(bootstrap_servers: str) -> None:
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

        topic = f"kafkaio-demo-{uuid.uuid4().hex[:8]}"
        request = CreateTopicsRequest(
            topics=[CreatableTopic(name=topic, num_partitions=3, replication_factor=1)],
            timeout_ms=30_000,
        )
        response = await client.send_routed(request)
        assert isinstance(response, CreateTopicsResponse)
        for result in response.topics:
            raise_for_code(result.error_code, result.error_message)
            print(
                f"created topic {result.name!r} (id {result.topic_id}) with {result.num_partitions} partitions"
            )

        partitions = await client.partitions_for(topic)
        print(f"metadata now lists {topic!r} with partitions {sorted(partitions)}")
        for partition in sorted(partitions):
            leader = client.leader_for(TopicPartition(topic, partition))
            print(f"  partition {partition}: leader broker {leader}")

        all_metadata = await client.fetch_all_metadata()
        print(f"topics in the cluster: {sorted(all_metadata.topics(exclude_internal=True))}")

    await produce(bootstrap_servers, topic)


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
        last = metadata[-1]
        print(f"produced {len(metadata)} records (idempotent, lz4): per partition {per_partition}")
        print(f"  last record at partition {last.partition} offset {last.offset}")


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
