"""Partition assignors run by the group leader: range, roundrobin, sticky, cooperative-sticky.

The names are those of the Java client, so a kafkaio member can share a group with Java or
librdkafka members that offer the same assignor: every member reads the same
``ConsumerProtocolSubscription`` / ``ConsumerProtocolAssignment`` bytes.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from kafkaio.cluster import TopicPartition

__all__ = [
    "ASSIGNORS",
    "CooperativeStickyAssignor",
    "MemberSubscription",
    "PartitionAssignor",
    "RangeAssignor",
    "RebalanceProtocol",
    "RoundRobinAssignor",
    "StickyAssignor",
    "cooperative_adjust",
]


class RebalanceProtocol(enum.Enum):
    """How members give up partitions during a rebalance."""

    EAGER = "eager"
    """Every member revokes all its partitions before rejoining."""
    COOPERATIVE = "cooperative"
    """Members keep their partitions; only those that move are revoked (KIP-429)."""


@dataclass
class MemberSubscription:
    """What one member sent in JoinGroup, as the leader's assignor sees it."""

    member_id: str
    topics: list[str]
    group_instance_id: str | None = None
    owned_partitions: list[TopicPartition] = field(default_factory=list)
    generation_id: int = -1
    user_data: bytes | None = None
    rack_id: str | None = None

    def sort_key(self) -> tuple[int, str]:
        """Static members first by instance id, then dynamic members by member id (as Java)."""
        if self.group_instance_id is not None:
            return (0, self.group_instance_id)
        return (1, self.member_id)


Assignment = dict[str, list[TopicPartition]]


class PartitionAssignor(ABC):
    """Computes a group's assignment from the members' subscriptions (run by the leader)."""

    name: ClassVar[str]
    protocol: ClassVar[RebalanceProtocol] = RebalanceProtocol.EAGER

    def user_data(self, topics: Iterable[str]) -> bytes | None:
        """Extra bytes for this member's subscription (none by default)."""
        return None

    @abstractmethod
    def assign(
        self, partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
    ) -> Assignment:
        """Partitions for each member id (every member id must be a key)."""

    def on_assignment(self, partitions: list[TopicPartition], generation_id: int) -> None:  # noqa: B027
        """Called on every member with its new assignment (stateless assignors ignore it)."""


def _ordered(members: Mapping[str, MemberSubscription]) -> list[MemberSubscription]:
    return sorted(members.values(), key=MemberSubscription.sort_key)


class RangeAssignor(PartitionAssignor):
    """Per topic, consecutive ranges of partitions to the subscribed members in order."""

    name = "range"

    def assign(
        self, partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
    ) -> Assignment:
        result: Assignment = {m: [] for m in members}
        by_topic: dict[str, list[MemberSubscription]] = defaultdict(list)
        for member in _ordered(members):
            for topic in dict.fromkeys(member.topics):
                by_topic[topic].append(member)
        for topic in sorted(by_topic):
            count = partitions_per_topic.get(topic)
            if not count:
                continue
            consumers = by_topic[topic]
            per, extra = divmod(count, len(consumers))
            for i, member in enumerate(consumers):
                start = per * i + min(i, extra)
                length = per + (1 if i < extra else 0)
                result[member.member_id].extend(
                    TopicPartition(topic, p) for p in range(start, start + length)
                )
        return result


class RoundRobinAssignor(PartitionAssignor):
    """All partitions, sorted, dealt to the members in turn (skipping unsubscribed ones)."""

    name = "roundrobin"

    def assign(
        self, partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
    ) -> Assignment:
        result: Assignment = {m: [] for m in members}
        ordered = _ordered(members)
        if not ordered:
            return result
        topics = sorted({t for m in ordered for t in m.topics if partitions_per_topic.get(t)})
        subscribed = {m.member_id: set(m.topics) for m in ordered}
        index = 0
        for topic in topics:
            for p in range(partitions_per_topic[topic]):
                # Some member subscribes to this topic, so this loop terminates.
                while topic not in subscribed[ordered[index % len(ordered)].member_id]:
                    index += 1
                result[ordered[index % len(ordered)].member_id].append(TopicPartition(topic, p))
                index += 1
        return result


def encode_sticky_user_data(partitions: Iterable[TopicPartition], generation: int) -> bytes:
    """Java's ``StickyAssignorUserData`` v1: the previous assignment and its generation."""
    by_topic: dict[str, list[int]] = defaultdict(list)
    for tp in sorted(partitions):
        by_topic[tp.topic].append(tp.partition)
    out = bytearray(struct.pack(">i", len(by_topic)))
    for topic, parts in by_topic.items():
        name = topic.encode()
        out += struct.pack(">h", len(name)) + name
        out += struct.pack(f">i{len(parts)}i", len(parts), *parts)
    out += struct.pack(">i", generation)
    return bytes(out)


def decode_sticky_user_data(data: bytes) -> tuple[list[TopicPartition], int]:
    """Inverse of :func:`encode_sticky_user_data` (v0 data has no generation: ``-1``)."""
    view = memoryview(data)
    pos = 0

    def take(fmt: str) -> tuple[int, ...]:
        nonlocal pos
        size = struct.calcsize(fmt)
        if pos + size > len(view):
            raise ValueError("truncated sticky assignor user data")
        values = struct.unpack_from(fmt, view, pos)
        pos += size
        return values

    result: list[TopicPartition] = []
    (topics,) = take(">i")
    for _ in range(topics):
        (length,) = take(">h")
        if length < 0 or pos + length > len(view):
            raise ValueError("bad topic name in sticky assignor user data")
        topic = bytes(view[pos : pos + length]).decode()
        pos += length
        (count,) = take(">i")
        if count < 0 or count > (len(view) - pos) // 4:
            raise ValueError("bad partition count in sticky assignor user data")
        result.extend(TopicPartition(topic, p) for p in take(f">{count}i"))
    generation = take(">i")[0] if pos + 4 <= len(view) else -1
    return result, generation


class StickyAssignor(PartitionAssignor):
    """Balanced like roundrobin, but keeps as many owned partitions as balance allows.

    Owned partitions come from the subscriptions' ``owned_partitions`` or, as the Java
    ``StickyAssignor`` (an eager protocol: members own nothing when they rejoin) sends them,
    from the user data; a partition claimed by two members goes to the higher generation.
    """

    name = "sticky"

    def __init__(self) -> None:
        self._previous: list[TopicPartition] = []
        self._generation = -1

    def user_data(self, topics: Iterable[str]) -> bytes | None:
        if self.protocol is RebalanceProtocol.COOPERATIVE:
            return None  # cooperative members send owned_partitions in the subscription
        return encode_sticky_user_data(self._previous, self._generation)

    def on_assignment(self, partitions: list[TopicPartition], generation_id: int) -> None:
        self._previous = list(partitions)
        self._generation = generation_id

    def assign(
        self, partitions_per_topic: Mapping[str, int], members: Mapping[str, MemberSubscription]
    ) -> Assignment:
        members = {m: _with_user_data_ownership(s) for m, s in members.items()}
        ordered = _ordered(members)
        rank = {m.member_id: i for i, m in enumerate(ordered)}
        result: Assignment = {m: [] for m in members}
        if not ordered:
            return result
        subscribed = {m.member_id: set(m.topics) for m in ordered}
        all_partitions = [
            TopicPartition(t, p)
            for t in sorted({t for m in ordered for t in m.topics})
            for p in range(partitions_per_topic.get(t, 0))
        ]
        eligible = {
            tp: [m.member_id for m in ordered if tp.topic in subscribed[m.member_id]]
            for tp in all_partitions
        }
        # The fair share if every member could take every partition: owned partitions beyond
        # it are given up first.
        cap = -(-len(all_partitions) // len(ordered))
        owner: dict[TopicPartition, tuple[int, str]] = {}
        for member in ordered:
            for tp in member.owned_partitions:
                if tp not in eligible or tp.topic not in subscribed[member.member_id]:
                    continue
                held = owner.get(tp)
                if held is None or member.generation_id > held[0]:
                    owner[tp] = (member.generation_id, member.member_id)
        for tp in all_partitions:
            held = owner.get(tp)
            if held is not None and len(result[held[1]]) < cap:
                result[held[1]].append(tp)
        assigned = {tp for parts in result.values() for tp in parts}
        for tp in all_partitions:
            if tp in assigned:
                continue
            target = min(eligible[tp], key=lambda m: (len(result[m]), rank[m]))
            result[target].append(tp)
        self._balance(result, eligible, rank)
        for parts in result.values():
            parts.sort()
        return result

    @staticmethod
    def _balance(
        result: Assignment,
        eligible: Mapping[TopicPartition, list[str]],
        rank: Mapping[str, int],
    ) -> None:
        # Move single partitions from the most to the least loaded eligible member until no
        # move lowers the spread; each move strictly reduces the sum of squared loads.
        moved = True
        while moved:
            moved = False
            for member in sorted(result, key=lambda m: (-len(result[m]), rank[m])):
                for tp in reversed(result[member]):
                    target = min(eligible[tp], key=lambda m: (len(result[m]), rank[m]))
                    if len(result[target]) + 1 < len(result[member]):
                        result[member].remove(tp)
                        result[target].append(tp)
                        moved = True
                        break
                if moved:
                    break


def _with_user_data_ownership(sub: MemberSubscription) -> MemberSubscription:
    if sub.owned_partitions or not sub.user_data:
        return sub
    try:
        owned, generation = decode_sticky_user_data(sub.user_data)
    except (ValueError, UnicodeDecodeError):
        return sub
    return dataclasses.replace(sub, owned_partitions=owned, generation_id=generation)


class CooperativeStickyAssignor(StickyAssignor):
    """The sticky assignment with incremental (cooperative) rebalancing."""

    name = "cooperative-sticky"
    protocol = RebalanceProtocol.COOPERATIVE


def cooperative_adjust(
    assignment: Assignment, members: Mapping[str, MemberSubscription]
) -> Assignment:
    """Withhold partitions that change owner: their owner must revoke them first.

    The old owner sees them missing from its assignment, revokes them and rejoins; the
    follow-up rebalance gives them to their new owner.
    """
    owner: dict[TopicPartition, str] = {}
    for member in members.values():
        for tp in member.owned_partitions:
            owner.setdefault(tp, member.member_id)
    adjusted: Assignment = {}
    for member_id, partitions in assignment.items():
        adjusted[member_id] = [tp for tp in partitions if owner.get(tp, member_id) == member_id]
    return adjusted


ASSIGNORS: dict[str, type[PartitionAssignor]] = {
    cls.name: cls
    for cls in (RangeAssignor, RoundRobinAssignor, StickyAssignor, CooperativeStickyAssignor)
}
"""Built-in assignors by their Java name."""
