"""The Confluent wire format: magic byte ``0``, a 4-byte big-endian schema id, then the
payload; Protobuf payloads start with the message-index array (zig-zag varints) that picks
the message type inside the schema's ``.proto`` file."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from kafkaio.schema_registry.errors import SerializationError

__all__ = [
    "MAGIC_BYTE",
    "decode_message_indexes",
    "encode_message_indexes",
    "frame",
    "unframe",
]

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")


def frame(schema_id: int, payload: bytes, prefix: bytes = b"") -> bytes:
    """``payload`` behind the wire header of ``schema_id`` (and ``prefix``, e.g. indexes)."""
    if not 0 <= schema_id <= 0xFFFFFFFF:
        raise SerializationError(f"schema id must fit in 4 unsigned bytes, got {schema_id}")
    return _HEADER.pack(MAGIC_BYTE, schema_id) + prefix + payload


def unframe(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """``(schema_id, offset of what follows the header)`` of framed ``data``."""
    if len(data) < _HEADER.size:
        raise SerializationError(
            f"message is {len(data)} bytes, too short for the schema registry header (5 bytes)"
        )
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise SerializationError(
            f"unknown magic byte {magic} (expected {MAGIC_BYTE}): the data was not written "
            f"by a schema registry serializer"
        )
    return schema_id, _HEADER.size


def _zigzag_varint(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_zigzag_varint(data: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(data):
            raise SerializationError("truncated varint in the protobuf message indexes")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 63:
            raise SerializationError("varint longer than 10 bytes in the protobuf message indexes")
    return (result >> 1) ^ -(result & 1), pos


def encode_message_indexes(indexes: Sequence[int]) -> bytes:
    """The index path of a message in its file; ``[0]`` (the first message) is one 0 byte."""
    if list(indexes) == [0]:
        return b"\x00"
    return _zigzag_varint(len(indexes)) + b"".join(_zigzag_varint(i) for i in indexes)


def decode_message_indexes(data: bytes | bytearray | memoryview, pos: int) -> tuple[list[int], int]:
    """``(indexes, offset after them)``; a count of 0 means ``[0]``."""
    count, pos = _read_zigzag_varint(data, pos)
    if count == 0:
        return [0], pos
    if count < 0 or count > len(data) - pos:
        raise SerializationError(
            f"bad protobuf message index count {count} ({len(data) - pos} bytes left: truncated?)"
        )
    indexes = []
    for _ in range(count):
        index, pos = _read_zigzag_varint(data, pos)
        indexes.append(index)
    return indexes, pos
