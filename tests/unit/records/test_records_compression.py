"""Codec interface: round trips, the Java client's framings, bounds, errors."""

from __future__ import annotations

import gzip
import os
import struct

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkaio.errors import ConfigurationError, CorruptRecordError
from kafkaio.records.compression import (
    CompressionType,
    compress,
    decompress,
    xxh32,
)

XERIAL_HEADER = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000) | st.binary(max_size=50).map(lambda b: b * 3000))
def test_round_trip_every_codec(data: bytes) -> None:
    for codec in CompressionType:
        assert decompress(codec, compress(codec, data)) == data


@pytest.mark.parametrize("codec", list(CompressionType))
def test_accepts_memoryview_and_bytearray(codec: CompressionType) -> None:
    data = os.urandom(1000) * 3
    packed = compress(codec, memoryview(data))
    assert decompress(codec, bytearray(packed)) == data
    assert decompress(codec, memoryview(packed)) == data


def test_xerial_snappy_hand_built() -> None:
    """snappy-java framing: magic, version 1, compatible 1, then length-prefixed raw blocks."""
    a, b = b"hello snappy " * 100, bytes(range(256)) * 10
    framed = XERIAL_HEADER
    for block in (a, b):
        raw = bytes(cramjam.snappy.compress_raw(block))
        framed += struct.pack(">i", len(raw)) + raw
    assert decompress(CompressionType.SNAPPY, framed) == a + b
    # Two concatenated streams (snappy-java reads them as one).
    assert decompress(CompressionType.SNAPPY, framed + framed) == (a + b) * 2
    # Header only: empty data.
    assert decompress(CompressionType.SNAPPY, XERIAL_HEADER) == b""


def test_raw_snappy_is_accepted() -> None:
    data = b"raw snappy, as some non-Java clients write it " * 50
    assert decompress(CompressionType.SNAPPY, bytes(cramjam.snappy.compress_raw(data))) == data


def test_snappy_writes_xerial_blocks_of_32k() -> None:
    data = os.urandom(70_000)
    framed = compress(CompressionType.SNAPPY, data)
    assert framed.startswith(XERIAL_HEADER)
    pos, sizes = 16, []
    while pos < len(framed):
        (n,) = struct.unpack_from(">i", framed, pos)
        sizes.append(len(cramjam.snappy.decompress_raw(framed[pos + 4 : pos + 4 + n])))
        pos += 4 + n
    assert sizes == [32768, 32768, 70_000 - 65536]


@pytest.mark.parametrize(
    "framed",
    [
        XERIAL_HEADER + struct.pack(">i", 100) + b"short",
        XERIAL_HEADER + b"\x00\x00",
        XERIAL_HEADER[:12],
        XERIAL_HEADER[:8] + struct.pack(">ii", 2, 2),
        XERIAL_HEADER + struct.pack(">i", 3) + b"\xff\xff\xff",
    ],
)
def test_bad_xerial_snappy(framed: bytes) -> None:
    with pytest.raises(CorruptRecordError):
        decompress(CompressionType.SNAPPY, framed)


def test_lz4_frame_layout() -> None:
    data = os.urandom(100) * 1500  # 150 kB: three 64 KiB blocks
    frame = compress(CompressionType.LZ4, data)
    assert frame[:7] == bytes.fromhex("04224d18604082")
    assert frame.endswith(b"\x00\x00\x00\x00")
    assert ((xxh32(frame[4:6]) >> 8) & 0xFF) == frame[6]


def test_lz4_incompressible_blocks_are_stored() -> None:
    data = os.urandom(1000)
    frame = compress(CompressionType.LZ4, data)
    (word,) = struct.unpack_from("<I", frame, 7)
    assert word == 0x80000000 | 1000
    assert decompress(CompressionType.LZ4, frame) == data


def test_lz4_frames_from_other_writers() -> None:
    """Linked blocks, content checksum, content size: cramjam's (liblz4's) own frames."""
    data = b"lz4 frame " * 20_000
    assert decompress(CompressionType.LZ4, bytes(cramjam.lz4.compress(data))) == data


def test_lz4_broken_v0_header_checksum() -> None:
    frame = bytearray(compress(CompressionType.LZ4, b"legacy" * 10))
    frame[6] = (xxh32(bytes(frame[:6])) >> 8) & 0xFF
    with pytest.raises(CorruptRecordError, match="header checksum"):
        decompress(CompressionType.LZ4, bytes(frame))
    assert decompress(CompressionType.LZ4, bytes(frame), legacy_lz4_header=True) == b"legacy" * 10


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x04\x22\x4d\x18",
        bytes.fromhex("04224d18604082") + b"\x05\x00\x00\x00ab",  # truncated block
        bytes.fromhex("04224d18604082"),  # no end mark
        bytes.fromhex("04224d18a04082") + b"\x00" * 4,  # version 2
        bytes.fromhex("04224d18604182") + b"\x00" * 4,  # reserved BD bit
        bytes.fromhex("04224d18604082") + struct.pack("<I", 70_000) + b"\x00" * 70_000,
        b"notlz4 at all",
    ],
)
def test_bad_lz4(frame: bytes) -> None:
    with pytest.raises(CorruptRecordError):
        decompress(CompressionType.LZ4, frame)


def test_zstd_concatenated_and_skippable_frames() -> None:
    a, b = b"first " * 100, b"second " * 100
    skippable = struct.pack("<II", 0x184D2A5E, 3) + b"xyz"
    data = bytes(cramjam.zstd.compress(a)) + skippable + bytes(cramjam.zstd.compress(b))
    assert decompress(CompressionType.ZSTD, data) == a + b


@pytest.mark.parametrize("data", [b"", b"\x28\xb5\x2f", b"\x28\xb5\x2f\xfd", b"garbage!"])
def test_bad_zstd(data: bytes) -> None:
    with pytest.raises(CorruptRecordError):
        decompress(CompressionType.ZSTD, data)


def test_gzip_multi_member_and_errors() -> None:
    assert decompress(CompressionType.GZIP, gzip.compress(b"a") + gzip.compress(b"b")) == b"ab"
    with pytest.raises(CorruptRecordError, match="truncated"):
        decompress(CompressionType.GZIP, gzip.compress(b"abc" * 100)[:-10])
    with pytest.raises(CorruptRecordError):
        decompress(CompressionType.GZIP, b"\x1f\x8b garbage")


@pytest.mark.parametrize("codec", list(CompressionType))
def test_decompression_bomb_cap(codec: CompressionType) -> None:
    data = bytes(4_000_000)
    packed = compress(codec, data)
    with pytest.raises(CorruptRecordError, match="more than 1000000 bytes"):
        decompress(codec, packed, max_size=1_000_000)
    assert decompress(codec, packed, max_size=4_000_000) == data


def test_zstd_bomb_declared_content_size_rejected_before_decoding() -> None:
    frame = bytes(cramjam.zstd.compress(bytes(2_000_000)))
    with pytest.raises(CorruptRecordError, match="decompress"):
        decompress(CompressionType.ZSTD, frame, max_size=100)


def test_raw_snappy_bomb_rejected_from_its_stored_length() -> None:
    raw = bytes(cramjam.snappy.compress_raw(bytes(1_000_000)))
    assert len(raw) < 50_000
    with pytest.raises(CorruptRecordError, match="decompress"):
        decompress(CompressionType.SNAPPY, raw, max_size=999_999)


def test_unknown_codec_ids() -> None:
    with pytest.raises(ConfigurationError, match="codec id 5"):
        compress(5, b"x")
    with pytest.raises(CorruptRecordError, match="codec id 9"):
        decompress(9, b"x")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0x02CC5D05),
        (b"a", 0x550D7456),
        (b"abc", 0x32D153FF),
        (b"Nobody inspects the spammish repetition", 0xE2293B2F),
    ],
)
def test_xxh32_known_vectors(data: bytes, expected: int) -> None:
    assert xxh32(data) == expected


@pytest.mark.parametrize(("codec", "level"), [(1, 1), (1, 9), (4, 1), (4, 19)])
def test_levels_round_trip_and_trade_size(codec: int, level: int) -> None:
    data = b"".join(b"record %d of a compressible batch; " % (i % 97) for i in range(5000))
    packed = compress(codec, data, level=level)
    assert decompress(codec, packed) == data
    assert len(packed) < len(data) // 4
