"""Idempotent producing while partition leaders are killed and restarted (3 nodes, RF 3)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from producer_helpers import read_partition

from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.producer import Producer, RecordMetadata
from kafkaio.testing.pytest_plugin import unique_topic_name

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

log = logging.getLogger(__name__)
PARTITIONS = 3


async def test_leader_killed_and_restarted_every_acked_record_exactly_once_in_order(
    kafka_cluster_3: Any,
) -> None:
    cluster = kafka_cluster_3
    topic = unique_topic_name("failover")
    await asyncio.to_thread(cluster.create_topic, topic, PARTITIONS, 3, {"min.insync.replicas": 2})
    sent: dict[int, list[tuple[bytes, asyncio.Future[RecordMetadata]]]] = {
        p: [] for p in range(PARTITIONS)
    }
    stop = asyncio.Event()

    async with Producer(
        bootstrap_servers=cluster.bootstrap_servers,
        linger_ms=2,
        batch_size=4096,
        request_timeout_ms=5_000,
        delivery_timeout_ms=120_000,
        retry_backoff_ms=50,
        metadata_max_age_ms=5_000,
    ) as producer:

        async def produce() -> None:
            seq = 0
            while not stop.is_set():
                for p in range(PARTITIONS):
                    value = b"%d:%08d" % (p, seq)
                    sent[p].append((value, await producer.send(topic, value, partition=p)))
                seq += 1
                if seq % 50 == 0:
                    await asyncio.sleep(0.005)

        task = asyncio.create_task(produce())
        await asyncio.sleep(2)
        for round_ in range(2):
            leader = producer.client.leader_for(TopicPartition(topic, round_ % PARTITIONS))
            assert leader is not None
            log.info("killing node %d (leader of partition %d)", leader, round_ % PARTITIONS)
            await asyncio.to_thread(cluster.kill_node, leader)
            await asyncio.sleep(4)
            await asyncio.to_thread(cluster.start_node, leader)
            await asyncio.sleep(3)
        stop.set()
        await task
        await producer.flush(timeout=150)
        metrics = producer.metrics()

    acked: dict[int, list[bytes]] = {}
    for p, items in sent.items():
        assert all(f.done() for _, f in items), "no future may be left pending"
        failed = [f.exception() for _, f in items if f.exception() is not None]
        assert failed == [], f"partition {p}: {len(failed)} failed, e.g. {failed[:1]}"
        acked[p] = [v for v, _ in items]
        offsets = [f.result().offset for _, f in items if f.result().offset >= 0]
        assert offsets == sorted(offsets)
    log.info("sent %s records; producer metrics %s", {p: len(v) for p, v in acked.items()}, metrics)
    assert metrics["retries"] > 0, "the leader kill should have forced retries"

    async with ClusterClient(bootstrap_servers=cluster.bootstrap_servers) as client:
        for p in range(PARTITIONS):
            records = await read_partition(client, topic, p, len(acked[p]), timeout=60)
            values = [r.value for r in records]
            assert len(values) == len(set(values)), f"partition {p} holds duplicates"
            assert values == acked[p], f"partition {p}: log differs from what was acknowledged"


async def test_moved_leader_is_taken_from_the_produce_response_kip_951(
    kafka_cluster_3: Any,
) -> None:
    cluster = kafka_cluster_3
    topic = unique_topic_name("leader-hint")
    await asyncio.to_thread(cluster.create_topic, topic, 1, 3, {"min.insync.replicas": 2})
    tp = TopicPartition(topic, 0)
    async with Producer(
        bootstrap_servers=cluster.bootstrap_servers, linger_ms=2, retry_backoff_ms=50
    ) as producer:
        values = [b"before-%d" % i for i in range(100)]
        futures = [await producer.send(topic, v, partition=0) for v in values]
        await producer.flush()
        metadata = producer._cluster.cluster
        hints = _record_hints(metadata)
        # The old leader lives on: it answers the next produce with NOT_LEADER_OR_FOLLOWER
        # naming the new leader.
        new_leader = await _move_leadership(cluster.bootstrap_servers, metadata, tp)
        after = [b"after-%d" % i for i in range(100)]
        futures += [await producer.send(topic, v, partition=0) for v in after]
        await producer.flush()
        assert all(f.exception() is None for f in futures)
        assert True in hints, "the old leader's answer should have named the new one"
        moved = metadata.partition(tp)
        assert moved is not None and moved.leader == new_leader
    async with ClusterClient(bootstrap_servers=cluster.bootstrap_servers) as client:
        records = await read_partition(client, topic, 0, len(values) + len(after), timeout=60)
    assert [r.value for r in records] == values + after


async def test_consumer_follows_a_moved_leader_from_the_fetch_response_kip_951(
    kafka_cluster_3: Any,
) -> None:
    from kafkaio.consumer import Consumer

    cluster = kafka_cluster_3
    topic = unique_topic_name("fetch-hint")
    await asyncio.to_thread(cluster.create_topic, topic, 1, 3, {"min.insync.replicas": 2})
    tp = TopicPartition(topic, 0)
    async with Producer(bootstrap_servers=cluster.bootstrap_servers) as producer:
        for i in range(50):
            await producer.send(topic, b"%d" % i, partition=0)
        await producer.flush()
        async with Consumer(
            bootstrap_servers=cluster.bootstrap_servers, auto_offset_reset="earliest"
        ) as consumer:
            consumer.assign([tp])
            got: list[bytes] = []
            while len(got) < 50:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    got += [r.value for r in records if r.value is not None]
            metadata = consumer._client.cluster
            hints = _record_hints(metadata)
            await _move_leadership(cluster.bootstrap_servers, metadata, tp)
            for i in range(50, 100):
                await producer.send(topic, b"%d" % i, partition=0)
            await producer.flush()
            deadline = asyncio.get_running_loop().time() + 30
            while len(got) < 100:
                assert asyncio.get_running_loop().time() < deadline, f"stuck at {len(got)}"
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    got += [r.value for r in records if r.value is not None]
    assert got == [b"%d" % i for i in range(100)]
    assert True in hints, "the old leader's fetch answer should have named the new one"


def _record_hints(metadata: Any) -> list[bool]:
    """Wrap ``metadata.apply_leader_hint`` to record whether each hint was taken."""
    hints: list[bool] = []
    apply = metadata.apply_leader_hint

    def recording(*args: Any, **kwargs: Any) -> bool:
        hints.append(apply(*args, **kwargs))
        return hints[-1]

    metadata.apply_leader_hint = recording
    return hints


async def _move_leadership(bootstrap: str, metadata: Any, tp: TopicPartition) -> int:
    """Make another replica the preferred leader and elect it; returns the new leader."""
    from kafkaio.admin import Admin

    old = metadata.partition(tp)
    assert old is not None and old.leader is not None
    new_leader: int = next(r for r in old.replicas if r != old.leader)
    order = [new_leader, *(r for r in old.replicas if r != new_leader)]
    async with Admin(bootstrap_servers=bootstrap) as admin:
        (await admin.alter_partition_reassignments({tp: order})).raise_on_error()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while (result := await admin.elect_leaders([tp]))[tp].error is not None:
            assert loop.time() < deadline, f"election did not happen: {result[tp].error}"
            await asyncio.sleep(0.5)
    return new_leader
