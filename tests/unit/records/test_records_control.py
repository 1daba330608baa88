"""Control records: transaction markers and other control types."""

from __future__ import annotations

import struct

import pytest

from kafkaio.errors import CorruptRecordError
from kafkaio.records import (
    ControlRecordType,
    RecordBatchBuilder,
    build_end_txn_marker,
    iter_batches,
    parse_control_record,
)


@pytest.mark.parametrize("commit", [True, False])
def test_end_txn_marker_round_trip(commit: bool) -> None:
    data = build_end_txn_marker(
        commit=commit,
        producer_id=42,
        producer_epoch=7,
        coordinator_epoch=19,
        timestamp_ms=1234,
        base_offset=88,
        partition_leader_epoch=3,
    )
    (batch,) = list(iter_batches(data))
    assert batch.is_control and batch.is_transactional
    assert (batch.producer_id, batch.producer_epoch) == (42, 7)
    assert batch.base_offset == batch.last_offset == 88
    assert batch.partition_leader_epoch == 3
    control = batch.control_record()
    assert control is not None
    assert control.type == (ControlRecordType.COMMIT if commit else ControlRecordType.ABORT)
    assert (control.offset, control.version, control.coordinator_epoch) == (88, 0, 19)
    assert batch.control_type == control.type
    (record,) = batch.records()
    assert record.key == struct.pack(">hh", 0, int(control.type))


def test_data_batch_has_no_control_record() -> None:
    b = RecordBatchBuilder()
    b.append(1, b"k", b"v")
    (batch,) = list(iter_batches(b.build()))
    assert not batch.is_control
    assert batch.control_record() is None
    assert batch.control_type is None


def test_unknown_and_newer_control_records() -> None:
    b = RecordBatchBuilder(is_control=True)
    b.append(1, struct.pack(">hh", 3, 99), b"whatever")  # newer key version, unknown type
    (batch,) = list(iter_batches(b.build()))
    control = batch.control_record()
    assert control is not None
    assert (control.type, control.type_id, control.version) == (ControlRecordType.UNKNOWN, 99, 3)
    assert control.coordinator_epoch is None


def test_kraft_control_types_are_recognised() -> None:
    control = parse_control_record(5, struct.pack(">hh", 0, 2), b"\x00\x00")
    assert control.type == ControlRecordType.LEADER_CHANGE
    assert control.coordinator_epoch is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (None, b"\x00\x00\x00\x00\x00\x01"),
        (b"\x00\x00\x00", b"\x00\x00\x00\x00\x00\x01"),
        (struct.pack(">hh", -1, 1), b"\x00\x00\x00\x00\x00\x01"),
        (struct.pack(">hh", 0, 1), b"\x00\x00\x00"),
        (struct.pack(">hh", 0, 0), None),
        (struct.pack(">hh", 0, 0), struct.pack(">hi", -1, 5)),
    ],
)
def test_malformed_control_records(key: bytes | None, value: bytes | None) -> None:
    b = RecordBatchBuilder(is_control=True, base_offset=9)
    b.append(1, key, value)
    (batch,) = list(iter_batches(b.build(), topic="t", partition=1))
    with pytest.raises(CorruptRecordError, match="control record") as info:
        batch.control_record()
    assert info.value.offset == 9
