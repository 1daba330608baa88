"""Accumulator, batches and the memory pool (no broker)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from kafkaio.cluster import TopicPartition
from kafkaio.errors import KafkaTimeoutError, NotLeaderOrFollowerError
from kafkaio.producer.accumulator import (
    BufferPool,
    GroupResult,
    PartitionQueue,
    ProducerBatch,
    RecordAccumulator,
    estimate_record_size,
)
from kafkaio.producer.metadata import RecordMetadata
from kafkaio.records import CompressionType, TimestampType, iter_batches

TP = TopicPartition("t", 0)


def make_acc(**kw: object) -> tuple[RecordAccumulator, list[int]]:
    woken: list[int] = []
    opts: dict[str, object] = dict(
        batch_size=1000, linger_ms=50, compression=CompressionType.NONE, buffer_memory=10_000
    )
    opts.update(kw)
    acc = RecordAccumulator(on_new_batch=lambda: woken.append(1), **opts)  # type: ignore[arg-type]
    return acc, woken


async def test_records_fill_batches_up_to_batch_size() -> None:
    acc, woken = make_acc()
    loop = asyncio.get_running_loop()
    futures = []
    for i in range(30):
        f: asyncio.Future[RecordMetadata] = loop.create_future()
        futures.append(f)
        acc.append(TP, 1000 + i, b"k", b"v" * 100, (), f, -1, 120)
    q = acc.queues[TP]
    assert len(q.batches) == 4  # ~9 records of ~110 bytes per 1000-byte batch
    assert len(woken) == 4
    assert all(b.is_full for b in list(q.batches)[:-1])
    assert sum(b.record_count for b in q.batches) == 30
    data = q.batches[0].close()
    batch = next(iter(iter_batches(data)))
    assert [r.value for r in batch.records()] == [b"v" * 100] * q.batches[0].record_count
    assert len(data) <= 1000


async def test_a_record_larger_than_batch_size_gets_its_own_batch() -> None:
    acc, _ = make_acc()
    loop = asyncio.get_running_loop()
    for value in (b"a", b"b" * 5000, b"c"):
        acc.append(TP, None, None, value, (), loop.create_future(), -1, 10)
    assert [b.record_count for b in acc.queues[TP].batches] == [1, 1, 1]


async def test_readiness_linger_full_force_and_backoff() -> None:
    acc, _ = make_acc(linger_ms=100)
    loop = asyncio.get_running_loop()
    acc.append(TP, None, None, b"x", (), loop.create_future(), -1, 10)
    q = acc.queues[TP]
    created = q.batches[0].created
    ready, at = acc.is_ready(q, created + 0.01, force=False)
    assert not ready and at == pytest.approx(created + 0.1)
    assert acc.is_ready(q, created + 0.1, force=False)[0]
    assert acc.is_ready(q, created, force=True)[0]
    # a second batch makes the first full: ready at once
    acc.append(TP, None, None, b"y" * 2000, (), loop.create_future(), -1, 10)
    assert acc.is_ready(q, created, force=False)[0]
    # a retry waits for its back-off, and for the partition's in-flight batches
    head = q.batches[0]
    head.attempts = 1
    head.retry_at = created + 5
    assert acc.is_ready(q, created + 1, force=True) == (False, created + 5)
    head.retry_at = 0
    q.in_flight.append(ProducerBatch(TP, CompressionType.NONE, 100, created))
    assert acc.is_ready(q, created + 1, force=True)[0] is False


async def test_force_ready_when_flushing_closing_or_memory_is_short() -> None:
    acc, _ = make_acc()
    assert not acc.force_ready
    acc.flushing += 1
    assert acc.force_ready
    acc.flushing -= 1
    acc.closing = True
    assert acc.force_ready


def test_retries_go_back_in_creation_order() -> None:
    q = PartitionQueue(TP)
    a, b, c, d = (ProducerBatch(TP, CompressionType.NONE, 100, 0.0) for _ in range(4))
    q.batches.extend([d])
    q.insert_retry(b)
    q.insert_retry(a)
    q.insert_retry(c)
    assert list(q.batches) == [a, b, c, d]
    a.base_sequence, c.base_sequence = 0, 10
    q.in_flight.append(b)
    b.base_sequence = 5
    assert q.lowest_unresolved_sequence() == 0


async def test_batch_complete_resolves_futures_and_groups() -> None:
    loop = asyncio.get_running_loop()
    batch = ProducerBatch(TP, CompressionType.NONE, 1000, 0.0)
    single: asyncio.Future[RecordMetadata] = loop.create_future()
    group_future: asyncio.Future[list[RecordMetadata]] = loop.create_future()
    group = GroupResult(group_future, 2)
    assert batch.try_append(111, b"key", b"value", (), single, -1, 10)
    assert batch.try_append(222, None, b"v2", (), group, 1, 10)
    assert batch.try_append(333, b"k", None, (), group, 0, 10)
    batch.complete(500, -1, 7)
    md = single.result()
    assert md == RecordMetadata("t", 0, 500, 111, TimestampType.CREATE_TIME, 3, 5, 7)
    assert md.topic_partition == TP
    assert [m.offset for m in group_future.result()] == [502, 501]
    assert group_future.result()[1].serialized_key_size == -1


async def test_log_append_time_replaces_the_timestamp() -> None:
    loop = asyncio.get_running_loop()
    batch = ProducerBatch(TP, CompressionType.NONE, 1000, 0.0)
    f: asyncio.Future[RecordMetadata] = loop.create_future()
    batch.try_append(1, None, b"v", (), f, -1, 10)
    batch.complete(0, 99_999, -1)
    assert f.result().timestamp == 99_999
    assert f.result().timestamp_type is TimestampType.LOG_APPEND_TIME


async def test_batch_fail_and_cancelled_futures() -> None:
    loop = asyncio.get_running_loop()
    batch = ProducerBatch(TP, CompressionType.NONE, 1000, 0.0)
    f1: asyncio.Future[RecordMetadata] = loop.create_future()
    f2: asyncio.Future[RecordMetadata] = loop.create_future()
    batch.try_append(1, None, b"v", (), f1, -1, 10)
    batch.try_append(1, None, b"v", (), f2, -1, 10)
    f2.cancel()  # a user may cancel a future: settling the batch must not trip on it
    batch.fail(NotLeaderOrFollowerError())
    assert isinstance(f1.exception(), NotLeaderOrFollowerError)
    assert batch.done and batch.futures_failed


async def test_buffer_pool_blocks_then_proceeds_in_fifo_order() -> None:
    pool = BufferPool(100)
    assert pool.try_reserve(80)
    blocked = []
    order: list[int] = []

    async def want(n: int, tag: int) -> None:
        await pool.reserve(n, 5.0, lambda: blocked.append(tag))
        order.append(tag)

    t1 = asyncio.create_task(want(50, 1))
    t2 = asyncio.create_task(want(10, 2))  # would fit, but must not overtake the first waiter
    await asyncio.sleep(0.01)
    assert blocked == [1, 2] and order == [] and pool.waiting == 2
    assert not pool.try_reserve(1)
    pool.release(80)
    await asyncio.gather(t1, t2)
    assert order == [1, 2]
    assert pool.used == 60


async def test_buffer_pool_times_out_with_kafka_timeout_error() -> None:
    pool = BufferPool(10)
    assert pool.try_reserve(10)
    with pytest.raises(KafkaTimeoutError, match="max_block_ms"):
        await pool.reserve(5, 0.05, lambda: None)
    assert pool.waiting == 0
    pool.release(10)
    assert pool.try_reserve(10)


async def test_wait_all_done_waits_only_for_batches_appended_before() -> None:
    acc, _ = make_acc(batch_size=10)
    loop = asyncio.get_running_loop()
    assert acc.pool.try_reserve(20)
    acc.append(TP, None, None, b"a" * 20, (), loop.create_future(), -1, 10)
    first = acc.queues[TP].batches[0]
    waiter = asyncio.create_task(acc.wait_all_done())
    await asyncio.sleep(0)
    acc.append(TP, None, None, b"b" * 20, (), loop.create_future(), -1, 10)
    acc.queues[TP].batches.popleft()
    first.complete(0, -1, -1)
    acc.deallocate(first)
    await asyncio.wait_for(waiter, 1)
    assert len(acc.incomplete) == 1
    assert acc.pool.used == 10


def test_estimate_record_size() -> None:
    assert estimate_record_size(None, None) == 21
    assert estimate_record_size(b"ab", b"cde", [("h", b"xy")]) == 21 + 5 + 10 + 1 + 2


@pytest.mark.parametrize("native", [True, False])
async def test_completion_native_and_python_agree(
    native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kafkaio.producer import accumulator

    if not native:
        monkeypatch.setattr(accumulator, "complete_entries", None)
    elif accumulator.complete_entries is None:
        pytest.skip("the native extension is not in use")
    loop = asyncio.get_running_loop()
    batch = ProducerBatch(TP, CompressionType.NONE, 10_000, 0.0)
    cancelled: asyncio.Future[RecordMetadata] = loop.create_future()
    cancelled.cancel()
    first: asyncio.Future[list[RecordMetadata]] = loop.create_future()
    second: asyncio.Future[list[RecordMetadata]] = loop.create_future()
    g1, g2 = GroupResult(first, 3), GroupResult(second, 2)
    single: asyncio.Future[RecordMetadata] = loop.create_future()
    rows = [(g1, 0), (g1, 1), (cancelled, -1), (g2, 1), (g2, 0), (single, -1), (g1, 2)]
    for i, (target, index) in enumerate(rows):
        assert batch.try_append(1000 + i, b"k" * i, b"v", (), target, index, 10)
    batch.complete(40, -1, 3)
    assert [m.offset for m in first.result()] == [40, 41, 46]
    assert [m.offset for m in second.result()] == [44, 43]
    assert single.result() == RecordMetadata("t", 0, 45, 1005, TimestampType.CREATE_TIME, 5, 1, 3)
    assert g1.remaining == 0 and g2.remaining == 0
    if native:  # plain values only: left out of the cyclic GC
        assert not gc.is_tracked(single.result()) and not gc.is_tracked(first.result()[0])


async def test_append_many_fills_batches_and_accounts_memory() -> None:
    acc, woken = make_acc(batch_size=400, buffer_memory=1_000_000)
    loop = asyncio.get_running_loop()
    group = GroupResult(loop.create_future(), 30)
    values: list[bytes | None] = [b"%03d" % i + b"x" * 40 for i in range(30)]
    i, started = 0, []
    while i < 30:
        i2, new = acc.append_many(TP, 5, None, values, (), group, i, 30, 21)
        assert i2 > i
        started.append(new)
        i = i2
    batches = list(acc.queues[TP].batches)
    assert len(batches) > 1 and all(started) and len(woken) == len(batches)
    assert all(b.sealed for b in batches[:-1])
    assert sum(b.record_count for b in batches) == 30
    assert sum(b.reserved for b in batches) == sum(21 + len(v or b"") for v in values)
    decoded = [r.value for b in batches for r in next(iter_batches(b.close())).records()]
    assert decoded == values
    assert batches[0].entries[1:15:5] == [0, 1, 2]  # indexes into the group


async def test_a_failing_completion_fails_the_records_instead_of_leaving_them_pending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kafkaio.errors import KafkaError
    from kafkaio.producer import accumulator

    def broken(*_args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(accumulator, "complete_entries", broken)
    loop = asyncio.get_running_loop()
    batch = ProducerBatch(TP, CompressionType.NONE, 1000, 0.0)
    single: asyncio.Future[RecordMetadata] = loop.create_future()
    group_future: asyncio.Future[list[RecordMetadata]] = loop.create_future()
    batch.try_append(1, None, b"v", (), single, -1, 10)
    batch.try_append(1, None, b"v", (), GroupResult(group_future, 1), 0, 10)
    batch.complete(0, -1, 0)
    assert isinstance(single.exception(), KafkaError)
    assert isinstance(group_future.exception(), KafkaError)
    assert batch.done
