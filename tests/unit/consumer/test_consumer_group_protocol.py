"""The KIP-848 consumer group member: heartbeat fields, reconciliation, fencing, leaving
and commits, with canned ConsumerGroupHeartbeat answers instead of a broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer
from kafkaio.consumer.group.consumer_protocol import (
    ConsumerGroupMember,
    HeartbeatFields,
    MemberPhase,
    generate_member_id,
    plan_reconciliation,
)
from kafkaio.consumer.group.listener import ConsumerRebalanceListener
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.record import OffsetAndMetadata
from kafkaio.consumer.subscription import SubscriptionState
from kafkaio.errors import (
    ConfigurationError,
    GroupMaxSizeReachedError,
    IncompatibleBrokerVersionError,
    StaleMemberEpochError,
)
from kafkaio.protocol.messages import ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse
from kafkaio.protocol.messages.consumer_group_heartbeat import Assignment, TopicPartitions

TID = uuid.UUID(int=7)
OTHER = uuid.UUID(int=8)
T0, T1, T2 = (TopicPartition("t", p) for p in range(3))


# ---------------------------------------------------------------------- pure state


def test_plan_revokes_first_then_adds_and_reports_unknown_ids() -> None:
    names = {TID: "t"}
    plan = plan_reconciliation(
        frozenset({T0, T1}), {TID: frozenset({1, 2}), OTHER: frozenset({0})}, names.get
    )
    assert plan.revoked == {T0}
    assert plan.added == {T2}
    assert plan.assigned == {T1, T2}
    assert plan.unresolved == {OTHER}


def test_member_ids_look_like_kafka_uuids() -> None:
    ids = {generate_member_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 22 and "=" not in i for i in ids)


def test_heartbeat_sends_everything_then_only_changes() -> None:
    opts = ConsumerOptions.from_kwargs(
        {
            "group_id": "g",
            "group_protocol": "consumer",
            "group_remote_assignor": "uniform",
            "group_instance_id": "i-1",
            "client_rack": "r1",
            "max_poll_interval_ms": 60_000,
        }
    )
    fields = HeartbeatFields()
    common: dict[str, Any] = {"group_id": "g", "member_id": "m", "options": opts}
    first, sent = fields.request(epoch=0, topics={"b", "a"}, owned={}, **common)
    assert first.subscribed_topic_names == ["a", "b"]
    assert first.rebalance_timeout_ms == 60_000
    assert first.server_assignor == "uniform"
    assert (first.instance_id, first.rack_id) == ("i-1", "r1")
    assert first.topic_partitions == []
    fields.acknowledge(sent)
    # Nothing changed: every optional field is null.
    same, sent = fields.request(epoch=0, topics={"a", "b"}, owned={}, **common)
    assert same.subscribed_topic_names is None and same.topic_partitions is None
    assert same.rebalance_timeout_ms == -1 and same.server_assignor is None
    assert same.instance_id is None
    fields.acknowledge(sent)
    # A reconciliation (new epoch, owned partitions) is acknowledged by sending them.
    ack, sent = fields.request(epoch=3, topics={"a", "b"}, owned={TID: [1, 0]}, **common)
    assert ack.topic_partitions == [TopicPartitions(topic_id=TID, partitions=[0, 1])]
    assert ack.subscribed_topic_names is None
    fields.acknowledge(sent)
    changed, _ = fields.request(epoch=3, topics={"a"}, owned={TID: [0, 1]}, **common)
    assert changed.subscribed_topic_names == ["a"] and changed.topic_partitions is None
    # After a failure (no acknowledge, reset) everything goes again.
    fields.reset()
    full, _ = fields.request(epoch=3, topics={"a"}, owned={TID: [0, 1]}, **common)
    assert full.topic_partitions is not None and full.rebalance_timeout_ms == 60_000


# ---------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("options", "error", "needle"),
    [
        ({"group_protocol": "consumer", "session_timeout_ms": 45_000}, ConfigurationError,
         "session_timeout_ms"),
        ({"group_protocol": "consumer", "heartbeat_interval_ms": 1_000}, ConfigurationError,
         "heartbeat_interval_ms"),
        ({"group_protocol": "CONSUMER", "partition_assignment_strategy": ["range"]},
         ConfigurationError, "partition_assignment_strategy"),
        ({"group_protocol": "streams"}, ValueError, "group_protocol"),
        ({"group_protocol": 1}, TypeError, "group_protocol"),
        ({"group_remote_assignor": "uniform"}, ConfigurationError, "group_remote_assignor"),
        ({"group_protocol": "consumer", "group_remote_assignor": ""}, ValueError,
         "group_remote_assignor"),
        ({"group_protocol": "consumer", "group_remote_assignor": 3}, TypeError,
         "group_remote_assignor"),
    ],
)  # fmt: skip
def test_group_protocol_options(options: dict[str, object], error: type, needle: str) -> None:
    with pytest.raises(error, match=needle):
        ConsumerOptions.from_kwargs(options)


def test_group_protocol_is_case_insensitive_and_picks_the_member() -> None:
    opts = ConsumerOptions.from_kwargs({"group_protocol": " Consumer "})
    assert opts.group_protocol == "consumer" and opts.group_remote_assignor is None
    assert ConsumerOptions.from_kwargs({}).group_protocol == "classic"
    # Constructing the options directly: a non-default classic-only value is rejected too.
    with pytest.raises(ConfigurationError, match="session_timeout_ms"):
        ConsumerOptions(group_protocol="consumer", session_timeout_ms=10_000)
    consumer = Consumer(bootstrap_servers="localhost:1", group_id="g", group_protocol="consumer")
    assert isinstance(consumer._coordinator, ConsumerGroupMember)
    assert consumer.generation_id == -1 and consumer.member_id


# ---------------------------------------------------------------------- the member


class FakeCluster:
    def __init__(self) -> None:
        self.names = {TID: "t"}
        self.listeners: list[Any] = []

    def topic_name(self, topic_id: uuid.UUID) -> str | None:
        return self.names.get(topic_id)

    def topic_id(self, name: str) -> uuid.UUID | None:
        return next((i for i, n in self.names.items() if n == name), None)

    def add_listener(self, listener: Any) -> None:
        self.listeners.append(listener)

    def remove_listener(self, listener: Any) -> None:
        self.listeners.remove(listener)


class FakeClient:
    def __init__(self) -> None:
        self.cluster = FakeCluster()
        self.refreshes = 0

    def force_metadata_update(self) -> None:
        self.refreshes += 1


class FakeOffsets:
    def __init__(self, responses: list[Any]) -> None:
        self.responses = responses
        self.sent: list[ConsumerGroupHeartbeatRequest] = []
        self.commits: list[tuple[dict[TopicPartition, OffsetAndMetadata], int, str]] = []
        self.commit_errors: list[Exception] = []
        self.version = 1

    async def coordinator_send(self, group_id: str, build: Callable[[int], Any]) -> Any:
        request = build(self.version)
        self.sent.append(request)
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return 0, answer

    async def commit(
        self, group_id: str, offsets: Any, *, generation_id: int, member_id: str, **_: Any
    ) -> None:
        self.commits.append((dict(offsets), generation_id, member_id))
        if self.commit_errors:
            raise self.commit_errors.pop(0)

    def coordinator_moved(self, group_id: str, code: int) -> bool:
        return code in (15, 16)


class Recorder(ConsumerRebalanceListener):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def on_partitions_revoked(self, revoked: frozenset[TopicPartition]) -> None:
        self.log.append(f"revoked {sorted(p.partition for p in revoked)}")

    async def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
        self.log.append(f"assigned {sorted(p.partition for p in assigned)}")

    async def on_partitions_lost(self, lost: frozenset[TopicPartition]) -> None:
        self.log.append(f"lost {sorted(p.partition for p in lost)}")


def make(
    responses: list[Any], **options: Any
) -> tuple[ConsumerGroupMember, SubscriptionState, FakeOffsets, list[str]]:
    subs = SubscriptionState()
    subs.subscribe(["t"])
    offsets = FakeOffsets(responses)
    log: list[str] = []
    listener = Recorder(log)
    opts = ConsumerOptions.from_kwargs(
        {"group_id": "g", "group_protocol": "consumer", "retry_backoff_ms": 0, **options}
    )
    member = ConsumerGroupMember(
        FakeClient(),  # type: ignore[arg-type]  # only metadata look-ups are used
        subs,
        offsets,  # type: ignore[arg-type]
        opts,
        listener=lambda: listener,
        on_revoked=lambda parts: log.append(f"discard {sorted(p.partition for p in parts)}"),
    )
    member._started = True  # as start() does, without its background tasks
    member.request_rejoin("test")
    return member, subs, offsets, log


def answer(
    epoch: int, *partitions: int, code: int = 0, topic: uuid.UUID = TID, assign: bool = True
) -> ConsumerGroupHeartbeatResponse:
    return ConsumerGroupHeartbeatResponse(
        error_code=code,
        member_epoch=epoch,
        heartbeat_interval_ms=1_000,
        assignment=(
            Assignment(
                topic_partitions=[TopicPartitions(topic_id=topic, partitions=list(partitions))]
            )
            if assign and not code
            else None
        ),
    )


async def test_join_reconcile_acknowledge_then_revoke_with_commit_first() -> None:
    member, subs, offsets, log = make([answer(1, 0, 1), answer(1, assign=False), answer(2, 1)])
    assert member.phase is MemberPhase.JOINING
    await member._heartbeat()
    join = offsets.sent[0]
    assert join.member_epoch == 0 and join.member_id == member.member_id
    assert join.subscribed_topic_names == ["t"] and join.topic_partitions == []
    assert member.phase is MemberPhase.STABLE and member.generation_id == 1
    await member._reconcile()
    assert subs.assignment() == {T0, T1} and log == ["assigned [0, 1]"]
    await member._heartbeat()  # acknowledges the owned partitions
    ack = offsets.sent[1]
    assert ack.member_epoch == 1
    assert ack.topic_partitions == [TopicPartitions(topic_id=TID, partitions=[0, 1])]
    assert ack.subscribed_topic_names is None
    subs.seek(T0, 5, 0)
    subs.seek(T1, 9, 0)
    await member._heartbeat()  # epoch 2 takes T0 away
    await member._reconcile()
    # The revoked partition's position is committed under the new epoch before the callback.
    assert offsets.commits == [({T0: OffsetAndMetadata(5, "", 0)}, 2, member.member_id)]
    assert log[1:] == ["revoked [0]", "discard [0]", "assigned []"]
    assert subs.assignment() == {T1} and subs.state(T1).position == 9
    assert member.rebalances == 2


async def test_fenced_member_loses_partitions_and_rejoins_with_epoch_zero() -> None:
    member, subs, offsets, log = make([answer(4, 0), answer(4, code=110), answer(6, 2)])
    await member._heartbeat()
    await member._reconcile()
    member_id = member.member_id
    await member._heartbeat()
    assert member.phase is MemberPhase.FENCED and member.member_epoch == 0
    await member._give_up_lost()
    assert log == ["assigned [0]", "lost [0]", "discard [0]"]
    assert offsets.commits == []  # lost partitions are never committed
    assert member.phase is MemberPhase.JOINING
    await member._heartbeat()
    rejoin = offsets.sent[-1]
    assert rejoin.member_epoch == 0 and rejoin.member_id == member_id  # KIP-1082
    assert rejoin.topic_partitions == [] and rejoin.subscribed_topic_names == ["t"]
    await member._reconcile()
    assert subs.assignment() == {T2}


async def test_unknown_topic_ids_wait_for_metadata() -> None:
    member, subs, _offsets, log = make([answer(1, 0, topic=OTHER)])
    await member._heartbeat()
    await member._reconcile()
    assert subs.assignment() == frozenset()
    assert member._client.refreshes == 1  # type: ignore[attr-defined]
    member._client.cluster.names[OTHER] = "u"  # type: ignore[attr-defined]
    member._on_metadata(member._client.cluster, None)  # type: ignore[arg-type]
    assert member._reconcile_needed
    subs.subscribe(["t", "u"])
    await member._reconcile()
    assert subs.assignment() == {TopicPartition("u", 0)}
    assert log == ["assigned []", "assigned [0]"]


async def test_coordinator_errors_retry_with_a_full_request() -> None:
    member, _subs, offsets, _log = make([answer(1, 0), answer(1, code=16), answer(1, 0)])
    await member._heartbeat()
    await member._heartbeat()
    assert member.phase is MemberPhase.STABLE  # NOT_COORDINATOR: find it again, keep going
    await member._heartbeat()
    assert offsets.sent[-1].rebalance_timeout_ms > 0  # the full request after an error


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (answer(0, code=35), IncompatibleBrokerVersionError),
        (IncompatibleBrokerVersionError("the broker does not support the API"),
         IncompatibleBrokerVersionError),
        (answer(0, code=81), GroupMaxSizeReachedError),
    ],
)  # fmt: skip
async def test_errors_retrying_cannot_fix_are_raised_by_poll(failure: Any, error: type) -> None:
    member, _subs, _offsets, _log = make([failure])
    await member._heartbeat()
    assert member.phase is MemberPhase.FATAL
    with pytest.raises(error) as info:
        await member.on_poll()
    if error is IncompatibleBrokerVersionError:
        assert "group_protocol='classic'" in str(info.value)


@pytest.mark.parametrize(("instance", "epoch"), [(None, -1), ("static-1", -2)])
async def test_close_revokes_commits_and_leaves(instance: str | None, epoch: int) -> None:
    extra = {"group_instance_id": instance} if instance else {}
    member, subs, offsets, log = make([answer(3, 0), answer(-1, assign=False)], **extra)
    await member._heartbeat()
    await member._reconcile()
    subs.seek(T0, 2, 0)
    await member.close()
    leave = offsets.sent[-1]
    assert leave.member_epoch == epoch and leave.member_id == member.member_id
    assert leave.instance_id == instance
    assert offsets.commits == [({T0: OffsetAndMetadata(2, "", 0)}, 3, member.member_id)]
    assert log == ["assigned [0]", "revoked [0]", "discard [0]"]
    assert member.phase is MemberPhase.UNSUBSCRIBED


async def test_commit_retries_once_after_a_stale_member_epoch() -> None:
    member, _subs, offsets, _log = make([answer(5, 0)])
    await member._heartbeat()
    offsets.commit_errors.append(StaleMemberEpochError("stale"))

    async def epoch_bumped(*args: Any, **kwargs: Any) -> None:
        offsets.commits.append((dict(args[1]), kwargs["generation_id"], kwargs["member_id"]))
        if len(offsets.commits) == 1:
            member.member_epoch = 6  # a heartbeat answer arrived meanwhile
            raise StaleMemberEpochError("stale")

    offsets.commit = epoch_bumped  # type: ignore[method-assign]
    await member.commit({T0: OffsetAndMetadata(1)})
    assert [c[1] for c in offsets.commits] == [5, 6]
    offsets.commits.clear()

    async def always_stale(*args: Any, **kwargs: Any) -> None:
        raise StaleMemberEpochError("stale")

    offsets.commit = always_stale  # type: ignore[method-assign]
    with pytest.raises(StaleMemberEpochError):
        await member.commit({T0: OffsetAndMetadata(2)})


async def test_stopped_polling_leaves_then_loses_partitions_on_the_next_poll() -> None:
    member, subs, offsets, log = make(
        [answer(2, 0, 1), answer(-1, assign=False)], max_poll_interval_ms=1_000
    )
    await member._heartbeat()
    await member._reconcile()
    loop = asyncio.get_running_loop()
    assert member._check_poll_interval(loop.time() + 5)
    assert member.phase is MemberPhase.STALE
    assert member._leaving is not None
    await member._leaving
    assert offsets.sent[-1].member_epoch == -1
    await member.on_poll()
    assert log == ["assigned [0, 1]", "lost [0, 1]", "discard [0, 1]"]
    assert subs.assignment() == frozenset() and member.phase is MemberPhase.JOINING


async def test_background_tasks_join_acknowledge_at_once_and_leave_on_close() -> None:
    class Broker(FakeOffsets):
        async def coordinator_send(self, group_id: str, build: Callable[[int], Any]) -> Any:
            request = build(1)
            self.sent.append(request)
            if request.member_epoch < 0:
                return 0, answer(request.member_epoch, assign=False)
            if request.member_epoch == 0:
                return 0, answer(1, 0, 1)
            return 0, answer(1, assign=False)

    member, subs, _offsets, log = make([])
    broker = Broker([])
    member._offsets = broker  # type: ignore[assignment]
    member.heartbeat_interval_ms = 60_000
    member.start()
    # The broker's interval is long: the acknowledgement goes out at once anyway.
    for _ in range(500):
        if any(r.topic_partitions for r in broker.sent):
            break
        await asyncio.sleep(0.01)
    assert subs.assignment() == {T0, T1} and log == ["assigned [0, 1]"]
    assert [r.member_epoch for r in broker.sent] == [0, 1]
    assert broker.sent[1].topic_partitions == [TopicPartitions(topic_id=TID, partitions=[0, 1])]
    await member.close()
    assert broker.sent[-1].member_epoch == -1
    assert log[-1] == "discard [0, 1]"


async def test_a_failing_listener_does_not_stop_the_reconciliation() -> None:
    member, subs, _offsets, _log = make([answer(1, 0)])

    class Broken(ConsumerRebalanceListener):
        async def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
            raise RuntimeError("boom")

    member._listener = lambda: Broken()
    await member._heartbeat()
    await member._reconcile()
    assert subs.assignment() == {T0}
    with pytest.raises(Exception, match="boom"):
        await member.on_poll()
    await member.on_poll()  # raised once


async def test_version_0_brokers_give_the_member_id() -> None:
    reply = answer(1, 0)
    reply.member_id = "from-broker"
    member, _subs, offsets, _log = make([reply, answer(1, assign=False)])
    offsets.version = 0
    mine = member.member_id
    await member._heartbeat()
    assert offsets.sent[0].member_id == "" and mine
    assert member.member_id == "from-broker"
    await member._heartbeat()
    assert offsets.sent[1].member_id == "from-broker"


async def test_partitions_are_withheld_from_polls_while_their_callbacks_run() -> None:
    member, _subs, _offsets, _log = make([answer(1, 0, 1), answer(2, 1)])
    seen: list[tuple[str, frozenset[TopicPartition]]] = []
    released: list[bool] = []

    class Watcher(ConsumerRebalanceListener):
        async def on_partitions_revoked(self, revoked: frozenset[TopicPartition]) -> None:
            seen.append(("revoked", member.withheld))

        async def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
            seen.append(("assigned", member.withheld))

    member._listener = lambda: Watcher()
    member._on_released = lambda: released.append(True)
    await member._heartbeat()
    await member._reconcile()
    await member._heartbeat()
    await member._reconcile()
    assert seen == [("assigned", {T0, T1}), ("revoked", {T0}), ("assigned", frozenset())]
    assert member.withheld == frozenset() and len(released) == 2
