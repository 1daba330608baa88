"""Hands records from application threads to the asyncio producer in batches.

Submitting one coroutine per record (``run_coroutine_threadsafe``) costs a task, a
thread-safe future and a self-pipe write per record. Here callers append to a deque and
wake the loop only when the single draining task is idle; under load the task drains
thousands of records per wake-up, calling the asyncio :meth:`Producer.send` for each.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from kafkaio.errors import KafkaTimeoutError, ProducerClosedError
from kafkaio.producer import Producer as AsyncProducer
from kafkaio.records import Header
from kafkaio.sync.delivery import DeliveryCallback, DeliveryThread
from kafkaio.sync.loop_thread import LoopThread
from kafkaio.sync.record_future import RecordFuture

__all__ = ["Handover"]

log = logging.getLogger("kafkaio.sync.handover")

# A record: (topic, value, key, partition, timestamp_ms, headers, future).
# A control step: (None, coroutine factory, future), run in order with the records.
_Record = tuple[
    str,
    bytes | None,
    bytes | None,
    int | None,
    int | None,
    Sequence[Header] | None,
    RecordFuture,
]
_Control = tuple[None, Callable[[], Coroutine[Any, Any, Any]], concurrent.futures.Future[Any]]


class Handover:
    """A thread-safe queue of records drained into an asyncio producer by one task.

    Order is kept: records (and control steps such as ``begin_transaction``) reach the
    asyncio producer in the order the application threads enqueued them. At most
    ``max_pending`` records wait in the queue; :meth:`put` blocks beyond that (the
    asyncio producer itself blocks the drain once ``buffer_memory`` is used up).
    """

    def __init__(
        self,
        producer: AsyncProducer,
        loop_thread: LoopThread,
        delivery: DeliveryThread,
        max_pending: int,
    ) -> None:
        self._producer = producer
        self._loop_thread = loop_thread
        self._delivery = delivery
        self._queue: deque[_Record | _Control] = deque()
        self._max_pending = max_pending
        # Deep hysteresis: a caller blocked on a full queue sleeps until the loop thread
        # has drained most of it alone. Both threads running Python at once mostly trade
        # the GIL (each socket call of the loop thread then costs it a switch interval).
        self._low_water = max(1, max_pending // 16)
        self._space = threading.Condition()
        self._waiting = 0
        self._armed = False
        """A wake-up is scheduled or the drain runs (set by callers, cleared by the drain)."""
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        """Create the draining task (on the loop thread)."""
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._drain(), name="kafkaio-sync-send")
        self._task.add_done_callback(_drain_ended)

    @property
    def started(self) -> bool:
        """Whether the draining task was created."""
        return self._task is not None

    def __len__(self) -> int:
        return len(self._queue)

    # ------------------------------------------------------------------ application threads

    def put(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        partition: int | None,
        timestamp_ms: int | None,
        headers: Sequence[Header] | None,
        on_delivery: DeliveryCallback | None,
        timeout: float,
    ) -> RecordFuture:
        """Enqueue one record; returns its future (resolved on the loop thread)."""
        if self._closed:
            raise ProducerClosedError("the producer is closed; records cannot be sent")
        if len(self._queue) >= self._max_pending and not self._loop_thread.in_loop_thread():
            # (On the loop thread itself, e.g. from a future's done-callback, waiting
            # would stop the very drain it waits for: the record is queued regardless.)
            self._wait_for_space(timeout)
        future = RecordFuture(on_delivery, self._delivery)
        self._queue.append((topic, value, key, partition, timestamp_ms, headers, future))
        if not self._armed:
            self._arm()
        return future

    def put_control(
        self, factory: Callable[[], Coroutine[Any, Any, Any]]
    ) -> concurrent.futures.Future[Any]:
        """Enqueue a step run on the loop after every record enqueued before it."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        self._queue.append((None, factory, future))
        if not self._armed:
            self._arm()
        return future

    def barrier(self) -> concurrent.futures.Future[Any]:
        """A future resolved once every record enqueued so far was handed to the producer."""
        return self.put_control(_nothing)

    def _arm(self) -> None:
        self._armed = True
        wake = self._wake
        if wake is not None:
            self._loop_thread.call_soon(wake.set)

    def _wait_for_space(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._space:
            self._waiting += 1
            try:
                while len(self._queue) >= self._max_pending:
                    if self._closed:
                        raise ProducerClosedError("the producer was closed while send() waited")
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise KafkaTimeoutError(
                            f"send() waited {timeout} s for room in the producer's queue"
                            " (max_block_ms)"
                        )
                    # Bounded waits: a missed notification costs at most this much.
                    self._space.wait(min(remaining, 0.05))
            finally:
                self._waiting -= 1

    # ------------------------------------------------------------------ loop thread

    async def _drain(self) -> None:
        wake = self._wake
        assert wake is not None
        queue = self._queue
        popleft = queue.popleft
        send = self._producer.send
        # One context for every done-callback (the default copies the current one per call).
        context = contextvars.copy_context()
        while True:
            await wake.wait()
            wake.clear()
            while True:
                while queue:
                    item = popleft()
                    if self._waiting and len(queue) < self._low_water:
                        with self._space:
                            self._space.notify_all()
                    if len(item) == 3:
                        await self._run_control(item)
                        continue
                    topic, value, key, partition, timestamp_ms, headers, future = item
                    try:
                        record_future = await send(
                            topic,
                            value,
                            key,
                            partition=partition,
                            timestamp_ms=timestamp_ms,
                            headers=headers,
                        )
                    except asyncio.CancelledError:
                        future.fail(ProducerClosedError("the producer was closed"))
                        raise
                    except BaseException as exc:
                        future.fail(exc)
                        continue
                    record_future.add_done_callback(future, context=context)
                # Disarm, then look again: a caller that saw the flag still set relies on
                # this pass to pick up its record.
                self._armed = False
                if not queue:
                    break
                self._armed = True

    async def _run_control(self, item: _Control) -> None:
        _, factory, future = item
        try:
            result = await factory()
        except asyncio.CancelledError:
            future.set_exception(ProducerClosedError("the producer was closed"))
            raise
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)

    # ------------------------------------------------------------------ shutdown

    def close(self) -> None:
        """Refuse further records (records already queued are still handed over)."""
        self._closed = True
        with self._space:
            self._space.notify_all()

    async def stop(self) -> None:
        """End the draining task; records still queued fail with ProducerClosedError."""
        self._closed = True
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.fail_queued()

    def fail_queued(self) -> None:
        """Fail every record and step still queued (the loop is going away)."""
        error = ProducerClosedError("the producer was closed before the record was sent")
        while self._queue:
            item = self._queue.popleft()
            if len(item) == 3:
                if not item[2].done():
                    item[2].set_exception(error)
            else:
                item[6].fail(error)
        with self._space:
            self._space.notify_all()


def _drain_ended(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        # Records would wait forever: say why (a bug, since every record's errors are caught).
        log.error("the sync producer's hand-over task died", exc_info=task.exception())


async def _nothing() -> None:
    return None
