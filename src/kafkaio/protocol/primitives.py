"""Readers and writers for the Kafka wire primitives.

Conventions (shared by the generated message code and ``kafkaio.records``):

* Readers take ``(buf, pos)`` and return ``(value, new_pos)``. ``buf`` is ``bytes``,
  ``bytearray`` or a one-dimensional byte ``memoryview``. Every reader checks lengths against
  the bytes that remain *before* allocating, and reports truncated, oversized or malformed
  input as :class:`kafkaio.errors.ProtocolDecodeError` (never ``IndexError``/``struct.error``).
* Writers append to a ``bytearray`` (``w += ...`` is amortised O(1)) and return ``None``.
* "compact" variants are the flexible-version encodings (unsigned-varint length + 1);
  "nullable" variants accept/return ``None``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar
from uuid import UUID

from kafkaio.errors import ProtocolDecodeError

__all__ = [
    "BOOL",
    "FLOAT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "UINT16",
    "UINT32",
    "ZERO_UUID",
    "Buffer",
    "Reader",
    "Writer",
    "as_buffer",
    "read_array",
    "read_array_length",
    "read_bool",
    "read_bytes",
    "read_compact_array",
    "read_compact_array_length",
    "read_compact_bytes",
    "read_compact_nullable_array",
    "read_compact_nullable_bytes",
    "read_compact_nullable_string",
    "read_compact_string",
    "read_float64",
    "read_int8",
    "read_int16",
    "read_int32",
    "read_int64",
    "read_nullable_array",
    "read_nullable_bytes",
    "read_nullable_string",
    "read_nullable_struct",
    "read_string",
    "read_tagged_fields",
    "read_uint16",
    "read_uint32",
    "read_uuid",
    "read_uvarint",
    "read_uvarlong",
    "read_varint",
    "read_varlong",
    "skip_tagged_fields",
    "uvarint_size",
    "varint_size",
    "varlong_size",
    "write_array",
    "write_bool",
    "write_bytes",
    "write_compact_array",
    "write_compact_bytes",
    "write_compact_nullable_array",
    "write_compact_nullable_bytes",
    "write_compact_nullable_string",
    "write_compact_string",
    "write_float64",
    "write_int8",
    "write_int16",
    "write_int32",
    "write_int64",
    "write_nullable_array",
    "write_nullable_bytes",
    "write_nullable_string",
    "write_nullable_struct",
    "write_string",
    "write_tagged_fields",
    "write_uint16",
    "write_uint32",
    "write_unknown_tagged_fields",
    "write_uuid",
    "write_uvarint",
    "write_varint",
    "write_varlong",
]

Buffer = bytes | bytearray | memoryview
"""Anything the readers accept."""

T = TypeVar("T")
Reader = Callable[[Buffer, int], tuple[T, int]]
Writer = Callable[[bytearray, T], None]

INT8 = struct.Struct(">b")
INT16 = struct.Struct(">h")
INT32 = struct.Struct(">i")
INT64 = struct.Struct(">q")
UINT16 = struct.Struct(">H")
UINT32 = struct.Struct(">I")
FLOAT64 = struct.Struct(">d")
BOOL = struct.Struct(">?")

ZERO_UUID = UUID(int=0)
"""Kafka's "no uuid" sentinel (all bits zero)."""

_unpack_i8 = INT8.unpack_from
_unpack_i16 = INT16.unpack_from
_unpack_i32 = INT32.unpack_from
_unpack_i64 = INT64.unpack_from
_unpack_u16 = UINT16.unpack_from
_unpack_u32 = UINT32.unpack_from
_unpack_f64 = FLOAT64.unpack_from
_pack_i8 = INT8.pack
_pack_i16 = INT16.pack
_pack_i32 = INT32.pack
_pack_i64 = INT64.pack
_pack_u16 = UINT16.pack
_pack_u32 = UINT32.pack
_pack_f64 = FLOAT64.pack

_NULL16 = b"\xff\xff"
_NULL32 = b"\xff\xff\xff\xff"


def as_buffer(data: Buffer) -> bytes | memoryview:
    """Return ``data`` as something every reader accepts without copying.

    ``bytes`` pass through; anything else becomes a flat unsigned-byte ``memoryview``.
    """
    if type(data) is bytes:
        return data
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _truncated(what: str, need: int, pos: int, buf: Buffer) -> ProtocolDecodeError:
    return ProtocolDecodeError(
        f"truncated {what}: need {need} byte(s) at offset {pos}, {max(len(buf) - pos, 0)} left"
    )


# -- fixed-width integers -------------------------------------------------------------


def read_int8(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a signed 8-bit integer."""
    try:
        return _unpack_i8(buf, pos)[0], pos + 1
    except struct.error:
        raise _truncated("int8", 1, pos, buf) from None


def read_bool(buf: Buffer, pos: int) -> tuple[bool, int]:
    """Read a boolean (any non-zero byte is true, as in the Java client)."""
    try:
        return buf[pos] != 0, pos + 1
    except IndexError:
        raise _truncated("bool", 1, pos, buf) from None


def read_int16(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a signed big-endian 16-bit integer."""
    try:
        return _unpack_i16(buf, pos)[0], pos + 2
    except struct.error:
        raise _truncated("int16", 2, pos, buf) from None


def read_uint16(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read an unsigned big-endian 16-bit integer."""
    try:
        return _unpack_u16(buf, pos)[0], pos + 2
    except struct.error:
        raise _truncated("uint16", 2, pos, buf) from None


def read_int32(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a signed big-endian 32-bit integer."""
    try:
        return _unpack_i32(buf, pos)[0], pos + 4
    except struct.error:
        raise _truncated("int32", 4, pos, buf) from None


def read_uint32(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read an unsigned big-endian 32-bit integer."""
    try:
        return _unpack_u32(buf, pos)[0], pos + 4
    except struct.error:
        raise _truncated("uint32", 4, pos, buf) from None


def read_int64(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a signed big-endian 64-bit integer."""
    try:
        return _unpack_i64(buf, pos)[0], pos + 8
    except struct.error:
        raise _truncated("int64", 8, pos, buf) from None


def read_float64(buf: Buffer, pos: int) -> tuple[float, int]:
    """Read a big-endian IEEE 754 double."""
    try:
        return _unpack_f64(buf, pos)[0], pos + 8
    except struct.error:
        raise _truncated("float64", 8, pos, buf) from None


def write_int8(w: bytearray, value: int) -> None:
    """Append a signed 8-bit integer."""
    w += _pack_i8(value)


def write_bool(w: bytearray, value: bool) -> None:
    """Append a boolean as one byte (1 or 0)."""
    w.append(1 if value else 0)


def write_int16(w: bytearray, value: int) -> None:
    """Append a signed big-endian 16-bit integer."""
    w += _pack_i16(value)


def write_uint16(w: bytearray, value: int) -> None:
    """Append an unsigned big-endian 16-bit integer."""
    w += _pack_u16(value)


def write_int32(w: bytearray, value: int) -> None:
    """Append a signed big-endian 32-bit integer."""
    w += _pack_i32(value)


def write_uint32(w: bytearray, value: int) -> None:
    """Append an unsigned big-endian 32-bit integer."""
    w += _pack_u32(value)


def write_int64(w: bytearray, value: int) -> None:
    """Append a signed big-endian 64-bit integer."""
    w += _pack_i64(value)


def write_float64(w: bytearray, value: float) -> None:
    """Append a big-endian IEEE 754 double."""
    w += _pack_f64(value)


# -- varints ----------------------------------------------------------------------------


def _read_varbits(buf: Buffer, pos: int, max_bytes: int, what: str) -> tuple[int, int]:
    result = 0
    shift = 0
    start = pos
    try:
        while True:
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result, pos
            shift += 7
            if pos - start >= max_bytes:
                raise ProtocolDecodeError(
                    f"malformed {what} at offset {start}: more than {max_bytes} bytes"
                )
    except IndexError:
        raise _truncated(what, 1, pos, buf) from None


def read_uvarint(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read an unsigned varint of at most 32 bits (Kafka's ``UNSIGNED_VARINT``)."""
    try:
        byte = buf[pos]
    except IndexError:
        raise _truncated("unsigned varint", 1, pos, buf) from None
    if byte < 0x80:
        return byte, pos + 1
    value, end = _read_varbits(buf, pos, 5, "unsigned varint")
    if value > 0xFFFFFFFF:
        raise ProtocolDecodeError(f"unsigned varint at offset {pos} exceeds 32 bits")
    return value, end


def read_uvarlong(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read an unsigned varint of at most 64 bits."""
    value, end = _read_varbits(buf, pos, 10, "unsigned varlong")
    if value > 0xFFFFFFFFFFFFFFFF:
        raise ProtocolDecodeError(f"unsigned varlong at offset {pos} exceeds 64 bits")
    return value, end


def read_varint(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a zigzag-encoded signed 32-bit varint (record fields)."""
    try:
        byte = buf[pos]
    except IndexError:
        raise _truncated("varint", 1, pos, buf) from None
    if byte < 0x80:
        return (byte >> 1) ^ -(byte & 1), pos + 1
    raw, end = _read_varbits(buf, pos, 5, "varint")
    if raw > 0xFFFFFFFF:
        raise ProtocolDecodeError(f"varint at offset {pos} exceeds 32 bits")
    return (raw >> 1) ^ -(raw & 1), end


def read_varlong(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a zigzag-encoded signed 64-bit varint (record fields)."""
    try:
        byte = buf[pos]
    except IndexError:
        raise _truncated("varlong", 1, pos, buf) from None
    if byte < 0x80:
        return (byte >> 1) ^ -(byte & 1), pos + 1
    raw, end = _read_varbits(buf, pos, 10, "varlong")
    if raw > 0xFFFFFFFFFFFFFFFF:
        raise ProtocolDecodeError(f"varlong at offset {pos} exceeds 64 bits")
    return (raw >> 1) ^ -(raw & 1), end


def write_uvarint(w: bytearray, value: int) -> None:
    """Append an unsigned varint (``0 <= value < 2**64``)."""
    if 0 <= value < 0x80:
        w.append(value)
        return
    if value < 0 or value > 0xFFFFFFFFFFFFFFFF:
        raise ValueError(f"unsigned varint out of range: {value}")
    while value >= 0x80:
        w.append((value & 0x7F) | 0x80)
        value >>= 7
    w.append(value)


def write_varint(w: bytearray, value: int) -> None:
    """Append a zigzag-encoded signed 32-bit varint."""
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise ValueError(f"varint out of int32 range: {value}")
    write_uvarint(w, ((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def write_varlong(w: bytearray, value: int) -> None:
    """Append a zigzag-encoded signed 64-bit varint."""
    if not -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
        raise ValueError(f"varlong out of int64 range: {value}")
    write_uvarint(w, ((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF)


def uvarint_size(value: int) -> int:
    """Number of bytes :func:`write_uvarint` uses for ``value``."""
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def varint_size(value: int) -> int:
    """Number of bytes :func:`write_varint` uses for ``value``."""
    return uvarint_size(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def varlong_size(value: int) -> int:
    """Number of bytes :func:`write_varlong` uses for ``value``."""
    return uvarint_size(((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF)


# -- uuid -------------------------------------------------------------------------------


def read_uuid(buf: Buffer, pos: int) -> tuple[UUID, int]:
    """Read a 16-byte uuid (most significant bits first)."""
    end = pos + 16
    if end > len(buf):
        raise _truncated("uuid", 16, pos, buf)
    raw = bytes(buf[pos:end])
    if raw == b"\x00" * 16:
        return ZERO_UUID, end
    return UUID(bytes=raw), end


def write_uuid(w: bytearray, value: UUID) -> None:
    """Append a 16-byte uuid."""
    w += value.bytes


# -- strings ----------------------------------------------------------------------------


def _decode_utf8(buf: Buffer, start: int, end: int) -> str:
    try:
        return str(buf[start:end], "utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolDecodeError(f"invalid UTF-8 in string at offset {start}: {exc}") from None


def _check(buf: Buffer, pos: int, size: int, what: str) -> int:
    end = pos + size
    if end > len(buf):
        raise _truncated(what, size, pos, buf)
    return end


def read_string(buf: Buffer, pos: int) -> tuple[str, int]:
    """Read a non-null STRING (int16 length)."""
    try:
        n = _unpack_i16(buf, pos)[0]
    except struct.error:
        raise _truncated("string length", 2, pos, buf) from None
    pos += 2
    if n < 0:
        raise ProtocolDecodeError(f"null string (length {n}) where a value is required")
    end = _check(buf, pos, n, "string")
    return _decode_utf8(buf, pos, end), end


def read_nullable_string(buf: Buffer, pos: int) -> tuple[str | None, int]:
    """Read a NULLABLE_STRING (int16 length, -1 = null)."""
    try:
        n = _unpack_i16(buf, pos)[0]
    except struct.error:
        raise _truncated("string length", 2, pos, buf) from None
    pos += 2
    if n < 0:
        if n != -1:
            raise ProtocolDecodeError(f"invalid string length {n}")
        return None, pos
    end = _check(buf, pos, n, "string")
    return _decode_utf8(buf, pos, end), end


def read_compact_string(buf: Buffer, pos: int) -> tuple[str, int]:
    """Read a non-null COMPACT_STRING (unsigned varint length + 1)."""
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        raise ProtocolDecodeError("null compact string where a value is required")
    end = _check(buf, pos, n - 1, "compact string")
    return _decode_utf8(buf, pos, end), end


def read_compact_nullable_string(buf: Buffer, pos: int) -> tuple[str | None, int]:
    """Read a COMPACT_NULLABLE_STRING (0 = null)."""
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = _check(buf, pos, n - 1, "compact string")
    return _decode_utf8(buf, pos, end), end


def _encode_utf8(value: str) -> bytes:
    try:
        return value.encode("utf-8")
    except AttributeError:
        raise TypeError(f"expected str, got {type(value).__name__}") from None


def write_string(w: bytearray, value: str) -> None:
    """Append a STRING (int16 length; at most 32767 UTF-8 bytes)."""
    data = _encode_utf8(value)
    if len(data) > 0x7FFF:
        raise ValueError(f"string of {len(data)} UTF-8 bytes exceeds 32767")
    w += _pack_i16(len(data))
    w += data


def write_nullable_string(w: bytearray, value: str | None) -> None:
    """Append a NULLABLE_STRING."""
    if value is None:
        w += _NULL16
    else:
        write_string(w, value)


def write_compact_string(w: bytearray, value: str) -> None:
    """Append a COMPACT_STRING."""
    data = _encode_utf8(value)
    if len(data) > 0x7FFF:
        raise ValueError(f"string of {len(data)} UTF-8 bytes exceeds 32767")
    write_uvarint(w, len(data) + 1)
    w += data


def write_compact_nullable_string(w: bytearray, value: str | None) -> None:
    """Append a COMPACT_NULLABLE_STRING."""
    if value is None:
        w.append(0)
    else:
        write_compact_string(w, value)


# -- bytes ------------------------------------------------------------------------------


def read_bytes(buf: Buffer, pos: int) -> tuple[bytes, int]:
    """Read non-null BYTES (int32 length)."""
    try:
        n = _unpack_i32(buf, pos)[0]
    except struct.error:
        raise _truncated("bytes length", 4, pos, buf) from None
    pos += 4
    if n < 0:
        raise ProtocolDecodeError(f"null bytes (length {n}) where a value is required")
    end = _check(buf, pos, n, "bytes")
    return bytes(buf[pos:end]), end


def read_nullable_bytes(buf: Buffer, pos: int) -> tuple[bytes | None, int]:
    """Read NULLABLE_BYTES (int32 length, -1 = null); also used for ``records`` fields."""
    try:
        n = _unpack_i32(buf, pos)[0]
    except struct.error:
        raise _truncated("bytes length", 4, pos, buf) from None
    pos += 4
    if n < 0:
        if n != -1:
            raise ProtocolDecodeError(f"invalid bytes length {n}")
        return None, pos
    end = _check(buf, pos, n, "bytes")
    return bytes(buf[pos:end]), end


def read_compact_bytes(buf: Buffer, pos: int) -> tuple[bytes, int]:
    """Read non-null COMPACT_BYTES."""
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        raise ProtocolDecodeError("null compact bytes where a value is required")
    end = _check(buf, pos, n - 1, "compact bytes")
    return bytes(buf[pos:end]), end


def read_compact_nullable_bytes(buf: Buffer, pos: int) -> tuple[bytes | None, int]:
    """Read COMPACT_NULLABLE_BYTES (0 = null); also used for flexible ``records`` fields."""
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = _check(buf, pos, n - 1, "compact bytes")
    return bytes(buf[pos:end]), end


def write_bytes(w: bytearray, value: bytes) -> None:
    """Append BYTES (int32 length)."""
    w += _pack_i32(len(value))
    w += value


def write_nullable_bytes(w: bytearray, value: bytes | None) -> None:
    """Append NULLABLE_BYTES."""
    if value is None:
        w += _NULL32
    else:
        w += _pack_i32(len(value))
        w += value


def write_compact_bytes(w: bytearray, value: bytes) -> None:
    """Append COMPACT_BYTES."""
    write_uvarint(w, len(value) + 1)
    w += value


def write_compact_nullable_bytes(w: bytearray, value: bytes | None) -> None:
    """Append COMPACT_NULLABLE_BYTES."""
    if value is None:
        w.append(0)
    else:
        write_uvarint(w, len(value) + 1)
        w += value


# -- arrays -----------------------------------------------------------------------------


def read_array_length(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read an ARRAY length (int32; -1 = null), checked against the bytes that remain."""
    try:
        n = _unpack_i32(buf, pos)[0]
    except struct.error:
        raise _truncated("array length", 4, pos, buf) from None
    pos += 4
    if n > len(buf) - pos:
        raise ProtocolDecodeError(
            f"array length {n} at offset {pos - 4} exceeds the {len(buf) - pos} bytes left"
        )
    if n < -1:
        raise ProtocolDecodeError(f"invalid array length {n}")
    return n, pos


def read_compact_array_length(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a COMPACT_ARRAY length (-1 = null), checked against the bytes that remain."""
    start = pos
    n, pos = read_uvarint(buf, pos)
    n -= 1
    if n > len(buf) - pos:
        raise ProtocolDecodeError(
            f"array length {n} at offset {start} exceeds the {len(buf) - pos} bytes left"
        )
    return n, pos


def _read_elements(
    buf: Buffer, pos: int, n: int, reader: Callable[[Buffer, int], tuple[T, int]]
) -> tuple[list[T], int]:
    fixed = _FIXED_READERS.get(reader)
    if fixed is not None:
        # arrays of fixed-width numbers: one unpack instead of one call per element
        code, size = fixed
        end = pos + n * size
        if end > len(buf):
            raise _truncated("array", n * size, pos, buf)
        return list(struct.unpack_from(f">{n}{code}", buf, pos)), end
    out: list[T] = []
    append = out.append
    for _ in range(n):
        item, pos = reader(buf, pos)
        append(item)
    return out, pos


def read_array(
    buf: Buffer, pos: int, reader: Callable[[Buffer, int], tuple[T, int]]
) -> tuple[list[T], int]:
    """Read a non-null ARRAY whose elements ``reader`` decodes."""
    n, pos = read_array_length(buf, pos)
    if n < 0:
        raise ProtocolDecodeError("null array where a value is required")
    return _read_elements(buf, pos, n, reader)


def read_nullable_array(
    buf: Buffer, pos: int, reader: Callable[[Buffer, int], tuple[T, int]]
) -> tuple[list[T] | None, int]:
    """Read a nullable ARRAY."""
    n, pos = read_array_length(buf, pos)
    if n < 0:
        return None, pos
    return _read_elements(buf, pos, n, reader)


def read_compact_array(
    buf: Buffer, pos: int, reader: Callable[[Buffer, int], tuple[T, int]]
) -> tuple[list[T], int]:
    """Read a non-null COMPACT_ARRAY."""
    n, pos = read_compact_array_length(buf, pos)
    if n < 0:
        raise ProtocolDecodeError("null compact array where a value is required")
    return _read_elements(buf, pos, n, reader)


def read_compact_nullable_array(
    buf: Buffer, pos: int, reader: Callable[[Buffer, int], tuple[T, int]]
) -> tuple[list[T] | None, int]:
    """Read a nullable COMPACT_ARRAY."""
    n, pos = read_compact_array_length(buf, pos)
    if n < 0:
        return None, pos
    return _read_elements(buf, pos, n, reader)


def _write_elements(
    w: bytearray, items: Sequence[T], writer: Callable[[bytearray, T], None]
) -> None:
    code = _FIXED_WRITERS.get(writer)
    if code is not None and items:
        w += struct.pack(f">{len(items)}{code}", *items)
        return
    for item in items:
        writer(w, item)


def write_array(w: bytearray, items: Sequence[T], writer: Callable[[bytearray, T], None]) -> None:
    """Append a non-null ARRAY, each element written by ``writer``."""
    w += _pack_i32(len(items))
    _write_elements(w, items, writer)


def write_nullable_array(
    w: bytearray, items: Sequence[T] | None, writer: Callable[[bytearray, T], None]
) -> None:
    """Append a nullable ARRAY."""
    if items is None:
        w += _NULL32
        return
    w += _pack_i32(len(items))
    _write_elements(w, items, writer)


def write_compact_array(
    w: bytearray, items: Sequence[T], writer: Callable[[bytearray, T], None]
) -> None:
    """Append a non-null COMPACT_ARRAY."""
    write_uvarint(w, len(items) + 1)
    _write_elements(w, items, writer)


def write_compact_nullable_array(
    w: bytearray, items: Sequence[T] | None, writer: Callable[[bytearray, T], None]
) -> None:
    """Append a nullable COMPACT_ARRAY."""
    if items is None:
        w.append(0)
        return
    write_uvarint(w, len(items) + 1)
    _write_elements(w, items, writer)


def read_nullable_struct(
    buf: Buffer, pos: int, reader: Callable[[Buffer, int], tuple[T, int]]
) -> tuple[T | None, int]:
    """Read a nullable struct: an int8 marker (negative = null) then the struct."""
    try:
        marker = buf[pos]
    except IndexError:
        raise _truncated("struct marker", 1, pos, buf) from None
    if marker >= 0x80:
        return None, pos + 1
    return reader(buf, pos + 1)


def write_nullable_struct(
    w: bytearray, value: T | None, writer: Callable[[bytearray, T], None]
) -> None:
    """Append a nullable struct: -1 for null, else 1 followed by the struct."""
    if value is None:
        w.append(0xFF)
    else:
        w.append(1)
        writer(w, value)


_FIXED_READERS: dict[object, tuple[str, int]] = {
    read_int8: ("b", 1),
    read_int16: ("h", 2),
    read_uint16: ("H", 2),
    read_int32: ("i", 4),
    read_uint32: ("I", 4),
    read_int64: ("q", 8),
    read_float64: ("d", 8),
    read_bool: ("?", 1),
}
_FIXED_WRITERS: dict[object, str] = {
    write_int8: "b",
    write_int16: "h",
    write_uint16: "H",
    write_int32: "i",
    write_uint32: "I",
    write_int64: "q",
    write_float64: "d",
    write_bool: "?",
}


# -- tagged fields ----------------------------------------------------------------------


def read_tagged_fields(buf: Buffer, pos: int) -> tuple[dict[int, bytes], int]:
    """Read a tagged-field section, keeping every field as raw bytes by tag."""
    try:
        if buf[pos] == 0:
            return {}, pos + 1
    except IndexError:
        raise _truncated("tagged fields", 1, pos, buf) from None
    count, pos = read_uvarint(buf, pos)
    if count > len(buf) - pos:
        raise ProtocolDecodeError(f"tagged field count {count} exceeds the bytes left")
    fields: dict[int, bytes] = {}
    for _ in range(count):
        tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        end = _check(buf, pos, size, "tagged field")
        fields[tag] = bytes(buf[pos:end])
        pos = end
    return fields, pos


def skip_tagged_fields(buf: Buffer, pos: int) -> int:
    """Skip a tagged-field section; return the offset after it."""
    return read_tagged_fields(buf, pos)[1]


def write_unknown_tagged_fields(w: bytearray, fields: Mapping[int, bytes]) -> None:
    """Append a tagged-field section holding only ``fields`` (raw bytes by tag)."""
    if not fields:
        w.append(0)
        return
    write_uvarint(w, len(fields))
    for tag in sorted(fields):
        data = fields[tag]
        write_uvarint(w, tag)
        write_uvarint(w, len(data))
        w += data


def write_tagged_fields(
    w: bytearray, known: list[tuple[int, bytes]], unknown: Mapping[int, bytes]
) -> None:
    """Append a tagged-field section: ``known`` (tag, encoded value) plus raw ``unknown``.

    Tags are written in ascending order, as the protocol requires. A tag present in both
    keeps the known (typed) value.
    """
    if unknown:
        merged = dict(unknown)
        merged.update(known)
        items = sorted(merged.items())
    else:
        items = known
    write_uvarint(w, len(items))
    for tag, data in items:
        write_uvarint(w, tag)
        write_uvarint(w, len(data))
        w += data
