"""Fetching from the closest replica (KIP-392) on a 2-node cluster with racks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from consumer_helpers import collect, produce

from kafkaio._pin import KAFKA_VERSION
from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer
from kafkaio.testing import KafkaCluster

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture(scope="module")
def rack_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(
        nodes=2,
        version=KAFKA_VERSION,
        work_dir=tmp_path_factory.mktemp("kafka-racks"),
        broker_properties={
            "replica.selector.class": "org.apache.kafka.common.replica.RackAwareReplicaSelector"
        },
        node_properties={1: {"broker.rack": "rack-1"}, 2: {"broker.rack": "rack-2"}},
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


async def test_fetches_from_the_replica_in_the_same_rack(rack_cluster: KafkaCluster) -> None:
    topic = "kafkaio-rack-aware"
    await asyncio.to_thread(rack_cluster.create_topic, topic, 1, 2)
    bootstrap = rack_cluster.bootstrap_servers
    await produce(bootstrap, topic, 1, 50)
    tp = TopicPartition(topic, 0)
    probe: Any
    async with Consumer(bootstrap_servers=bootstrap) as probe:
        await probe.client.partitions_for(topic)
        leader = probe.client.leader_for(tp)
    assert leader in (1, 2)
    follower = 3 - leader
    async with Consumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", client_rack=f"rack-{follower}"
    ) as consumer:
        consumer.assign([tp])
        records = await collect(consumer, 50)
        assert [r.offset for r in records] == list(range(50))
        # The leader redirected us; later fetches went to the follower in our rack.
        await produce(bootstrap, topic, 1, 10, prefix="more")
        more = await collect(consumer, 10)
        assert [r.offset for r in more] == list(range(50, 60))
        sessions = consumer._fetcher.metrics.sessions
        assert follower in sessions
        assert sessions[follower].full_fetches + sessions[follower].incremental_fetches > 0
        assert consumer._subs.state(tp).preferred_read_replica == follower
