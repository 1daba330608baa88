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

The implementation behind :data:`RecordBatchBuilder` and :func:`iter_batches` is chosen at
import: a native accelerator module (:data:`ACCELERATOR_MODULE`) when one is installed and
``KAFKAIO_NO_EXTENSIONS`` is not set, else the pure-Python reference. None ships yet, so
:data:`IMPLEMENTATION` is ``"python"``.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

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
from kafkaio.records.crc import crc32c, extensions_disabled
from kafkaio.records.v2 import (
    DEFAULT_MAX_BATCH_BYTES,
    build_end_txn_marker,
    parse_control_record,
    record_size_upper_bound,
    with_producer_state,
)

__all__ = [
    "ACCELERATOR_MODULE",
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
    "with_producer_state",
]

ACCELERATOR_MODULE = "kafkaio._accel.records"
"""Where a native implementation would live: it must export ``RecordBatchBuilder`` (a
:class:`BatchBuilderProtocol` class with the pure-Python constructor signature) and
``iter_batches`` (a :class:`BatchReaderProtocol`)."""

DefaultRecordBatch = _v2.DefaultRecordBatch
LegacyRecordBatch = _legacy.LegacyRecordBatch


def _load_accelerator() -> Any:
    if extensions_disabled():
        return None
    try:
        if importlib.util.find_spec(ACCELERATOR_MODULE) is None:
            return None
    except ModuleNotFoundError:  # the parent package is absent
        return None
    return importlib.import_module(ACCELERATOR_MODULE)


_accel = _load_accelerator()

if TYPE_CHECKING:
    # Type checkers see the reference implementation; an accelerator must be a drop-in.
    from kafkaio.records.reader import iter_batches
    from kafkaio.records.v2 import RecordBatchBuilder
else:
    RecordBatchBuilder = _accel.RecordBatchBuilder if _accel is not None else _v2.RecordBatchBuilder
    iter_batches = _accel.iter_batches if _accel is not None else _reader.iter_batches
IMPLEMENTATION = "native" if _accel is not None else "python"
"""``"python"`` (the reference) or ``"native"``."""
