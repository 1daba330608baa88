"""Batches built by kafkaio are read by the Java client's MemoryRecords exactly as kafkaio reads them.

Needs a JDK and the pinned kafka-clients jar (resolved by tools/golden_records/golden.py through
Maven, or KAFKAIO_GOLDEN_CLASSPATH); skipped when they are unavailable.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
from _records_util import batch_view

from kafkaio.records import (
    CompressionType,
    RecordBatchBuilder,
    TimestampType,
    build_end_txn_marker,
    iter_batches,
    with_producer_state,
)

TOOL = Path(__file__).resolve().parents[3] / "tools" / "golden_records" / "golden.py"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("golden_records_tool", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def golden_tool() -> ModuleType:
    if shutil.which("java") is None or shutil.which("javac") is None:
        pytest.skip("no JDK on PATH")
    tool = _load_tool()
    try:
        tool.compiled_classes()
    except tool.GoldenToolError as exc:
        pytest.skip(f"kafka-clients jar unavailable: {exc}")
    return tool


def _records(builder: RecordBatchBuilder, count: int, start_ts: int = 1_700_000_000_000) -> None:
    for i in range(count):
        headers = [("trace", f"t{i}".encode()), ("nil", None), ("ключ", b"\xff")] if i % 2 else []
        key = None if i % 3 == 0 else f"k{i}".encode()
        value = None if i % 7 == 6 else bytes(range(256)) * (i % 4) + str(i).encode()
        assert builder.append(start_ts + i * 3 - (5 if i == 2 else 0), key, value, headers)


def _batches() -> bytes:
    out = bytearray()
    offset = 0
    for codec in CompressionType:
        b = RecordBatchBuilder(compression=codec, base_offset=offset, partition_leader_epoch=4)
        _records(b, 25)
        out += b.build()
        offset += 25
    big = RecordBatchBuilder(compression=CompressionType.ZSTD, base_offset=offset)
    assert big.append(1, b"big", bytes(i % 251 for i in range(300_000)))
    out += big.build()
    offset += 1
    txn = RecordBatchBuilder(
        compression=CompressionType.LZ4,
        is_transactional=True,
        producer_id=987654321,
        producer_epoch=12,
        base_sequence=100,
        base_offset=offset,
    )
    _records(txn, 5)
    out += txn.build()
    offset += 5
    out += build_end_txn_marker(
        commit=False,
        producer_id=987654321,
        producer_epoch=12,
        coordinator_epoch=3,
        timestamp_ms=1_700_000_000_500,
        base_offset=offset,
    )
    offset += 1
    lat = RecordBatchBuilder(
        compression=CompressionType.SNAPPY,
        timestamp_type=TimestampType.LOG_APPEND_TIME,
        base_offset=offset,
    )
    _records(lat, 4)
    out += lat.build()
    offset += 4
    gaps = RecordBatchBuilder(compression=CompressionType.GZIP, base_offset=offset)
    gaps.append_with_offset(offset + 2, 10, b"a", b"1")
    gaps.append_with_offset(offset + 9, 11, b"b", None)
    out += gaps.build()
    offset += 10
    horizon = RecordBatchBuilder(base_offset=offset, delete_horizon_ms=1_800_000_000_000)
    horizon.append(1_800_000_000_007, b"gone", None)
    out += horizon.build()
    offset += 1
    idem = RecordBatchBuilder(compression=CompressionType.GZIP, base_offset=offset)
    _records(idem, 3)
    out += with_producer_state(idem.build(), 55, 2, 2**31 - 2, is_transactional=False)
    return bytes(out)


def test_java_reads_kafkaio_batches(golden_tool: ModuleType, tmp_path: Path) -> None:
    data = _batches()
    path = tmp_path / "kafkaio.bin"
    path.write_bytes(data)
    java_view = golden_tool.java_read(path)
    ours = [batch_view(b) for b in iter_batches(data)]
    assert len(java_view) == len(ours) == 12
    assert java_view == ours


def test_java_rejects_a_corrupted_kafkaio_batch(golden_tool: ModuleType, tmp_path: Path) -> None:
    """Sanity check of the oracle itself: it does validate the CRC."""
    b = RecordBatchBuilder()
    b.append(1, b"k", b"value")
    data = bytearray(b.build())
    data[-1] ^= 0xFF
    path = tmp_path / "bad.bin"
    path.write_bytes(bytes(data))
    with pytest.raises(
        golden_tool.GoldenToolError, match=r"CorruptRecordException|Record is corrupt"
    ):
        golden_tool.java_read(path)
