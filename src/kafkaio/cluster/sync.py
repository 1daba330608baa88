"""The background metadata synchronizer of the cluster client.

One task refreshes metadata every ``metadata_max_age_ms``, or at once when
:meth:`MetadataSynchronizer.force` is called. Callers of ``force()`` get a shielded future
that resolves (``True`` on success, ``False`` when no broker answered) when a refresh that
*started after* their call completes, so a caller reacting to a broken connection never
gets the answer of a refresh that was already under way. When the tracked topic set
changes during a refresh, the refresh runs again before the waiting futures resolve.
Failed refreshes are retried with exponential back-off (``retry_backoff_ms`` doubling up
to ``retry_backoff_max_ms``) instead of waiting a whole ``metadata_max_age_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from kafkaio.errors import KafkaConnectionError

__all__ = ["MetadataSynchronizer"]

log = logging.getLogger("kafkaio.cluster")


class MetadataSynchronizer:
    """Runs ``update()`` periodically and on demand."""

    def __init__(
        self,
        update: Callable[[], Awaitable[bool]],
        topics_version: Callable[[], int],
        *,
        max_age_ms: int,
        retry_backoff_ms: int,
        retry_backoff_max_ms: int,
    ) -> None:
        self._update = update
        self._topics_version = topics_version
        self._max_age = max_age_ms / 1000
        self._backoff = retry_backoff_ms / 1000
        self._backoff_max = max(retry_backoff_max_ms, retry_backoff_ms) / 1000
        self._wakeup = asyncio.Event()
        self._pending: asyncio.Future[bool] | None = None
        self._current: asyncio.Future[bool] | None = None
        self._task: asyncio.Task[None] | None = None
        self._failures = 0

    @property
    def running(self) -> bool:
        """Whether the background task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the background task (idempotent)."""
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="kafkaio-metadata-synchronizer"
        )

    def force(self) -> asyncio.Future[bool]:
        """Wake the synchronizer; the returned future resolves when a fresh refresh is done."""
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_future()
            self._pending.add_done_callback(_consume)
        self._wakeup.set()
        return asyncio.shield(self._pending)

    async def stop(self) -> None:
        """Stop the task; futures still waiting fail with KafkaConnectionError."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for fut in (self._current, self._pending):
            if fut is not None and not fut.done():
                fut.set_exception(KafkaConnectionError("the cluster client is closed"))
        self._current = self._pending = None

    def _delay(self) -> float:
        if self._failures == 0:
            return self._max_age
        backoff: float = self._backoff * 2.0 ** (self._failures - 1)
        return min(backoff, self._backoff_max, self._max_age)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._wakeup.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._delay())
            self._wakeup.clear()
            current = self._pending
            if current is None:
                current = loop.create_future()
                current.add_done_callback(_consume)
            self._pending = None
            self._current = current
            version = self._topics_version()
            try:
                ok = await self._update()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("metadata refresh failed unexpectedly")
                ok = False
            self._current = None
            if self._topics_version() != version:
                # Topics were added while the request was in flight: refresh again before
                # telling anyone that metadata is up to date.
                if self._pending is None:
                    self._pending = current
                else:
                    _chain(self._pending, current)
                self._wakeup.set()
                continue
            self._failures = 0 if ok else self._failures + 1
            if not current.done():
                current.set_result(ok)


def _consume(fut: asyncio.Future[bool]) -> None:
    if not fut.cancelled():
        fut.exception()


def _chain(source: asyncio.Future[bool], target: asyncio.Future[bool]) -> None:
    def copy(src: asyncio.Future[bool]) -> None:
        if target.done():
            return
        if src.cancelled():
            target.cancel()
        elif src.exception() is not None:
            target.set_exception(src.exception())  # type: ignore[arg-type]
        else:
            target.set_result(src.result())

    source.add_done_callback(copy)
