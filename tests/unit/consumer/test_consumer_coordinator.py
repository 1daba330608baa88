"""The group coordinator's handling of JoinGroup/SyncGroup/commit answers, with canned
responses instead of a broker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kafkaio.cluster import ClusterMetadata, TopicPartition
from kafkaio.consumer.group.coordinator import GroupCoordinator, MemberState, _Rejoin
from kafkaio.consumer.group.listener import ConsumerRebalanceListener
from kafkaio.consumer.group.protocol import encode_assignment
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.record import OffsetAndMetadata
from kafkaio.consumer.subscription import SubscriptionState
from kafkaio.errors import FencedInstanceIdError, IllegalGenerationError
from kafkaio.protocol.messages import JoinGroupRequest, JoinGroupResponse, SyncGroupResponse

T0, T1 = TopicPartition("t", 0), TopicPartition("t", 1)


class FakeClient:
    def __init__(self) -> None:
        self.cluster = ClusterMetadata()


class FakeOffsets:
    def __init__(self) -> None:
        self.commits: list[tuple[dict[TopicPartition, OffsetAndMetadata], int, str]] = []
        self.fail_with: Exception | None = None

    async def commit(
        self, group_id: str, offsets: Any, *, generation_id: int, member_id: str, **_: Any
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.commits.append((dict(offsets), generation_id, member_id))

    def coordinator_moved(self, group_id: str, code: int) -> bool:
        return code in (15, 16)


class Recorder(ConsumerRebalanceListener):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def on_partitions_revoked(self, revoked: frozenset[TopicPartition]) -> None:
        self.log.append(f"revoked {sorted(p.partition for p in revoked)}")

    async def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
        self.log.append(f"assigned {sorted(p.partition for p in assigned)}")


def make(
    responses: list[Any], **options: Any
) -> tuple[GroupCoordinator, SubscriptionState, FakeOffsets, list[Any], list[str]]:
    subs = SubscriptionState()
    subs.subscribe(["t"])
    offsets = FakeOffsets()
    log: list[str] = []
    listener = Recorder(log)
    opts = ConsumerOptions.from_kwargs({"group_id": "g", "retry_backoff_ms": 0, **options})
    coordinator = GroupCoordinator(
        FakeClient(),  # type: ignore[arg-type]  # requests are canned below
        subs,
        offsets,  # type: ignore[arg-type]
        opts,
        listener=lambda: listener,
        on_revoked=lambda parts: log.append(f"discard {sorted(p.partition for p in parts)}"),
    )
    sent: list[Any] = []

    async def canned(build: Callable[[int], Any], timeout_ms: int | None = None) -> Any:
        sent.append(build(9))
        return responses.pop(0)

    coordinator._coordinator_send = canned  # type: ignore[method-assign]
    return coordinator, subs, offsets, sent, log


def joined(member: str = "m-1", generation: int = 1) -> JoinGroupResponse:
    return JoinGroupResponse(
        generation_id=generation, protocol_name="range", leader="other", member_id=member
    )


def synced(*parts: TopicPartition) -> SyncGroupResponse:
    return SyncGroupResponse(assignment=encode_assignment(parts))


async def test_member_id_required_then_join_and_sync() -> None:
    coordinator, subs, _offsets, sent, log = make(
        [JoinGroupResponse(error_code=79, member_id="m-1"), joined(), synced(T0, T1)]
    )
    await coordinator._join_group()
    joins = [r for r in sent if isinstance(r, JoinGroupRequest)]
    assert [j.member_id for j in joins] == ["", "m-1"]  # KIP-394: rejoin with the given id
    assert coordinator.state is MemberState.STABLE and coordinator.generation_id == 1
    assert subs.assignment() == {T0, T1}
    assert log == ["assigned [0, 1]"]


async def test_eager_rebalance_commits_and_revokes_before_joining() -> None:
    coordinator, subs, offsets, _sent, log = make(
        [joined(), synced(T0, T1), joined(generation=2), synced(T1)],
        partition_assignment_strategy=["range"],
    )
    await coordinator._join_group()
    subs.seek(T0, 5, 0)
    subs.seek(T1, 7, 0)
    await coordinator._join_group()
    # Auto-commit of everything, under the old generation, before the revoke callback.
    assert offsets.commits == [
        ({T0: OffsetAndMetadata(5, "", 0), T1: OffsetAndMetadata(7, "", 0)}, 1, "m-1")
    ]
    assert log == ["assigned [0, 1]", "revoked [0, 1]", "discard [0, 1]", "assigned [1]"]
    assert subs.assignment() == {T1}
    assert subs.state(T1).position is None  # eager: positions come from the commit again


async def test_cooperative_revokes_only_moved_partitions_and_rejoins() -> None:
    coordinator, subs, offsets, _sent, log = make(
        [
            JoinGroupResponse(
                generation_id=1, protocol_name="cooperative-sticky", leader="x", member_id="m"
            ),
            synced(T0, T1),
            JoinGroupResponse(
                generation_id=2, protocol_name="cooperative-sticky", leader="x", member_id="m"
            ),
            synced(T1),
        ],
        partition_assignment_strategy=["cooperative-sticky"],
    )
    await coordinator._join_group()
    subs.seek(T0, 3, 0)
    subs.seek(T1, 4, 0)
    await coordinator._join_group()
    assert log == ["assigned [0, 1]", "revoked [0]", "discard [0]", "assigned []"]
    assert offsets.commits == [({T0: OffsetAndMetadata(3, "", 0)}, 2, "m")]
    assert subs.state(T1).position == 4  # kept, not revoked
    assert coordinator.needs_join  # a follow-up rebalance hands T0 to its new owner


@pytest.mark.parametrize(
    ("code", "member_after"), [(25, ""), (22, "m-1"), (27, "m-1"), (16, "m-1")]
)
async def test_join_errors_rejoin_with_or_without_member_id(code: int, member_after: str) -> None:
    coordinator, _subs, _offsets, _sent, _log = make(
        [joined(), synced(T0), JoinGroupResponse(error_code=code)]
    )
    await coordinator._join_group()
    coordinator.request_rejoin("test")
    await coordinator._join_group()
    assert coordinator.member_id == member_after
    assert coordinator.needs_join and coordinator.state is MemberState.UNJOINED


async def test_fenced_static_member_is_fatal() -> None:
    coordinator, *_ = make([JoinGroupResponse(error_code=82)], group_instance_id="static-1")
    with pytest.raises(FencedInstanceIdError):
        await coordinator._send_join(frozenset())


async def test_commit_with_a_stale_generation_is_raised_and_rejoins() -> None:
    coordinator, _subs, offsets, _sent, _log = make([joined(), synced(T0)])
    await coordinator._join_group()
    offsets.fail_with = IllegalGenerationError("stale")
    with pytest.raises(IllegalGenerationError):
        await coordinator.commit({T0: OffsetAndMetadata(1)})
    assert coordinator.needs_join


def test_rejoin_marker_is_internal() -> None:
    assert issubclass(_Rejoin, Exception)
