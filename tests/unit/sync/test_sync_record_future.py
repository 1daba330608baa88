"""RecordFuture: a concurrent future whose lock and lists are created on first use."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import pytest

from kafkaio.errors import MessageTooLargeError, ProducerClosedError
from kafkaio.producer import RecordMetadata
from kafkaio.records import TimestampType
from kafkaio.sync.delivery import DeliveryThread
from kafkaio.sync.record_future import RecordFuture

MD = RecordMetadata("t", 1, 42, 0, TimestampType.CREATE_TIME, -1, 3)


def test_a_future_nobody_touched_resolves_without_a_lock() -> None:
    future = RecordFuture()
    future._finish(MD, None)
    assert "_lazy_condition" not in future.__dict__
    assert future.done() and not future.cancelled() and not future.running()
    assert future.result(0) == MD
    assert future.exception(0) is None


def test_it_cannot_be_cancelled_and_fails_with_the_error_unchanged() -> None:
    future = RecordFuture()
    assert future.running()
    assert not future.cancel()
    error = MessageTooLargeError("big")
    future.fail(error)
    future.fail(ValueError("ignored: already resolved"))
    with pytest.raises(MessageTooLargeError) as info:
        future.result(0)
    assert info.value is error
    assert future.exception(0) is error


def wait_into(future: RecordFuture, results: list[RecordMetadata]) -> None:
    results.append(future.result(5))


def test_waiters_in_other_threads_are_woken() -> None:
    for _ in range(200):  # many rounds: the waiter and the resolver race each time
        future = RecordFuture()
        results: list[RecordMetadata] = []
        waiter = threading.Thread(target=wait_into, args=(future, results))
        waiter.start()
        future._finish(MD, None)
        waiter.join(5)
        assert results == [MD]


def test_wait_as_completed_and_done_callbacks() -> None:
    futures = [RecordFuture() for _ in range(3)]
    plain: list[concurrent.futures.Future[RecordMetadata]] = list(futures)

    def resolve_all() -> None:
        for f in futures:
            f._finish(MD, None)

    called: list[RecordFuture] = []
    futures[0].add_done_callback(lambda f: called.append(f))  # type: ignore[arg-type]
    done, pending = concurrent.futures.wait(futures, timeout=0)
    assert not done and len(pending) == 3
    threading.Timer(0.05, resolve_all).start()
    assert len(list(concurrent.futures.as_completed(plain, timeout=5))) == 3
    assert called == [futures[0]]
    late: list[RecordFuture] = []
    futures[1].add_done_callback(lambda f: late.append(f))  # type: ignore[arg-type]
    assert late == [futures[1]]  # already done: called at once
    failing = RecordFuture()
    threading.Timer(0.05, failing.fail, args=(ValueError("x"),)).start()
    done, _ = concurrent.futures.wait([failing], timeout=5, return_when="FIRST_EXCEPTION")
    assert done == {failing}


def test_copies_the_asyncio_outcome_and_posts_the_delivery_callback() -> None:
    delivery = DeliveryThread("future-delivery")
    seen: list[tuple[RecordMetadata | None, BaseException | None]] = []
    loop = asyncio.new_event_loop()
    try:
        ok: asyncio.Future[RecordMetadata] = loop.create_future()
        ok.set_result(MD)
        bad: asyncio.Future[RecordMetadata] = loop.create_future()
        bad.set_exception(MessageTooLargeError("big"))
        gone: asyncio.Future[RecordMetadata] = loop.create_future()
        gone.cancel()
        futures = [RecordFuture(lambda m, e: seen.append((m, e)), delivery) for _ in range(3)]
        for future, source in zip(futures, (ok, bad, gone), strict=True):
            future(source)
    finally:
        loop.close()
    assert futures[0].result(0) == MD
    assert isinstance(futures[1].exception(0), MessageTooLargeError)
    assert isinstance(futures[2].exception(0), ProducerClosedError)
    assert delivery.barrier(5)
    delivery.stop(5)
    assert [m for m, _ in seen] == [MD, None, None]
    assert [type(e) for _, e in seen] == [type(None), MessageTooLargeError, ProducerClosedError]
