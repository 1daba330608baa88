"""Legacy message formats v0/v1, from bytes built by hand per the documented format."""

from __future__ import annotations

import gzip
import struct

import cramjam
import pytest
from _records_util import legacy_message

from kafkaio.errors import CorruptRecordError
from kafkaio.records import (
    CompressionType,
    LegacyRecordBatch,
    Record,
    RecordBatchBuilder,
    TimestampType,
    iter_batches,
)
from kafkaio.records.compression import xxh32

GZIP, SNAPPY, LZ4, ZSTD = 1, 2, 3, 4
TS_LOG_APPEND = 0x08


def xerial(data: bytes, block: int = 1000) -> bytes:
    out = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    for i in range(0, len(data), block):
        chunk = bytes(cramjam.snappy.compress_raw(data[i : i + block]))
        out += struct.pack(">i", len(chunk)) + chunk
    return out


def lz4_frame(data: bytes, *, broken_checksum: bool) -> bytes:
    """An LZ4 frame as Kafka wrote it; v0 hashed the magic bytes into the header checksum."""
    header = struct.pack("<I", 0x184D2204) + b"\x60\x40"
    hc = (xxh32(header if broken_checksum else header[4:]) >> 8) & 0xFF
    block = bytes(cramjam.lz4.compress_block(data, store_size=False))
    return header + bytes((hc,)) + struct.pack("<I", len(block)) + block + b"\x00" * 4


def compressed(codec: int, data: bytes, magic: int) -> bytes:
    if codec == GZIP:
        return gzip.compress(data)
    if codec == SNAPPY:
        return xerial(data)
    if codec == LZ4:
        return lz4_frame(data, broken_checksum=magic == 0)
    raise AssertionError(codec)


def inner_set(magic: int, offsets: list[int], timestamps: list[int]) -> bytes:
    return b"".join(
        legacy_message(
            off, magic, f"k{i}".encode() if i % 2 else None, f"v{i}".encode(), timestamp=ts
        )
        for i, (off, ts) in enumerate(zip(offsets, timestamps, strict=True))
    )


def test_plain_v0_and_v1_messages() -> None:
    data = (
        legacy_message(10, 0, b"key", b"value")
        + legacy_message(11, 1, None, b"v1", timestamp=1234)
        + legacy_message(12, 1, b"k", None, attributes=TS_LOG_APPEND, timestamp=99)
    )
    batches = list(iter_batches(data))
    assert [type(b) for b in batches] == [LegacyRecordBatch] * 3
    records = [r for b in batches for r in b.records()]
    assert records == [
        Record(10, -1, TimestampType.NO_TIMESTAMP_TYPE, b"key", b"value"),
        Record(11, 1234, TimestampType.CREATE_TIME, None, b"v1"),
        Record(12, 99, TimestampType.LOG_APPEND_TIME, b"k", None),
    ]
    first = batches[0]
    assert (first.magic, first.base_offset, first.last_offset, first.next_offset) == (0, 10, 10, 11)
    assert first.max_timestamp == -1 and first.compression == CompressionType.NONE
    assert not first.is_transactional and not first.is_control and first.control_record() is None
    assert first.producer_id == -1 and first.partition_leader_epoch == -1
    assert first.size_in_bytes == len(legacy_message(10, 0, b"key", b"value"))


@pytest.mark.parametrize("codec", [GZIP, SNAPPY, LZ4])
def test_v1_wrapper_has_relative_inner_offsets(codec: int) -> None:
    inner = inner_set(1, [0, 1, 2, 3], [100, 103, 101, 107])
    wrapper = legacy_message(
        503, 1, None, compressed(codec, inner, 1), attributes=codec, timestamp=107
    )
    (batch,) = list(iter_batches(wrapper))
    assert batch.compression == codec
    assert [r.offset for r in batch.records()] == [500, 501, 502, 503]
    assert [r.timestamp for r in batch.records()] == [100, 103, 101, 107]
    assert {r.timestamp_type for r in batch.records()} == {TimestampType.CREATE_TIME}
    assert [r.key for r in batch.records()] == [None, b"k1", None, b"k3"]
    assert batch.base_offset == 500 and batch.last_offset == 503 and batch.next_offset == 504
    assert batch.record_count == 4


@pytest.mark.parametrize("codec", [GZIP, SNAPPY, LZ4])
def test_v0_wrapper_has_absolute_inner_offsets(codec: int) -> None:
    inner = inner_set(0, [40, 41, 42], [-1, -1, -1])
    wrapper = legacy_message(42, 0, None, compressed(codec, inner, 0), attributes=codec)
    (batch,) = list(iter_batches(wrapper))
    assert [(r.offset, r.timestamp, r.timestamp_type) for r in batch.records()] == [
        (40, -1, TimestampType.NO_TIMESTAMP_TYPE),
        (41, -1, TimestampType.NO_TIMESTAMP_TYPE),
        (42, -1, TimestampType.NO_TIMESTAMP_TYPE),
    ]


def test_lz4_v0_broken_header_checksum_only_accepted_for_v0() -> None:
    inner = inner_set(1, [0], [5])
    frame = lz4_frame(inner, broken_checksum=True)
    wrapper = legacy_message(0, 1, None, frame, attributes=LZ4, timestamp=5)
    (batch,) = list(iter_batches(wrapper))
    with pytest.raises(CorruptRecordError, match="checksum"):
        batch.records()


def test_v1_log_append_time_wrapper_stamps_inner_records() -> None:
    inner = inner_set(1, [0, 1], [5, 6])
    wrapper = legacy_message(
        9, 1, None, compressed(GZIP, inner, 1), attributes=GZIP | TS_LOG_APPEND, timestamp=777
    )
    (batch,) = list(iter_batches(wrapper))
    assert [(r.offset, r.timestamp, r.timestamp_type) for r in batch.records()] == [
        (8, 777, TimestampType.LOG_APPEND_TIME),
        (9, 777, TimestampType.LOG_APPEND_TIME),
    ]


def test_crc_mismatch_of_wrapper_and_inner_messages() -> None:
    bad = legacy_message(1, 1, b"k", b"v", timestamp=1, crc=12345)
    with pytest.raises(CorruptRecordError, match="CRC"):
        list(iter_batches(bad))
    (batch,) = list(iter_batches(bad, verify_crc=False))
    assert batch.records()[0].value == b"v"

    inner = legacy_message(0, 1, None, b"x", timestamp=1, crc=1)
    wrapper = legacy_message(0, 1, None, gzip.compress(inner), attributes=GZIP, timestamp=1)
    (batch,) = list(iter_batches(wrapper, topic="t", partition=2))
    with pytest.raises(CorruptRecordError, match="CRC") as info:
        batch.records()
    assert (info.value.topic, info.value.partition, info.value.offset) == ("t", 2, 0)
    (batch,) = list(iter_batches(wrapper, verify_crc=False))
    assert batch.records()[0].value == b"x"


@pytest.mark.parametrize(
    ("wrapper", "match"),
    [
        (legacy_message(0, 1, None, b"zstd?", attributes=ZSTD, timestamp=1), "not allowed"),
        (legacy_message(0, 1, None, None, attributes=GZIP, timestamp=1), "null value"),
        (legacy_message(0, 1, None, gzip.compress(b""), attributes=GZIP, timestamp=1), "no inner"),
        (
            legacy_message(
                0,
                1,
                None,
                gzip.compress(legacy_message(0, 1, None, b"x", attributes=GZIP, timestamp=1)),
                attributes=GZIP,
                timestamp=1,
            ),
            "must not be compressed",
        ),
        (
            legacy_message(
                3,
                1,
                None,
                gzip.compress(inner_set(1, [0, 9], [1, 1])),
                attributes=GZIP,
                timestamp=1,
            ),
            "below the last inner offset",
        ),
        (
            legacy_message(
                3,
                1,
                None,
                gzip.compress(inner_set(1, [0, 1], [1, 1])[:-3]),
                attributes=GZIP,
                timestamp=1,
            ),
            "inner message",
        ),
        (legacy_message(0, 1, None, b"not gzip", attributes=GZIP, timestamp=1), "gzip"),
    ],
)
def test_invalid_wrappers(wrapper: bytes, match: str) -> None:
    with pytest.raises(CorruptRecordError, match=match):
        for batch in iter_batches(wrapper):
            batch.records()


def test_message_size_mismatch() -> None:
    msg = bytearray(legacy_message(0, 0, b"k", b"v"))
    struct.pack_into(">i", msg, 22, 2)  # key length 2 instead of 1
    with pytest.raises(CorruptRecordError):
        list(iter_batches(bytes(msg), verify_crc=False))


def test_mixed_formats_and_truncated_legacy_tail() -> None:
    b = RecordBatchBuilder(base_offset=3)
    b.append(50, b"k", b"v2")
    v0 = legacy_message(0, 0, None, b"a")
    v1 = legacy_message(
        1, 1, None, gzip.compress(inner_set(1, [0, 1], [7, 8])), attributes=GZIP, timestamp=8
    )
    tail = legacy_message(4, 1, None, b"partial", timestamp=9)
    data = v0 + v1 + b.build() + tail[:-1]
    batches = list(iter_batches(data))
    assert [b.magic for b in batches] == [0, 1, 2]
    assert [r.offset for batch in batches for r in batch.records()] == [0, 0, 1, 3]
