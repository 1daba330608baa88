"""KIP-848 consumer groups (``group_protocol="consumer"``) against a real broker: members
joining and leaving with every record read once, a group shared with the Java consumer,
commits under the member epoch, the group as the admin client sees it, leaving on close."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import re
from typing import Any

import pytest
from consumer_helpers import produce

from kafkaio.admin import Admin
from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer, ConsumerRebalanceListener
from kafkaio.errors import IncompatibleBrokerVersionError

pytestmark = pytest.mark.kafka

NEW = {
    "group_protocol": "consumer",
    "auto_offset_reset": "earliest",
    # Positions are committed before partitions are revoked (and after each batch below).
    "enable_auto_commit": True,
    "auto_commit_interval_ms": 60_000,
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

    async def on_partitions_lost(self, lost: frozenset[TopicPartition]) -> None:
        await self._record("lost", lost)


class Member:
    """A consumer processing in a task: records what it saw, commits after each batch."""

    def __init__(self, bootstrap: str, topic: str, group: str, **options: Any) -> None:
        self.listener = Recorder()
        self.consumer = Consumer(bootstrap_servers=bootstrap, group_id=group, **NEW, **options)
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
                    await self.consumer.commit()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.consumer.stop()


async def _wait_for(predicate: Any, timeout: float = 45.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _owned_once(members: list[Member], partitions: int, *, balanced: bool = True) -> bool:
    owned = [tp for m in members for tp in m.consumer.assignment()]
    if len(owned) != partitions or len(set(owned)) != partitions:
        return False
    sizes = [len(m.consumer.assignment()) for m in members]
    return not balanced or max(sizes) - min(sizes) <= 1


async def test_members_join_and_leave_every_record_once(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic(partitions=9)
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 9, 10)
    group = f"{topic}-g"
    members = [Member(bootstrap, topic, group) for _ in range(2)]
    leaving: Member | None = None
    try:
        for m in members:
            await m.start()
        await _wait_for(lambda: _owned_once(members, 9), what="2 members sharing 9 partitions")
        await _wait_for(lambda: len({x for m in members for x in m.seen}) == 90, what="records")
        marks = [len(m.listener.events) for m in members]
        before = [set(m.consumer.assignment()) for m in members]

        newcomer = Member(bootstrap, topic, group)
        await newcomer.start()
        members.append(newcomer)

        def settled() -> bool:
            told = {tp for kind, p in newcomer.listener.events if kind == "assigned" for tp in p}
            return (
                _owned_once(members, 9)
                and all(len(m.consumer.assignment()) == 3 for m in members)
                and told == newcomer.consumer.assignment()
            )

        await _wait_for(settled, what="3 members owning 3 partitions each")
        for m, owned_before, mark in zip(members[:2], before, marks, strict=True):
            # Incremental: an old member gives up only what moved, and gets nothing new.
            events = m.listener.events[mark:]
            revoked = set().union(*(p for kind, p in events if kind == "revoked"))
            assert revoked == owned_before - set(m.consumer.assignment())
            assert set(m.consumer.assignment()) <= owned_before
        await produce(bootstrap, topic, 9, 5, prefix="mid")

        leaving = members.pop(0)
        await leaving.stop()
        await _wait_for(lambda: _owned_once(members, 9), what="2 members owning all 9 again")
        await produce(bootstrap, topic, 9, 5, prefix="late")
        everything = {(p, o) for p in range(9) for o in range(20)}
        everyone = [*members, leaving]
        await _wait_for(
            lambda: {x for m in everyone for x in m.seen} >= everything, what="every record"
        )
        await asyncio.sleep(0.5)  # a duplicate delivery would show up by now
        counts = collections.Counter(x for m in everyone for x in m.seen)
        assert {x for x, n in counts.items() if n > 1} == set()
        assert set(counts) == everything
        for m in everyone:
            assert m.listener.events[0][0] == "assigned"
            assert all(kind != "lost" for kind, _ in m.listener.events)
            assert m.consumer.generation_id is not None
        assert all(m.consumer.metrics()["rebalances"] >= 1 for m in members)
    finally:
        for m in members:
            await m.stop()
        if leaving is not None:
            await leaving.stop()


async def test_group_shared_with_a_java_consumer(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=4)
    group = f"{topic}-g"
    cmd = kafka_cluster.java_tool_command(
        "org.apache.kafka.tools.VerifiableConsumer",
        "--bootstrap-server", kafka_cluster.bootstrap_servers,
        "--topic", topic,
        "--group-id", group,
        "--group-protocol", "consumer",
    )  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    java_owned: set[TopicPartition] = set()
    java_events: list[str] = []

    async def read_events() -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                name = event.get("name")
                if name in ("partitions_assigned", "partitions_revoked"):
                    java_events.append(name)
                    parts = {
                        TopicPartition(p["topic"], p["partition"]) for p in event["partitions"]
                    }
                    if name == "partitions_assigned":
                        java_owned.update(parts)
                    else:
                        java_owned.difference_update(parts)

    reader = asyncio.create_task(read_events())
    consumer = Consumer(
        topic, bootstrap_servers=kafka_cluster.bootstrap_servers, group_id=group, **NEW
    )
    everything = {TopicPartition(topic, p) for p in range(4)}
    try:
        await _wait_for(lambda: java_owned == everything, timeout=60, what="the Java member")
        await consumer.start()
        await _poll_until(consumer, lambda: len(consumer.assignment()) == 2)
        mine = set(consumer.assignment())
        await _wait_for(lambda: java_owned == everything - mine, what="the Java member's share")
        assert "partitions_revoked" in java_events
        async with Admin(bootstrap_servers=kafka_cluster.bootstrap_servers) as admin:
            described = (await admin.describe_consumer_groups([group]))[group]
        assert described.error is None and len(described.members) == 2
    finally:
        await consumer.stop()
        proc.terminate()
        await proc.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _poll_until(consumer: Consumer, predicate: Any, timeout: float = 45.0) -> None:
    async def loop() -> None:
        while not predicate():
            await consumer.getmany(timeout_ms=100)

    await asyncio.wait_for(loop(), timeout)


async def test_commit_and_committed_under_the_member_epoch(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic(partitions=2)
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 2, 10)
    group = f"{topic}-g"
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    options = {**NEW, "enable_auto_commit": False}
    async with Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **options) as consumer:
        await _wait_for(lambda: len(consumer.assignment()) == 2, what="the assignment")
        assert consumer.generation_id is not None and consumer.generation_id > 0
        seen: list[int] = []

        async def read_four() -> None:
            while len(seen) < 4:
                batch = await consumer.getmany(tp0, timeout_ms=1_000, max_records=4 - len(seen))
                seen.extend(r.offset for r in batch.get(tp0, []))

        await asyncio.wait_for(read_four(), 30)
        await consumer.commit({tp0: (seen[-1] + 1, "processed")})
        assert await consumer.committed(tp0) == seen[-1] + 1
        info = (await consumer.committed_offsets(tp0))[tp0]
        assert info is not None and info.metadata == "processed" and info.leader_epoch is not None
        await consumer.commit()  # every position: tp1 has none yet unless fetched
        assert await consumer.committed(tp0) == await consumer.position(tp0)
    # A new member of the group starts from the committed offset.
    async with Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **options) as again:
        # The assignment arrives without polling (which would move the positions on).
        await _wait_for(lambda: len(again.assignment()) == 2, what="the assignment")
        assert await again.position(tp0) == seen[-1] + 1
        assert await again.position(tp1) == 0  # nothing of it was read


async def test_pattern_subscription(kafka_cluster: Any, make_topic: Any) -> None:
    first = make_topic(partitions=2)
    second = make_topic(name=f"{first}-two", partitions=1)
    async with Consumer(
        bootstrap_servers=kafka_cluster.bootstrap_servers, group_id=f"{first}-g", **NEW
    ) as consumer:
        consumer.subscribe(pattern=re.escape(first) + ".*")
        wanted = {TopicPartition(first, 0), TopicPartition(first, 1), TopicPartition(second, 0)}
        await _poll_until(consumer, lambda: consumer.assignment() == wanted)


async def test_admin_sees_a_consumer_group_and_close_leaves_at_once(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic(partitions=4)
    bootstrap = kafka_cluster.bootstrap_servers
    group = f"{topic}-g"
    a = Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **NEW,
                 group_remote_assignor="range", client_id="member-a")  # fmt: skip
    b = Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **NEW,
                 group_remote_assignor="range", client_id="member-b")  # fmt: skip
    async with Admin(bootstrap_servers=bootstrap) as admin:
        try:
            await a.start()
            await b.start()

            def split() -> bool:
                return len(a.assignment()) == 2 and len(b.assignment()) == 2

            async def poll_both() -> None:
                while not split():
                    await asyncio.gather(a.getmany(timeout_ms=100), b.getmany(timeout_ms=100))

            await asyncio.wait_for(poll_both(), 45)
            listed = {g.group_id: g for g in (await admin.list_groups(types=["consumer"])).groups}
            assert listed[group].type == "consumer"
            described = (await admin.describe_consumer_groups([group]))[group]
            assert described.error is None and described.assignor_name == "range"
            members = {m.member_id: m for m in described.members}
            assert set(members) == {a.member_id, b.member_id}
            assert {m.client_id for m in members.values()} == {"member-a", "member-b"}
            for consumer in (a, b):
                member = members[consumer.member_id]
                assert member.member_epoch == consumer.generation_id
                assert member.subscribed_topic_names == (topic,)
                assert set(member.assignment) == set(consumer.assignment())

            loop = asyncio.get_running_loop()
            started = loop.time()
            await a.stop()
            # Leaving (epoch -1) removes the member at once, not after the session timeout.
            after = (await admin.describe_consumer_groups([group]))[group]
            assert {m.member_id for m in after.members} == {b.member_id}
            await _poll_until(b, lambda: len(b.assignment()) == 4, timeout=20)
            assert loop.time() - started < 20
        finally:
            await a.stop()
            await b.stop()


async def test_static_member_returns_to_its_partitions(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=4)
    bootstrap = kafka_cluster.bootstrap_servers
    group = f"{topic}-g"
    static = Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **NEW,
                      group_instance_id="static-1")  # fmt: skip
    other = Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **NEW)
    returned: Consumer | None = None
    try:
        await static.start()
        await other.start()

        async def poll_both() -> None:
            while len(static.assignment()) != 2 or len(other.assignment()) != 2:
                await asyncio.gather(static.getmany(timeout_ms=100), other.getmany(timeout_ms=100))

        await asyncio.wait_for(poll_both(), 45)
        owned, others = static.assignment(), other.assignment()
        # Leaving with epoch -2 keeps the static member's partitions for its return.
        await static.stop()
        returned = Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **NEW,
                            group_instance_id="static-1")  # fmt: skip
        await returned.start()
        await _poll_until(returned, lambda: len(returned.assignment()) == 2)
        assert returned.assignment() == owned
        await other.getmany(timeout_ms=200)
        assert other.assignment() == others
    finally:
        await static.stop()
        await other.stop()
        if returned is not None:
            await returned.stop()


async def test_member_that_stops_polling_leaves_the_group(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic(partitions=2)
    bootstrap = kafka_cluster.bootstrap_servers
    group = f"{topic}-g"
    slow_listener = Recorder()
    slow = Consumer(bootstrap_servers=bootstrap, group_id=group, **NEW, max_poll_interval_ms=3_000)
    slow.subscribe([topic], listener=slow_listener)
    busy = Consumer(topic, bootstrap_servers=bootstrap, group_id=group, **NEW)
    try:
        await slow.start()
        await busy.start()

        async def poll_both() -> None:
            while len(slow.assignment()) != 1 or len(busy.assignment()) != 1:
                await asyncio.gather(slow.getmany(timeout_ms=100), busy.getmany(timeout_ms=100))

        await asyncio.wait_for(poll_both(), 45)
        owned = slow.assignment()
        # slow stops polling: it leaves, busy gets both partitions long before the session
        # timeout (45 s).
        await _poll_until(busy, lambda: len(busy.assignment()) == 2, timeout=20)
        # Polling again first gives the partition up as lost, then rejoins.
        assert await slow.getmany(timeout_ms=0) == {}
        assert slow_listener.events[-1] == ("lost", owned)
        assert slow.assignment() == frozenset()
        await asyncio.wait_for(poll_both(), 45)
    finally:
        await slow.stop()
        await busy.stop()


async def test_broker_without_the_protocol_gives_a_clear_error(
    kafka_legacy_cluster: Any,
) -> None:
    async with Consumer(
        "any-topic",
        bootstrap_servers=kafka_legacy_cluster.bootstrap_servers,
        group_id="kip848-on-an-old-broker",
        **NEW,
    ) as consumer:
        with pytest.raises(IncompatibleBrokerVersionError, match="group_protocol='classic'"):
            await _poll_until(consumer, lambda: False, timeout=30)
