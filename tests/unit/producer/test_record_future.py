"""RecordFuture (the native per-record future): asyncio's Future protocol, lazily built
metadata, and no leaked references. The asyncio.Future it stands in for is the reference."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from typing import Any

import pytest

from kafkaio.producer.metadata import RecordMetadata
from kafkaio.records import TimestampType
from kafkaio.records.v2 import _native

pytestmark = pytest.mark.skipif(_native is None, reason="the native extension is not in use")


def make(loop: asyncio.AbstractEventLoop | None = None) -> Any:
    assert _native is not None
    return _native.RecordFuture(loop or asyncio.get_running_loop())


def complete(futures: list[Any], base_offset: int, log_append_time: int = -1) -> None:
    """Resolve ``futures`` as one produced batch would (the accumulator's flat entries)."""
    assert _native is not None
    entries: list[Any] = []
    for i, future in enumerate(futures):
        entries += [future, -1, 1_000 + i, 3, 100 + i]
    _native.complete_entries(
        entries,
        RecordMetadata,
        "topic",
        2,
        base_offset,
        log_append_time,
        TimestampType.LOG_APPEND_TIME if log_append_time >= 0 else TimestampType.CREATE_TIME,
        7,
    )


async def test_pending_then_resolved_by_a_batch_with_lazy_metadata() -> None:
    futures = [make() for _ in range(3)]
    f = futures[1]
    assert asyncio.isfuture(f) and not f.done() and not f.cancelled()
    with pytest.raises(asyncio.InvalidStateError):
        f.result()
    with pytest.raises(asyncio.InvalidStateError):
        f.exception()
    complete(futures, base_offset=40)
    assert f.done() and f.exception() is None
    expected = RecordMetadata("topic", 2, 41, 1_001, TimestampType.CREATE_TIME, 3, 101, 7)
    assert f.result() == expected
    assert type(f.result()) is RecordMetadata
    assert f.result() is f.result()  # built once
    assert await futures[2] == expected._replace(
        offset=42, timestamp=1_002, serialized_value_size=102
    )
    assert "finished" in repr(f) and "offset=41" in repr(f)


async def test_log_append_time_and_unknown_offset() -> None:
    futures = [make(), make()]
    complete(futures, base_offset=-1, log_append_time=5_000)
    md = futures[1].result()
    assert (md.offset, md.timestamp, md.timestamp_type) == (
        -1,
        5_000,
        TimestampType.LOG_APPEND_TIME,
    )


async def test_await_waits_for_the_outcome_and_tasks_wait_on_it() -> None:
    f = make()
    task = asyncio.ensure_future(_await(f))
    await asyncio.sleep(0)
    assert not task.done()
    complete([f], base_offset=9)
    assert (await task).offset == 9


async def _await(awaitable: Any) -> Any:
    return await awaitable


async def test_callbacks_get_the_future_on_the_loop_in_order() -> None:
    f = make()
    seen: list[tuple[str, Any]] = []
    f.add_done_callback(lambda fut: seen.append(("a", fut)))
    f.add_done_callback(lambda fut: seen.append(("b", fut)))
    removed_cb = seen.append
    f.add_done_callback(removed_cb)
    assert f.remove_done_callback(removed_cb) == 1
    assert f.remove_done_callback(removed_cb) == 0
    complete([f], base_offset=0)
    assert seen == []  # scheduled, not run inline (asyncio's rule)
    await asyncio.sleep(0)
    assert seen == [("a", f), ("b", f)]
    f.add_done_callback(lambda fut: seen.append(("late", fut)))
    await asyncio.sleep(0)
    assert seen[-1] == ("late", f)


async def test_gather_wait_and_wait_for_take_it_as_a_future() -> None:
    futures = [make() for _ in range(4)]
    gathered = asyncio.gather(*futures)
    complete(futures, base_offset=100)
    assert [md.offset for md in await gathered] == [100, 101, 102, 103]
    g = make()
    done, pending = await asyncio.wait([g], timeout=0.01)
    assert not done and pending == {g}
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(g, 0.01)
    assert g.cancelled()  # wait_for cancels what it gave up on, as for asyncio.Future


async def test_failure_is_raised_by_result_and_await() -> None:
    f = make()
    error = ValueError("broker said no")
    f.set_exception(error)
    assert f.exception() is error
    with pytest.raises(ValueError, match="broker said no"):
        f.result()
    with pytest.raises(ValueError, match="broker said no"):
        await f
    g = make()
    g.set_exception(KeyError)  # a class is instantiated, as asyncio does
    assert isinstance(g.exception(), KeyError)
    with pytest.raises(asyncio.InvalidStateError):
        g.set_result(None)


async def test_cancel_ends_waiting_and_the_batch_outcome_is_then_ignored() -> None:
    f = make()
    waiter = asyncio.ensure_future(_await(f))
    await asyncio.sleep(0)
    assert f.cancel("stop") and not f.cancel()
    with pytest.raises(asyncio.CancelledError):
        f.result()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    complete([f], base_offset=1)  # no error: the record's outcome is just not reported
    assert f.cancelled()


async def test_a_task_cancelled_while_awaiting_cancels_the_future() -> None:
    f = make()
    task = asyncio.ensure_future(_await(f))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert f.cancelled()


async def test_an_unretrieved_failure_is_reported_to_the_loop() -> None:
    loop = asyncio.get_running_loop()
    reports: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    try:
        f = make()
        f.set_exception(RuntimeError("lost"))
        del f
        gc.collect()
        retrieved = make()
        retrieved.set_exception(RuntimeError("seen"))
        retrieved.exception()
        del retrieved
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert [str(r["exception"]) for r in reports] == ["lost"]
    assert reports[0]["message"] == "Future exception was never retrieved"


async def test_no_references_leak_over_many_futures() -> None:
    def cycle() -> None:
        futures = [make() for _ in range(200)]
        complete(futures[:100], base_offset=0)
        for f in futures[:50]:
            f.result()
        for f in futures[100:150]:
            f.add_done_callback(lambda _f: None)
            f.set_exception(ValueError("x"))
            f.exception()
        for f in futures[150:]:
            f.cancel()

    for _ in range(20):
        cycle()
    await asyncio.sleep(0)  # the scheduled callbacks run
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            cycle()
            await asyncio.sleep(0)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 40,000 futures went through; a leak of even one object each would be > 1 MB.
    assert grown < 200_000, grown


def test_constructing_needs_a_loop() -> None:
    assert _native is not None
    with pytest.raises(TypeError):
        _native.RecordFuture()
