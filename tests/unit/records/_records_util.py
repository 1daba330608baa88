"""Helpers shared by the record tests: a JSON-like view of batches (the shape the Java golden
tool prints) and a hand encoder for legacy v0/v1 messages, written from the documented format."""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

from kafkaio.records import DefaultRecordBatch, LegacyRecordBatch, parse_control_record


def bytes_view(data: bytes | None) -> Any:
    """None, hex, or (over 256 bytes) size + SHA-256, as GoldenRecords.java prints them."""
    if data is None:
        return None
    if len(data) > 256:
        return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return data.hex()


def batch_view(batch: DefaultRecordBatch | LegacyRecordBatch) -> dict[str, Any]:
    """The batch's fields and records, keyed like GoldenRecords.java's JSON."""
    horizon = batch.delete_horizon_ms if isinstance(batch, DefaultRecordBatch) else None
    records = []
    for r in batch.records():
        view: dict[str, Any] = {
            "offset": r.offset,
            "timestamp": r.timestamp,
            "key": bytes_view(r.key),
            "value": bytes_view(r.value),
            "headers": [[k, bytes_view(v)] for k, v in r.headers],
        }
        if batch.is_control:
            control = parse_control_record(r.offset, r.key, r.value)
            view["control_type"] = control.type_id
            if control.coordinator_epoch is not None:
                view["coordinator_epoch"] = control.coordinator_epoch
        records.append(view)
    return {
        "magic": batch.magic,
        "base_offset": batch.base_offset,
        "last_offset": batch.last_offset,
        "next_offset": batch.next_offset,
        "compression": int(batch.compression),
        "timestamp_type": int(batch.timestamp_type),
        "max_timestamp": batch.max_timestamp,
        "is_transactional": batch.is_transactional,
        "is_control": batch.is_control,
        "producer_id": batch.producer_id,
        "producer_epoch": batch.producer_epoch,
        "base_sequence": batch.base_sequence,
        "partition_leader_epoch": batch.partition_leader_epoch,
        "size_in_bytes": batch.size_in_bytes,
        "crc": batch.crc,
        "delete_horizon_ms": horizon,
        "records": records,
    }


def _nullable(data: bytes | None) -> bytes:
    if data is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(data)) + data


def legacy_message(
    offset: int,
    magic: int,
    key: bytes | None,
    value: bytes | None,
    *,
    attributes: int = 0,
    timestamp: int = -1,
    crc: int | None = None,
) -> bytes:
    """One v0/v1 message set entry: offset, size, crc32, magic, attributes, [timestamp], key, value."""
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", timestamp)
    body += _nullable(key) + _nullable(value)
    checksum = zlib.crc32(body) if crc is None else crc
    message = struct.pack(">I", checksum) + body
    return struct.pack(">qi", offset, len(message)) + message
