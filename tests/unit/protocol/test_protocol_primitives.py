"""Wire primitives: known encodings, round trips and bad input."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkaio.errors import ProtocolDecodeError
from kafkaio.protocol import primitives as p

FAST = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "00"),
        (-1, "01"),
        (1, "02"),
        (-2, "03"),
        (63, "7e"),
        (-64, "7f"),
        (64, "8001"),
        (300, "d804"),
        (2**31 - 1, "feffffff0f"),
        (-(2**31), "ffffffff0f"),
    ],
)
def test_zigzag_varint_vectors(value: int, encoded: str) -> None:
    w = bytearray()
    p.write_varint(w, value)
    assert w.hex() == encoded
    assert p.read_varint(bytes(w), 0) == (value, len(w))
    assert p.varint_size(value) == len(w)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "00"), (127, "7f"), (128, "8001"), (300, "ac02"), (2**32 - 1, "ffffffff0f")],
)
def test_unsigned_varint_vectors(value: int, encoded: str) -> None:
    w = bytearray()
    p.write_uvarint(w, value)
    assert w.hex() == encoded
    assert p.read_uvarint(bytes(w), 0) == (value, len(w))
    assert p.uvarint_size(value) == len(w)


@FAST
@given(st.integers(-(2**63), 2**63 - 1))
def test_varlong_round_trip(value: int) -> None:
    w = bytearray()
    p.write_varlong(w, value)
    assert p.read_varlong(bytes(w), 0) == (value, len(w))
    assert p.varlong_size(value) == len(w)


@FAST
@given(st.integers(-(2**31), 2**31 - 1), st.binary(max_size=3))
def test_varint_round_trip_in_context(value: int, prefix: bytes) -> None:
    w = bytearray(prefix)
    p.write_varint(w, value)
    assert p.read_varint(memoryview(w), len(prefix)) == (value, len(w))


def test_varint_range_checked_on_write() -> None:
    with pytest.raises(ValueError):
        p.write_varint(bytearray(), 2**31)
    with pytest.raises(ValueError):
        p.write_varlong(bytearray(), -(2**63) - 1)
    with pytest.raises(ValueError):
        p.write_uvarint(bytearray(), -1)


@pytest.mark.parametrize(
    ("reader", "data"),
    [
        (p.read_uvarint, b""),
        (p.read_uvarint, b"\x80"),
        (p.read_uvarint, b"\xff\xff\xff\xff\xff\x01"),  # more than 5 bytes
        (p.read_uvarint, b"\xff\xff\xff\xff\x7f"),  # more than 32 bits
        (p.read_varint, b"\xff\xff\xff\xff\x1f"),
        (p.read_varlong, b"\x80" * 11),
        (p.read_int8, b""),
        (p.read_int16, b"\x00"),
        (p.read_int32, b"\x00\x00\x00"),
        (p.read_int64, b"\x00" * 7),
        (p.read_uint16, b"\x00"),
        (p.read_uint32, b"\x00"),
        (p.read_float64, b"\x00"),
        (p.read_bool, b""),
        (p.read_uuid, b"\x00" * 15),
        (p.read_string, b"\x00\x05abc"),
        (p.read_string, b"\xff\xff"),  # null where a value is required
        (p.read_nullable_string, b"\xff\xfe"),  # -2 is not a valid length
        (p.read_compact_string, b"\x00"),
        (p.read_compact_string, b"\x05ab"),
        (p.read_compact_nullable_string, b"\x05ab"),
        (p.read_bytes, b"\x00\x00\x00\x09abc"),
        (p.read_bytes, b"\xff\xff\xff\xff"),
        (p.read_nullable_bytes, b"\x80\x00\x00\x00"),
        (p.read_compact_bytes, b"\x00"),
        (p.read_compact_nullable_bytes, b"\x0a"),
        (p.read_string, b"\x00\x02\xc3\x28"),  # invalid UTF-8
        (p.read_tagged_fields, b"\x01\x00\x05ab"),
        (p.read_tagged_fields, b"\x7f"),
        (p.read_array_length, b"\x00\x00\x00\x05\x00"),
        (p.read_array_length, b"\xff\xff\xff\xfe"),
        (p.read_compact_array_length, b"\x06\x00"),
    ],
)
def test_bad_input_raises_decode_error(reader: object, data: bytes) -> None:
    with pytest.raises(ProtocolDecodeError):
        reader(data, 0)  # type: ignore[operator]


def test_strings_and_bytes() -> None:
    w = bytearray()
    p.write_string(w, "h\u00e9")
    p.write_nullable_string(w, None)
    p.write_compact_string(w, "")
    p.write_compact_nullable_string(w, None)
    p.write_bytes(w, b"\x01")
    p.write_compact_nullable_bytes(w, None)
    p.write_compact_bytes(w, b"xy")
    assert w.hex() == "000368c3a9" + "ffff" + "01" + "00" + "0000000101" + "00" + "037879"
    buf = bytes(w)
    s, pos = p.read_string(buf, 0)
    n, pos = p.read_nullable_string(buf, pos)
    e, pos = p.read_compact_string(buf, pos)
    n2, pos = p.read_compact_nullable_string(buf, pos)
    b1, pos = p.read_bytes(buf, pos)
    n3, pos = p.read_compact_nullable_bytes(buf, pos)
    b2, pos = p.read_compact_bytes(buf, pos)
    assert (s, n, e, n2, b1, n3, b2, pos) == (
        "h\u00e9",
        None,
        "",
        None,
        b"\x01",
        None,
        b"xy",
        len(buf),
    )


def test_string_too_long_for_int16_length() -> None:
    with pytest.raises(ValueError):
        p.write_string(bytearray(), "x" * 40000)


def test_arrays() -> None:
    w = bytearray()
    p.write_array(w, [1, 2], p.write_int32)
    p.write_nullable_array(w, None, p.write_int32)
    p.write_compact_array(w, ["a"], p.write_compact_string)
    p.write_compact_nullable_array(w, None, p.write_int8)
    buf = bytes(w)
    a, pos = p.read_array(buf, 0, p.read_int32)
    b, pos = p.read_nullable_array(buf, pos, p.read_int32)
    c, pos = p.read_compact_array(buf, pos, p.read_compact_string)
    d, pos = p.read_compact_nullable_array(buf, pos, p.read_int8)
    assert (a, b, c, d, pos) == ([1, 2], None, ["a"], None, len(buf))
    with pytest.raises(ProtocolDecodeError):
        p.read_array(b"\xff\xff\xff\xff", 0, p.read_int8)
    with pytest.raises(ProtocolDecodeError):
        p.read_compact_array(b"\x00", 0, p.read_int8)


def test_uuid_and_nullable_struct() -> None:
    u = uuid.uuid4()
    w = bytearray()
    p.write_uuid(w, u)
    p.write_nullable_struct(w, None, p.write_int16)
    p.write_nullable_struct(w, 7, p.write_int16)
    buf = bytes(w)
    got, pos = p.read_uuid(buf, 0)
    assert got == u
    assert p.read_nullable_struct(buf, pos, p.read_int16) == (None, pos + 1)
    assert p.read_nullable_struct(buf, pos + 1, p.read_int16) == (7, len(buf))
    assert p.read_uuid(b"\x00" * 16, 0)[0] is p.ZERO_UUID


@FAST
@given(st.dictionaries(st.integers(0, 2**31), st.binary(max_size=4), max_size=4))
def test_tagged_fields_sorted_and_round_trip(fields: dict[int, bytes]) -> None:
    w = bytearray()
    p.write_unknown_tagged_fields(w, fields)
    got, pos = p.read_tagged_fields(bytes(w), 0)
    assert got == fields and pos == len(w)
    assert p.skip_tagged_fields(bytes(w), 0) == len(w)


def test_tagged_fields_merge_in_tag_order() -> None:
    w = bytearray()
    p.write_tagged_fields(w, [(1, b"k")], {0: b"a", 5: b"b"})
    assert w.hex() == "03" + "000161" + "01016b" + "050162"


def test_as_buffer_accepts_views() -> None:
    data = b"\x00\x01"
    assert p.as_buffer(data) is data
    view = p.as_buffer(bytearray(data))
    assert isinstance(view, memoryview) and bytes(view) == data
    wide = memoryview(bytearray(8)).cast("I")
    assert len(p.as_buffer(wide)) == 8
