"""Lifecycle of the blocking admin client; the operations are generated (``admin.py``)."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from kafkaio.admin import Admin as AsyncAdmin
from kafkaio.errors import IllegalStateError, KafkaTimeoutError
from kafkaio.sync.loop_thread import LoopThread, check_timeout
from kafkaio.sync.safety_net import close_when_abandoned

__all__ = ["AdminBase"]

log = logging.getLogger("kafkaio.sync.admin")

T = TypeVar("T")
A = TypeVar("A", bound="AdminBase")

_CLOSE_TIMEOUT = 30.0


_FAILED_START_CLOSE = 10.0
"""Seconds to release what a constructor that failed had opened."""


class _AdminCore:
    """The loop side of one facade; holds no reference to the facade (see safety_net)."""

    def __init__(self, loop_thread: LoopThread, owns_loop: bool) -> None:
        self.loop_thread = loop_thread
        self.owns_loop = owns_loop
        self.admin: AsyncAdmin | None = None
        self.closed = False

    async def start(self, options: dict[str, Any]) -> None:
        admin = self.admin = AsyncAdmin(**options)
        try:
            await admin.start()
        except BaseException:
            await admin.close()
            raise

    def close(self, timeout: float | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        lt = self.loop_thread
        admin = self.admin
        if lt.in_loop_thread():
            if admin is not None and not lt.stopped:
                task = lt.loop.create_task(admin.close())
                if self.owns_loop:
                    task.add_done_callback(self._stopped_on_loop)
            return
        try:
            if admin is not None and not lt.stopped:
                try:
                    lt.run(admin.close(), _CLOSE_TIMEOUT if timeout is None else timeout)
                except KafkaTimeoutError:
                    log.warning("close(): the admin client did not close in time")
        finally:
            if self.owns_loop:
                lt.stop()

    def _stopped_on_loop(self, _task: object) -> None:
        self.loop_thread.stop()


class AdminBase:
    """Construction, lifecycle and the call plumbing of :class:`kafkaio.sync.Admin`."""

    def __init__(self, *, loop_thread: LoopThread | None = None, **options: Any) -> None:
        owns = loop_thread is None
        lt = LoopThread("kafkaio-sync-admin") if loop_thread is None else loop_thread
        core = self._core = _AdminCore(lt, owns)
        try:
            lt.run(core.start(options), None, "Admin start")
        except BaseException:
            core.close(_FAILED_START_CLOSE)
            raise
        assert core.admin is not None
        self._admin = core.admin
        self._finalizer = close_when_abandoned(self, core.close, repr(self))

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None, what: str) -> T:
        if self._core.closed:
            coro.close()
            raise IllegalStateError("the admin client is closed")
        return self._core.loop_thread.run(coro, timeout, what)

    @property
    def loop_thread(self) -> LoopThread:
        """The event loop thread the admin client runs on."""
        return self._core.loop_thread

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._core.closed

    def close(self, timeout: float | None = None) -> None:
        """Close the connections and stop the background thread (idempotent)."""
        check_timeout(timeout)
        self._finalizer.detach()
        self._core.close(timeout)

    def __enter__(self: A) -> A:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._core.closed else "open"
        return f"<kafkaio.sync.Admin {state}>"
