"""A private asyncio event loop running in a background thread.

The blocking facades of :mod:`kafkaio.sync` hand every operation to such a loop, where the
asyncio classes (the only implementation of Kafka's logic) run unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from kafkaio.errors import IllegalStateError, KafkaTimeoutError

__all__ = ["LoopThread", "check_timeout", "wait_future"]

log = logging.getLogger("kafkaio.sync.loop_thread")

T = TypeVar("T")

_names = itertools.count(1)

_STOP_GRACE = 10.0
"""Seconds stop() gives the tasks still running (cancelled) to finish before giving up."""


def check_timeout(timeout: float | None) -> float | None:
    """``timeout`` (seconds) validated: ``None`` or a non-negative number."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError(
            f"timeout must be None or a non-negative number of seconds, got {timeout!r}"
        )
    return float(timeout)


def wait_future(
    future: concurrent.futures.Future[T], timeout: float | None, what: str = "the operation"
) -> T:
    """The result of ``future``, waiting up to ``timeout`` seconds.

    Raises :class:`~kafkaio.errors.KafkaTimeoutError` on expiry (the future is then
    cancelled, which cancels the coroutine behind it), or the future's own exception
    unchanged. An interrupt (``KeyboardInterrupt``) while waiting also cancels the future.
    """
    timeout = check_timeout(timeout)
    try:
        # wait() rather than result(timeout): on 3.11 the builtin TimeoutError an operation
        # raises would be indistinguishable from the wait expiring.
        done, _ = concurrent.futures.wait((future,), timeout)
    except BaseException:
        future.cancel()
        raise
    if not done:
        future.cancel()
        raise KafkaTimeoutError(f"{what} did not complete within {timeout} s")
    return future.result()


class LoopThread:
    """One thread running one asyncio event loop, to which other threads submit work.

    Started by the constructor; :meth:`stop` (idempotent) cancels what still runs on the
    loop, closes it and joins the thread. The thread is a daemon so that a facade the
    application forgot to close cannot keep the interpreter alive; the facades close
    themselves at exit (``weakref.finalize``) while it still runs.

    A LoopThread may be shared by several facades (``loop_thread=``): they then share one
    thread, and whoever created it stops it after closing them.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"kafkaio-sync-{next(_names)}"
        self._loop = asyncio.new_event_loop()
        self._stopped = False
        self._lock = threading.Lock()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._main, args=(ready,), name=self.name, daemon=True
        )
        self._thread.start()
        ready.wait()
        log.debug("%s: event loop thread started", self.name)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop (use it only through the thread-safe methods below)."""
        return self._loop

    @property
    def thread(self) -> threading.Thread:
        """The thread running the loop."""
        return self._thread

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped

    def in_loop_thread(self) -> bool:
        """Whether the calling code runs on the loop's own thread."""
        return threading.get_ident() == self._thread.ident

    def _main(self, ready: threading.Event) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                self._cancel_leftovers()
                loop.run_until_complete(loop.shutdown_asyncgens())
            except BaseException:  # pragma: no cover - logged, the loop is closed anyway
                log.exception("%s: error while shutting the event loop down", self.name)
            finally:
                asyncio.set_event_loop(None)
                loop.close()
                log.debug("%s: event loop thread stopped", self.name)

    def _cancel_leftovers(self) -> None:
        loop = self._loop
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not tasks:
            return
        log.debug("%s: cancelling %d task(s) left on the loop", self.name, len(tasks))
        for task in tasks:
            task.cancel()
        gathered = asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(asyncio.TimeoutError):
            loop.run_until_complete(asyncio.wait_for(gathered, _STOP_GRACE))

    def _check_usable(self) -> None:
        if self._stopped:
            raise IllegalStateError(f"{self.name}: the event loop thread is stopped")

    def _check_blocking_allowed(self) -> None:
        if self.in_loop_thread():
            # Waiting here for the loop would wait for ourselves.
            raise IllegalStateError(
                "a blocking kafkaio.sync call was made on its own event loop thread (from a"
                " future's done-callback?); it would deadlock"
            )

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; returns a thread-safe future of its result."""
        try:
            self._check_usable()
        except BaseException:
            coro.close()
            raise
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(
        self, coro: Coroutine[Any, Any, T], timeout: float | None = None, what: str | None = None
    ) -> T:
        """Run ``coro`` on the loop and wait (up to ``timeout`` seconds) for its result.

        Raises :class:`~kafkaio.errors.KafkaTimeoutError` on expiry (the coroutine is
        cancelled) and the coroutine's own exceptions unchanged.
        """
        try:
            self._check_blocking_allowed()
            check_timeout(timeout)
        except BaseException:
            coro.close()
            raise
        name = what if what is not None else str(getattr(coro, "__qualname__", "the operation"))
        return wait_future(self.submit(coro), timeout, name)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Call the plain function ``fn(*args)`` on the loop thread and return its result.

        State the asyncio classes keep is only touched on their loop; this is how the
        facades reach their synchronous methods.
        """
        self._check_blocking_allowed()
        self._check_usable()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def invoke() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        self._loop.call_soon_threadsafe(invoke)
        return wait_future(future, timeout, str(getattr(fn, "__qualname__", "the call")))

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        """Schedule ``fn(*args)`` on the loop without waiting (safe from any thread)."""
        self._check_usable()
        self._loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the loop (tasks still running are cancelled) and join the thread.

        Idempotent. From the loop's own thread it only requests the stop (the thread
        ends once the current callback returns).
        """
        with self._lock:
            if self._stopped:
                first = False
            else:
                self._stopped = True
                first = True
        if first:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._loop.stop)
        if not self.in_loop_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s: the event loop thread did not stop in time", self.name)

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<LoopThread {self.name} {state}>"
