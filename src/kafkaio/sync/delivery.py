"""The thread that runs the sync producer's delivery callbacks."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from kafkaio.producer import RecordMetadata

__all__ = ["DeliveryCallback", "DeliveryThread"]

log = logging.getLogger("kafkaio.sync.delivery")

DeliveryCallback = Callable[[RecordMetadata | None, BaseException | None], object]
"""``on_delivery(metadata, None)`` after a record was written, ``(None, error)`` otherwise."""

_Item = (
    tuple[DeliveryCallback, RecordMetadata | None, BaseException | None] | threading.Event | None
)


class DeliveryThread:
    """Runs delivery callbacks one at a time, in the order the records completed.

    Callbacks never run on the event loop thread: a slow callback must not stall the
    network I/O of every record, and a callback calling back into the producer (``send``,
    ``flush``) must not deadlock. An exception a callback raises is logged and dropped.
    The thread starts on the first callback and ends with :meth:`stop`.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def in_delivery_thread(self) -> bool:
        """Whether the caller is a delivery callback."""
        thread = self._thread
        return thread is not None and threading.get_ident() == thread.ident

    def post(
        self,
        callback: DeliveryCallback,
        metadata: RecordMetadata | None,
        error: BaseException | None,
    ) -> None:
        """Queue one callback invocation (safe from any thread)."""
        if self._thread is None:
            self._start()
        self._queue.put((callback, metadata, error))

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
            self._thread.start()

    def _main(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            callback, metadata, error = item
            try:
                callback(metadata, error)
            except Exception:
                log.exception("a delivery callback raised (ignored): %r", callback)

    def barrier(self, timeout: float | None) -> bool:
        """Wait until every callback queued so far has run; ``False`` on timeout.

        Returns at once when called from a callback (waiting would wait for itself) or
        when no callback was ever queued.
        """
        if self._thread is None or self.in_delivery_thread() or not self._thread.is_alive():
            return True
        event = threading.Event()
        self._queue.put(event)
        return event.wait(timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Run the callbacks already queued, then end the thread (idempotent).

        Waits up to ``timeout`` seconds for that (``0``: returns at once).
        """
        with self._lock:
            self._stopped = True
            thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._queue.put(None)
        if timeout != 0 and not self.in_delivery_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s: delivery callbacks still running after close()", self._name)
