"""Request/response headers and the header version each API uses."""

from __future__ import annotations

import pytest

from kafkaio.errors import ProtocolDecodeError
from kafkaio.protocol.apis import API_BY_KEY, request_type, response_type
from kafkaio.protocol.headers import (
    decode_request_header,
    decode_response_header,
    encode_request_header,
    encode_response_header,
)
from kafkaio.protocol.messages import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    MetadataRequest,
    MetadataResponse,
    SaslHandshakeRequest,
    SaslHandshakeResponse,
)


def test_request_header_v1_and_v2_bytes() -> None:
    v1 = encode_request_header(3, 8, 0x01020304, "cli", 1)
    assert v1.hex() == "0003" + "0008" + "01020304" + "0003636c69"
    v2 = encode_request_header(3, 12, 7, "cli", 2)
    # client id keeps its int16 length even in the flexible header; then empty tagged fields
    assert v2.hex() == "0003" + "000c" + "00000007" + "0003636c69" + "00"
    assert encode_request_header(18, 3, 1, None, 2).hex() == "0012000300000001ffff00"


def test_request_header_decode_round_trip() -> None:
    body = b"BODY"
    raw = encode_request_header(1, 16, 99, "consumer-1", 2) + body
    key, version, corr, client, offset = decode_request_header(raw, 2)
    assert (key, version, corr, client) == (1, 16, 99, "consumer-1")
    assert raw[offset:] == body
    with pytest.raises(ProtocolDecodeError):
        decode_request_header(raw[:5], 2)


def test_response_header_v0_and_v1() -> None:
    assert decode_response_header(b"\x00\x00\x00\x05body", 0) == (5, 4)
    assert decode_response_header(b"\x00\x00\x00\x05\x00body", 1) == (5, 5)
    # unknown tagged fields in a v1 header are skipped
    assert decode_response_header(b"\x00\x00\x00\x05\x01\x03\x02ab", 1) == (5, 9)
    assert encode_response_header(5, 0) == b"\x00\x00\x00\x05"
    assert encode_response_header(5, 1) == b"\x00\x00\x00\x05\x00"
    with pytest.raises(ProtocolDecodeError):
        decode_response_header(b"\x00\x00", 0)
    with pytest.raises(ProtocolDecodeError):
        decode_response_header(b"\x00\x00\x00\x01", 1)


def test_bad_header_versions() -> None:
    with pytest.raises(ValueError):
        encode_request_header(0, 0, 0, None, 0)
    with pytest.raises(ValueError):
        decode_response_header(b"\x00" * 8, 2)


def test_header_versions_follow_flexible_versions() -> None:
    assert MetadataRequest.header_version(8) == 1
    assert MetadataRequest.header_version(9) == 2
    assert MetadataResponse.header_version(8) == 0
    assert MetadataResponse.header_version(9) == 1
    assert ApiVersionsRequest.header_version(3) == 2
    assert ApiVersionsRequest.header_version(2) == 1
    # ApiVersions responses always use header v0 so any client can read them
    for v in range(ApiVersionsResponse.MIN_VERSION, ApiVersionsResponse.MAX_VERSION + 1):
        assert ApiVersionsResponse.header_version(v) == 0
    # never flexible
    assert SaslHandshakeRequest.FLEXIBLE_MIN_VERSION is None
    assert SaslHandshakeRequest.header_version(1) == 1
    assert SaslHandshakeResponse.header_version(1) == 0


def test_every_api_header_version() -> None:
    for key, info in API_BY_KEY.items():
        req, resp = request_type(key), response_type(key)
        for v in range(info.min_version, info.latest_version + 1):
            flexible = info.flexible_min_version is not None and v >= info.flexible_min_version
            assert req.header_version(v) == (2 if flexible else 1)
            expected = 0 if key == 18 else (1 if flexible else 0)
            assert resp.header_version(v) == expected
