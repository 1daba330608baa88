"""Consumer groups (classic protocol) against a real broker: partition ownership, commits,
members joining and leaving, rebalance listeners, static membership."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import pytest
from consumer_helpers import produce

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer, ConsumerRebalanceListener
from kafkaio.errors import IllegalStateError

pytestmark = pytest.mark.kafka

FAST = {
    "session_timeout_ms": 10_000,
    "heartbeat_interval_ms": 300,
    "auto_offset_reset": "earliest",
    "enable_auto_commit": False,
}


class Recorder(ConsumerRebalanceListener):
    """Keeps every callback, checking they never overlap."""

    def __init__(self) -> None:
        self.events: list[tuple[str, frozenset[TopicPartition]]] = []
        self._busy = False

    async def _record(self, kind: str, parts: frozenset[TopicPartition]) -> None:
        assert not self._busy, "rebalance callbacks overlap"
        self._busy = True
        try:
            await asyncio.sleep(0.05)  # heartbeats must keep going meanwhile
            self.events.append((kind, parts))
        finally:
            self._busy = False

    async def on_partitions_revoked(self, revoked: frozenset[TopicPartition]) -> None:
        await self._record("revoked", revoked)

    async def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
        await self._record("assigned", assigned)


class Member:
    """A consumer processing in a task: records what it saw, commits after each batch."""

    def __init__(self, bootstrap: str, topic: str, group: str, **options: Any) -> None:
        self.listener = Recorder()
        self.consumer = Consumer(bootstrap_servers=bootstrap, group_id=group, **FAST, **options)
        self.topic = topic
        self.seen: list[tuple[int, int]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.consumer.subscribe([self.topic], listener=self.listener)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=100)
            for tp, records in batch.items():
                self.seen.extend((tp.partition, r.offset) for r in records)
            if batch:
                with contextlib.suppress(Exception):
                    # A rebalance may fence this commit; then records are read again.
                    await self.consumer.commit()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.consumer.stop()


async def _wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _owned_once(members: list[Member], partitions: int) -> bool:
    owned = [tp for m in members for tp in m.consumer.assignment()]
    return len(owned) == partitions and len(set(owned)) == partitions


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "sticky", "cooperative-sticky"])
async def test_group_members_share_partitions(
    kafka_cluster: Any, make_topic: Any, strategy: str
) -> None:
    topic = make_topic(partitions=12)
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 12, 10)
    group = f"{topic}-g"
    members = [
        Member(bootstrap, topic, group, partition_assignment_strategy=[strategy]) for _ in range(3)
    ]
    try:
        for m in members:
            await m.start()
        await _wait_for(
            lambda: (
                _owned_once(members, 12) and all(len(m.consumer.assignment()) == 4 for m in members)
            ),
            what="3 members owning 4 partitions each",
        )
        await _wait_for(
            lambda: len({x for m in members for x in m.seen}) == 120, what="all records"
        )
        stable = [set(m.consumer.assignment()) for m in members]
        marks = [len(m.listener.events) for m in members]
        # Every record processed by the partition's owner, and (no rebalance since the
        # assignment settled, commits after each batch) at least once overall.
        assert {x for m in members for x in m.seen} == {
            (p, o) for p in range(12) for o in range(10)
        }

        # Without a rebalance, with a commit after each batch: every record exactly once.
        generations = [m.consumer.generation_id for m in members]
        await produce(bootstrap, topic, 12, 5, prefix="mid")
        mid = {(p, o) for p in range(12) for o in range(10, 15)}
        await _wait_for(
            lambda: mid <= {x for m in members for x in m.seen}, what="records of the stable group"
        )
        if [m.consumer.generation_id for m in members] == generations:
            seen_mid = [x for m in members for x in m.seen if x in mid]
            assert sorted(seen_mid) == sorted(mid)

        # A fourth member joins, then one leaves: partitions move, still owned exactly once.
        newcomer = Member(bootstrap, topic, group, partition_assignment_strategy=[strategy])
        await newcomer.start()
        members.append(newcomer)
        await _wait_for(
            lambda: (
                _owned_once(members, 12) and all(len(m.consumer.assignment()) == 3 for m in members)
            ),
            what="4 members owning 3 partitions each",
        )
        for m, before, mark in zip(members[:3], stable, marks, strict=True):
            if strategy in ("sticky", "cooperative-sticky"):
                # Sticky: the old members keep three of their four partitions.
                assert set(m.consumer.assignment()) <= before
            if strategy == "cooperative-sticky":
                # Only the moved partitions were revoked.
                events = m.listener.events[mark:]
                revoked = set().union(*(p for kind, p in events if kind == "revoked"))
                assert revoked == before - set(m.consumer.assignment())
        leaving = members.pop(0)
        await leaving.stop()
        await _wait_for(lambda: _owned_once(members, 12), what="3 members owning all 12")
        await produce(bootstrap, topic, 12, 5, prefix="late")
        await _wait_for(
            lambda: (
                {x for m in [*members, leaving] for x in m.seen}
                >= {(p, o) for p in range(12) for o in range(20)}
            ),
            what="records produced after the rebalance",
        )
        for m in members:
            kinds = [kind for kind, _ in m.listener.events]
            assert kinds[0] == "assigned"
            if strategy != "cooperative-sticky":
                # Eager: every rebalance revokes everything before assigning again.
                assert all(a != b for a, b in itertools.pairwise(kinds))
    finally:
        for m in members:
            await m.stop()


async def test_commit_and_committed(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=2)
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 2, 10)
    group = f"{topic}-g"
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    async with Consumer(bootstrap_servers=bootstrap, group_id=group, **FAST) as consumer:
        consumer.assign([tp0, tp1])
        assert await consumer.committed(tp0) is None
        batch = await consumer.getmany(tp0, timeout_ms=10_000, max_records=4)
        last = batch[tp0][-1].offset
        await consumer.commit({tp0: (last + 1, "processed")})
        assert await consumer.committed(tp0) == last + 1
        info = await consumer.committed_offsets(tp0)
        assert info[tp0] is not None and info[tp0].metadata == "processed"
        assert info[tp0].leader_epoch is not None
        with pytest.raises(IllegalStateError):
            await consumer.commit({TopicPartition(topic, 5): 1})
    # A new member of the group starts from the committed offset.
    async with Consumer(bootstrap_servers=bootstrap, group_id=group, **FAST) as consumer:
        consumer.assign([tp0])
        assert await consumer.position(tp0) == last + 1


async def test_auto_commit_on_stop_and_resume(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=1)
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 1, 30)
    group = f"{topic}-g"
    options = {**FAST, "enable_auto_commit": True, "auto_commit_interval_ms": 200}
    async with Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **options) as consumer:
        got: list[int] = []
        while len(got) < 20:
            batch = await consumer.getmany(timeout_ms=1000, max_records=20 - len(got))
            got.extend(r.offset for rs in batch.values() for r in rs)
        assert got == list(range(20))
    async with Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **options) as consumer:
        batch = await consumer.getmany(timeout_ms=15_000)
        offsets = [r.offset for rs in batch.values() for r in rs]
        assert offsets[0] == 20


async def test_static_member_gets_partitions_back(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=4)
    bootstrap = kafka_cluster.bootstrap_servers
    group = f"{topic}-g"
    options = {**FAST, "partition_assignment_strategy": ["range"]}
    a = Consumer(
        topic, bootstrap_servers=bootstrap, group_id=group, group_instance_id="a", **options
    )
    b = Consumer(
        topic, bootstrap_servers=bootstrap, group_id=group, group_instance_id="b", **options
    )
    await a.start()
    await b.start()
    try:

        async def settled() -> None:
            while (
                len(a.assignment()) + len(b.assignment()) != 4
                or not a.assignment()
                or not b.assignment()
            ):
                await asyncio.gather(a.getmany(timeout_ms=100), b.getmany(timeout_ms=100))

        await asyncio.wait_for(settled(), 30)
        before_b = b.assignment()
        generation = a.generation_id
        await b.stop()  # static: no LeaveGroup
        b = Consumer(
            topic, bootstrap_servers=bootstrap, group_id=group, group_instance_id="b", **options
        )
        await b.start()
        await asyncio.wait_for(_poll_until(b, lambda: bool(b.assignment())), 30)
        assert b.assignment() == before_b
        await a.getmany(timeout_ms=500)
        assert a.generation_id == generation  # a did not rebalance
    finally:
        await a.stop()
        await b.stop()


async def _poll_until(consumer: Consumer, predicate: Any) -> None:
    while not predicate():
        await consumer.getmany(timeout_ms=100)


async def test_pattern_subscription_follows_new_topics(kafka_cluster: Any, make_topic: Any) -> None:
    import uuid

    prefix = f"kafkaio-pattern-{uuid.uuid4().hex[:6]}"
    first = make_topic(partitions=2, name=f"{prefix}-a")
    bootstrap = kafka_cluster.bootstrap_servers
    make_topic(name=f"other-{prefix}")  # does not match
    async with Consumer(
        bootstrap_servers=bootstrap, group_id=f"{prefix}-g", metadata_max_age_ms=500, **FAST
    ) as consumer:
        consumer.subscribe(pattern=rf"{prefix}-.*")
        await asyncio.wait_for(_poll_until(consumer, lambda: len(consumer.assignment()) == 2), 30)
        assert consumer.subscription() == frozenset({first})
        second = make_topic(partitions=1, name=f"{prefix}-b")
        await produce(bootstrap, second, 1, 3)
        await asyncio.wait_for(_poll_until(consumer, lambda: len(consumer.assignment()) == 3), 30)
        assert consumer.subscription() == frozenset({first, second})
        got: list[Any] = []
        while len(got) < 3:
            batch = await consumer.getmany(timeout_ms=1000)
            got.extend(r for rs in batch.values() for r in rs)
        assert {r.topic for r in got} == {second}


async def test_subscription_without_group_reads_all_partitions(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic(partitions=3)
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 3, 4)
    async with Consumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest") as c:
        got: list[Any] = []
        while len(got) < 12:
            batch = await c.getmany(timeout_ms=1000)
            got.extend(r for rs in batch.values() for r in rs)
        assert c.assignment() == {TopicPartition(topic, p) for p in range(3)}
        with pytest.raises(IllegalStateError):
            await c.commit()
