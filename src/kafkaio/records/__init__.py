"""Kafka record batches: the v2 builder and reader, the legacy v0/v1 reader, control records,
compression and CRC32C.

Reading a Fetch response's records::

    for batch in iter_batches(records_bytes, topic="t", partition=0):
        if batch.is_control:
            marker = batch.control_record()
            continue
        for record in batch.records():
            ...

Writing (a producer batch)::

    builder = RecordBatchBuilder(compression=CompressionType.LZ4, max_bytes=16384)
    if builder.append(timestamp_ms, key, value, headers) is None:
        ...  # full: start a new batch (the first record always fits)
    payload = builder.build()

The per-record loops (encoding a record into a batch, decoding a batch's records) run in a
compiled extension, ``kafkaio.records._native``, built from ``_native.c`` at install time when a
C compiler is there and used unless ``KAFKAIO_NO_EXTENSIONS`` is set; the pure-Python code in
:mod:`kafkaio.records.v2` stays the reference it is tested against.
:data:`IMPLEMENTATION` says which one runs.
"""

from __future__ import annotations

from kafkaio.records import legacy as _legacy
from kafkaio.records import reader as _reader
from kafkaio.records import v2 as _v2
from kafkaio.records.api import (
    AppendResult,
    BatchBuilderProtocol,
    BatchReaderProtocol,
    ControlRecord,
    ControlRecordType,
    Header,
    Record,
    RecordBatchProtocol,
    TimestampType,
)
from kafkaio.records.compression import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    CompressionType,
    compress,
    decompress,
)
from kafkaio.records.crc import crc32c
from kafkaio.records.v2 import (
    DEFAULT_MAX_BATCH_BYTES,
    build_end_txn_marker,
    parse_control_record,
    record_size_upper_bound,
    row_factory,
    with_producer_state,
)

__all__ = [
    "DEFAULT_MAX_BATCH_BYTES",
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "IMPLEMENTATION",
    "AppendResult",
    "BatchBuilderProtocol",
    "BatchReaderProtocol",
    "CompressionType",
    "ControlRecord",
    "ControlRecordType",
    "DefaultRecordBatch",
    "Header",
    "LegacyRecordBatch",
    "Record",
    "RecordBatchBuilder",
    "RecordBatchProtocol",
    "TimestampType",
    "build_end_txn_marker",
    "compress",
    "crc32c",
    "decompress",
    "iter_batches",
    "parse_control_record",
    "record_size_upper_bound",
    "row_factory",
    "with_producer_state",
]

DefaultRecordBatch = _v2.DefaultRecordBatch
LegacyRecordBatch = _legacy.LegacyRecordBatch
RecordBatchBuilder = _v2.RecordBatchBuilder
iter_batches = _reader.iter_batches

IMPLEMENTATION = "native" if _v2.NATIVE else "python"
"""``"native"`` when the compiled record encoder/decoder is in use, else ``"python"``."""
