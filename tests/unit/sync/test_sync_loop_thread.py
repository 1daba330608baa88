"""The background event loop thread of kafkaio.sync: lifecycle, timeouts, errors."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from kafkaio.errors import IllegalStateError, KafkaTimeoutError, NotLeaderOrFollowerError
from kafkaio.sync.loop_thread import LoopThread, check_timeout


@pytest.fixture
def lt() -> Iterator[LoopThread]:
    thread = LoopThread("test-loop")
    yield thread
    thread.stop()


def test_start_and_stop_join_the_thread() -> None:
    thread = LoopThread("lifecycle")
    assert thread.thread.is_alive()
    assert thread.thread.daemon
    assert thread.thread in threading.enumerate()
    thread.stop()
    assert not thread.thread.is_alive()
    assert thread.loop.is_closed()
    thread.stop()  # idempotent


def test_run_returns_the_result_on_the_loop_thread(lt: LoopThread) -> None:
    async def where() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    assert lt.run(where()) == "test-loop"
    assert lt.call(lambda: threading.current_thread().name) == "test-loop"


def test_exceptions_propagate_unchanged(lt: LoopThread) -> None:
    error = NotLeaderOrFollowerError("moved")

    async def fail() -> None:
        raise error

    with pytest.raises(NotLeaderOrFollowerError) as info:
        lt.run(fail())
    assert info.value is error

    def fail_sync() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        lt.call(fail_sync)


def test_a_builtin_timeout_of_the_coroutine_is_not_taken_for_the_wait_expiring(
    lt: LoopThread,
) -> None:
    async def fail() -> None:
        raise TimeoutError("the operation's own")

    with pytest.raises(TimeoutError, match="the operation's own") as info:
        lt.run(fail(), timeout=5)
    assert not isinstance(info.value, KafkaTimeoutError)


def test_timeout_raises_kafka_timeout_and_cancels_the_coroutine(lt: LoopThread) -> None:
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    start = time.monotonic()
    with pytest.raises(KafkaTimeoutError, match=r"forever\(\) did not complete within 0.2 s"):
        lt.run(forever(), timeout=0.2, what="forever()")
    assert time.monotonic() - start < 5
    assert cancelled.wait(5)


def test_blocking_from_the_loop_thread_is_refused(lt: LoopThread) -> None:
    async def inner() -> int:
        return 1

    def nested() -> int:
        return lt.run(inner())

    with pytest.raises(IllegalStateError, match="deadlock"):
        lt.call(nested)


def test_stop_cancels_tasks_left_on_the_loop() -> None:
    thread = LoopThread("leftovers")
    cancelled = threading.Event()

    async def background() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    thread.submit(background())
    thread.call(lambda: None)  # the task has started
    thread.stop()
    assert cancelled.is_set()
    assert not thread.thread.is_alive()


def test_use_after_stop_raises() -> None:
    thread = LoopThread()
    thread.stop()

    async def nothing() -> None:
        return None

    with pytest.raises(IllegalStateError, match="stopped"):
        thread.run(nothing())
    with pytest.raises(IllegalStateError, match="stopped"):
        thread.call(lambda: None)


@pytest.mark.parametrize("bad", [-1, "1", True, float("-inf")])
def test_bad_timeouts_are_named(bad: object) -> None:
    with pytest.raises(ValueError, match="timeout must be"):
        check_timeout(bad)  # type: ignore[arg-type]
    assert check_timeout(None) is None
    assert check_timeout(2) == 2.0
