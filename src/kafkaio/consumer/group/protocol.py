"""The consumer protocol's embedded bytes: JoinGroup subscriptions and SyncGroup assignments.

Both are a big-endian int16 version followed by the versioned struct from Kafka's
``ConsumerProtocolSubscription`` / ``ConsumerProtocolAssignment`` specs; Java and librdkafka
members read and write the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from kafkaio.cluster import TopicPartition
from kafkaio.consumer.group.assignors import MemberSubscription
from kafkaio.errors import ProtocolDecodeError
from kafkaio.protocol.messages import consumer_protocol_assignment as cpa
from kafkaio.protocol.messages import consumer_protocol_subscription as cps

__all__ = [
    "PROTOCOL_TYPE",
    "decode_assignment",
    "decode_subscription",
    "encode_assignment",
    "encode_subscription",
]

PROTOCOL_TYPE = "consumer"
SUBSCRIPTION_VERSION = 3
ASSIGNMENT_VERSION = 3
_VERSION = struct.Struct(">h")


def _grouped(partitions: Iterable[TopicPartition]) -> dict[str, list[int]]:
    by_topic: dict[str, list[int]] = {}
    for tp in sorted(partitions):
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return by_topic


def encode_subscription(
    topics: Iterable[str],
    *,
    owned_partitions: Iterable[TopicPartition] = (),
    generation_id: int = -1,
    rack_id: str | None = None,
    user_data: bytes | None = None,
) -> bytes:
    """JoinGroup metadata for one assignor."""
    sub = cps.ConsumerProtocolSubscription(
        topics=sorted(set(topics)),
        user_data=user_data,
        owned_partitions=[
            cps.TopicPartition(topic=t, partitions=p) for t, p in _grouped(owned_partitions).items()
        ],
        generation_id=generation_id,
        rack_id=rack_id or None,
    )
    return _VERSION.pack(SUBSCRIPTION_VERSION) + sub.encode(SUBSCRIPTION_VERSION)


def _version(data: bytes, what: str) -> int:
    if len(data) < 2:
        raise ProtocolDecodeError(f"{what} of {len(data)} bytes has no version")
    (version,) = _VERSION.unpack_from(data)
    if version < 0:
        raise ProtocolDecodeError(f"{what} has a negative version {version}")
    return int(version)


def decode_subscription(
    member_id: str, group_instance_id: str | None, data: bytes
) -> MemberSubscription:
    """A member's JoinGroup metadata, as the leader's assignor sees it."""
    version = _version(data, "subscription")
    # Like the Java client, read a newer version as the newest known one and ignore the
    # fields it appended (the format only ever grows at the end).
    sub, _end = cps.ConsumerProtocolSubscription.decode_prefix(
        memoryview(data)[2:], min(version, cps.ConsumerProtocolSubscription.MAX_VERSION)
    )
    return MemberSubscription(
        member_id=member_id,
        topics=list(sub.topics),
        group_instance_id=group_instance_id,
        owned_partitions=[
            TopicPartition(t.topic, p) for t in sub.owned_partitions for p in t.partitions
        ],
        generation_id=sub.generation_id,
        user_data=sub.user_data,
        rack_id=sub.rack_id,
    )


def encode_assignment(
    partitions: Iterable[TopicPartition], user_data: bytes | None = None
) -> bytes:
    """SyncGroup assignment bytes for one member."""
    assignment = cpa.ConsumerProtocolAssignment(
        assigned_partitions=[
            cpa.TopicPartition(topic=t, partitions=p) for t, p in _grouped(partitions).items()
        ],
        user_data=user_data,
    )
    return _VERSION.pack(ASSIGNMENT_VERSION) + assignment.encode(ASSIGNMENT_VERSION)


def decode_assignment(data: bytes) -> list[TopicPartition]:
    """The partitions in a SyncGroup assignment (empty bytes: nothing assigned)."""
    if not data:
        return []
    version = _version(data, "assignment")
    assignment, _end = cpa.ConsumerProtocolAssignment.decode_prefix(
        memoryview(data)[2:], min(version, cpa.ConsumerProtocolAssignment.MAX_VERSION)
    )
    return [
        TopicPartition(t.topic, p) for t in assignment.assigned_partitions for p in t.partitions
    ]
