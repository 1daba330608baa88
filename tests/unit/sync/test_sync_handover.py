"""The record hand-over of the sync producer, against a fake asyncio producer."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator, Sequence
from typing import Any, cast

import pytest

from kafkaio.errors import KafkaTimeoutError, MessageTooLargeError, ProducerClosedError
from kafkaio.producer import Producer as AsyncProducer
from kafkaio.producer import RecordMetadata
from kafkaio.records import Header, TimestampType
from kafkaio.sync.delivery import DeliveryThread
from kafkaio.sync.handover import Handover
from kafkaio.sync.loop_thread import LoopThread


class FakeProducer:
    """Resolves each record with offset = arrival order; fails on demand."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.gate: asyncio.Event | None = None
        self.threads: set[str] = set()

    async def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        *,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Sequence[Header] | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        self.threads.add(threading.current_thread().name)
        if self.gate is not None:
            await self.gate.wait()
        if partition == 99:
            raise ValueError("partition 99 is out of range")
        future: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        if value == b"too-large":
            future.set_exception(MessageTooLargeError("too large"))
        else:
            offset = len(self.sent)
            future.set_result(
                RecordMetadata(topic, partition or 0, offset, 0, TimestampType.CREATE_TIME, -1, -1)
            )
        self.sent.append((topic, value, key, partition))
        return future


_deliveries: list[DeliveryThread] = []


@pytest.fixture
def lt() -> Iterator[LoopThread]:
    thread = LoopThread("handover-loop")
    yield thread
    thread.stop()
    while _deliveries:
        _deliveries.pop().stop(5)
    assert not [t for t in threading.enumerate() if t.name.startswith("handover-")]


def make(lt: LoopThread, fake: FakeProducer, max_pending: int = 1000) -> Handover:
    delivery = DeliveryThread("handover-delivery")
    _deliveries.append(delivery)
    handover = Handover(cast(AsyncProducer, fake), lt, delivery, max_pending)

    async def start() -> None:
        handover.start()

    lt.run(start())
    return handover


def put(handover: Handover, value: bytes, **kw: Any) -> concurrent.futures.Future[RecordMetadata]:
    return handover.put(
        "t",
        value,
        None,
        kw.get("partition"),
        None,
        None,
        kw.get("on_delivery"),
        kw.get("timeout", 5.0),
    )


def test_records_arrive_in_order_from_several_threads(lt: LoopThread) -> None:
    fake = FakeProducer()
    handover = make(lt, fake, max_pending=64)
    futures: dict[bytes, concurrent.futures.Future[RecordMetadata]] = {}

    def produce(prefix: str) -> None:
        for i in range(2000):
            value = f"{prefix}-{i}".encode()
            futures[value] = put(handover, value)

    threads = [threading.Thread(target=produce, args=(p,)) for p in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    offsets = {v: f.result(10).offset for v, f in futures.items()}
    assert len(offsets) == 6000
    for prefix in "abc":
        mine = [offsets[f"{prefix}-{i}".encode()] for i in range(2000)]
        assert mine == sorted(mine)  # each thread's records keep their order
    assert fake.threads == {"handover-loop"}
    assert len(handover) == 0


def test_errors_reach_the_future_and_the_callback_unchanged(lt: LoopThread) -> None:
    fake = FakeProducer()
    handover = make(lt, fake)
    calls: list[tuple[RecordMetadata | None, BaseException | None]] = []
    done = threading.Event()

    def on_delivery(md: RecordMetadata | None, error: BaseException | None) -> None:
        calls.append((md, error))
        if len(calls) == 3:
            done.set()

    raised = put(handover, b"x", partition=99, on_delivery=on_delivery)
    failed = put(handover, b"too-large", on_delivery=on_delivery)
    ok = put(handover, b"fine", on_delivery=on_delivery)
    with pytest.raises(ValueError, match="partition 99"):
        raised.result(5)
    with pytest.raises(MessageTooLargeError):
        failed.result(5)
    assert ok.result(5).topic == "t"
    assert done.wait(5)
    assert isinstance(calls[0][1], ValueError) and calls[0][0] is None
    assert isinstance(calls[1][1], MessageTooLargeError)
    assert calls[2][0] == ok.result() and calls[2][1] is None
    assert not ok.cancel()  # a handed-over record cannot be withdrawn


def test_a_full_queue_blocks_then_times_out(lt: LoopThread) -> None:
    fake = FakeProducer()
    fake.gate = lt.call(asyncio.Event)  # the producer accepts nothing: its buffer is full
    handover = make(lt, fake, max_pending=10)
    futures = [put(handover, b"v") for _ in range(11)]  # one taken by the stuck drain
    with pytest.raises(KafkaTimeoutError, match="max_block_ms"):
        put(handover, b"v", timeout=0.2)
    lt.call(fake.gate.set)
    assert [f.result(5).offset for f in futures] == list(range(11))
    assert put(handover, b"v").result(5).offset == 11


def test_control_steps_run_in_order_with_records(lt: LoopThread) -> None:
    fake = FakeProducer()
    handover = make(lt, fake)
    seen: list[int] = []

    async def step() -> str:
        seen.append(len(fake.sent))
        return "done"

    for _ in range(100):
        put(handover, b"v")
    assert handover.put_control(step).result(5) == "done"
    assert seen == [100]
    assert handover.barrier().result(5) is None


def test_stop_fails_what_is_still_queued(lt: LoopThread) -> None:
    fake = FakeProducer()
    fake.gate = lt.call(asyncio.Event)
    handover = make(lt, fake)
    stuck = put(handover, b"first")
    queued = [put(handover, b"v") for _ in range(5)]
    handover.close()
    with pytest.raises(ProducerClosedError):
        put(handover, b"late")
    lt.run(handover.stop())
    for future in [stuck, *queued]:
        with pytest.raises(ProducerClosedError):
            future.result(5)
