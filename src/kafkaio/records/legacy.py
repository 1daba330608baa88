"""Reader for the legacy message formats v0 and v1 (magic 0 and 1), still found in old logs.

A message set entry is ``offset int64, message_size int32`` followed by the message::

    crc uint32 (zlib CRC-32 of everything after it), magic int8, attributes int8
    (bits 0-2 codec, bit 3 timestamp type in v1), timestamp int64 (v1 only),
    key (int32 length, -1 = null, + bytes), value (int32 length + bytes)

A compressed message (a "wrapper") carries, as its compressed value, a whole message set of
inner messages. In v1 the inner offsets are relative (0, 1, ...) and the wrapper's offset is
the absolute offset of the last inner message; in v0 inner offsets are absolute. A v1 wrapper
with LOG_APPEND_TIME gives its timestamp to every inner message.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Final

from kafkaio.errors import CorruptRecordError
from kafkaio.records.api import ControlRecord, ControlRecordType, Record, TimestampType
from kafkaio.records.compression import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    CompressionType,
    decompress,
)

__all__ = ["MIN_MESSAGE_SIZE_V0", "MIN_MESSAGE_SIZE_V1", "LegacyRecordBatch"]

LOG_OVERHEAD: Final = 12
MIN_MESSAGE_SIZE_V0: Final = 14
"""crc, magic, attributes, key length, value length."""
MIN_MESSAGE_SIZE_V1: Final = 22
"""v0 plus the timestamp."""

_ENTRY = struct.Struct(">qi")
_PREFIX = struct.Struct(">IBB")
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_TIMESTAMP_TYPE_BIT = 0x08
_CODEC_MASK = 0x07


class _Message:
    """One decoded v0/v1 message (without its offset)."""

    __slots__ = ("attributes", "crc", "key", "magic", "timestamp", "value")

    def __init__(
        self,
        crc: int,
        magic: int,
        attributes: int,
        timestamp: int,
        key: bytes | None,
        value: bytes | None,
    ) -> None:
        self.crc = crc
        self.magic = magic
        self.attributes = attributes
        self.timestamp = timestamp
        self.key = key
        self.value = value


def _parse_message(data: bytes, pos: int, end: int, verify_crc: bool) -> _Message:
    """Decode the message in ``data[pos:end]``; raises ValueError if it is malformed."""
    size = end - pos
    if size < MIN_MESSAGE_SIZE_V0:
        raise ValueError(f"message of {size} bytes is below the minimum {MIN_MESSAGE_SIZE_V0}")
    crc, magic, attributes = _PREFIX.unpack_from(data, pos)
    if magic > 1:
        raise ValueError(f"legacy message has magic {magic}")
    p = pos + 6
    if magic == 1:
        if size < MIN_MESSAGE_SIZE_V1:
            raise ValueError(
                f"v1 message of {size} bytes is below the minimum {MIN_MESSAGE_SIZE_V1}"
            )
        (timestamp,) = _INT64.unpack_from(data, p)
        p += 8
    else:
        timestamp = -1
    if verify_crc:
        with memoryview(data) as view:
            computed = zlib.crc32(view[pos + 4 : end])
        if computed != crc:
            raise ValueError(f"message CRC mismatch: stored 0x{crc:08x}, computed 0x{computed:08x}")
    (klen,) = _INT32.unpack_from(data, p)
    p += 4
    key: bytes | None = None
    if klen >= 0:
        if klen > end - p - 4:
            raise ValueError(f"message key of {klen} bytes exceeds the message")
        key = data[p : p + klen]
        p += klen
    (vlen,) = _INT32.unpack_from(data, p)
    p += 4
    value: bytes | None = None
    if vlen >= 0:
        if vlen > end - p:
            raise ValueError(f"message value of {vlen} bytes exceeds the message")
        value = data[p : p + vlen]
        p += vlen
    if p != end:
        raise ValueError(f"message size mismatch: {end - p} bytes unaccounted for")
    return _Message(crc, magic, attributes, timestamp, key, value)


def _timestamp_type(magic: int, attributes: int) -> TimestampType:
    if magic == 0:
        return TimestampType.NO_TIMESTAMP_TYPE
    if attributes & _TIMESTAMP_TYPE_BIT:
        return TimestampType.LOG_APPEND_TIME
    return TimestampType.CREATE_TIME


class LegacyRecordBatch:
    """One v0/v1 message-set entry: a plain message, or a compressed wrapper of messages.

    Implements :class:`~kafkaio.records.api.RecordBatchProtocol`; the v2-only fields read as
    "absent" (producer id -1, not transactional, not control...).
    """

    __slots__ = (
        "_data",
        "_max_decompressed_bytes",
        "_message",
        "_partition",
        "_records",
        "_size",
        "_start",
        "_topic",
        "_verify_crc",
        "offset",
    )

    offset: int
    """The entry's offset (for a compressed wrapper, that of its last inner message)."""
    _size: int

    def __init__(
        self,
        data: bytes,
        start: int = 0,
        *,
        verify_crc: bool = True,
        topic: str | None = None,
        partition: int | None = None,
        max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    ) -> None:
        self._topic = topic
        self._partition = partition
        self._verify_crc = verify_crc
        self._max_decompressed_bytes = max_decompressed_bytes
        self._records: list[Record] | None = None
        self._data = data
        self._start = start
        if len(data) - start < LOG_OVERHEAD:
            raise CorruptRecordError(
                "legacy message set entry is truncated", topic=topic, partition=partition
            )
        self.offset, size = _ENTRY.unpack_from(data, start)
        self._size = LOG_OVERHEAD + size
        end = start + self._size
        if size < MIN_MESSAGE_SIZE_V0 or end > len(data):
            raise self._corrupt(f"legacy message size {size} is invalid")
        try:
            self._message = _parse_message(data, start + LOG_OVERHEAD, end, verify_crc)
        except (ValueError, struct.error) as exc:
            raise self._corrupt(f"corrupt legacy message: {exc}") from None
        if self._message.attributes & _CODEC_MASK > 3:
            raise self._corrupt(
                f"compression codec id {self._message.attributes & _CODEC_MASK} is not "
                f"allowed in message format v{self._message.magic}"
            )

    def _corrupt(self, reason: str) -> CorruptRecordError:
        return CorruptRecordError(
            reason, topic=self._topic, partition=self._partition, offset=self.offset
        )

    # -- header views

    @property
    def magic(self) -> int:
        """0 or 1."""
        return self._message.magic

    @property
    def attributes(self) -> int:
        """The wrapper message's attributes byte."""
        return self._message.attributes

    @property
    def crc(self) -> int:
        """The (wrapper) message's stored CRC-32."""
        return self._message.crc

    @property
    def compression(self) -> CompressionType:
        """The wrapper's codec (NONE for a plain message)."""
        return CompressionType(self._message.attributes & _CODEC_MASK)

    @property
    def timestamp_type(self) -> TimestampType:
        """NO_TIMESTAMP_TYPE for v0, else CREATE_TIME or LOG_APPEND_TIME."""
        return _timestamp_type(self._message.magic, self._message.attributes)

    @property
    def max_timestamp(self) -> int:
        """The (wrapper) message's timestamp; -1 in v0."""
        return self._message.timestamp

    @property
    def base_offset(self) -> int:
        """Offset of the first record (decompresses a wrapper)."""
        if not self._message.attributes & _CODEC_MASK:
            return self.offset
        return self.records()[0].offset

    @property
    def last_offset(self) -> int:
        """Offset of the last record."""
        return self.offset

    @property
    def next_offset(self) -> int:
        """The offset after this entry: where fetching continues."""
        return self.offset + 1

    @property
    def size_in_bytes(self) -> int:
        """Bytes the entry takes in the buffer."""
        return self._size

    @property
    def last_sequence(self) -> int:
        """Always -1: legacy formats have no sequence numbers."""
        return -1

    @property
    def delete_horizon_ms(self) -> int | None:
        """Always ``None``: legacy formats have no delete horizon."""
        return None

    def compute_crc(self) -> int:
        """zlib CRC-32 of the (wrapper) message after its CRC field."""
        start = self._start + LOG_OVERHEAD + 4
        with memoryview(self._data) as view:
            return zlib.crc32(view[start : self._start + self._size])

    def is_valid(self) -> bool:
        """Whether the stored CRC of the (wrapper) message matches its bytes."""
        return self.compute_crc() == self._message.crc

    is_transactional: Final = False
    is_control: Final = False
    partition_leader_epoch: Final = -1
    producer_id: Final = -1
    producer_epoch: Final = -1
    base_sequence: Final = -1

    @property
    def record_count(self) -> int:
        """Number of records (decompresses a wrapper)."""
        return len(self.records())

    def control_record(self) -> ControlRecord | None:
        """Always ``None``: legacy formats have no control records."""
        return None

    @property
    def control_type(self) -> ControlRecordType | None:
        """Always ``None``: legacy formats have no control records."""
        return None

    # -- records

    def records(self) -> list[Record]:
        """All records, decoded and validated as a whole; cached."""
        recs = self._records
        if recs is None:
            recs = self._records = self._decode()
        return recs

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())

    def _decode(self) -> list[Record]:
        msg = self._message
        codec = msg.attributes & _CODEC_MASK
        ts_type = _timestamp_type(msg.magic, msg.attributes)
        if not codec:
            return [Record(self.offset, msg.timestamp, ts_type, msg.key, msg.value)]
        if msg.value is None:
            raise self._corrupt("compressed legacy message has a null value")
        try:
            inner_data = decompress(
                codec,
                msg.value,
                max_size=self._max_decompressed_bytes,
                legacy_lz4_header=msg.magic == 0,
            )
        except CorruptRecordError as exc:
            raise self._corrupt(exc.reason) from None
        inner: list[tuple[int, _Message]] = []
        pos = 0
        n = len(inner_data)
        try:
            while pos < n:
                if n - pos < LOG_OVERHEAD:
                    raise ValueError("inner message set entry is truncated")
                inner_offset, size = _ENTRY.unpack_from(inner_data, pos)
                end = pos + LOG_OVERHEAD + size
                if size < MIN_MESSAGE_SIZE_V0 or end > n:
                    raise ValueError(f"inner message size {size} is invalid")
                m = _parse_message(inner_data, pos + LOG_OVERHEAD, end, self._verify_crc)
                if m.attributes & _CODEC_MASK:
                    raise ValueError("inner messages must not be compressed")
                inner.append((inner_offset, m))
                pos = end
        except (ValueError, struct.error) as exc:
            raise self._corrupt(f"corrupt compressed legacy message: {exc}") from None
        if not inner:
            raise self._corrupt("compressed legacy message holds no inner messages")
        base = 0
        if msg.magic >= 1:
            last_inner = inner[-1][0]
            base = self.offset - last_inner
            if base < 0:
                if self.offset != 0:
                    raise self._corrupt(
                        f"wrapper offset {self.offset} is below the last inner offset {last_inner}"
                    )
                base = 0
        log_append = ts_type == TimestampType.LOG_APPEND_TIME
        out: list[Record] = []
        for inner_offset, m in inner:
            if m.magic == 0:
                ts, tt = -1, TimestampType.NO_TIMESTAMP_TYPE
            else:
                ts = msg.timestamp if log_append else m.timestamp
                tt = ts_type
            out.append(Record(base + inner_offset, ts, tt, m.key, m.value))
        return out

    def __repr__(self) -> str:
        return (
            f"LegacyRecordBatch(offset={self.offset}, magic={self.magic}, "
            f"compression={self.compression.name}, size={self._size})"
        )
