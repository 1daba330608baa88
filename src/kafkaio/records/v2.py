"""Record batch v2 (magic 2): the pure-Python builder and reader (the reference implementation).

Layout of a batch (big-endian; offsets in bytes)::

     0 base_offset int64           12 partition_leader_epoch int32
     8 batch_length int32          16 magic int8 (= 2)
    17 crc uint32 (CRC32C of bytes 21..end)
    21 attributes int16: bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control,
       6 delete horizon present
    23 last_offset_delta int32     27 base_timestamp int64      35 max_timestamp int64
    43 producer_id int64           51 producer_epoch int16      53 base_sequence int32
    57 record_count int32          61 records (compressed as a whole when a codec is set)

Each record: varint length, int8 attributes (unused), varlong timestamp delta, varint offset
delta, varint key length (-1 = null) + key, varint value length + value, varint header count,
then per header a varint key length + UTF-8 key and a varint value length (-1 = null) + value.
"""

from __future__ import annotations

import importlib
import struct
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from kafkaio.errors import ConfigurationError, CorruptRecordError, IllegalStateError
from kafkaio.records._varint import (
    UVARINT_TABLE,
    UVARINT_TABLE_SIZE,
    decode_uvarint,
    encode_uvarint,
)
from kafkaio.records.api import (
    AppendResult,
    ControlRecord,
    ControlRecordType,
    Header,
    Record,
    TimestampType,
)
from kafkaio.records.compression import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    CompressionType,
    compress,
    decompress,
)
from kafkaio.records.crc import crc32c, extensions_disabled

__all__ = [
    "DEFAULT_MAX_BATCH_BYTES",
    "HEADER_SIZE",
    "DefaultRecordBatch",
    "RecordBatchBuilder",
    "build_end_txn_marker",
    "record_size_upper_bound",
    "row_factory",
    "with_producer_state",
]

HEADER_SIZE: Final = 61
"""Bytes of the v2 batch header, up to and including the record count."""
LOG_OVERHEAD: Final = 12
"""Bytes before a batch's length-counted part (base offset + batch length)."""
DEFAULT_MAX_BATCH_BYTES: Final = 1024 * 1024
"""Default byte limit of :class:`RecordBatchBuilder` (the broker's default ``message.max.bytes``)."""

_HEADER = struct.Struct(">qiibIhiqqqhii")
_CRC = struct.Struct(">I")
_PRODUCER_STATE = struct.Struct(">qhi")
_ATTR = struct.Struct(">h")
_CRC_OFFSET = 17
_ATTRIBUTES_OFFSET = 21
_PRODUCER_ID_OFFSET = 43

ATTR_COMPRESSION_MASK: Final = 0x07
ATTR_TIMESTAMP_TYPE: Final = 0x08
ATTR_TRANSACTIONAL: Final = 0x10
ATTR_CONTROL: Final = 0x20
ATTR_DELETE_HORIZON: Final = 0x40

_MIN_RECORD_BYTES = 7  # length, attributes, ts delta, offset delta, key, value, header count
_NO_TIMESTAMP = -1
_MAX_INT64 = 0x7FFFFFFFFFFFFFFF
_CREATE_TIME = TimestampType.CREATE_TIME
_LOG_APPEND_TIME = TimestampType.LOG_APPEND_TIME

_T = UVARINT_TABLE
_TN = UVARINT_TABLE_SIZE
_new_tuple = tuple.__new__  # builds NamedTuples without their Python-level __new__
_join = b"".join
_R = TypeVar("_R")
# Zigzag decoding of every 1- and 2-byte varint value: a tuple index beats the arithmetic.
_ZIGZAG2: Final = tuple((n >> 1) ^ -(n & 1) for n in range(1 << 14))
_ROW_ARITY = 11
_NO_ROOM_LIMIT = sys.maxsize


def _load_native() -> ModuleType | None:
    """The compiled hot loops (``_native.c``), unless absent or ``KAFKAIO_NO_EXTENSIONS`` is set."""
    if extensions_disabled():
        return None
    try:
        return importlib.import_module("kafkaio.records._native")
    except ImportError:
        return None


_native = _load_native()
NATIVE: Final = _native is not None
"""Whether the compiled record encoder/decoder is in use (else the pure-Python reference)."""


# -- encoding ----------------------------------------------------------------------------


def _encode_record(
    offset_delta: int,
    timestamp_delta: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[Header],
) -> bytearray:
    """The record body (everything after the length prefix)."""
    t = _T
    tn = _TN
    rec = bytearray(b"\x00")  # attributes: unused, always 0
    z = (timestamp_delta << 1) ^ (timestamp_delta >> 63)
    rec += t[z] if z < tn else encode_uvarint(z)
    z = offset_delta << 1
    rec += t[z] if z < tn else encode_uvarint(z)
    if key is None:
        rec += b"\x01"
    else:
        z = len(key) << 1
        rec += t[z] if z < tn else encode_uvarint(z)
        rec += key
    if value is None:
        rec += b"\x01"
    else:
        z = len(value) << 1
        rec += t[z] if z < tn else encode_uvarint(z)
        rec += value
    if headers:
        rec += _encode_headers(headers)
    else:
        rec += b"\x00"
    return rec


def _encode_headers(headers: Sequence[Header]) -> bytearray:
    """Header count and headers (non-empty ``headers``)."""
    t = _T
    tn = _TN
    z = len(headers) << 1
    out = bytearray(t[z] if z < tn else encode_uvarint(z))
    for hkey, hvalue in headers:
        hk = hkey.encode()
        z = len(hk) << 1
        out += t[z] if z < tn else encode_uvarint(z)
        out += hk
        if hvalue is None:
            out += b"\x01"
        else:
            z = len(hvalue) << 1
            out += t[z] if z < tn else encode_uvarint(z)
            out += hvalue
    return out


def _bad_timestamp(timestamp: object) -> Exception:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        return TypeError(f"record timestamp must be int milliseconds, got {timestamp!r}")
    return ValueError(
        f"invalid record timestamp {timestamp!r}: must be -1 (none) or in [0, 2**63 - 1]"
    )


def _bad_record(
    timestamp: object, key: object, value: object, headers: object, exc: Exception
) -> TypeError:
    """A precise message for a record that could not be encoded."""
    bytes_like = (bytes, bytearray, memoryview)
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        return TypeError(f"record timestamp must be int milliseconds, got {timestamp!r}")
    if key is not None and not isinstance(key, bytes_like):
        return TypeError(f"record key must be bytes or None, got {type(key).__name__}")
    if value is not None and not isinstance(value, bytes_like):
        return TypeError(f"record value must be bytes or None, got {type(value).__name__}")
    try:
        items = list(headers)  # type: ignore[call-overload]
    except TypeError:
        return TypeError(f"record headers must be a sequence, got {type(headers).__name__}")
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            return TypeError(f"record header must be a (str, bytes | None) pair, got {item!r}")
        hkey, hvalue = item
        if not isinstance(hkey, str):
            return TypeError(f"record header key must be str, got {type(hkey).__name__}")
        if hvalue is not None and not isinstance(hvalue, bytes_like):
            return TypeError(
                f"record header {hkey!r} value must be bytes or None, got {type(hvalue).__name__}"
            )
    return TypeError(f"cannot encode record: {exc}")


def record_size_upper_bound(
    key: bytes | None, value: bytes | None, headers: Sequence[Header] = ()
) -> int:
    """Upper bound of the bytes a single-record batch holding this record takes (uncompressed).

    For checking a record against ``max_request_size`` before it is appended anywhere.
    """
    size = 1 + 10 + 5  # attributes, max timestamp delta, max offset delta
    size += 5 + (0 if key is None else len(key))
    size += 5 + (0 if value is None else len(value))
    size += 5
    for hkey, hvalue in headers:
        size += 5 + len(hkey.encode()) + 5 + (0 if hvalue is None else len(hvalue))
    return HEADER_SIZE + 5 + size


# -- builder -----------------------------------------------------------------------------


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigurationError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


# Attributes that the compiled BuilderCore base class holds (as C fields of the same names)
# when the extension is in use; plain slots otherwise.
_CORE_SLOTS = (
    "_base_timestamp",
    "_buf",
    "_built",
    "_count",
    "_delete_horizon_ms",
    "_last_offset_delta",
    "_max_bytes",
    "_max_timestamp",
)
if TYPE_CHECKING:
    _BuilderBase = object
else:
    _BuilderBase = _native.BuilderCore if _native is not None else object


class RecordBatchBuilder(_BuilderBase):
    """Builds one v2 record batch (implements :class:`~kafkaio.records.api.BatchBuilderProtocol`).

    ``max_bytes`` limits the batch's *uncompressed* size (header included): :meth:`append`
    returns ``None`` for a record that would cross it, except for the first record, which is
    always accepted so that a record larger than the limit still gets a batch of its own (the
    Java client's rule). Compression happens in :meth:`build`, so the bytes sent are usually
    smaller than :attr:`estimated_size`. Producer id, epoch, base sequence and the
    transactional flag may be set until :meth:`build` (the producer assigns sequences when it
    drains the batch).
    """

    __slots__ = (
        "_base_offset",
        "_base_sequence",
        "_compression",
        "_compression_level",
        "_is_control",
        "_is_transactional",
        "_partition_leader_epoch",
        "_producer_epoch",
        "_producer_id",
        "_timestamp_type",
        *(() if _native is not None else _CORE_SLOTS),
    )

    def __init__(
        self,
        magic: int = 2,
        compression: int = CompressionType.NONE,
        *,
        compression_level: int | None = None,
        is_transactional: bool = False,
        is_control: bool = False,
        producer_id: int = -1,
        producer_epoch: int = -1,
        base_sequence: int = -1,
        base_offset: int = 0,
        partition_leader_epoch: int = -1,
        timestamp_type: int = TimestampType.CREATE_TIME,
        delete_horizon_ms: int | None = None,
        max_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    ) -> None:
        if magic != 2:
            raise ConfigurationError(
                f"magic must be 2: only record batch v2 can be written, got {magic!r}"
            )
        if compression not in CompressionType._value2member_map_:
            raise ConfigurationError(
                f"compression must be a Kafka codec id 0-4 (none, gzip, snappy, lz4, zstd), "
                f"got {compression!r}"
            )
        if timestamp_type not in (TimestampType.CREATE_TIME, TimestampType.LOG_APPEND_TIME):
            raise ConfigurationError(
                f"timestamp_type must be CREATE_TIME (0) or LOG_APPEND_TIME (1), got {timestamp_type!r}"
            )
        _check_int("max_bytes", max_bytes, 1, 0x7FFFFFFF)
        _check_int("base_offset", base_offset, 0, 0x7FFFFFFFFFFFFFFF)
        _check_int("partition_leader_epoch", partition_leader_epoch, -(2**31), 2**31 - 1)
        if delete_horizon_ms is not None:
            _check_int("delete_horizon_ms", delete_horizon_ms, 0, 0x7FFFFFFFFFFFFFFF)
        self._compression = CompressionType(compression)
        self._compression_level = compression_level
        self._is_control = bool(is_control)
        self._base_offset = base_offset
        self._partition_leader_epoch = partition_leader_epoch
        self._timestamp_type = TimestampType(timestamp_type)
        self._delete_horizon_ms = delete_horizon_ms
        self._max_bytes = max_bytes
        self._buf = bytearray(HEADER_SIZE)
        self._count = 0
        self._last_offset_delta = -1
        self._base_timestamp: int | None = delete_horizon_ms
        self._max_timestamp = _NO_TIMESTAMP
        self._built: bytes | None = None
        self._producer_id = -1
        self._producer_epoch = -1
        self._base_sequence = -1
        self._is_transactional = False
        self.set_producer_state(producer_id, producer_epoch, base_sequence, is_transactional)

    def set_producer_state(
        self, producer_id: int, producer_epoch: int, base_sequence: int, is_transactional: bool
    ) -> None:
        """Set the idempotence/transaction fields written by :meth:`build`."""
        _check_int("producer_id", producer_id, -1, 0x7FFFFFFFFFFFFFFF)
        _check_int("producer_epoch", producer_epoch, -1, 0x7FFF)
        _check_int("base_sequence", base_sequence, -1, 0x7FFFFFFF)
        if self._built is not None:
            raise IllegalStateError("the batch is already built; use with_producer_state()")
        self._producer_id = producer_id
        self._producer_epoch = producer_epoch
        self._base_sequence = base_sequence
        self._is_transactional = bool(is_transactional)

    @property
    def record_count(self) -> int:
        """Records appended so far."""
        return self._count

    @property
    def estimated_size(self) -> int:
        """Uncompressed size of the batch so far, header included."""
        return len(self._buf) if self._built is None else len(self._built)

    @property
    def is_full(self) -> bool:
        """True once the batch holds a record and has reached its byte limit."""
        return self._built is not None or (self._count > 0 and len(self._buf) >= self._max_bytes)

    @property
    def max_bytes(self) -> int:
        """The byte limit given at construction."""
        return self._max_bytes

    @property
    def compression(self) -> CompressionType:
        """The codec :meth:`build` applies."""
        return self._compression

    def append(
        self,
        timestamp_ms: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
    ) -> AppendResult | None:
        """Append a record at the next offset; ``None`` (nothing stored) if the batch is full.

        ``timestamp_ms=None`` stores the current time.
        """
        # The producer's hot path: _append() inlined.
        if self._built is not None:
            raise IllegalStateError("cannot append to a record batch that is already built")
        if timestamp_ms is None:
            timestamp_ms = time.time_ns() // 1_000_000
        elif type(timestamp_ms) is not int or not -1 <= timestamp_ms <= _MAX_INT64:
            raise _bad_timestamp(timestamp_ms)
        if _append_native is not None:
            total = self.append_sized(timestamp_ms, key, value, headers)
            if total < 0:
                return None
            return _new_tuple(AppendResult, (self._last_offset_delta, timestamp_ms, total))
        base_ts = self._base_timestamp
        if base_ts is None:
            base_ts = self._base_timestamp = timestamp_ms
        offset_delta = self._last_offset_delta + 1
        t = _T
        tn = _TN
        try:
            # Same bytes as _encode_record(), inlined; one join beats repeated appends.
            z = timestamp_ms - base_ts
            z = (z << 1) ^ (z >> 63)
            ts_part = t[z] if z < tn else encode_uvarint(z)
            z = offset_delta << 1
            offset_part = t[z] if z < tn else encode_uvarint(z)
            if key is None:
                key_len = b"\x01"
                key_bytes: bytes = b""
            else:
                z = len(key) << 1
                key_len = t[z] if z < tn else encode_uvarint(z)
                key_bytes = key
            if value is None:
                value_len = b"\x01"
                value_bytes: bytes = b""
            else:
                z = len(value) << 1
                value_len = t[z] if z < tn else encode_uvarint(z)
                value_bytes = value
            rec = _join(
                (
                    b"\x00",
                    ts_part,
                    offset_part,
                    key_len,
                    key_bytes,
                    value_len,
                    value_bytes,
                    _encode_headers(headers) if headers else b"\x00",
                )
            )
        except (TypeError, AttributeError, ValueError) as exc:
            if self._count == 0 and self._delete_horizon_ms is None:
                self._base_timestamp = None
            raise _bad_record(timestamp_ms, key, value, headers, exc) from None
        size = len(rec)
        z = size << 1
        prefix = t[z] if z < tn else encode_uvarint(z)
        total = size + len(prefix)
        buf = self._buf
        if self._count and len(buf) + total > self._max_bytes:
            return None
        buf += prefix
        buf += rec
        self._count += 1
        self._last_offset_delta = offset_delta
        if timestamp_ms > self._max_timestamp:
            self._max_timestamp = timestamp_ms
        return _new_tuple(AppendResult, (offset_delta, timestamp_ms, total))

    def append_sized(
        self, timestamp_ms: int, key: bytes | None, value: bytes | None, headers: Sequence[Header]
    ) -> int:
        """:meth:`append` at the next offset with a resolved timestamp; returns the bytes the
        record took, or -1 (nothing stored) if the batch is full.

        The producer's per-record call: its offset delta is the record count before the call.
        """
        if _append_native is None or self._built is not None:
            result = self.append(timestamp_ms, key, value, headers)
            return -1 if result is None else result.size
        if type(timestamp_ms) is not int or not -1 <= timestamp_ms <= _MAX_INT64:
            raise _bad_timestamp(timestamp_ms)
        base_ts = self._base_timestamp
        if base_ts is None:
            base_ts = self._base_timestamp = timestamp_ms
        offset_delta = self._last_offset_delta + 1
        buf = self._buf
        try:
            total = _append_native(
                buf,
                offset_delta,
                timestamp_ms - base_ts,
                key,
                value,
                headers,
                self._max_bytes - len(buf) if self._count else _NO_ROOM_LIMIT,
            )
        except (TypeError, AttributeError, ValueError) as exc:
            if self._count == 0 and self._delete_horizon_ms is None:
                self._base_timestamp = None
            raise _bad_record(timestamp_ms, key, value, headers, exc) from None
        if total >= 0:
            self._count += 1
            self._last_offset_delta = offset_delta
            if timestamp_ms > self._max_timestamp:
                self._max_timestamp = timestamp_ms
        return total

    def append_with_offset(
        self,
        offset: int,
        timestamp_ms: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
    ) -> AppendResult | None:
        """Append a record at an absolute ``offset`` (greater than the previous one).

        Offsets may have gaps, as in a compacted log; producers use :meth:`append`.
        """
        delta = offset - self._base_offset
        if not isinstance(offset, int) or delta <= self._last_offset_delta or delta > 0x7FFFFFFF:
            raise ValueError(
                f"offset {offset!r} must be above the last appended offset "
                f"{self._base_offset + self._last_offset_delta} and within 2**31 of the base offset"
            )
        return self._append(delta, timestamp_ms, key, value, headers)

    def _append(
        self,
        offset_delta: int,
        timestamp_ms: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header],
    ) -> AppendResult | None:
        if self._built is not None:
            raise IllegalStateError("cannot append to a record batch that is already built")
        if timestamp_ms is None:
            timestamp_ms = time.time_ns() // 1_000_000
        elif type(timestamp_ms) is not int or not -1 <= timestamp_ms <= _MAX_INT64:
            raise _bad_timestamp(timestamp_ms)
        base_ts = self._base_timestamp
        if base_ts is None:
            base_ts = self._base_timestamp = timestamp_ms
        try:
            rec = _encode_record(offset_delta, timestamp_ms - base_ts, key, value, headers)
        except (TypeError, AttributeError, ValueError) as exc:
            if self._count == 0 and self._delete_horizon_ms is None:
                self._base_timestamp = None
            raise _bad_record(timestamp_ms, key, value, headers, exc) from None
        size = len(rec)
        z = size << 1
        prefix = _T[z] if z < _TN else encode_uvarint(z)
        total = size + len(prefix)
        buf = self._buf
        if self._count and len(buf) + total > self._max_bytes:
            return None
        buf += prefix
        buf += rec
        self._count += 1
        self._last_offset_delta = offset_delta
        if timestamp_ms > self._max_timestamp:
            self._max_timestamp = timestamp_ms
        return _new_tuple(AppendResult, (offset_delta, timestamp_ms, total))

    def has_room_for(
        self,
        timestamp_ms: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
    ) -> bool:
        """Whether :meth:`append` would accept this record now."""
        if self._built is not None:
            return False
        if self._count == 0:
            return True
        base_ts = self._base_timestamp if self._base_timestamp is not None else 0
        ts = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
        try:
            size = len(
                _encode_record(self._last_offset_delta + 1, ts - base_ts, key, value, headers)
            )
        except (TypeError, AttributeError, ValueError) as exc:
            raise _bad_record(ts, key, value, headers, exc) from None
        z = size << 1
        total = size + (1 if z < 0x80 else len(encode_uvarint(z)))
        return len(self._buf) + total <= self._max_bytes

    def build(self) -> bytes:
        """Finish the batch: compress, write the header and CRC. Idempotent.

        A builder without records builds ``b""`` (no batch), like the Java client.
        """
        built = self._built
        if built is not None:
            return built
        if self._count == 0:
            self._built = b""
            return self._built
        buf = self._buf
        codec = self._compression
        if codec:
            with memoryview(buf) as view:
                body = compress(codec, view[HEADER_SIZE:], level=self._compression_level)
            out = bytearray(HEADER_SIZE)
            out += body
        else:
            out = buf
        attributes = codec | (self._timestamp_type << 3)
        if self._is_transactional:
            attributes |= ATTR_TRANSACTIONAL
        if self._is_control:
            attributes |= ATTR_CONTROL
        if self._delete_horizon_ms is not None:
            attributes |= ATTR_DELETE_HORIZON
        base_ts = self._base_timestamp
        _HEADER.pack_into(
            out,
            0,
            self._base_offset,
            len(out) - LOG_OVERHEAD,
            self._partition_leader_epoch,
            2,
            0,
            attributes,
            self._last_offset_delta,
            base_ts if base_ts is not None else _NO_TIMESTAMP,
            self._max_timestamp,
            self._producer_id,
            self._producer_epoch,
            self._base_sequence,
            self._count,
        )
        with memoryview(out) as view:
            crc = crc32c(view[_ATTRIBUTES_OFFSET:])
        _CRC.pack_into(out, _CRC_OFFSET, crc)
        self._built = bytes(out)
        self._buf = bytearray()
        return self._built


def with_producer_state(
    batch: bytes | bytearray | memoryview,
    producer_id: int,
    producer_epoch: int,
    base_sequence: int,
    is_transactional: bool | None = None,
) -> bytes:
    """A copy of a built v2 batch with new producer id/epoch/base sequence (CRC recomputed).

    For resending a batch under a new producer epoch (KIP-360) without re-encoding it.
    ``is_transactional=None`` keeps the flag.
    """
    _check_int("producer_id", producer_id, -1, 0x7FFFFFFFFFFFFFFF)
    _check_int("producer_epoch", producer_epoch, -1, 0x7FFF)
    _check_int("base_sequence", base_sequence, -1, 0x7FFFFFFF)
    out = bytearray(batch)
    if len(out) < HEADER_SIZE or out[16] != 2:
        raise ValueError("not a v2 record batch")
    if is_transactional is not None:
        (attributes,) = _ATTR.unpack_from(out, _ATTRIBUTES_OFFSET)
        if is_transactional:
            attributes |= ATTR_TRANSACTIONAL
        else:
            attributes &= ~ATTR_TRANSACTIONAL
        _ATTR.pack_into(out, _ATTRIBUTES_OFFSET, attributes)
    _PRODUCER_STATE.pack_into(out, _PRODUCER_ID_OFFSET, producer_id, producer_epoch, base_sequence)
    with memoryview(out) as view:
        crc = crc32c(view[_ATTRIBUTES_OFFSET:])
    _CRC.pack_into(out, _CRC_OFFSET, crc)
    return bytes(out)


def build_end_txn_marker(
    *,
    commit: bool,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int,
    timestamp_ms: int | None = None,
    base_offset: int = 0,
    partition_leader_epoch: int = -1,
) -> bytes:
    """A control batch holding one COMMIT or ABORT transaction marker (as brokers write them)."""
    builder = RecordBatchBuilder(
        is_control=True,
        is_transactional=True,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_offset=base_offset,
        partition_leader_epoch=partition_leader_epoch,
    )
    kind = ControlRecordType.COMMIT if commit else ControlRecordType.ABORT
    key = struct.pack(">hh", 0, kind)
    value = struct.pack(">hi", 0, coordinator_epoch)
    builder.append(timestamp_ms, key, value)
    return builder.build()


# -- reader ------------------------------------------------------------------------------


def _as_record(
    _topic: str,
    _partition: int,
    offset: int,
    timestamp: int,
    timestamp_type: TimestampType,
    key: bytes | None,
    value: bytes | None,
    headers: tuple[tuple[str, bytes], ...],
    _leader_epoch: int | None,
    _key_size: int,
    _value_size: int,
) -> Record:
    return Record(offset, timestamp, timestamp_type, key, value, headers)


def _decode_rows_py(
    data: bytes,
    pos: int,
    end: int,
    count: int,
    base_offset: int,
    base_timestamp: int,
    timestamp_type: TimestampType,
    log_append_time: int | None,
    make: Callable[..., _R],
    topic: str,
    partition: int,
    leader_epoch: int | None,
) -> list[_R]:
    """Decode ``count`` records from ``data[pos:end]``, each built by one call of
    ``make(topic, partition, offset, timestamp, timestamp_type, key, value, headers,
    leader_epoch, key_size, value_size)`` (sizes -1 for null); raises
    IndexError/ValueError if malformed."""
    if count < 0 or count > (end - pos) // _MIN_RECORD_BYTES:
        raise ValueError(f"record count {count} does not fit in {end - pos} bytes")
    out: list[_R] = []
    add = out.append
    slow = decode_uvarint
    zz = _ZIGZAG2
    # LOG_APPEND_TIME: every record gets the batch's time (the deltas are masked out).
    ts_mask = -1
    if log_append_time is not None:
        base_timestamp = log_append_time
        ts_mask = 0
    for _ in range(count):
        b = data[pos]
        if b < 0x80:
            length = zz[b]
            pos += 1
        elif data[pos + 1] < 0x80:
            length = zz[(b & 0x7F) | (data[pos + 1] << 7)]
            pos += 2
        else:
            n, pos = slow(data, pos, 5)
            length = (n >> 1) ^ -(n & 1)
        rec_end = pos + length
        if length < _MIN_RECORD_BYTES - 1 or rec_end > end:
            raise ValueError(f"record length {length} exceeds the {end - pos} bytes left")
        pos += 1  # attributes
        b = data[pos]
        if b < 0x80:
            ts_delta = zz[b]
            pos += 1
        elif data[pos + 1] < 0x80:
            ts_delta = zz[(b & 0x7F) | (data[pos + 1] << 7)]
            pos += 2
        else:
            n, pos = slow(data, pos, 10)
            if n >> 64:
                raise ValueError("varint exceeds 64 bits")
            ts_delta = (n >> 1) ^ -(n & 1)
        b = data[pos]
        if b < 0x80:
            offset_delta = zz[b]
            pos += 1
        elif data[pos + 1] < 0x80:
            offset_delta = zz[(b & 0x7F) | (data[pos + 1] << 7)]
            pos += 2
        else:
            n, pos = slow(data, pos, 5)
            offset_delta = (n >> 1) ^ -(n & 1)
        b = data[pos]
        if b < 0x80:
            n = b
            pos += 1
        elif data[pos + 1] < 0x80:
            n = (b & 0x7F) | (data[pos + 1] << 7)
            pos += 2
        else:
            n, pos = slow(data, pos, 5)
        if n & 1:  # negative length: null (Kafka writes -1)
            key = None
            key_size = -1
        else:
            size = key_size = n >> 1
            stop = pos + size
            if stop > rec_end:
                raise ValueError(f"record key of {size} bytes exceeds its record")
            key = data[pos:stop]
            pos = stop
        b = data[pos]
        if b < 0x80:
            n = b
            pos += 1
        elif data[pos + 1] < 0x80:
            n = (b & 0x7F) | (data[pos + 1] << 7)
            pos += 2
        else:
            n, pos = slow(data, pos, 5)
        if n & 1:  # negative length: null (Kafka writes -1)
            value = None
            value_size = -1
        else:
            size = value_size = n >> 1
            stop = pos + size
            if stop > rec_end:
                raise ValueError(f"record value of {size} bytes exceeds its record")
            value = data[pos:stop]
            pos = stop
        b = data[pos]
        if b < 0x80:
            n = b
            pos += 1
        elif data[pos + 1] < 0x80:
            n = (b & 0x7F) | (data[pos + 1] << 7)
            pos += 2
        else:
            n, pos = slow(data, pos, 5)
        if n == 0:
            headers: tuple[Header, ...] = ()
        else:
            hcount = (n >> 1) ^ -(n & 1)
            if hcount < 0 or hcount * 2 > rec_end - pos:
                raise ValueError(f"header count {hcount} does not fit in its record")
            hlist: list[Header] = []
            for _ in range(hcount):
                b = data[pos]
                if b < 0x80:
                    n = b
                    pos += 1
                elif data[pos + 1] < 0x80:
                    n = (b & 0x7F) | (data[pos + 1] << 7)
                    pos += 2
                else:
                    n, pos = slow(data, pos, 5)
                size = (n >> 1) ^ -(n & 1)
                stop = pos + size
                if size < 0 or stop > rec_end:
                    raise ValueError(f"invalid header key length {size}")
                hkey = data[pos:stop].decode()
                pos = stop
                b = data[pos]
                if b < 0x80:
                    n = b
                    pos += 1
                elif data[pos + 1] < 0x80:
                    n = (b & 0x7F) | (data[pos + 1] << 7)
                    pos += 2
                else:
                    n, pos = slow(data, pos, 5)
                size = (n >> 1) ^ -(n & 1)
                if size < 0:
                    hlist.append((hkey, None))
                else:
                    stop = pos + size
                    if stop > rec_end:
                        raise ValueError(f"header value of {size} bytes exceeds its record")
                    hlist.append((hkey, data[pos:stop]))
                    pos = stop
            headers = tuple(hlist)
        if pos != rec_end:
            raise ValueError(f"record length mismatch: {rec_end - pos} bytes unaccounted for")
        add(
            make(
                topic,
                partition,
                base_offset + offset_delta,
                base_timestamp + (ts_delta & ts_mask),
                timestamp_type,
                key,
                value,
                headers,
                leader_epoch,
                key_size,
                value_size,
            )
        )
    if pos != end:
        raise ValueError(f"{end - pos} bytes left after the last of {count} records")
    return out


# The compiled decoder has the same contract, results and exceptions (property-tested).
_decode_rows: Callable[..., list[Any]] = (
    _native.decode_rows if _native is not None else _decode_rows_py
)
_append_native: Callable[..., int] | None = _native.append_record if _native is not None else None


def _append_tracked_py(
    builder: RecordBatchBuilder,
    timestamp_ms: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[Header],
    entries: list[Any],
    target: Any,
    index: int,
) -> int:
    total = builder.append_sized(timestamp_ms, key, value, headers)
    if total >= 0:
        entries.extend(
            (
                target,
                index,
                timestamp_ms,
                -1 if key is None else len(key),
                -1 if value is None else len(value),
            )
        )
    return total


append_tracked: Callable[
    [RecordBatchBuilder, int, bytes | None, bytes | None, Sequence[Header], list[Any], Any, int],
    int,
] = _native.append_tracked if _native is not None else _append_tracked_py
"""``builder.append_sized(timestamp_ms, key, value, headers)`` and, when the record went in,
``entries.extend((target, index, timestamp_ms, key size, value size))`` (sizes -1 for null):
the producer's per-record call, in one native step when the extension is in use."""


def _append_tracked_many_py(
    builder: RecordBatchBuilder,
    timestamp_ms: int,
    keys: list[bytes | None] | None,
    values: list[bytes | None],
    headers: Sequence[Header],
    entries: list[Any],
    target: Any,
    start: int,
    stop: int,
) -> int:
    i = start
    while i < stop:
        key = None if keys is None else keys[i]
        if (
            _append_tracked_py(builder, timestamp_ms, key, values[i], headers, entries, target, i)
            < 0
        ):
            break
        i += 1
    return i


append_tracked_many: Callable[
    [
        RecordBatchBuilder,
        int,
        list[bytes | None] | None,
        list[bytes | None],
        Sequence[Header],
        list[Any],
        Any,
        int,
        int,
    ],
    int,
] = _native.append_tracked_many if _native is not None else _append_tracked_many_py
""":func:`append_tracked` for ``values[i]`` (with ``keys[i]``, or no key when ``keys`` is
``None``) and index ``i``, from ``start`` until ``stop`` or until the batch is full; returns
where it stopped (``send_batch``'s bulk call)."""


complete_entries: Callable[..., None] | None = (
    _native.complete_entries if _native is not None else None
)
"""The producer's batch completion loop in native code (``None`` without the extension):
``(entries, metadata_cls, topic, partition, base_offset, log_append_time, timestamp_type,
log_start_offset)``, see :meth:`kafkaio.producer.accumulator.ProducerBatch.complete`."""


def row_factory(
    cls: type[_R], fields: Sequence[str | None], *, untracked: bool = False
) -> Callable[..., _R]:
    """A row builder for :meth:`DefaultRecordBatch.records_as` that makes ``cls`` objects.

    ``fields`` names, for each of the 11 row arguments (topic, partition, offset, timestamp,
    timestamp_type, key, value, headers, leader_epoch, key_size, value_size), the attribute
    that receives it, or ``None`` to drop it. ``cls`` must take the kept arguments
    positionally in that order; with the native decoder, a ``__slots__`` class is filled
    directly, without running ``__init__`` (so it must do nothing else). ``untracked``
    leaves the objects out of the cyclic garbage collector (native decoder only), as CPython
    does for tuples of plain values: right for records of bytes, ints and strings, whose
    collector passes otherwise cost about as much as decoding them.
    """
    names = tuple(fields)
    if len(names) != _ROW_ARITY:
        raise ValueError(f"row_factory needs {_ROW_ARITY} field names, got {len(names)}")
    if _native is not None:
        make: Callable[..., _R] = _native.RowType(cls, names, untrack=untracked)
        return make
    keep = tuple(i for i, name in enumerate(names) if name is not None)
    if keep == tuple(range(_ROW_ARITY)):
        return cls

    def make_row(*row: Any) -> _R:
        return cls(*[row[i] for i in keep])

    return make_row


_RECORD_FIELDS = (None, None, "offset", "timestamp", "timestamp_type", "key", "value", "headers")
_RECORD_ROW: tuple[Callable[..., Record], str, int, int | None] = (
    row_factory(Record, (*_RECORD_FIELDS, None, None, None), untracked=True)
    if _native is not None
    else _as_record,
    "",
    -1,
    None,
)


def parse_control_record(offset: int, key: bytes | None, value: bytes | None) -> ControlRecord:
    """Decode a control record's key (version, type) and, for markers, its value."""
    if key is None or len(key) < 4:
        raise ValueError(f"control record key must have at least 4 bytes, got {key!r}")
    version, type_id = struct.unpack_from(">hh", key)
    if version < 0:
        raise ValueError(f"invalid control record key version {version}")
    try:
        kind = ControlRecordType(type_id)
    except ValueError:
        kind = ControlRecordType.UNKNOWN
    coordinator_epoch = None
    if kind in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
        if value is None or len(value) < 6:
            raise ValueError(f"transaction marker value must have at least 6 bytes, got {value!r}")
        value_version, coordinator_epoch = struct.unpack_from(">hi", value)
        if value_version < 0:
            raise ValueError(f"invalid transaction marker value version {value_version}")
    return ControlRecord(offset, kind, type_id, version, coordinator_epoch)


class DefaultRecordBatch:
    """A v2 record batch inside a buffer (implements :class:`~kafkaio.records.api.RecordBatchProtocol`).

    Header fields are attributes; :meth:`records` decodes (and decompresses) on first use and
    caches the result. Usually made by :func:`kafkaio.records.iter_batches`. The constructor
    checks the framing, and the CRC when ``verify_crc`` is true.
    """

    __slots__ = (
        "_data",
        "_end",
        "_max_decompressed_bytes",
        "_partition",
        "_records",
        "_start",
        "_topic",
        "attributes",
        "base_offset",
        "base_sequence",
        "base_timestamp",
        "batch_length",
        "crc",
        "last_offset_delta",
        "magic",
        "max_timestamp",
        "partition_leader_epoch",
        "producer_epoch",
        "producer_id",
        "record_count",
    )

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int

    def __init__(
        self,
        data: bytes,
        start: int = 0,
        *,
        topic: str | None = None,
        partition: int | None = None,
        max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
        verify_crc: bool = False,
    ) -> None:
        if len(data) - start < HEADER_SIZE:
            raise CorruptRecordError(
                f"record batch header needs {HEADER_SIZE} bytes, {len(data) - start} left",
                topic=topic,
                partition=partition,
            )
        (
            self.base_offset,
            self.batch_length,
            self.partition_leader_epoch,
            self.magic,
            self.crc,
            self.attributes,
            self.last_offset_delta,
            self.base_timestamp,
            self.max_timestamp,
            self.producer_id,
            self.producer_epoch,
            self.base_sequence,
            self.record_count,
        ) = _HEADER.unpack_from(data, start)
        self._data = data
        self._start = start
        self._end = start + LOG_OVERHEAD + self.batch_length
        self._topic = topic
        self._partition = partition
        self._max_decompressed_bytes = max_decompressed_bytes
        self._records: list[Record] | None = None
        if self.magic != 2:
            raise self._corrupt(f"record batch magic is {self.magic}, expected 2")
        if self.batch_length < HEADER_SIZE - LOG_OVERHEAD or self._end > len(data):
            raise self._corrupt(
                f"record batch length {self.batch_length} is invalid for the "
                f"{len(data) - start - LOG_OVERHEAD} bytes available"
            )
        if verify_crc:
            self.verify_crc()
        if self.attributes & ATTR_COMPRESSION_MASK > 4:
            raise self._corrupt(
                f"unknown compression codec id {self.attributes & ATTR_COMPRESSION_MASK}"
            )

    def _corrupt(self, reason: str) -> CorruptRecordError:
        return CorruptRecordError(
            reason, topic=self._topic, partition=self._partition, offset=self.base_offset
        )

    # -- header views

    @property
    def compression(self) -> CompressionType:
        """The codec of the records section."""
        return CompressionType(self.attributes & ATTR_COMPRESSION_MASK)

    @property
    def timestamp_type(self) -> TimestampType:
        """CREATE_TIME or LOG_APPEND_TIME."""
        return _LOG_APPEND_TIME if self.attributes & ATTR_TIMESTAMP_TYPE else _CREATE_TIME

    @property
    def is_transactional(self) -> bool:
        """Written by a transactional producer."""
        return bool(self.attributes & ATTR_TRANSACTIONAL)

    @property
    def is_control(self) -> bool:
        """Holds control records (transaction markers...), never shown to applications."""
        return bool(self.attributes & ATTR_CONTROL)

    @property
    def has_delete_horizon(self) -> bool:
        """The base timestamp is the delete horizon set by log compaction."""
        return bool(self.attributes & ATTR_DELETE_HORIZON)

    @property
    def delete_horizon_ms(self) -> int | None:
        """The delete horizon (KIP-534), or ``None``."""
        return self.base_timestamp if self.attributes & ATTR_DELETE_HORIZON else None

    @property
    def last_offset(self) -> int:
        """Offset of the last record the batch was written with (compaction may remove it)."""
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        """The offset after this batch: where fetching continues."""
        return self.base_offset + self.last_offset_delta + 1

    @property
    def last_sequence(self) -> int:
        """Sequence number of the last record, or -1 without idempotence."""
        if self.base_sequence < 0:
            return -1
        return (self.base_sequence + self.last_offset_delta) & 0x7FFFFFFF

    @property
    def size_in_bytes(self) -> int:
        """Bytes the batch takes in the buffer."""
        return LOG_OVERHEAD + self.batch_length

    def compute_crc(self) -> int:
        """CRC32C of the batch's bytes from the attributes to the end."""
        with memoryview(self._data) as view:
            return crc32c(view[self._start + _ATTRIBUTES_OFFSET : self._end])

    def is_valid(self) -> bool:
        """Whether the stored CRC matches the batch's bytes."""
        return self.compute_crc() == self.crc

    def verify_crc(self) -> None:
        """Raise :class:`~kafkaio.errors.CorruptRecordError` if the CRC does not match."""
        computed = self.compute_crc()
        if computed != self.crc:
            raise self._corrupt(
                f"record batch CRC mismatch: stored 0x{self.crc:08x}, computed 0x{computed:08x}"
            )

    # -- records

    def records(self) -> list[Record]:
        """All records, decoded and validated as a whole; cached."""
        recs = self._records
        if recs is None:
            recs = self._records = self._decode()
        return recs

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())

    def records_as(
        self,
        make: Callable[..., _R],
        topic: str,
        partition: int,
        leader_epoch: int | None,
    ) -> list[_R]:
        """All records, each built by ``make(topic, partition, offset, timestamp,
        timestamp_type, key, value, headers, leader_epoch, key_size, value_size)`` straight
        from the bytes (sizes -1 for null); not cached.

        The consumer's fast path: one object per record instead of a :class:`Record` plus a
        copy. A cached :meth:`records` result is reused rather than decoded again.
        """
        recs = self._records
        if recs is not None:
            return [
                make(
                    topic,
                    partition,
                    r.offset,
                    r.timestamp,
                    r.timestamp_type,
                    r.key,
                    r.value,
                    r.headers,
                    leader_epoch,
                    -1 if r.key is None else len(r.key),
                    -1 if r.value is None else len(r.value),
                )
                for r in recs
            ]
        return self._decode((make, topic, partition, leader_epoch))

    @overload
    def _decode(self, row: None = None) -> list[Record]: ...
    @overload
    def _decode(self, row: tuple[Callable[..., _R], str, int, int | None]) -> list[_R]: ...
    def _decode(
        self, row: tuple[Callable[..., _R], str, int, int | None] | None = None
    ) -> list[Record] | list[_R]:
        codec = self.attributes & ATTR_COMPRESSION_MASK
        log_append = self.max_timestamp if self.attributes & ATTR_TIMESTAMP_TYPE else None
        try:
            if codec:
                with memoryview(self._data) as view:
                    data = decompress(
                        codec,
                        view[self._start + HEADER_SIZE : self._end],
                        max_size=self._max_decompressed_bytes,
                    )
                pos, end = 0, len(data)
            else:
                data, pos, end = self._data, self._start + HEADER_SIZE, self._end
            # records() goes through the same decoder as the consumer's fast path, with a
            # row builder that makes plain Records.
            return _decode_rows(
                data,
                pos,
                end,
                self.record_count,
                self.base_offset,
                self.base_timestamp,
                self.timestamp_type,
                log_append,
                *(row if row is not None else _RECORD_ROW),
            )
        except CorruptRecordError as exc:
            raise self._corrupt(exc.reason) from None
        except (IndexError, ValueError, struct.error) as exc:
            if isinstance(exc, IndexError):
                reason = "record data is truncated"
            elif isinstance(exc, UnicodeDecodeError):
                reason = f"record header key is not valid UTF-8: {exc.reason}"
            else:
                reason = str(exc)
            raise self._corrupt(f"corrupt record batch: {reason}") from None

    def control_record(self) -> ControlRecord | None:
        """The batch's (first) control record, decoded; ``None`` for a data batch."""
        if not self.attributes & ATTR_CONTROL:
            return None
        recs = self.records()
        if not recs:
            return None
        first = recs[0]
        try:
            return parse_control_record(first.offset, first.key, first.value)
        except (ValueError, struct.error) as exc:
            raise self._corrupt(f"corrupt control record: {exc}") from None

    @property
    def control_type(self) -> ControlRecordType | None:
        """Type of the control record of a control batch; ``None`` for a data batch."""
        control = self.control_record()
        return None if control is None else control.type

    def __repr__(self) -> str:
        return (
            f"DefaultRecordBatch(base_offset={self.base_offset}, records={self.record_count}, "
            f"compression={self.compression.name}, timestamp_type={self.timestamp_type.name}, "
            f"transactional={self.is_transactional}, control={self.is_control}, "
            f"producer_id={self.producer_id}, producer_epoch={self.producer_epoch}, "
            f"base_sequence={self.base_sequence}, size={self.size_in_bytes})"
        )
