"""The compiled record loops (``_native.c``) against the pure-Python reference in v2.py.

Same inputs to both: equal results when the reference succeeds, the same exception class
when it fails, for valid batches and for corrupted, truncated and hand-crafted bytes.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from dataclasses import dataclass, fields
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kafkaio.consumer.record import CONSUMER_RECORD_ROW, ConsumerRecord
from kafkaio.errors import IllegalStateError
from kafkaio.records import TimestampType, v2
from kafkaio.records._varint import encode_uvarint, encode_varint

pytestmark = pytest.mark.skipif(not v2.NATIVE, reason="the native extension is not in use")

if v2.NATIVE:
    from kafkaio.records import _native

_blobs = st.one_of(st.none(), st.binary(max_size=200))
_header_values = st.one_of(st.none(), st.binary(max_size=20))
_headers = st.lists(st.tuples(st.text(max_size=8), _header_values), max_size=3)
_records = st.lists(
    st.tuples(st.integers(-(2**40), 2**40), _blobs, _blobs, _headers), min_size=0, max_size=30
)


def _row(*fields: Any) -> tuple[Any, ...]:
    return fields


def _encode_py(offset_delta: int, ts_delta: int, key: Any, value: Any, headers: Any) -> bytes:
    body = bytes(v2._encode_record(offset_delta, ts_delta, key, value, headers))
    return encode_varint(len(body)) + body


def _body(records: list[tuple[int, bytes | None, bytes | None, list[Any]]]) -> bytes:
    out = bytearray()
    for i, (ts_delta, key, value, headers) in enumerate(records):
        out += _encode_py(i, ts_delta, key, value, headers)
    return bytes(out)


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except (IndexError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        return type(exc).__name__, None


def _both(data: bytes, pos: int, end: int, count: int, log_append: int | None = None) -> None:
    args = (data, pos, end, count, 1000, 1_700_000_000_000, TimestampType.CREATE_TIME)
    tail = (log_append, _row, "topic", 4, 9)
    expected = _outcome(v2._decode_rows_py, *args, *tail)
    got = _outcome(_native.decode_rows, *args, *tail)
    assert got == expected


@settings(max_examples=150, deadline=None)
@given(records=_records, log_append=st.one_of(st.none(), st.integers(0, 2**50)))
def test_decoder_matches_reference_on_valid_records(
    records: list[Any], log_append: int | None
) -> None:
    body = _body(records)
    _both(body, 0, len(body), len(records), log_append)
    # Inside a larger buffer, as for uncompressed batches of a fetch response.
    framed = b"\xff" * 7 + body + b"\x00\x01\x02"
    _both(framed, 7, 7 + len(body), len(records), log_append)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=_records, data=st.data())
def test_decoder_matches_reference_on_corrupt_bytes(
    records: list[Any], data: st.DataObject
) -> None:
    body = bytearray(_body(records))
    assume(body)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body) - 1))
        body[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(body)))
    count = data.draw(st.sampled_from([len(records), max(0, len(records) - 1), len(records) + 1]))
    _both(bytes(body), 0, cut, count)
    _both(bytes(body[:cut]), 0, cut, count)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=80), count=st.integers(-1, 12))
def test_decoder_matches_reference_on_random_bytes(raw: bytes, count: int) -> None:
    _both(raw, 0, len(raw), count)


def test_decoder_edge_cases() -> None:
    def record(*parts: bytes) -> bytes:
        body = b"\x00" + b"".join(parts)
        return encode_varint(len(body)) + body

    big_ts = encode_uvarint(2**63 + 5)  # zigzag: a delta near -2**62... fits 64 bits
    over_64 = b"\xff" * 9 + b"\x7f"  # 70 bits
    cases = [
        record(big_ts, b"\x00", b"\x01", b"\x01", b"\x00"),
        record(over_64, b"\x00", b"\x01", b"\x01", b"\x00"),
        record(b"\xff" * 11, b"\x00", b"\x01", b"\x01", b"\x00"),
        record(b"\x00", b"\x00", b"\x01", b"\x01", b"\x02", b"\x04\xff\xfe", b"\x01"),  # bad UTF-8
        record(b"\x00", b"\x00", b"\x01", b"\x01", b"\x02", b"\x02h", b"\x03"),  # null, -2
        record(b"\x00", b"\x00", b"\x01", b"\x01", b"\x01"),  # header count -1
        record(b"\x00", b"\xfe\xff\xff\xff\x0f", b"\x01", b"\x01", b"\x00"),  # huge offset delta
    ]
    for case in cases:
        _both(case, 0, len(case), 1)
    # Overflowing int64 in base + delta gives the same (big) Python ints.
    case = record(encode_uvarint(2**63 - 2), b"\x02", b"\x01", b"\x01", b"\x00")
    args = (case, 0, len(case), 1, 2**63 - 1, 2**63 - 1, TimestampType.CREATE_TIME, None, _row)
    assert _native.decode_rows(*args, "t", 0, None) == v2._decode_rows_py(*args, "t", 0, None)


@settings(max_examples=200, deadline=None)
@given(
    offset_delta=st.integers(0, 2**31 - 1),
    ts_delta=st.integers(-(2**63), 2**63 - 1),
    key=_blobs,
    value=_blobs,
    headers=_headers,
)
def test_encoder_matches_reference(
    offset_delta: int, ts_delta: int, key: Any, value: Any, headers: Any
) -> None:
    buf = bytearray(b"prefix")
    total = _native.append_record(buf, offset_delta, ts_delta, key, value, headers, sys.maxsize)
    expected = _encode_py(offset_delta, ts_delta, key, value, headers)
    assert bytes(buf) == b"prefix" + expected
    assert total == len(expected)


def test_encoder_room_and_bytes_like_inputs() -> None:
    buf = bytearray()
    size = len(_encode_py(0, 0, b"k", b"v" * 10, [("h", b"x")]))
    assert _native.append_record(buf, 0, 0, b"k", b"v" * 10, [("h", b"x")], size - 1) == -1
    assert buf == b""
    assert _native.append_record(buf, 0, 0, b"k", b"v" * 10, [("h", b"x")], size) == size
    other = bytearray()
    _native.append_record(
        other, 0, 0, bytearray(b"k"), memoryview(b"v" * 10), [["h", b"x"]], sys.maxsize
    )
    assert other == buf


@pytest.mark.parametrize(
    ("key", "value", "headers", "error"),
    [
        ("k", b"v", (), TypeError),
        (b"k", 5, (), TypeError),
        (b"k", b"v", 7, TypeError),
        (b"k", b"v", [("h",)], TypeError),
        (b"k", b"v", [(1, b"x")], TypeError),
        (b"k", b"v", [("h", "x")], TypeError),
        (b"k", b"v", [("\udc80", b"x")], UnicodeEncodeError),
    ],
)
def test_encoder_rejects_what_the_reference_rejects(
    key: Any, value: Any, headers: Any, error: type[Exception]
) -> None:
    buf = bytearray(b"x")
    with pytest.raises(error):
        _native.append_record(buf, 0, 0, key, value, headers, sys.maxsize)
    # The builder turns any of these into a TypeError naming the bad value.
    with pytest.raises((TypeError, AttributeError, ValueError)):
        v2._encode_record(0, 0, key, value, headers)
    assert buf == b"x"


def test_builder_errors_name_the_bad_value() -> None:
    builder = v2.RecordBatchBuilder()
    with pytest.raises(TypeError, match="record value must be bytes or None, got int"):
        builder.append(1, b"k", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="header key must be str"):
        builder.append(1, b"k", b"v", [(1, b"x")])  # type: ignore[list-item]
    assert builder.record_count == 0


def test_row_type_builds_consumer_records_without_init() -> None:
    row = ("t", 1, 5, 6, TimestampType.CREATE_TIME, b"k", b"v", (("h", None),), 3, 1, 1)
    built = CONSUMER_RECORD_ROW(*row)
    assert type(built) is ConsumerRecord
    assert built == ConsumerRecord(*row)


def test_row_type_rejects_unsuitable_classes() -> None:
    @dataclass
    class NoSlots:
        a: int = 0

    class Slots:
        __slots__ = ("a",)

    names = ("a", *([None] * 10))
    with pytest.raises(TypeError, match="not a writable __slots__ attribute"):
        _native.RowType(NoSlots, names)
    with pytest.raises(AttributeError):
        _native.RowType(Slots, ("b", *([None] * 10)))
    with pytest.raises(ValueError, match="11 field names"):
        _native.RowType(Slots, ("a",))
    with pytest.raises(TypeError):
        _native.RowType(int, names)
    made = _native.RowType(Slots, names)(*range(11))
    assert made.a == 0
    with pytest.raises(TypeError, match="exactly 11"):
        _native.RowType(Slots, names)(1, 2)


def test_no_reference_leaks() -> None:
    body = _body([(i, b"key", b"v" * 50, [("h", b"x"), ("n", None)]) for i in range(200)])
    args = (body, 0, len(body), 200, 0, 0, TimestampType.CREATE_TIME, None, CONSUMER_RECORD_ROW)

    def run() -> None:
        for _ in range(50):
            _native.decode_rows(*args, "t", 0, None)
            buf = bytearray()
            for i in range(200):
                _native.append_record(buf, i, i, b"key", b"v" * 50, [("h", b"x")], sys.maxsize)
            _outcome(_native.decode_rows, body[:-3], 0, len(body) - 3, 200, *args[4:], "t", 0, None)
            builder = v2.RecordBatchBuilder()
            entries: list[Any] = []
            for i in range(200):
                _native.append_tracked(builder, 5 + i, b"k", b"v" * 50, (), entries, None, i)
            with pytest.raises(TypeError):
                _native.append_tracked(builder, 5, b"k", 1, (), entries, None, 0)
            builder.build()

    run()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    run()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # Each pass allocates ~10k records; a per-record leak would keep megabytes.
    assert after - before < 200_000


def test_consumer_record_fields_match_the_row_order() -> None:
    assert [f.name for f in fields(ConsumerRecord)] == [
        "topic",
        "partition",
        "offset",
        "timestamp",
        "timestamp_type",
        "key",
        "value",
        "headers",
        "leader_epoch",
        "serialized_key_size",
        "serialized_value_size",
    ]


@settings(max_examples=100, deadline=None)
@given(
    records=st.lists(
        st.tuples(st.integers(-1, 2**45), _blobs, _blobs, _headers), min_size=1, max_size=25
    ),
    max_bytes=st.integers(1, 3000),
)
def test_append_tracked_matches_reference(records: list[Any], max_bytes: int) -> None:
    native_builder = v2.RecordBatchBuilder(max_bytes=max_bytes)
    python_builder = v2.RecordBatchBuilder(max_bytes=max_bytes)
    native_entries: list[Any] = []
    python_entries: list[Any] = []
    for i, (ts, key, value, headers) in enumerate(records):
        got = _native.append_tracked(
            native_builder, ts, key, value, headers, native_entries, "t", i
        )
        want = v2._append_tracked_py(
            python_builder, ts, key, value, headers, python_entries, "t", i
        )
        assert got == want
    assert native_entries == python_entries
    assert native_builder.record_count == python_builder.record_count
    assert native_builder.build() == python_builder.build()


def test_append_tracked_errors_name_the_bad_value() -> None:
    builder = v2.RecordBatchBuilder()
    entries: list[Any] = []
    with pytest.raises(TypeError, match="record value must be bytes or None, got int"):
        _native.append_tracked(builder, 5, b"k", 7, (), entries, None, -1)
    with pytest.raises(TypeError, match="record timestamp must be int"):
        _native.append_tracked(builder, "now", b"k", b"v", (), entries, None, -1)
    with pytest.raises(ValueError, match="invalid record timestamp"):
        _native.append_tracked(builder, -5, b"k", b"v", (), entries, None, -1)
    assert entries == [] and builder.record_count == 0
    # The first good record sets the base timestamp only once it is in.
    assert _native.append_tracked(builder, 1000, b"k", b"v", (), entries, None, -1) > 0
    assert entries == [None, -1, 1000, 1, 1]
    builder.build()
    with pytest.raises(IllegalStateError):
        _native.append_tracked(builder, 1000, b"k", b"v", (), entries, None, -1)
    with pytest.raises(TypeError):
        _native.append_tracked(object(), 1000, b"k", b"v", (), entries, None, -1)


def test_consumer_records_are_left_out_of_the_cyclic_gc() -> None:
    body = _body([(0, b"k", b"v", [("h", b"x")]), (1, None, b"w", [])])
    args = (body, 0, len(body), 2, 0, 0, TimestampType.CREATE_TIME, None)
    untracked = _native.decode_rows(*args, CONSUMER_RECORD_ROW, "t", 0, None)
    assert [r.value for r in untracked] == [b"v", b"w"]
    assert not any(gc.is_tracked(r) for r in untracked)
    assert not gc.is_tracked(untracked[0].headers)
    assert not gc.is_tracked(untracked[0].headers[0])
    names = [f.name for f in fields(ConsumerRecord)]
    tracked = _native.decode_rows(*args, _native.RowType(ConsumerRecord, names), "t", 0, None)
    assert all(gc.is_tracked(r) for r in tracked)
    assert tracked == untracked


def test_decoder_rejects_a_range_outside_the_buffer() -> None:
    body = _body([(0, b"k", b"v" * 30, [])])
    args = (TimestampType.CREATE_TIME, None, _row, "t", 0, None)
    with pytest.raises(IndexError):
        _native.decode_rows(body[:10], 0, len(body), 1, 0, 0, *args)
    with pytest.raises(IndexError):
        _native.decode_rows(body, -1, len(body), 1, 0, 0, *args)
