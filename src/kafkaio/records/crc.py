"""CRC32C (Castagnoli), the checksum of v2 record batches.

The compiled ``crc32c`` package is used when it is installed, unless the environment variable
``KAFKAIO_NO_EXTENSIONS=1`` forces the pure-Python fallback (read at import time). The fallback
is a table-driven slicing-by-8 implementation: correct everywhere, but far slower.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

__all__ = ["IMPLEMENTATION", "crc32c", "crc32c_python", "extensions_disabled"]

Buffer = bytes | bytearray | memoryview

_POLY = 0x82F63B78  # CRC-32C polynomial, reflected


def extensions_disabled() -> bool:
    """True when ``KAFKAIO_NO_EXTENSIONS`` asks for the pure-Python code paths."""
    return os.environ.get("KAFKAIO_NO_EXTENSIONS", "").strip().lower() not in (
        "",
        "0",
        "false",
        "no",
    )


def _make_tables() -> tuple[tuple[int, ...], ...]:
    t0 = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t0.append(c)
    tables = [t0]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ t0[prev[i] & 0xFF] for i in range(256)])
    return tuple(tuple(t) for t in tables)


_T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7 = _make_tables()
_iter_words = struct.Struct("<II").iter_unpack


def crc32c_python(data: Buffer, crc: int = 0) -> int:
    """CRC32C of ``data``, continuing from ``crc`` (pure Python, slicing-by-8)."""
    t0, t1, t2, t3, t4, t5, t6, t7 = _T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7
    view = memoryview(data).cast("B")
    n = len(view)
    n8 = n & ~7
    crc ^= 0xFFFFFFFF
    for lo, hi in _iter_words(view[:n8]):
        x = crc ^ lo
        crc = (
            t7[x & 0xFF]
            ^ t6[(x >> 8) & 0xFF]
            ^ t5[(x >> 16) & 0xFF]
            ^ t4[x >> 24]
            ^ t3[hi & 0xFF]
            ^ t2[(hi >> 8) & 0xFF]
            ^ t1[(hi >> 16) & 0xFF]
            ^ t0[hi >> 24]
        )
    for b in view[n8:]:
        crc = t0[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _load_extension() -> Callable[[Buffer], int] | None:
    if extensions_disabled():
        return None
    try:
        import crc32c as _ext
    except ImportError:  # the fallback exists for exactly this case
        return None
    fn: Callable[[Buffer], int] = _ext.crc32c
    return fn


_ext_crc32c = _load_extension()

crc32c: Callable[[Buffer], int] = _ext_crc32c if _ext_crc32c is not None else crc32c_python
"""CRC32C of a bytes-like object (compiled when available)."""

IMPLEMENTATION = "crc32c" if _ext_crc32c is not None else "python"
"""Which implementation :func:`crc32c` is: ``"crc32c"`` (compiled package) or ``"python"``."""
