"""What a successful send resolves to."""

from __future__ import annotations

from typing import NamedTuple

from kafkaio.cluster.metadata import TopicPartition
from kafkaio.records import TimestampType

__all__ = ["RecordMetadata"]


class RecordMetadata(NamedTuple):
    """Where and when a record was written.

    ``offset`` is ``-1`` when it is unknown: with ``acks=0``, and for a retried batch the
    broker recognised as a duplicate of one it had already written.
    """

    topic: str
    partition: int
    offset: int
    timestamp: int
    """The record's timestamp in ms: the broker's append time for topics with
    ``message.timestamp.type=LogAppendTime``, else the create time the producer stored."""
    timestamp_type: TimestampType
    serialized_key_size: int
    """Bytes of the serialized key (``-1`` for a null key)."""
    serialized_value_size: int
    """Bytes of the serialized value (``-1`` for a null value)."""
    log_start_offset: int = -1
    """The partition's log start offset when the batch was appended (``-1`` if unknown)."""

    @property
    def topic_partition(self) -> TopicPartition:
        """The record's :class:`~kafkaio.cluster.TopicPartition`."""
        return TopicPartition(self.topic, self.partition)
