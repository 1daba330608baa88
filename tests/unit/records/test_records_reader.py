"""iter_batches / batch.records(): CRC checks, truncation, corrupt input, context in errors."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkaio.errors import CorruptRecordError, KafkaError
from kafkaio.records import (
    BatchReaderProtocol,
    CompressionType,
    RecordBatchBuilder,
    iter_batches,
)
from kafkaio.records.crc import crc32c


def _batch(codec: int = CompressionType.NONE, n: int = 5, base_offset: int = 0) -> bytes:
    b = RecordBatchBuilder(compression=codec, base_offset=base_offset)
    for i in range(n):
        b.append(1000 + i, f"key{i}".encode(), b"value-%d" % i * 3, [("h", b"x")])
    return b.build()


def _decode_all(data: bytes | bytearray | memoryview, **kwargs: object) -> list[list[object]]:
    return [list(b.records()) for b in iter_batches(data, **kwargs)]  # type: ignore[arg-type]


def test_reader_satisfies_the_protocol() -> None:
    reader: BatchReaderProtocol = iter_batches
    assert list(reader(b"")) == []


@pytest.mark.parametrize("codec", list(CompressionType))
def test_every_flipped_byte_after_the_crc_is_detected(codec: CompressionType) -> None:
    data = _batch(codec)
    for i in range(21, len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x41
        with pytest.raises(CorruptRecordError, match="CRC"):
            list(iter_batches(bytes(bad)))


def test_crc_check_can_be_disabled() -> None:
    data = bytearray(_batch())
    data[-1] ^= 0x01  # last byte of the last header value
    with pytest.raises(CorruptRecordError, match="CRC mismatch"):
        list(iter_batches(bytes(data)))
    (batch,) = list(iter_batches(bytes(data), verify_crc=False))
    assert not batch.is_valid()
    assert batch.records()[-1].headers == (("h", b"y"),)


def test_crc_is_crc32c_of_attributes_onwards() -> None:
    data = _batch()
    assert struct.unpack_from(">I", data, 17)[0] == crc32c(data[21:])


def test_every_truncation_drops_only_the_partial_tail() -> None:
    a, b, c = (
        _batch(base_offset=0),
        _batch(CompressionType.LZ4, base_offset=5),
        _batch(base_offset=10),
    )
    data = a + b + c
    for cut in range(len(data) + 1):
        got = [batch.base_offset for batch in iter_batches(data[:cut])]
        expected = [
            off for off, end in ((0, len(a)), (5, len(a + b)), (10, len(data))) if end <= cut
        ]
        assert got == expected, cut


def test_corrupt_batch_in_the_middle_raises_after_the_good_ones() -> None:
    a = _batch(base_offset=0)
    b = bytearray(_batch(base_offset=5))
    b[40] ^= 0xFF
    data = a + bytes(b) + _batch(base_offset=10)
    it = iter_batches(data, topic="orders", partition=3)
    assert next(it).base_offset == 0
    with pytest.raises(CorruptRecordError) as info:
        next(it)
    err = info.value
    assert (err.topic, err.partition, err.offset) == ("orders", 3, 5)
    assert "orders" in str(err) and "partition 3" in str(err) and "offset 5" in str(err)


def test_size_below_minimum_is_corrupt_not_truncated() -> None:
    data = struct.pack(">qi", 7, 3) + b"\x00" * 40
    with pytest.raises(CorruptRecordError, match="minimum"):
        list(iter_batches(data))


def test_v2_size_below_header_is_corrupt() -> None:
    data = struct.pack(">qiib", 7, 20, 0, 2) + b"\x00" * 40
    with pytest.raises(CorruptRecordError, match="v2 minimum"):
        list(iter_batches(data))


def test_unknown_magic() -> None:
    data = bytearray(_batch())
    data[16] = 3
    with pytest.raises(CorruptRecordError, match="magic 3"):
        list(iter_batches(bytes(data)))


def test_unknown_codec_in_attributes() -> None:
    data = bytearray(_batch())
    data[22] |= 0x07
    struct.pack_into(">I", data, 17, crc32c(data[21:]))
    with pytest.raises(CorruptRecordError, match="codec id 7"):
        list(iter_batches(bytes(data)))


def _with_record_count(data: bytes, count: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(">i", out, 57, count)
    struct.pack_into(">I", out, 17, crc32c(out[21:]))
    return bytes(out)


@pytest.mark.parametrize("count", [-1, 4, 6, 2**31 - 1])
def test_record_count_mismatch_is_corrupt(count: int) -> None:
    data = _with_record_count(_batch(n=5), count)
    (batch,) = list(iter_batches(data))
    with pytest.raises(CorruptRecordError):
        batch.records()


def test_accepts_bytearray_and_memoryview() -> None:
    data = _batch() + _batch(CompressionType.SNAPPY, base_offset=5)
    expected = _decode_all(data)
    assert _decode_all(bytearray(data)) == expected
    assert _decode_all(memoryview(data)) == expected


def _check_only_kafka_errors(data: bytes) -> None:
    try:
        for batch in iter_batches(data, verify_crc=False, max_decompressed_bytes=1 << 20):
            batch.records()
            batch.control_record()
            batch.base_offset  # noqa: B018  (legacy wrappers decode here)
    except CorruptRecordError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_only_raises_kafka_errors(data: bytes) -> None:
    _check_only_kafka_errors(data)


_SEEDS = [_batch(codec, n=3) for codec in CompressionType]


@settings(max_examples=400, deadline=None)
@given(
    seed=st.sampled_from(_SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.none() | st.integers(0, 10_000),
)
def test_mutated_batches_only_raise_kafka_errors(
    seed: bytes, edits: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(seed)
    for pos, value in edits:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    # Fix the CRC so the mutation reaches the record decoder, and try with and without it.
    _check_only_kafka_errors(bytes(data))
    if len(data) >= 61:
        struct.pack_into(">I", data, 17, crc32c(data[21:]))
        _check_only_kafka_errors(bytes(data))


def test_corrupt_record_error_is_a_kafka_error() -> None:
    assert issubclass(CorruptRecordError, KafkaError)


@pytest.mark.parametrize("codec", [c for c in CompressionType if c])
def test_decompression_cap(codec: CompressionType) -> None:
    b = RecordBatchBuilder(compression=codec, max_bytes=1 << 30)
    for _ in range(40):
        b.append(1, None, bytes(100_000))
    data = b.build()
    assert len(data) < 400_000
    (batch,) = list(iter_batches(data, max_decompressed_bytes=1_000_000))
    with pytest.raises(CorruptRecordError, match="decompress"):
        batch.records()
    (batch,) = list(iter_batches(data, max_decompressed_bytes=5_000_000))
    assert len(batch.records()) == 40


def test_both_batch_kinds_satisfy_the_protocol() -> None:
    from _records_util import legacy_message

    from kafkaio.records import RecordBatchProtocol

    data = legacy_message(0, 1, b"k", b"v", timestamp=5) + _batch(base_offset=1)
    views: list[RecordBatchProtocol] = list(iter_batches(data))
    assert [v.magic for v in views] == [1, 2]
    assert [v.next_offset for v in views] == [1, 6]
    assert all(v.is_valid() for v in views)
    assert [v.record_count for v in views] == [1, 5]
    assert [v.last_sequence for v in views] == [-1, -1]
    assert [v.delete_horizon_ms for v in views] == [None, None]
