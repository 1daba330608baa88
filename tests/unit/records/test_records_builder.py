"""RecordBatchBuilder: byte limit, state, argument checking, producer state rewrites."""

from __future__ import annotations

import time

import pytest

from kafkaio.errors import ConfigurationError, IllegalStateError
from kafkaio.records import (
    BatchBuilderProtocol,
    CompressionType,
    DefaultRecordBatch,
    RecordBatchBuilder,
    iter_batches,
    record_size_upper_bound,
    with_producer_state,
)
from kafkaio.records.v2 import HEADER_SIZE


def test_satisfies_the_protocol() -> None:
    builder: BatchBuilderProtocol = RecordBatchBuilder()
    assert builder.record_count == 0
    assert builder.estimated_size == HEADER_SIZE


def test_first_record_always_fits_even_over_the_limit() -> None:
    b = RecordBatchBuilder(max_bytes=100)
    assert b.has_room_for(0, None, b"x" * 500)
    res = b.append(0, None, b"x" * 500)
    assert res is not None and res.offset_delta == 0
    assert b.is_full
    assert not b.has_room_for(0, None, b"")
    assert b.append(0, None, b"") is None
    assert b.record_count == 1
    (batch,) = list(iter_batches(b.build()))
    assert [r.value for r in batch.records()] == [b"x" * 500]


def test_append_returns_none_exactly_when_the_limit_would_be_crossed() -> None:
    b = RecordBatchBuilder(max_bytes=1000)
    sizes = []
    while True:
        room = b.has_room_for(5, b"key", b"v" * 50, [("h", b"1")])
        before = b.estimated_size
        res = b.append(5, b"key", b"v" * 50, [("h", b"1")])
        assert room == (res is not None)
        if res is None:
            assert b.estimated_size == before  # nothing stored
            break
        sizes.append(res.size)
        assert b.estimated_size == before + res.size
    assert b.estimated_size <= 1000
    assert b.estimated_size + sizes[-1] > 1000
    data = b.build()
    assert len(data) == HEADER_SIZE + sum(sizes)
    (batch,) = list(iter_batches(data))
    assert len(batch.records()) == len(sizes) == b.record_count


def test_limit_applies_to_uncompressed_size() -> None:
    b = RecordBatchBuilder(compression=CompressionType.ZSTD, max_bytes=2000)
    n = 0
    while b.append(1, None, b"a" * 100) is not None:
        n += 1
    data = b.build()
    assert len(data) < 2000 // 4  # highly compressible
    assert n == len(next(iter_batches(data)).records())


def test_record_size_upper_bound_is_an_upper_bound() -> None:
    for key, value, headers in [
        (None, None, []),
        (b"k" * 300, b"v" * 70000, [("a" * 200, b"x" * 200), ("b", None)]),
    ]:
        b = RecordBatchBuilder()
        b.append(2**40, key, value, headers)
        assert len(b.build()) <= record_size_upper_bound(key, value, headers)


def test_timestamp_none_means_now() -> None:
    before = time.time_ns() // 1_000_000
    b = RecordBatchBuilder()
    res = b.append(None, None, b"v")
    after = time.time_ns() // 1_000_000
    assert res is not None and before <= res.timestamp <= after
    (batch,) = list(iter_batches(b.build()))
    assert batch.records()[0].timestamp == res.timestamp


def test_empty_builder_builds_nothing() -> None:
    assert RecordBatchBuilder().build() == b""


def test_append_after_build_is_an_error() -> None:
    b = RecordBatchBuilder()
    b.append(1, None, b"v")
    b.build()
    with pytest.raises(IllegalStateError):
        b.append(1, None, b"w")
    with pytest.raises(IllegalStateError):
        b.set_producer_state(1, 1, 1, False)
    assert b.is_full
    assert not b.has_room_for(1, None, b"")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"magic": 1}, "magic"),
        ({"compression": 5}, "compression"),
        ({"timestamp_type": -1}, "timestamp_type"),
        ({"max_bytes": 0}, "max_bytes"),
        ({"producer_epoch": 2**15}, "producer_epoch"),
        ({"base_sequence": -2}, "base_sequence"),
        ({"producer_id": -5}, "producer_id"),
        ({"base_offset": -1}, "base_offset"),
        ({"delete_horizon_ms": -1}, "delete_horizon_ms"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        RecordBatchBuilder(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1, "text", b"v"), "key must be bytes"),
        ((1, None, 42), "value must be bytes"),
        ((1, None, b"v", [("k", "text")]), "header 'k' value"),
        ((1, None, b"v", [(b"k", b"v")]), "header key must be str"),
        ((1, None, b"v", [("k",)]), "pair"),
        ((1.5, None, b"v"), "timestamp"),
    ],
)
def test_bad_record_arguments(args: tuple[object, ...], match: str) -> None:
    b = RecordBatchBuilder()
    with pytest.raises(TypeError, match=match):
        b.append(*args)  # type: ignore[arg-type]
    # The builder is unharmed.
    assert b.record_count == 0
    assert b.append(7, None, b"ok") is not None
    (batch,) = list(iter_batches(b.build()))
    assert isinstance(batch, DefaultRecordBatch)
    assert batch.base_timestamp == 7


@pytest.mark.parametrize("ts", [-5, 2**63, -(2**70)])
def test_out_of_range_timestamp_rejected(ts: int) -> None:
    b = RecordBatchBuilder()
    with pytest.raises(ValueError, match=str(ts)):
        b.append(ts, None, b"v")
    with pytest.raises(ValueError, match=str(ts)):
        b.append_with_offset(3, ts, None, b"v")
    assert b.build() == b""


@pytest.mark.parametrize("ts", ["1", True, 2.0])
def test_non_int_timestamp_rejected(ts: object) -> None:
    with pytest.raises(TypeError, match="timestamp must be int"):
        RecordBatchBuilder().append(ts, None, b"v")  # type: ignore[arg-type]


def test_append_with_offset_makes_gaps_and_rejects_going_back() -> None:
    b = RecordBatchBuilder(base_offset=100)
    b.append_with_offset(101, 1, None, b"a")
    b.append_with_offset(105, 2, None, b"b")
    with pytest.raises(ValueError, match="105"):
        b.append_with_offset(105, 3, None, b"c")
    b.append(4, None, b"d")  # continues after the last offset
    (batch,) = list(iter_batches(b.build()))
    assert [r.offset for r in batch.records()] == [101, 105, 106]
    assert batch.last_offset == 106


def test_producer_state_set_late_and_rewritten() -> None:
    b = RecordBatchBuilder(compression=CompressionType.GZIP)
    b.append(1, b"k", b"v")
    b.append(2, b"k", b"w")
    b.set_producer_state(1000, 5, 77, True)
    data = b.build()
    (batch,) = list(iter_batches(data))
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (1000, 5, 77)
    assert batch.is_transactional and batch.last_sequence == 78
    rewritten = with_producer_state(data, 2000, 0, 2**31 - 1, is_transactional=False)
    (again,) = list(iter_batches(rewritten))  # CRC verified
    assert (again.producer_id, again.producer_epoch, again.base_sequence) == (2000, 0, 2**31 - 1)
    assert not again.is_transactional
    assert again.last_sequence == 0  # wraps around
    assert again.records() == batch.records()
    with pytest.raises(ValueError):
        with_producer_state(b"short", 1, 1, 1)
