"""What the consumer hands to the application: :class:`ConsumerRecord`, offsets to commit."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Generic, NamedTuple, TypeVar

from kafkaio.errors import RecordDeserializationError
from kafkaio.records import TimestampType, row_factory
from kafkaio.structs import OffsetAndMetadata

__all__ = [
    "ConsumerRecord",
    "OffsetAndMetadata",
    "OffsetAndTimestamp",
    "RecordDeserializationError",
]

K = TypeVar("K")
V = TypeVar("V")


@dataclass(slots=True)
class ConsumerRecord(Generic[K, V]):
    """One record read from a partition (not frozen: building millions must be cheap).

    Records of a consumer without deserializers are not tracked by the cyclic garbage
    collector (they hold only plain values); do not attach objects that refer back to the
    record, or that cycle is never collected.
    """

    topic: str
    partition: int
    offset: int
    timestamp: int
    """Milliseconds since the epoch (``-1`` when the producer set none)."""
    timestamp_type: TimestampType
    """``CREATE_TIME`` (set by the producer) or ``LOG_APPEND_TIME`` (set by the broker)."""
    key: K
    value: V
    headers: tuple[tuple[str, bytes | None], ...]
    """``(name, value)`` pairs in the order the producer wrote them."""
    leader_epoch: int | None
    """The partition leader epoch of the record's batch (``None`` if the broker has none)."""
    serialized_key_size: int
    """Bytes of the key as stored (``-1`` for a null key)."""
    serialized_value_size: int
    """Bytes of the value as stored (``-1`` for a null value)."""


CONSUMER_RECORD_ROW = row_factory(
    ConsumerRecord, [f.name for f in fields(ConsumerRecord)], untracked=True
)
"""Builds ConsumerRecords straight from the record decoder's rows (the consumer's fast path,
for consumers without deserializers). These records hold only bytes, ints and strings and
are left out of the cyclic garbage collector (see :func:`kafkaio.records.row_factory`)."""


class OffsetAndTimestamp(NamedTuple):
    """Result of :meth:`~kafkaio.consumer.Consumer.offsets_for_times`."""

    offset: int
    timestamp: int
    leader_epoch: int | None = None
