"""Truncated, mutated and garbage input never escapes as anything but ProtocolDecodeError."""

from __future__ import annotations

import os
import time

import pytest
from _protocol_schema import is_flexible, message_strategy, top_level_classes, versions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkaio.errors import ProtocolDecodeError
from kafkaio.protocol.api import Message
from kafkaio.protocol.messages import FetchResponse, MetadataResponse, ProduceRequest

CLASSES = top_level_classes()
EXAMPLES = int(os.environ.get("KAFKAIO_PROTOCOL_EXAMPLES", "3"))


def decode_or_reject(cls: type[Message], data: bytes, version: int) -> None:
    try:
        result = cls.decode(data, version)
    except ProtocolDecodeError:
        return
    assert isinstance(result, cls)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_truncated_and_mutated_input(cls: type[Message], data: st.DataObject) -> None:
    version = data.draw(st.sampled_from(list(versions(cls))), label="version")
    msg = data.draw(message_strategy(cls, version, is_flexible(cls, version)), label="msg")
    raw = msg.encode(version)
    cuts = range(len(raw)) if len(raw) <= 96 else sorted({*range(0, len(raw), 7), len(raw) - 1})
    for cut in cuts:
        decode_or_reject(cls, raw[:cut], version)
    if raw:
        edits = data.draw(
            st.lists(
                st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)),
                min_size=1,
                max_size=4,
            ),
            label="edits",
        )
        mutated = bytearray(raw)
        for pos, value in edits:
            mutated[pos] = value
        decode_or_reject(cls, bytes(mutated), version)
    garbage = data.draw(st.binary(max_size=64), label="garbage")
    decode_or_reject(cls, garbage, version)
    decode_or_reject(cls, raw + garbage, version)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x7f\xff\xff\xff",  # array of 2**31-1 elements, no bytes behind it
        b"\x00\x00\x00\x00\x7f\xff\xff\xff",
        b"\xff" * 16,
        b"\x80" * 32,  # varint that never ends
    ],
)
def test_oversized_lengths_fail_fast(payload: bytes) -> None:
    for cls, version in ((MetadataResponse, 12), (MetadataResponse, 1), (FetchResponse, 16)):
        start = time.perf_counter()
        with pytest.raises(ProtocolDecodeError):
            cls.decode(payload, version)
        assert time.perf_counter() - start < 1.0


def test_invalid_utf8_is_a_decode_error() -> None:
    raw = bytearray(ProduceRequest(transactional_id="ab").encode(3))
    raw[2:4] = b"\xc3\x28"  # invalid 2-byte sequence in place of "ab"
    with pytest.raises(ProtocolDecodeError, match="UTF-8"):
        ProduceRequest.decode(bytes(raw), 3)


def test_error_names_message_and_version() -> None:
    with pytest.raises(ProtocolDecodeError, match=r"MetadataResponse v12"):
        MetadataResponse.decode(b"\x00\x00", 12)
