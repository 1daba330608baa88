"""Fetch sessions, decoding of fetched partitions, and handing records out."""

from __future__ import annotations

from typing import Any

import pytest

from kafkaio.cluster import TopicPartition
from kafkaio.consumer.fetch_session import FetchSession, PartitionFetchData
from kafkaio.consumer.fetcher import CompletedFetch, Fetcher, parse_partition_data
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.record import RecordDeserializationError
from kafkaio.consumer.subscription import SubscriptionState
from kafkaio.errors import CorruptRecordError, IllegalStateError
from kafkaio.records import RecordBatchBuilder, build_end_txn_marker

TP = TopicPartition("t", 0)


def batch(base: int, count: int, *, pid: int = -1, txn: bool = False, epoch: int = 3) -> bytes:
    builder = RecordBatchBuilder(
        base_offset=base,
        producer_id=pid,
        producer_epoch=0 if pid >= 0 else -1,
        base_sequence=0 if pid >= 0 else -1,
        is_transactional=txn,
        partition_leader_epoch=epoch,
    )
    for i in range(count):
        builder.append(1000 + i, None, f"r{base + i}".encode())
    return builder.build()


def marker(offset: int, pid: int, *, commit: bool) -> bytes:
    return build_end_txn_marker(
        commit=commit, producer_id=pid, producer_epoch=0, coordinator_epoch=0, base_offset=offset
    )


def offsets(parsed: Any) -> list[int]:
    return [r.offset for records, _epoch in parsed.batches for r in records]


# ---------------------------------------------------------------------- fetch sessions


def data(offset: int) -> PartitionFetchData:
    return PartitionFetchData(fetch_offset=offset, max_bytes=100)


def test_session_full_then_incremental_with_only_changes() -> None:
    a, b = TopicPartition("t", 0), TopicPartition("t", 1)
    session = FetchSession(1)
    first = session.build({a: data(0), b: data(0)})
    assert first.full and first.session_id == 0 and set(first.to_send) == {a, b}
    assert session.handle_response(first, 0, 77)
    second = session.build({a: data(5), b: data(0)})
    assert not second.full and (second.session_id, second.epoch) == (77, 1)
    assert second.to_send == {a: data(5)} and second.to_forget == []
    assert session.handle_response(second, 0, 77)
    third = session.build({a: data(5)})
    assert third.epoch == 2 and third.to_send == {} and third.to_forget == [b]
    assert session.handle_response(third, 0, 77)
    assert (session.full_fetches, session.incremental_fetches) == (1, 2)


def test_session_errors_fall_back_to_a_full_fetch() -> None:
    session = FetchSession(1)
    first = session.build({TP: data(0)})
    session.handle_response(first, 0, 5)
    inc = session.build({TP: data(1)})
    assert not session.handle_response(inc, 70, 0)  # FETCH_SESSION_ID_NOT_FOUND
    again = session.build({TP: data(1)})
    assert again.full and again.session_id == 0 and again.to_send == {TP: data(1)}
    assert session.session_errors == 1


def test_broker_without_session_keeps_full_fetches() -> None:
    session = FetchSession(1)
    req = session.build({TP: data(0)})
    session.handle_response(req, 0, 0)
    assert session.build({TP: data(0)}).full


# ---------------------------------------------------------------------- decoding


def test_batches_starting_before_the_position_are_trimmed() -> None:
    raw = batch(0, 5) + batch(5, 5)
    parsed = parse_partition_data(raw, TP, 3, read_committed=False, aborted=None, check_crcs=True)
    assert offsets(parsed) == [3, 4, 5, 6, 7, 8, 9]
    assert parsed.next_offset == 10
    assert all(epoch == 3 for _r, epoch in parsed.batches)


def test_control_records_are_never_returned() -> None:
    raw = batch(0, 2, pid=9, txn=True) + marker(2, 9, commit=True) + batch(3, 1)
    for committed in (False, True):
        parsed = parse_partition_data(
            raw, TP, 0, read_committed=committed, aborted=[], check_crcs=True
        )
        assert offsets(parsed) == [0, 1, 3]
        assert parsed.next_offset == 4


def test_read_committed_drops_aborted_transactions() -> None:
    raw = (
        batch(0, 2, pid=1, txn=True)  # aborted
        + batch(2, 2, pid=2, txn=True)  # committed
        + marker(4, 1, commit=False)
        + marker(5, 2, commit=True)
        + batch(6, 1, pid=1, txn=True)  # a later transaction of pid 1: committed
        + marker(7, 1, commit=True)
    )
    aborted = [(1, 0)]
    committed = parse_partition_data(
        raw, TP, 0, read_committed=True, aborted=aborted, check_crcs=True
    )
    assert offsets(committed) == [2, 3, 6]
    assert committed.next_offset == 8
    uncommitted = parse_partition_data(
        raw, TP, 0, read_committed=False, aborted=aborted, check_crcs=True
    )
    assert offsets(uncommitted) == [0, 1, 2, 3, 6]


def test_corrupt_batch_yields_records_before_it_then_the_error() -> None:
    good = batch(0, 2)
    bad = bytearray(batch(2, 2))
    bad[bad.index(b"r3")] = ord("s")  # change a value byte: CRC mismatch
    parsed = parse_partition_data(
        good + bytes(bad), TP, 0, read_committed=False, aborted=None, check_crcs=True
    )
    assert offsets(parsed) == [0, 1]
    assert isinstance(parsed.error, CorruptRecordError)
    assert (parsed.error.topic, parsed.error.partition) == ("t", 0)
    assert parsed.error.offset == 2
    unchecked = parse_partition_data(
        good + bytes(bad), TP, 0, read_committed=False, aborted=None, check_crcs=False
    )
    assert unchecked.error is None and offsets(unchecked) == [0, 1, 2, 3]


# ---------------------------------------------------------------------- handing out


class _NoClient:
    closed = True


def make_fetcher(**options: Any) -> tuple[Fetcher, SubscriptionState]:
    subs = SubscriptionState()
    fetcher = Fetcher(_NoClient(), subs, ConsumerOptions.from_kwargs(options))  # type: ignore[arg-type]
    subs.assign_from_user([TP])
    subs.seek(TP, 0)
    return fetcher, subs


def buffer(fetcher: Fetcher, raw: bytes, fetch_offset: int = 0) -> None:
    parsed = parse_partition_data(
        raw, TP, fetch_offset, read_committed=False, aborted=None, check_crcs=True
    )
    fetcher._completed[TP] = CompletedFetch(TP, fetch_offset, parsed)


async def test_take_advances_positions_and_respects_max_records() -> None:
    fetcher, subs = make_fetcher()
    buffer(fetcher, batch(0, 5))
    first = fetcher.take(3)
    assert [r.offset for r in first[TP]] == [0, 1, 2]
    assert subs.state(TP).position == 3 and subs.state(TP).position_epoch == 3
    rest = fetcher.take(10)
    assert [r.offset for r in rest[TP]] == [3, 4]
    assert subs.state(TP).position == 5
    assert fetcher.take(10) == {}


async def test_paused_partitions_return_nothing_even_if_buffered() -> None:
    fetcher, subs = make_fetcher()
    buffer(fetcher, batch(0, 3))
    subs.pause(TP)
    assert fetcher.take(10) == {} and not fetcher.has_buffered()
    subs.resume(TP)
    assert [r.offset for r in fetcher.take(10)[TP]] == [0, 1, 2]


async def test_data_for_an_old_position_is_dropped_after_a_seek_back() -> None:
    fetcher, subs = make_fetcher()
    subs.seek(TP, 10)
    buffer(fetcher, batch(10, 3), fetch_offset=10)
    subs.seek(TP, 4)
    assert fetcher.take(10) == {}
    assert TP not in fetcher._completed


async def test_deserializer_errors_carry_coordinates_and_seek_recovers() -> None:
    def value(b: bytes | None) -> str:
        assert b is not None
        if b == b"r1":
            raise ValueError("bad")
        return b.decode()

    fetcher, subs = make_fetcher(value_deserializer=value)
    buffer(fetcher, batch(0, 3))
    assert [r.value for r in fetcher.take(10)[TP]] == ["r0"]
    with pytest.raises(RecordDeserializationError) as info:
        fetcher.take(10)
    assert (info.value.topic, info.value.partition, info.value.offset) == ("t", 0, 1)
    assert subs.state(TP).position == 1
    subs.seek(TP, 2)
    assert [r.value for r in fetcher.take(10)[TP]] == ["r2"]


async def test_corrupt_batch_raises_after_good_records() -> None:
    fetcher, subs = make_fetcher()
    bad = bytearray(batch(2, 1))
    bad[bad.index(b"r2")] = ord("s")
    buffer(fetcher, batch(0, 2) + bytes(bad))
    assert [r.offset for r in fetcher.take(10)[TP]] == [0, 1]
    with pytest.raises(CorruptRecordError, match="offset 2"):
        fetcher.take(10)
    assert subs.state(TP).position == 2
    subs.seek(TP, 3)  # past the corrupt batch: the consumer goes on
    buffer(fetcher, batch(3, 1), fetch_offset=3)
    assert [r.offset for r in fetcher.take(10)[TP]] == [3]


def test_subscription_state_errors() -> None:
    subs = SubscriptionState()
    with pytest.raises(IllegalStateError):
        subs.state(TP)
    subs.subscribe(["t"])
    with pytest.raises(IllegalStateError):
        subs.assign_from_user([TP])


async def test_seek_forward_within_buffered_data_skips_records() -> None:
    fetcher, subs = make_fetcher()
    buffer(fetcher, batch(0, 3) + batch(3, 3))
    assert [r.offset for r in fetcher.take(1)[TP]] == [0]
    subs.seek(TP, 4)
    assert [r.offset for r in fetcher.take(10)[TP]] == [4, 5]
    assert subs.state(TP).position == 6
