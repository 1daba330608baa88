"""The consumer on a 3-node cluster: partition leaders and the group coordinator move when
a broker stops; fetching follows the leaders through metadata and commits find the new
coordinator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from consumer_helpers import collect, produce

from kafkaio.cluster import CoordinationType, TopicPartition
from kafkaio.consumer import Consumer
from kafkaio.testing.pytest_plugin import unique_topic_name

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


async def test_follows_leader_and_coordinator_moves(kafka_cluster_3: Any) -> None:
    cluster = kafka_cluster_3
    topic = unique_topic_name("consumer-failover")
    await asyncio.to_thread(cluster.create_topic, topic, 3, 3)
    bootstrap = cluster.bootstrap_servers
    group = f"{topic}-g"
    await produce(bootstrap, topic, 3, 20)
    stopped: int | None = None
    async with Consumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=300,
    ) as consumer:
        try:
            first = await collect(consumer, 60, timeout=60)
            assert len({(r.partition, r.offset) for r in first}) == 60
            await consumer.commit()
            stopped = await consumer.client.coordinator_lookup(CoordinationType.GROUP, group)
            await asyncio.to_thread(cluster.stop_node, stopped)
            await produce(bootstrap, topic, 3, 10, prefix="after")
            second = await collect(consumer, 30, timeout=60)
            assert sorted(r.value for r in second) == sorted(
                f"after-{p}-{i}".encode() for p in range(3) for i in range(10)
            )
            for p in range(3):
                tp = TopicPartition(topic, p)
                assert consumer.client.leader_for(tp) != stopped
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while True:  # the group moves to another coordinator, then commits work again
                try:
                    await consumer.commit()
                    break
                except Exception:
                    if loop.time() > deadline:
                        raise
                    await consumer.getmany(timeout_ms=200)
            for p in range(3):
                assert await consumer.committed(TopicPartition(topic, p)) == 30
        finally:
            if stopped is not None:
                await asyncio.to_thread(cluster.start_node, stopped)
