"""Splitting a Fetch response's records bytes into batches (the pure-Python reader)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from kafkaio.errors import CorruptRecordError
from kafkaio.records.api import Buffer
from kafkaio.records.compression import DEFAULT_MAX_DECOMPRESSED_BYTES
from kafkaio.records.legacy import MIN_MESSAGE_SIZE_V0, LegacyRecordBatch
from kafkaio.records.v2 import HEADER_SIZE, LOG_OVERHEAD, DefaultRecordBatch

__all__ = ["iter_batches"]

_ENTRY = struct.Struct(">qi")
_MAGIC_OFFSET = 16


def iter_batches(
    data: Buffer,
    *,
    verify_crc: bool = True,
    topic: str | None = None,
    partition: int | None = None,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> Iterator[DefaultRecordBatch | LegacyRecordBatch]:
    """Yield the record batches in ``data`` (v2 batches and legacy v0/v1 entries, in order).

    A truncated batch at the end (brokers cut fetch responses at a byte limit) ends the
    iteration silently. Anything malformed before it raises
    :class:`~kafkaio.errors.CorruptRecordError` naming ``topic``, ``partition`` and the
    offset, after the batches before it have been yielded; so does a CRC mismatch when
    ``verify_crc`` is true. Records are decoded lazily by each batch's ``records()``, with
    decompressed output capped at ``max_decompressed_bytes`` per batch.
    """
    buf = data if type(data) is bytes else bytes(data)
    n = len(buf)
    pos = 0
    unpack_entry = _ENTRY.unpack_from
    while n - pos >= LOG_OVERHEAD:
        offset, length = unpack_entry(buf, pos)
        if length < MIN_MESSAGE_SIZE_V0:
            raise CorruptRecordError(
                f"record batch size {length} is below the minimum {MIN_MESSAGE_SIZE_V0}",
                topic=topic,
                partition=partition,
                offset=offset,
            )
        if n - pos - LOG_OVERHEAD < length:
            return  # partial trailing batch
        magic = buf[pos + _MAGIC_OFFSET]
        batch: DefaultRecordBatch | LegacyRecordBatch
        if magic == 2:
            if length < HEADER_SIZE - LOG_OVERHEAD:
                raise CorruptRecordError(
                    f"record batch size {length} is below the v2 minimum "
                    f"{HEADER_SIZE - LOG_OVERHEAD}",
                    topic=topic,
                    partition=partition,
                    offset=offset,
                )
            batch = DefaultRecordBatch(
                buf,
                pos,
                topic=topic,
                partition=partition,
                max_decompressed_bytes=max_decompressed_bytes,
                verify_crc=verify_crc,
            )
        elif magic in (0, 1):
            batch = LegacyRecordBatch(
                buf,
                pos,
                verify_crc=verify_crc,
                topic=topic,
                partition=partition,
                max_decompressed_bytes=max_decompressed_bytes,
            )
        else:
            raise CorruptRecordError(
                f"unknown record batch magic {magic}",
                topic=topic,
                partition=partition,
                offset=offset,
            )
        pos += LOG_OVERHEAD + length
        yield batch
