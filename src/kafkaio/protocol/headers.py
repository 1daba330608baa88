"""Request and response headers (RequestHeader v1/v2, ResponseHeader v0/v1).

Which version to use comes from the message class: ``Request.header_version(v)`` and
``Response.header_version(v)`` (ApiVersions responses always use header v0). The client id
is always a classic int16-length string, even in header v2, so that any broker can read
the header of an ApiVersions request whatever its version.
"""

from __future__ import annotations

import struct

from kafkaio.errors import ProtocolDecodeError
from kafkaio.protocol.primitives import (
    Buffer,
    as_buffer,
    read_nullable_string,
    read_tagged_fields,
    write_nullable_string,
    write_unknown_tagged_fields,
)

__all__ = [
    "decode_request_header",
    "decode_response_header",
    "encode_request_header",
    "encode_response_header",
]

_REQ_FIXED = struct.Struct(">hhi")
_INT32 = struct.Struct(">i")


def encode_request_header(
    api_key: int,
    api_version: int,
    correlation_id: int,
    client_id: str | None,
    header_version: int,
) -> bytes:
    """Encode a request header (version 1 or 2)."""
    if header_version not in (1, 2):
        raise ValueError(f"unsupported request header version {header_version} (1 or 2)")
    w = bytearray(_REQ_FIXED.pack(api_key, api_version, correlation_id))
    write_nullable_string(w, client_id)
    if header_version == 2:
        w.append(0)  # empty tagged-field section
    return bytes(w)


def decode_request_header(
    data: Buffer, header_version: int
) -> tuple[int, int, int, str | None, int]:
    """Decode a request header (broker side, for test servers).

    Returns ``(api_key, api_version, correlation_id, client_id, offset_of_body)``.
    """
    if header_version not in (1, 2):
        raise ValueError(f"unsupported request header version {header_version} (1 or 2)")
    buf = as_buffer(data)
    try:
        api_key, api_version, correlation_id = _REQ_FIXED.unpack_from(buf, 0)
    except struct.error:
        raise ProtocolDecodeError(f"request header truncated: {len(buf)} byte(s)") from None
    client_id, pos = read_nullable_string(buf, 8)
    if header_version == 2:
        pos = read_tagged_fields(buf, pos)[1]
    return api_key, api_version, correlation_id, client_id, pos


def encode_response_header(correlation_id: int, header_version: int) -> bytes:
    """Encode a response header (version 0 or 1)."""
    if header_version == 0:
        return _INT32.pack(correlation_id)
    if header_version == 1:
        w = bytearray(_INT32.pack(correlation_id))
        write_unknown_tagged_fields(w, {})
        return bytes(w)
    raise ValueError(f"unsupported response header version {header_version} (0 or 1)")


def decode_response_header(data: Buffer, header_version: int) -> tuple[int, int]:
    """Decode a response header; return ``(correlation_id, offset_of_body)``."""
    if header_version not in (0, 1):
        raise ValueError(f"unsupported response header version {header_version} (0 or 1)")
    buf = as_buffer(data)
    try:
        correlation_id = _INT32.unpack_from(buf, 0)[0]
    except struct.error:
        raise ProtocolDecodeError(f"response header truncated: {len(buf)} byte(s)") from None
    if header_version == 0:
        return correlation_id, 4
    return correlation_id, read_tagged_fields(buf, 4)[1]
