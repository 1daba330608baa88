"""A kafkaio consumer shares a group with a Java consumer (classic protocol, same assignor),
and a member that stops polling leaves the group (max_poll_interval_ms)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer, ConsumerRebalanceListener

pytestmark = pytest.mark.kafka

FAST = {"session_timeout_ms": 10_000, "heartbeat_interval_ms": 300, "auto_offset_reset": "earliest"}


async def _poll_until(consumer: Consumer, predicate: Any, timeout: float = 60.0) -> None:
    async def loop() -> None:
        while not predicate():
            await consumer.getmany(timeout_ms=100)

    await asyncio.wait_for(loop(), timeout)


@pytest.mark.parametrize(
    ("ours", "java"),
    [
        ("range", "org.apache.kafka.clients.consumer.RangeAssignor"),
        ("cooperative-sticky", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"),
    ],
)
async def test_group_shared_with_a_java_consumer(
    kafka_cluster: Any, make_topic: Any, ours: str, java: str
) -> None:
    topic = make_topic(partitions=4)
    group = f"{topic}-g"
    cmd = kafka_cluster.java_tool_command(
        "org.apache.kafka.tools.VerifiableConsumer",
        "--bootstrap-server", kafka_cluster.bootstrap_servers,
        "--topic", topic,
        "--group-id", group,
        "--group-protocol", "classic",
        "--assignment-strategy", java,
        "--session-timeout", "10000",
    )  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    java_assigned: list[set[TopicPartition]] = []

    async def read_events() -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if event.get("name") == "partitions_assigned":
                    java_assigned.append(
                        {TopicPartition(p["topic"], p["partition"]) for p in event["partitions"]}
                    )

    reader = asyncio.create_task(read_events())
    consumer = Consumer(
        topic,
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        group_id=group,
        partition_assignment_strategy=[ours],
        **FAST,
    )
    try:
        # The Java member joins first (it gets all four partitions), then kafkaio joins.
        await asyncio.wait_for(_wait(lambda: bool(java_assigned)), 60)
        await consumer.start()
        await _poll_until(consumer, lambda: len(consumer.assignment()) == 2)
        mine = set(consumer.assignment())
        # The Java side reports its own assignment after the rebalance.
        everything = {TopicPartition(topic, p) for p in range(4)}
        await asyncio.wait_for(_wait(lambda: _java_owns(java_assigned, everything - mine)), 30)
    finally:
        await consumer.stop()
        proc.terminate()
        await proc.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


def _java_owns(events: list[set[TopicPartition]], expected: set[TopicPartition]) -> bool:
    # Eager: the last event is the whole assignment; cooperative: events add partitions.
    return bool(events) and (events[-1] == expected or expected <= set().union(*events))


async def _wait(predicate: Any) -> None:
    while True:
        if predicate():
            return
        await asyncio.sleep(0.1)


async def test_member_that_stops_polling_leaves_the_group(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic(partitions=2)
    group = f"{topic}-g"
    options = {**FAST, "partition_assignment_strategy": ["range"], "enable_auto_commit": False}
    lost: list[frozenset[TopicPartition]] = []

    class Lost(ConsumerRebalanceListener):
        async def on_partitions_lost(self, partitions: frozenset[TopicPartition]) -> None:
            lost.append(partitions)

    slow = Consumer(bootstrap_servers=kafka_cluster.bootstrap_servers, group_id=group,
                    max_poll_interval_ms=1_500, **options)  # fmt: skip
    slow.subscribe([topic], listener=Lost())
    busy = Consumer(topic, bootstrap_servers=kafka_cluster.bootstrap_servers, group_id=group,
                    **options)  # fmt: skip
    await slow.start()
    await busy.start()

    def split() -> bool:
        return len(slow.assignment()) == 1 and len(busy.assignment()) == 1

    async def poll_both() -> None:
        while not split():
            await asyncio.gather(slow.getmany(timeout_ms=100), busy.getmany(timeout_ms=100))

    try:
        await asyncio.wait_for(poll_both(), 60)
        # slow stops polling: it leaves, busy gets both partitions without waiting for the
        # session timeout.
        await _poll_until(busy, lambda: len(busy.assignment()) == 2, timeout=15)
        # Polling again first gives the partition up as lost, then rejoins.
        owned = slow.assignment()
        assert await slow.getmany(timeout_ms=0) == {}
        assert lost == [owned] and slow.assignment() == frozenset()
        await asyncio.wait_for(poll_both(), 60)
    finally:
        await slow.stop()
        await busy.stop()


async def test_group_shared_with_a_confluent_kafka_consumer(
    kafka_cluster: Any, make_topic: Any
) -> None:
    ck = pytest.importorskip("confluent_kafka")
    topic = make_topic(partitions=4)
    group = f"{topic}-g"
    bootstrap = kafka_cluster.bootstrap_servers
    other = ck.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "partition.assignment.strategy": "range",
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 300,
        }
    )
    # librdkafka calls are made from the polling thread only; it reports its assignment.
    theirs: set[TopicPartition] = set()

    def on_assign(_consumer: Any, partitions: list[Any]) -> None:
        theirs.clear()
        theirs.update(TopicPartition(p.topic, p.partition) for p in partitions)

    other.subscribe([topic], on_assign=on_assign)
    loop = asyncio.get_running_loop()
    stop = False

    def poll() -> None:
        while not stop:
            other.poll(0.1)

    poller = loop.run_in_executor(None, poll)
    consumer = Consumer(
        topic, bootstrap_servers=bootstrap, group_id=group,
        partition_assignment_strategy=["range"], **FAST,
    )  # fmt: skip
    try:
        await consumer.start()
        await _poll_until(consumer, lambda: len(consumer.assignment()) == 2)

        everything = {TopicPartition(topic, p) for p in range(4)}
        await asyncio.wait_for(
            _poll_until(consumer, lambda: theirs == everything - consumer.assignment()), 30
        )
    finally:
        await consumer.stop()
        stop = True
        await poller
        await loop.run_in_executor(None, other.close)
