"""CRC32C: compiled and pure-Python implementations agree; the env var forces the fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkaio.records import crc as crc_module
from kafkaio.records.crc import crc32c, crc32c_python


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0x00000000),
        (b"123456789", 0xE3069283),  # the CRC-32C check value
        (bytes(32), 0x8A9136AA),  # RFC 3720 B.4
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
    ],
)
def test_known_vectors(data: bytes, expected: int) -> None:
    assert crc32c_python(data) == expected
    assert crc32c(data) == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_python_fallback_equals_compiled(data: bytes) -> None:
    compiled = pytest.importorskip("crc32c").crc32c
    assert crc32c_python(data) == compiled(data)
    assert crc32c_python(memoryview(data)) == compiled(data)
    assert crc32c_python(bytearray(data)) == compiled(data)


def test_random_large_buffers_agree() -> None:
    compiled = pytest.importorskip("crc32c").crc32c
    for size in (1, 7, 8, 9, 63, 64, 65, 4096, 100_003):
        data = os.urandom(size)
        assert crc32c_python(data) == compiled(data), size


def test_incremental() -> None:
    data = os.urandom(1000)
    assert crc32c_python(data[500:], crc32c_python(data[:500])) == crc32c_python(data)


def test_compiled_extension_is_used_by_default() -> None:
    if os.environ.get("KAFKAIO_NO_EXTENSIONS"):
        pytest.skip("extensions disabled for this run")
    assert crc_module.IMPLEMENTATION == "crc32c"


def _probe(env_value: str | None) -> str:
    env = dict(os.environ)
    env.pop("KAFKAIO_NO_EXTENSIONS", None)
    if env_value is not None:
        env["KAFKAIO_NO_EXTENSIONS"] = env_value
    code = (
        "from kafkaio.records import crc, IMPLEMENTATION, RecordBatchBuilder, iter_batches\n"
        "b = RecordBatchBuilder(compression=4)\n"
        "b.append(1, b'k', b'v' * 1000, [('h', b'x')])\n"
        "(batch,) = iter_batches(b.build())\n"
        "assert batch.records()[0].value == b'v' * 1000\n"
        "print(crc.IMPLEMENTATION, IMPLEMENTATION)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_env_var_forces_pure_python() -> None:
    assert _probe("1") == "python python"
    assert _probe(None) == "crc32c native"
    assert _probe("0") == "crc32c native"


def test_batches_built_and_checked_with_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both implementations write and accept the same batches."""
    from kafkaio.records import RecordBatchBuilder, iter_batches, v2

    def build() -> bytes:
        b = RecordBatchBuilder(compression=2)
        for i in range(50):
            b.append(i, b"k%d" % i, os.urandom(20) if i == 7 else b"v" * i)
        return b.build()

    native = build()
    monkeypatch.setattr(v2, "crc32c", crc32c_python)
    fallback = build()
    (a,) = list(iter_batches(native))  # verified by the fallback
    (b,) = list(iter_batches(fallback))
    assert a.crc == crc32c(native[21:]) and b.crc == crc32c(fallback[21:])
    assert len(a.records()) == len(b.records()) == 50
