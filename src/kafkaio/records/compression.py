"""Record-batch compression codecs, with Kafka's wire framings and a decompression bound.

``compress(codec_id, data)`` / ``decompress(codec_id, data)`` with Kafka's codec ids
(0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). What is written is what the Java client writes:

* gzip: one gzip member (RFC 1952), zlib's deflate.
* snappy: snappy-java's "xerial" stream framing: the 8-byte magic ``82 'SNAPPY' 00``, two
  big-endian int32s (version 1, minimum compatible version 1), then blocks of raw snappy, each
  prefixed by its big-endian int32 length, one block per 32 KiB of input. Reading accepts
  that framing (including several concatenated streams) and plain raw snappy, as snappy-java
  does.
* lz4: one LZ4 frame (magic ``04 22 4D 18``), independent 64 KiB blocks, no checksums, the
  layout of Kafka's ``Lz4BlockOutputStream``. Reading accepts any single LZ4 frame. Message
  format v0 computed the frame-header checksum over the magic bytes too (KAFKA-3160); pass
  ``legacy_lz4_header=True`` to accept that.
* zstd: one zstd frame (any frames on read).

Decompression never produces more than ``max_size`` bytes, so a small "decompression bomb"
cannot exhaust memory: snappy's stored lengths are checked before decoding, gzip inflates
with an output limit, and lz4/zstd decode into a buffer sized by the frame's block headers
(each block inflates to at most its maximum block size), capped at ``max_size + 1``. Failures raise
:class:`kafkaio.errors.CorruptRecordError`; an unknown codec id on write raises
:class:`kafkaio.errors.ConfigurationError`.
"""

from __future__ import annotations

import enum
import struct
import zlib
from collections.abc import Callable

import cramjam

from kafkaio.errors import ConfigurationError, CorruptRecordError

__all__ = [
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "CompressionType",
    "compress",
    "decompress",
    "xxh32",
]

Buffer = bytes | bytearray | memoryview

DEFAULT_MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024
"""Default cap on the decompressed size of one batch's records (128 MiB)."""


class CompressionType(enum.IntEnum):
    """Kafka's compression codec ids (the low three bits of a batch's attributes)."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


_CODEC_NAMES = {c.value: c.name.lower() for c in CompressionType}


def _codec_name(codec_id: int) -> str:
    return _CODEC_NAMES.get(codec_id, f"codec {codec_id}")


# -- xxHash32 (LZ4 frame header checksum) ----------------------------------------------

_P1 = 2654435761
_P2 = 2246822519
_P3 = 3266489917
_P4 = 668265263
_P5 = 374761393
_M32 = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def xxh32(data: Buffer, seed: int = 0) -> int:
    """xxHash32 of ``data`` (pure Python; used only on LZ4 frame headers, a few bytes long)."""
    buf = bytes(data)
    n = len(buf)
    pos = 0
    if n >= 16:
        v1 = (seed + _P1 + _P2) & _M32
        v2 = (seed + _P2) & _M32
        v3 = seed & _M32
        v4 = (seed - _P1) & _M32
        while pos + 16 <= n:
            a, b, c, d = struct.unpack_from("<4I", buf, pos)
            v1 = (_rotl((v1 + a * _P2) & _M32, 13) * _P1) & _M32
            v2 = (_rotl((v2 + b * _P2) & _M32, 13) * _P1) & _M32
            v3 = (_rotl((v3 + c * _P2) & _M32, 13) * _P1) & _M32
            v4 = (_rotl((v4 + d * _P2) & _M32, 13) * _P1) & _M32
            pos += 16
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M32
    else:
        h = (seed + _P5) & _M32
    h = (h + n) & _M32
    while pos + 4 <= n:
        (w,) = struct.unpack_from("<I", buf, pos)
        h = (_rotl((h + w * _P3) & _M32, 17) * _P4) & _M32
        pos += 4
    while pos < n:
        h = (_rotl((h + buf[pos] * _P5) & _M32, 11) * _P1) & _M32
        pos += 1
    h ^= h >> 15
    h = (h * _P2) & _M32
    h ^= h >> 13
    h = (h * _P3) & _M32
    h ^= h >> 16
    return h


# -- gzip --------------------------------------------------------------------------------


def _gzip_compress(data: Buffer, level: int | None) -> bytes:
    comp = zlib.compressobj(6 if level is None else level, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


def _gzip_decompress(data: Buffer, max_size: int) -> bytes:
    out = bytearray()
    remaining = bytes(data)
    # Concatenated gzip members are one stream (java.util.zip.GZIPInputStream agrees).
    while True:
        d = zlib.decompressobj(31)
        out += d.decompress(remaining, max_size + 1 - len(out))
        if len(out) > max_size:
            raise _too_big("gzip", max_size)
        if not d.eof:
            if d.unconsumed_tail:
                raise _too_big("gzip", max_size)
            raise CorruptRecordError("gzip data is truncated")
        remaining = d.unused_data
        if not remaining:
            return bytes(out)


# -- snappy ------------------------------------------------------------------------------

_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK = 32 * 1024
_INT32 = struct.Struct(">i")


def _snappy_compress(data: Buffer) -> bytes:
    view = memoryview(data).cast("B")
    parts = [_XERIAL_HEADER]
    raw = cramjam.snappy.compress_raw
    pack = _INT32.pack
    for start in range(0, len(view), _XERIAL_BLOCK):
        block = bytes(raw(view[start : start + _XERIAL_BLOCK]))
        parts.append(pack(len(block)))
        parts.append(block)
    return b"".join(parts)


def _snappy_raw_decompress(block: Buffer, budget: int, max_size: int) -> bytes:
    try:
        size = cramjam.snappy.decompress_raw_len(block)
    except Exception as exc:  # cramjam raises its own error types
        raise CorruptRecordError(f"invalid snappy block: {exc}") from None
    if size > budget:
        raise _too_big("snappy", max_size)
    try:
        return bytes(cramjam.snappy.decompress_raw(block))
    except Exception as exc:
        raise CorruptRecordError(f"invalid snappy block: {exc}") from None


def _snappy_decompress(data: Buffer, max_size: int) -> bytes:
    buf = bytes(data)
    if not buf.startswith(_XERIAL_MAGIC):
        return _snappy_raw_decompress(buf, max_size, max_size)
    parts: list[bytes] = []
    total = 0
    pos = 0
    n = len(buf)
    while pos < n:
        if buf.startswith(_XERIAL_MAGIC, pos):
            # A (new) stream header; snappy-java accepts concatenated streams.
            if pos + 16 > n:
                raise CorruptRecordError("xerial snappy header is truncated")
            (compat,) = _INT32.unpack_from(buf, pos + 12)
            if compat > 1:
                raise CorruptRecordError(f"unsupported xerial snappy stream version {compat}")
            pos += 16
            continue
        if pos + 4 > n:
            raise CorruptRecordError("xerial snappy block length is truncated")
        (length,) = _INT32.unpack_from(buf, pos)
        pos += 4
        if length < 0 or length > n - pos:
            raise CorruptRecordError(
                f"xerial snappy block of {length} bytes at offset {pos - 4} exceeds the "
                f"{n - pos} bytes left"
            )
        block = _snappy_raw_decompress(buf[pos : pos + length], max_size - total, max_size)
        pos += length
        total += len(block)
        parts.append(block)
    return b"".join(parts)


# -- lz4 ---------------------------------------------------------------------------------

_LZ4_MAGIC = 0x184D2204
_LZ4_FLG = 0x60  # version 01, independent blocks, no checksums, no content size
_LZ4_BD = 0x40  # 64 KiB maximum block size
_LZ4_BLOCK = 64 * 1024
_LZ4_HEADER = struct.pack("<IBB", _LZ4_MAGIC, _LZ4_FLG, _LZ4_BD) + bytes(
    ((xxh32(bytes((_LZ4_FLG, _LZ4_BD))) >> 8) & 0xFF,)
)
_LZ4_BLOCK_SIZES = {4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024}
_U32LE = struct.Struct("<I")
_U64LE = struct.Struct("<Q")
_LZ4_UNCOMPRESSED = 0x80000000
_LZ4_END_MARK = b"\x00\x00\x00\x00"


def _lz4_compress(data: Buffer) -> bytes:
    view = memoryview(data).cast("B")
    parts = [_LZ4_HEADER]
    block_compress = cramjam.lz4.compress_block
    pack = _U32LE.pack
    for start in range(0, len(view), _LZ4_BLOCK):
        chunk = view[start : start + _LZ4_BLOCK]
        block = bytes(block_compress(chunk, store_size=False))
        if len(block) >= len(chunk):
            parts.append(pack(len(chunk) | _LZ4_UNCOMPRESSED))
            parts.append(bytes(chunk))
        else:
            parts.append(pack(len(block)))
            parts.append(block)
    parts.append(_LZ4_END_MARK)
    return b"".join(parts)


def _lz4_decompress(data: Buffer, max_size: int, legacy_header: bool) -> bytes:
    buf = bytes(data)
    n = len(buf)
    if n < 7:
        raise CorruptRecordError(f"lz4 frame of {n} bytes is too short")
    (magic,) = _U32LE.unpack_from(buf, 0)
    if magic != _LZ4_MAGIC:
        raise CorruptRecordError(f"not an lz4 frame (magic 0x{magic:08x})")
    flg = buf[4]
    bd = buf[5]
    if flg >> 6 != 1:
        raise CorruptRecordError(f"unsupported lz4 frame version {flg >> 6}")
    block_max = _LZ4_BLOCK_SIZES.get((bd >> 4) & 0x7)
    if block_max is None or flg & 0x02 or bd & 0x8F:
        raise CorruptRecordError(f"invalid lz4 frame descriptor (FLG 0x{flg:02x}, BD 0x{bd:02x})")
    has_block_checksum = bool(flg & 0x10)
    has_content_size = bool(flg & 0x08)
    has_content_checksum = bool(flg & 0x04)
    has_dict_id = bool(flg & 0x01)
    hc_pos = 6 + (8 if has_content_size else 0) + (4 if has_dict_id else 0)
    if hc_pos >= n:
        raise CorruptRecordError("lz4 frame header is truncated")
    if has_content_size:
        (content_size,) = _U64LE.unpack_from(buf, 6)
        if content_size > max_size:
            raise _too_big("lz4", max_size)
    expected_hc = (xxh32(buf[4:hc_pos]) >> 8) & 0xFF
    if buf[hc_pos] != expected_hc:
        legacy_hc = (xxh32(buf[0:hc_pos]) >> 8) & 0xFF
        if not (legacy_header and buf[hc_pos] == legacy_hc):
            raise CorruptRecordError("lz4 frame header checksum mismatch")
        # Repair the v0 checksum so the decoder accepts the frame.
        buf = buf[:hc_pos] + bytes((expected_hc,)) + buf[hc_pos + 1 :]
    # Walk the block headers: each block inflates to at most block_max bytes, so their sum
    # bounds the output before anything is decompressed.
    pos = hc_pos + 1
    bound = 0
    while True:
        if pos + 4 > n:
            raise CorruptRecordError("lz4 frame is truncated (no end mark)")
        (word,) = _U32LE.unpack_from(buf, pos)
        pos += 4
        if word == 0:
            break
        size = word & 0x7FFFFFFF
        if size > block_max:
            raise CorruptRecordError(f"lz4 block of {size} bytes exceeds the frame's {block_max}")
        bound += size if word & _LZ4_UNCOMPRESSED else block_max
        pos += size + (4 if has_block_checksum else 0)
        if pos > n:
            raise CorruptRecordError("lz4 frame is truncated")
    if has_content_checksum:
        pos += 4
        if pos > n:
            raise CorruptRecordError("lz4 frame content checksum is truncated")
    return _decompress_into(cramjam.lz4.decompress_into, buf[:pos], bound, max_size, "lz4")


# -- zstd --------------------------------------------------------------------------------

_ZSTD_MAGIC = 0xFD2FB528
_ZSTD_BLOCK_MAX = 128 * 1024
_ZSTD_FCS_SIZES = (0, 2, 4, 8)
_ZSTD_DICT_SIZES = (0, 1, 2, 4)


def _zstd_compress(data: Buffer, level: int | None) -> bytes:
    return bytes(cramjam.zstd.compress(data, level=3 if level is None else level))


def _zstd_bound(buf: bytes) -> int:
    """Upper bound of the decompressed size of the zstd frames in ``buf``, from block headers."""
    n = len(buf)
    pos = 0
    bound = 0
    while pos < n:
        if pos + 4 > n:
            raise CorruptRecordError("zstd data is truncated (frame magic)")
        (magic,) = _U32LE.unpack_from(buf, pos)
        pos += 4
        if magic & 0xFFFFFFF0 == 0x184D2A50:  # skippable frame
            if pos + 4 > n:
                raise CorruptRecordError("zstd skippable frame is truncated")
            (size,) = _U32LE.unpack_from(buf, pos)
            pos += 4 + size
            if pos > n:
                raise CorruptRecordError("zstd skippable frame is truncated")
            continue
        if magic != _ZSTD_MAGIC:
            raise CorruptRecordError(f"not a zstd frame (magic 0x{magic:08x})")
        if pos >= n:
            raise CorruptRecordError("zstd frame header is truncated")
        fhd = buf[pos]
        pos += 1
        if fhd & 0x08:
            raise CorruptRecordError("zstd frame header has the reserved bit set")
        single_segment = bool(fhd & 0x20)
        fcs_size = _ZSTD_FCS_SIZES[fhd >> 6]
        if fcs_size == 0 and single_segment:
            fcs_size = 1
        header_rest = (0 if single_segment else 1) + _ZSTD_DICT_SIZES[fhd & 0x03] + fcs_size
        if pos + header_rest > n:
            raise CorruptRecordError("zstd frame header is truncated")
        pos += header_rest
        while True:
            if pos + 3 > n:
                raise CorruptRecordError("zstd block header is truncated")
            header = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16)
            pos += 3
            last = header & 1
            block_type = (header >> 1) & 3
            size = header >> 3
            if block_type == 0:  # raw
                bound += size
                pos += size
            elif block_type == 1:  # RLE: one byte repeated `size` times
                bound += size
                pos += 1
            elif block_type == 2:  # compressed: inflates to at most 128 KiB
                bound += _ZSTD_BLOCK_MAX
                pos += size
            else:
                raise CorruptRecordError("zstd block has the reserved block type")
            if pos > n:
                raise CorruptRecordError("zstd block is truncated")
            if last:
                break
        if fhd & 0x04:  # content checksum
            pos += 4
            if pos > n:
                raise CorruptRecordError("zstd content checksum is truncated")
    return bound


def _zstd_decompress(data: Buffer, max_size: int) -> bytes:
    buf = bytes(data)
    bound = _zstd_bound(buf)
    return _decompress_into(cramjam.zstd.decompress_into, buf, bound, max_size, "zstd")


# -- interface ---------------------------------------------------------------------------


def _decompress_into(
    decompress_into: Callable[[bytes, bytearray], int],
    frame: bytes,
    bound: int,
    max_size: int,
    codec: str,
) -> bytes:
    """Decompress into a buffer of at most ``max_size + 1`` bytes (cramjam streams into it
    and fails when it is full, so a bomb cannot allocate more)."""
    out = bytearray(min(bound, max_size + 1))
    try:
        n = decompress_into(frame, out)
    except Exception as exc:  # cramjam raises its own error types
        if bound > max_size and "whole buffer" in str(exc):
            raise _too_big(codec, max_size) from None
        raise CorruptRecordError(f"invalid {codec} data: {exc}") from None
    if n > max_size:
        raise _too_big(codec, max_size)
    del out[n:]
    return bytes(out)


def _too_big(codec: str, max_size: int) -> CorruptRecordError:
    return CorruptRecordError(
        f"{codec} data decompresses to more than {max_size} bytes (the decompression cap)"
    )


def compress(codec_id: int, data: Buffer, *, level: int | None = None) -> bytes:
    """Compress ``data`` with Kafka codec ``codec_id`` in the framing the Java client writes.

    ``level`` is the codec's own level (gzip 1-9, zstd up to 22); ``None`` is the codec
    default. lz4 (always its fast mode) and snappy ignore it.
    """
    if codec_id == 0:
        return bytes(data)
    if codec_id == 1:
        return _gzip_compress(data, level)
    if codec_id == 2:
        return _snappy_compress(data)
    if codec_id == 3:
        return _lz4_compress(data)
    if codec_id == 4:
        return _zstd_compress(data, level)
    raise ConfigurationError(
        f"unknown compression codec id {codec_id!r} (expected 0 none, 1 gzip, 2 snappy, "
        "3 lz4 or 4 zstd)"
    )


def decompress(
    codec_id: int,
    data: Buffer,
    *,
    max_size: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    legacy_lz4_header: bool = False,
) -> bytes:
    """Decompress ``data`` compressed with Kafka codec ``codec_id``.

    Raises :class:`~kafkaio.errors.CorruptRecordError` if the data is invalid, if the codec
    id is unknown, or if the output would exceed ``max_size`` bytes.
    """
    try:
        if codec_id == 0:
            if len(data) > max_size:
                raise _too_big("uncompressed", max_size)
            return bytes(data)
        if codec_id == 1:
            return _gzip_decompress(data, max_size)
        if codec_id == 2:
            return _snappy_decompress(data, max_size)
        if codec_id == 3:
            return _lz4_decompress(data, max_size, legacy_lz4_header)
        if codec_id == 4:
            return _zstd_decompress(data, max_size)
    except CorruptRecordError:
        raise
    except (zlib.error, ValueError, IndexError, struct.error) as exc:
        raise CorruptRecordError(f"invalid {_codec_name(codec_id)} data: {exc}") from None
    raise CorruptRecordError(
        f"unknown compression codec id {codec_id} (expected 0 none, 1 gzip, 2 snappy, "
        "3 lz4 or 4 zstd)"
    )
