"""Size-prefixed framing of the Kafka wire protocol.

Every request and response is a big-endian int32 length followed by that many bytes.
A length that is negative or larger than the configured maximum means the stream is not
speaking Kafka (or is corrupt): the connection cannot recover and must be closed.
"""

from __future__ import annotations

import asyncio
import struct

from kafkaio.errors import ProtocolDecodeError
from kafkaio.protocol.api import Request
from kafkaio.protocol.headers import encode_request_header

__all__ = [
    "CORRELATION_ID_OFFSET",
    "DEFAULT_MAX_FRAME_SIZE",
    "FrameTooLargeError",
    "encode_request_frame",
    "read_frame",
]

DEFAULT_MAX_FRAME_SIZE = 100 * 1024 * 1024
"""Largest response accepted by default (the Java client's limit for a response is
unbounded, but a multi-hundred-MB length from a non-Kafka peer must not allocate)."""

_SIZE = struct.Struct(">i")


class FrameTooLargeError(ProtocolDecodeError):
    """A frame length prefix is negative or exceeds the configured maximum."""


CORRELATION_ID_OFFSET = 8
"""Where the correlation id sits in a request frame: size(4) + api_key(2) + api_version(2)."""


def encode_request_frame(
    request: Request, version: int, correlation_id: int, client_id: str | None
) -> bytearray:
    """Encode ``request`` at ``version`` with its header and the int32 size prefix.

    The correlation id may be patched in later at :data:`CORRELATION_ID_OFFSET` (the
    connection assigns it only when the request is about to be written).
    """
    buf = bytearray(4)
    buf += encode_request_header(
        request.API_KEY, version, correlation_id, client_id, request.header_version(version)
    )
    request.encode_into(buf, version)
    _SIZE.pack_into(buf, 0, len(buf) - 4)
    return buf


async def read_frame(reader: asyncio.StreamReader, max_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """Read one frame's payload (without the size prefix).

    Raises :class:`asyncio.IncompleteReadError` when the stream ends before or inside a
    frame, and :class:`FrameTooLargeError` for an impossible length.
    """
    prefix = await reader.readexactly(4)
    (size,) = _SIZE.unpack(prefix)
    if size < 0 or size > max_size:
        raise FrameTooLargeError(
            f"frame length {size} is outside 0..{max_size} (peer is not speaking Kafka?)"
        )
    return await reader.readexactly(size)
