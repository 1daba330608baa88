"""Sender and idempotence rules against in-memory brokers that enforce sequences."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from producer_fakes import FakeCluster, attach

from kafkaio.cluster import TopicPartition
from kafkaio.errors import (
    InvalidRecordError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    MessageTooLargeError,
    NodeNotReadyError,
    ProducerClosedError,
)
from kafkaio.producer import Producer, RecordMetadata
from kafkaio.protocol.messages import ProduceRequest

T0 = TopicPartition("t", 0)
T1 = TopicPartition("t", 1)


_open: list[Producer] = []


@pytest.fixture(autouse=True)
async def _stop_producers() -> AsyncIterator[None]:
    yield
    while _open:
        await _open.pop().stop(timeout=0)


def producer(fake: FakeCluster, **kw: Any) -> Producer:
    opts: dict[str, Any] = dict(linger_ms=1, retry_backoff_ms=1, retry_backoff_max_ms=5)
    opts.update(kw)
    p = attach(Producer(**opts), fake)
    _open.append(p)
    return p


def values(fake: FakeCluster, tp: TopicPartition) -> list[bytes | None]:
    return [v for _, v in fake.logs[tp].records]


async def send_all(
    p: Producer, n: int, partition: int = 0, prefix: str = ""
) -> list[asyncio.Future[RecordMetadata]]:
    return [await p.send("t", f"{prefix}{i}".encode(), partition=partition) for i in range(n)]


async def test_records_arrive_in_order_with_offsets() -> None:
    fake = FakeCluster({"t": 2})
    p = producer(fake, batch_size=200)
    futures = await send_all(p, 100)
    await p.flush()
    assert [f.result().offset for f in futures] == list(range(100))
    assert values(fake, T0) == [str(i).encode() for i in range(100)]
    assert len(fake.requests) > 1  # several batches
    await p.stop()


async def test_one_request_carries_all_partitions_a_broker_leads() -> None:
    fake = FakeCluster({"t": 4}, nodes=2)
    p = producer(fake, linger_ms=50)
    for part in range(4):
        await p.send("t", b"x", partition=part)
    await p.flush()
    by_node = {node: sorted(pd.index for td in r.topic_data for pd in td.partition_data)
               for node, r in fake.requests}  # fmt: skip
    assert by_node == {1: [0, 2], 2: [1, 3]}
    await p.stop()


async def test_not_leader_refreshes_metadata_and_reroutes() -> None:
    fake = FakeCluster({"t": 1}, nodes=2)
    p = producer(fake)
    await (await p.send("t", b"before"))
    fake.leaders[T0] = 2  # the leader moved; the producer believes node 1 until rejected
    real = fake.leader_for
    before = len(fake.requests)

    def leader_for(tp: TopicPartition) -> int | None:
        return 1 if len(fake.requests) == before else real(tp)

    fake.leader_for = leader_for  # type: ignore[method-assign]
    updates = fake.metadata_updates
    md = await (await p.send("t", b"after"))
    assert md.offset == 1
    assert fake.metadata_updates > updates
    assert values(fake, T0) == [b"before", b"after"]
    assert p.metrics()["retries"] >= 1
    await p.stop()


async def test_ambiguous_timeout_retry_keeps_sequence_and_does_not_duplicate() -> None:
    fake = FakeCluster({"t": 1})
    hit = {"n": 0}

    def fault(node: int, tp: TopicPartition, req: ProduceRequest) -> Any:
        if hit["n"] == 0:
            hit["n"] += 1
            return "append+timeout"
        return None

    fake.faults.append(fault)
    p = producer(fake)
    md = await (await p.send("t", b"once"))
    assert values(fake, T0) == [b"once"]
    assert md.offset == 0
    await p.stop()


async def test_retriable_error_with_pipelined_batches_keeps_order() -> None:
    fake = FakeCluster({"t": 1})
    state = {"n": 0}

    def fault(node: int, tp: TopicPartition, req: ProduceRequest) -> Any:
        state["n"] += 1
        return 19 if state["n"] == 2 else None  # NOT_ENOUGH_REPLICAS on the 2nd request

    fake.faults.append(fault)
    fake.delay = 0.005
    p = producer(fake, batch_size=100, linger_ms=0)
    futures = await send_all(p, 200)
    await p.flush()
    assert all(f.exception() is None for f in futures)
    assert values(fake, T0) == [str(i).encode() for i in range(200)]
    assert [f.result().offset for f in futures] == list(range(200))
    await p.stop()


async def test_without_idempotence_one_in_flight_keeps_order() -> None:
    fake = FakeCluster({"t": 1})
    state = {"n": 0}

    def fault(node: int, tp: TopicPartition, req: ProduceRequest) -> Any:
        state["n"] += 1
        return 6 if state["n"] in (3, 4) else None

    fake.faults.append(fault)
    p = producer(fake, acks=1, batch_size=100, linger_ms=0, max_in_flight_requests_per_connection=1)
    futures = await send_all(p, 100)
    await p.flush()
    assert all(f.exception() is None for f in futures)
    assert values(fake, T0) == [str(i).encode() for i in range(100)]
    await p.stop()


async def test_fatal_error_fails_only_that_partition_then_partition_recovers() -> None:
    fake = FakeCluster({"t": 2})
    armed = {"on": True}

    def fault(node: int, tp: TopicPartition, req: ProduceRequest) -> Any:
        if tp == T0 and armed["on"]:
            armed["on"] = False
            return 87  # INVALID_RECORD: not retriable, not written
        return None

    fake.faults.append(fault)
    p = producer(fake, linger_ms=20)
    bad = await p.send("t", b"bad", partition=0)
    good = await p.send("t", b"good", partition=1)
    with pytest.raises(InvalidRecordError):
        await bad
    assert (await good).offset == 0
    # the broken sequence chain of partition 0 is repaired by an epoch bump
    later = await send_all(p, 5, partition=0, prefix="later")
    await p.flush()
    assert [f.result().offset for f in later] == list(range(5))
    assert p.metrics()["epoch_bumps"] == 1
    assert fake.logs[T0].producer_epoch == 1
    await p.stop()


async def test_unknown_producer_id_bumps_epoch_and_resends() -> None:
    fake = FakeCluster({"t": 1})
    armed = {"on": True}

    def fault(node: int, tp: TopicPartition, req: ProduceRequest) -> Any:
        if armed["on"] and fake.logs.get(T0) is not None:
            armed["on"] = False
            return 59  # UNKNOWN_PRODUCER_ID
        return None

    fake.faults.append(fault)
    p = producer(fake)
    await (await p.send("t", b"a"))
    md = await (await p.send("t", b"b"))
    assert md.offset == 1
    assert values(fake, T0) == [b"a", b"b"]
    assert fake.logs[T0].producer_epoch == 1
    await p.stop()


async def test_unreachable_leader_expires_records_after_delivery_timeout() -> None:
    fake = FakeCluster({"t": 1})
    fake.faults.append(lambda *a: NodeNotReadyError("down"))
    p = producer(fake, delivery_timeout_ms=300, request_timeout_ms=200, linger_ms=0)
    future = await p.send("t", b"x")
    with pytest.raises(KafkaTimeoutError, match="delivery_timeout_ms"):
        await asyncio.wait_for(future, 5)
    await p.stop()


async def test_ambiguous_batch_is_reported_as_maybe_written_and_still_retried() -> None:
    fake = FakeCluster({"t": 1})
    down = {"on": True}

    def fault(node: int, tp: TopicPartition, req: ProduceRequest) -> Any:
        return KafkaConnectionError("connection dropped") if down["on"] else None

    fake.faults.append(fault)
    p = producer(fake, delivery_timeout_ms=300, request_timeout_ms=200, linger_ms=0)
    first = await p.send("t", b"first")
    with pytest.raises(KafkaTimeoutError, match="may or may not have been written"):
        await asyncio.wait_for(first, 5)
    down["on"] = False
    second = await p.send("t", b"second")
    assert (await asyncio.wait_for(second, 5)).offset == 1
    assert values(fake, T0) == [b"first", b"second"]  # sequence chain intact, no duplicate
    await p.stop()


async def test_acks_zero_resolves_with_unknown_offsets() -> None:
    fake = FakeCluster({"t": 1})
    p = producer(fake, acks=0)
    md = await (await p.send("t", b"x"))
    assert md.offset == -1
    assert fake.requests[0][1].acks == 0
    await p.stop()


async def test_oversized_record_fails_only_its_future() -> None:
    fake = FakeCluster({"t": 1})
    p = producer(fake, max_request_size=1000)
    big = await p.send("t", b"x" * 2000)
    small = await p.send("t", b"y")
    with pytest.raises(MessageTooLargeError, match="max_request_size"):
        await big
    assert (await small).offset == 0
    await p.stop()


async def test_send_batch_resolves_in_order_across_partitions() -> None:
    fake = FakeCluster({"t": 3})
    p = producer(fake)
    keys = [f"k{i}".encode() for i in range(50)]
    future = await p.send_batch("t", [b"v%d" % i for i in range(50)], keys=keys)
    results = await future
    assert [r.serialized_key_size for r in results] == [len(k) for k in keys]
    from kafkaio.producer import partition_for_key

    assert [r.partition for r in results] == [partition_for_key(k, 3) for k in keys]
    empty = await (await p.send_batch("t", []))
    assert empty == []
    await p.stop()


async def test_stop_fails_what_cannot_be_sent_and_rejects_new_sends() -> None:
    fake = FakeCluster({"t": 1})
    fake.faults.append(lambda *a: NodeNotReadyError("down"))
    p = producer(fake)
    future = await p.send("t", b"x")
    await p.stop(timeout=0.1)
    with pytest.raises(ProducerClosedError):
        await future
    with pytest.raises(ProducerClosedError):
        await p.send("t", b"y")


async def test_back_pressure_blocks_then_proceeds_without_loss() -> None:
    fake = FakeCluster({"t": 1})
    fake.delay = 0.002
    p = producer(fake, buffer_memory=2000, batch_size=500)
    futures = await send_all(p, 300)
    assert p.metrics()["buffer_used_bytes"] <= 2000
    await p.flush()
    assert values(fake, T0) == [str(i).encode() for i in range(300)]
    assert all(f.result() for f in futures)
    await p.stop()


async def test_back_pressure_times_out_after_max_block_ms() -> None:
    fake = FakeCluster({"t": 1})
    fake.faults.append(lambda *a: NodeNotReadyError("down"))
    p = producer(fake, buffer_memory=100, max_block_ms=50)
    await p.send("t", b"x" * 60)
    with pytest.raises(KafkaTimeoutError, match="max_block_ms"):
        await p.send("t", b"y" * 60)
    await p.stop(timeout=0)


async def test_bad_arguments_raise_at_send() -> None:
    fake = FakeCluster({"t": 2})
    p = producer(fake)
    with pytest.raises(TypeError, match="value must be bytes"):
        await p.send("t", "text")
    with pytest.raises(TypeError, match="key must be bytes"):
        await p.send("t", b"v", key=1)
    with pytest.raises(ValueError, match="partition 2 is out of range"):
        await p.send("t", b"v", partition=2)
    with pytest.raises(TypeError, match="headers"):
        await p.send("t", b"v", headers=[("h", "not bytes")])  # type: ignore[list-item]
    with pytest.raises(KafkaTimeoutError, match="not present in metadata"):
        p._max_block = 0.05
        await p.send("missing", b"v")
    await p.stop()


async def test_serializers_are_applied() -> None:
    fake = FakeCluster({"t": 1})
    p = producer(fake, key_serializer=str.encode, value_serializer=lambda v: repr(v).encode())
    md = await (await p.send("t", {"a": 1}, key="k"))
    assert md.serialized_key_size == 1
    assert fake.logs[T0].records == [(b"k", b"{'a': 1}")]
    await p.stop()


async def test_partitions_for_and_metrics() -> None:
    fake = FakeCluster({"t": 3})
    p = producer(fake)
    assert await p.partitions_for("t") == {0, 1, 2}
    await (await p.send("t", b"x"))
    m = p.metrics()
    assert m["records_sent"] == 1 and m["batches_sent"] == 1 and m["producer_id"] == 1000
    await p.stop()


@pytest.mark.parametrize("idempotent", [True, False])
async def test_batch_above_topic_limit_is_split_until_only_the_big_record_fails(
    idempotent: bool,
) -> None:
    fake = FakeCluster({"t": 1})
    fake.max_message_bytes = 700
    # Without idempotence only one request in flight keeps the order across the split.
    in_flight = 5 if idempotent else 1
    p = producer(
        fake,
        linger_ms=50,
        enable_idempotence=idempotent,
        max_in_flight_requests_per_connection=in_flight,
    )
    futures = [await p.send("t", b"%03d" % i + b"." * 50) for i in range(20)]
    big = await p.send("t", b"B" * 1000)
    futures += [await p.send("t", b"%03d" % i + b"." * 50) for i in range(20, 40)]
    await p.flush()
    with pytest.raises(MessageTooLargeError):
        big.result()
    assert [f.result().offset for f in futures] == list(range(40))
    assert [(v or b"")[:3] for v in values(fake, T0)] == [b"%03d" % i for i in range(40)]
    assert p.metrics()["record_errors"] == 1
    assert p.metrics()["buffer_used_bytes"] == 0


async def test_first_batches_of_a_fresh_partition_are_not_pipelined() -> None:
    # A broker without state for a producer accepts any first sequence: had a later batch
    # gone out while the first one was still unanswered, a retried first batch would land
    # after it.
    fake = FakeCluster({"t": 1})
    fake.delay = 0.005
    first = {"armed": True}

    def fault(node: int, tp: TopicPartition, req: ProduceRequest) -> Any:
        if first["armed"]:
            first["armed"] = False
            return 19  # NOT_ENOUGH_REPLICAS: retriable, not written
        return None

    fake.faults.append(fault)
    p = producer(fake, batch_size=100, linger_ms=0)
    futures = await send_all(p, 100)
    await p.flush()
    assert [f.result().offset for f in futures] == list(range(100))
    assert values(fake, T0) == [str(i).encode() for i in range(100)]


async def test_maybe_written_batch_is_given_up_after_twice_the_delivery_timeout() -> None:
    fake = FakeCluster({"t": 1})
    down = {"on": True}

    def fault(node: int, tp: TopicPartition, req: ProduceRequest) -> Any:
        return KafkaConnectionError("connection dropped") if down["on"] else None

    fake.faults.append(fault)
    p = producer(fake, delivery_timeout_ms=300, request_timeout_ms=200, linger_ms=0)
    future = await p.send("t", b"lost")
    with pytest.raises(KafkaTimeoutError, match="may or may not"):
        await asyncio.wait_for(future, 5)
    await p.flush(timeout=5)  # returns once the batch is given up for good
    assert p.metrics()["batches_pending"] == 0
    assert p.metrics()["epoch_bumps"] == 1
    down["on"] = False
    assert (await asyncio.wait_for(await p.send("t", b"next"), 5)).offset == 0
    assert fake.logs[T0].producer_epoch == 1


async def test_stop_delivers_what_is_buffered() -> None:
    fake = FakeCluster({"t": 1})
    p = producer(fake, linger_ms=60_000, delivery_timeout_ms=200_000)
    futures = await send_all(p, 10)
    await asyncio.sleep(0.05)
    assert not any(f.done() for f in futures)  # lingering
    await p.stop()
    assert [f.result().offset for f in futures] == list(range(10))


async def test_send_batch_blocked_on_memory_fails_its_future_not_the_call() -> None:
    fake = FakeCluster({"t": 1})
    fake.faults.append(lambda *a: NodeNotReadyError("down"))
    p = producer(fake, buffer_memory=1000, max_block_ms=50)
    future = await p.send_batch("t", [b"x" * 100] * 50)
    with pytest.raises(KafkaTimeoutError, match="max_block_ms"):
        await future


async def test_start_without_a_reachable_broker_raises_and_closes() -> None:
    p = Producer(bootstrap_servers="127.0.0.1:1", request_timeout_ms=2000, delivery_timeout_ms=5000)
    with pytest.raises(KafkaError):
        await p.start()
    with pytest.raises(ProducerClosedError):
        await p.send("t", b"x")


async def test_epoch_exhausted_gets_a_new_producer_id() -> None:
    fake = FakeCluster({"t": 1})
    p = producer(fake)
    idem = p._sender.idempotence
    idem.producer_id, idem.epoch = 5, 0x7FFF  # as if InitProducerId had answered so
    await (await p.send("t", b"a"))
    fake.faults.append(lambda node, tp, req: 87 if len(fake.requests) == 2 else None)
    with pytest.raises(InvalidRecordError):
        await (await p.send("t", b"b"))
    assert (await (await p.send("t", b"c"))).offset == 1
    assert (idem.producer_id, idem.epoch) == (1000, 0)
    assert fake.logs[T0].producer_id == 1000
    assert values(fake, T0) == [b"a", b"c"]
