"""The future :meth:`kafkaio.sync.Producer.send` returns: a cheaper concurrent future."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from concurrent.futures._base import FINISHED, RUNNING
from typing import Any

from kafkaio.errors import ProducerClosedError
from kafkaio.producer import RecordMetadata
from kafkaio.sync.delivery import DeliveryCallback, DeliveryThread

__all__ = ["RecordFuture"]


class RecordFuture(concurrent.futures.Future[RecordMetadata]):
    """A :class:`concurrent.futures.Future` of one record's :class:`RecordMetadata`.

    It behaves as any concurrent future (``result``, ``exception``, ``add_done_callback``,
    ``concurrent.futures.wait``...). It is running from the start: a record handed to the
    producer cannot be withdrawn, so :meth:`cancel` returns ``False``.

    Why a subclass: a plain Future builds a Condition and two lists up front, and takes
    the lock to resolve. At hundreds of thousands of records per second those objects
    dominate the cost (mostly through the garbage collector), and most futures are never
    waited on. Here they are created on first use; resolving a future nobody touched is
    three attribute writes. A waiter that arrives concurrently is still woken: the state
    is written before the condition is looked for, and a waiter creates the condition
    before it reads the state.
    """

    def __init__(
        self, on_delivery: DeliveryCallback | None = None, delivery: DeliveryThread | None = None
    ) -> None:
        # Not calling Future.__init__ on purpose: its condition and lists are lazy here.
        self._state = RUNNING
        self._result: RecordMetadata | None = None
        self._exception: BaseException | None = None
        if on_delivery is not None:
            self._delivery = (on_delivery, delivery)

    # The base class reads these three as plain attributes.

    @property
    def _condition(self) -> threading.Condition:  # type: ignore[override]
        fields = self.__dict__
        condition: threading.Condition | None = fields.get("_lazy_condition")
        if condition is None:
            # setdefault is atomic: two threads racing here share the winner's condition.
            condition = fields.setdefault("_lazy_condition", threading.Condition())
        return condition

    @property
    def _waiters(self) -> list[Any]:  # type: ignore[override]
        waiters: list[Any] = self.__dict__.setdefault("_lazy_waiters", [])
        return waiters

    @property
    def _done_callbacks(self) -> list[Any]:
        callbacks: list[Any] = self.__dict__.setdefault("_lazy_done_callbacks", [])
        return callbacks

    def _finish(self, result: RecordMetadata | None, error: BaseException | None) -> None:
        """Resolve (once, from the producer's loop thread)."""
        self._result = result
        self._exception = error
        self._state = FINISHED
        condition: threading.Condition | None = self.__dict__.get("_lazy_condition")
        if condition is not None:
            with condition:
                for waiter in self.__dict__.get("_lazy_waiters", ()):
                    if error is None:
                        waiter.add_result(self)
                    else:
                        waiter.add_exception(self)
                condition.notify_all()
            self._invoke_callbacks()  # type: ignore[attr-defined]
        delivery = self.__dict__.get("_delivery")
        if delivery is not None:
            callback, thread = delivery
            if thread is not None:
                thread.post(callback, result, error)

    def fail(self, error: BaseException) -> None:
        """Fail the record unless it is resolved already."""
        if self._state != FINISHED:
            self._finish(None, error)

    def __call__(self, record_future: asyncio.Future[RecordMetadata]) -> None:
        """Done-callback of the asyncio producer's future: copy its outcome."""
        if record_future.cancelled():
            self._finish(None, ProducerClosedError("the record was cancelled"))
            return
        error = record_future.exception()
        if error is not None:
            self._finish(None, error)
        else:
            self._finish(record_future.result(), None)
