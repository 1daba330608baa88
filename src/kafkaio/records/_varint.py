"""Varint helpers tuned for the record-batch hot path.

Kafka records use zigzag-encoded signed varints (``varint``/``varlong``). The batch builder
and reader inline the one-byte fast path themselves; the functions here handle the general
case. Decoders raise :class:`IndexError` on truncation and :class:`ValueError` on malformed
input: the record reader turns both into :class:`kafkaio.errors.CorruptRecordError` with
topic/partition/offset context, which a bare helper cannot know.
"""

from __future__ import annotations

__all__ = [
    "UVARINT_TABLE",
    "UVARINT_TABLE_SIZE",
    "decode_uvarint",
    "decode_varint",
    "encode_uvarint",
    "encode_varint",
    "varint_size",
]

UVARINT_TABLE_SIZE = 1 << 11
"""Unsigned values below this have a precomputed encoding in :data:`UVARINT_TABLE`."""


def encode_uvarint(value: int) -> bytes:
    """Encode a non-negative integer (< 2**64) as an unsigned LEB128 varint."""
    if value < 0x80:
        if value < 0:
            raise ValueError(f"unsigned varint must be non-negative, got {value}")
        return bytes((value,))
    if value < 0x4000:
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    if value > 0xFFFFFFFFFFFFFFFF:
        raise ValueError(f"unsigned varint out of 64-bit range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


UVARINT_TABLE: tuple[bytes, ...] = tuple(encode_uvarint(i) for i in range(UVARINT_TABLE_SIZE))
"""``UVARINT_TABLE[n]`` is the encoding of ``n`` for ``0 <= n < UVARINT_TABLE_SIZE``."""


def encode_varint(value: int) -> bytes:
    """Encode a signed 64-bit integer as a zigzag varint (Kafka's ``varint``/``varlong``)."""
    if not -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
        raise ValueError(f"varlong out of int64 range: {value}")
    zz = (value << 1) ^ (value >> 63)
    if zz < UVARINT_TABLE_SIZE:
        return UVARINT_TABLE[zz]
    return encode_uvarint(zz)


def varint_size(value: int) -> int:
    """Number of bytes :func:`encode_varint` produces for ``value``."""
    zz = (value << 1) ^ (value >> 63)
    size = 1
    while zz >= 0x80:
        zz >>= 7
        size += 1
    return size


def decode_uvarint(data: bytes, pos: int, max_bytes: int = 10) -> tuple[int, int]:
    """Decode an unsigned varint at ``pos``; return ``(value, new_pos)``.

    Raises :class:`IndexError` when the data ends inside the varint and :class:`ValueError`
    when it is longer than ``max_bytes``.
    """
    result = 0
    shift = 0
    limit = pos + max_bytes
    while True:
        if pos >= limit:
            raise ValueError(f"varint longer than {max_bytes} bytes")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def decode_varint(data: bytes, pos: int, max_bytes: int = 10) -> tuple[int, int]:
    """Decode a zigzag varint at ``pos``; return ``(value, new_pos)`` (see :func:`decode_uvarint`)."""
    raw, pos = decode_uvarint(data, pos, max_bytes)
    return (raw >> 1) ^ -(raw & 1), pos
