"""The native murmur2 (the send fast path's key placement) against the Python reference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafkaio.producer.partitioner import murmur2
from kafkaio.records.v2 import _native

pytestmark = pytest.mark.skipif(_native is None, reason="the native extension is not in use")


@given(st.binary(max_size=300))
def test_matches_the_reference(data: bytes) -> None:
    assert _native is not None
    assert _native.murmur2(data) == murmur2(data)
    assert _native.murmur2(bytearray(data)) == murmur2(data)


def test_takes_buffers_only() -> None:
    assert _native is not None
    assert _native.murmur2(memoryview(b"foobar")) == murmur2(b"foobar")
    with pytest.raises(TypeError):
        _native.murmur2("not bytes")
