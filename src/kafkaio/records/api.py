"""Types shared by the record-batch code, and the interfaces its builder and readers fill.

The builder and readers (:mod:`kafkaio.records.v2`, :mod:`kafkaio.records.legacy`) satisfy
:class:`BatchBuilderProtocol`, :class:`RecordBatchProtocol` and :class:`BatchReaderProtocol`.
Their per-record loops run in compiled code when ``kafkaio.records._native`` is built, with
byte-identical batches and equal :class:`Record` values (the pure-Python loops are the
reference).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from typing import NamedTuple, Protocol

from kafkaio.records.compression import CompressionType

__all__ = [
    "AppendResult",
    "BatchBuilderProtocol",
    "BatchReaderProtocol",
    "Buffer",
    "CompressionType",
    "ControlRecord",
    "ControlRecordType",
    "Header",
    "Record",
    "RecordBatchProtocol",
    "TimestampType",
]

Buffer = bytes | bytearray | memoryview
Header = tuple[str, bytes | None]
"""A record header: a string key and a (nullable) bytes value."""


class TimestampType(enum.IntEnum):
    """What a record's timestamp means."""

    NO_TIMESTAMP_TYPE = -1
    """Message format v0: records carry no timestamp (it reads as -1)."""
    CREATE_TIME = 0
    """Set by the producer."""
    LOG_APPEND_TIME = 1
    """Set by the broker when it appended the batch (every record gets the batch's max timestamp)."""


class ControlRecordType(enum.IntEnum):
    """The type in a control record's key (Kafka's ``ControlRecordType``)."""

    UNKNOWN = -1
    ABORT = 0
    COMMIT = 1
    LEADER_CHANGE = 2
    SNAPSHOT_HEADER = 3
    SNAPSHOT_FOOTER = 4
    KRAFT_VERSION = 5
    KRAFT_VOTERS = 6


class Record:
    """One decoded record, with its absolute offset and timestamp."""

    __slots__ = ("headers", "key", "offset", "timestamp", "timestamp_type", "value")

    offset: int
    timestamp: int
    timestamp_type: TimestampType
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...]

    def __init__(
        self,
        offset: int,
        timestamp: int,
        timestamp_type: TimestampType,
        key: bytes | None,
        value: bytes | None,
        headers: tuple[Header, ...] = (),
    ) -> None:
        self.offset = offset
        self.timestamp = timestamp
        self.timestamp_type = timestamp_type
        self.key = key
        self.value = value
        self.headers = headers

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (
            self.offset == other.offset
            and self.timestamp == other.timestamp
            and self.timestamp_type == other.timestamp_type
            and self.key == other.key
            and self.value == other.value
            and tuple(self.headers) == tuple(other.headers)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable value object

    def __repr__(self) -> str:
        return (
            f"Record(offset={self.offset}, timestamp={self.timestamp}, "
            f"timestamp_type={self.timestamp_type.name}, key={self.key!r}, "
            f"value={self.value!r}, headers={self.headers!r})"
        )


class ControlRecord(NamedTuple):
    """A decoded control record (transaction marker, KRaft record...)."""

    offset: int
    type: ControlRecordType
    type_id: int
    """The raw type from the key (``type`` is ``UNKNOWN`` for ids this client does not know)."""
    version: int
    """The key's version."""
    coordinator_epoch: int | None
    """For ``ABORT``/``COMMIT`` markers: the transaction coordinator's epoch; else ``None``."""


class AppendResult(NamedTuple):
    """What :meth:`BatchBuilderProtocol.append` reports for an accepted record."""

    offset_delta: int
    """The record's offset relative to the batch's base offset."""
    timestamp: int
    """The timestamp stored for the record (the current time if none was given)."""
    size: int
    """Bytes the record takes in the batch (uncompressed, including its length prefix)."""


class BatchBuilderProtocol(Protocol):
    """Accumulates records into one v2 record batch.

    ``append`` returns ``None`` (and stores nothing) when the record would push the batch past
    its byte limit; the first record is always accepted, even when it alone exceeds the
    limit (as the Java client does), so an oversized record still makes a (single-record)
    batch instead of never fitting anywhere.
    """

    def append(
        self,
        timestamp_ms: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
    ) -> AppendResult | None: ...

    def has_room_for(
        self,
        timestamp_ms: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
    ) -> bool: ...

    def set_producer_state(
        self, producer_id: int, producer_epoch: int, base_sequence: int, is_transactional: bool
    ) -> None: ...

    def build(self) -> bytes: ...

    @property
    def record_count(self) -> int: ...

    @property
    def estimated_size(self) -> int: ...

    @property
    def is_full(self) -> bool: ...


class RecordBatchProtocol(Protocol):
    """A read-only view of one record batch (v2) or one legacy (v0/v1) message set entry."""

    @property
    def magic(self) -> int: ...

    @property
    def base_offset(self) -> int: ...

    @property
    def last_offset(self) -> int: ...

    @property
    def next_offset(self) -> int: ...

    @property
    def size_in_bytes(self) -> int: ...

    @property
    def compression(self) -> CompressionType: ...

    @property
    def timestamp_type(self) -> TimestampType: ...

    @property
    def is_transactional(self) -> bool: ...

    @property
    def is_control(self) -> bool: ...

    @property
    def partition_leader_epoch(self) -> int: ...

    @property
    def producer_id(self) -> int: ...

    @property
    def producer_epoch(self) -> int: ...

    @property
    def base_sequence(self) -> int: ...

    @property
    def max_timestamp(self) -> int: ...

    @property
    def last_sequence(self) -> int: ...

    @property
    def delete_horizon_ms(self) -> int | None: ...

    @property
    def record_count(self) -> int: ...

    def is_valid(self) -> bool:
        """Whether the stored checksum matches the bytes."""
        ...

    def records(self) -> list[Record]:
        """Every record, decoded and validated as a whole (all or an error)."""
        ...

    def control_record(self) -> ControlRecord | None:
        """The first record of a control batch, decoded; ``None`` for data batches."""
        ...

    @property
    def control_type(self) -> ControlRecordType | None:
        """``control_record().type``, or ``None`` for data batches."""
        ...


class BatchReaderProtocol(Protocol):
    """Splits the records bytes of a Fetch response into batches.

    A truncated trailing batch (normal in fetch responses) is dropped silently; malformed
    bytes before it, and CRC mismatches when ``verify_crc`` is true, raise
    :class:`kafkaio.errors.CorruptRecordError` naming ``topic``/``partition``/offset.
    """

    def __call__(
        self,
        data: Buffer,
        *,
        verify_crc: bool = True,
        topic: str | None = None,
        partition: int | None = None,
        max_decompressed_bytes: int = ...,
    ) -> Iterator[RecordBatchProtocol]: ...
