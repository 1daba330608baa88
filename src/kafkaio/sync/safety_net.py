"""Closing facades the application dropped (or left open at exit) without close()."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["close_when_abandoned"]

log = logging.getLogger("kafkaio.sync.safety_net")


def _abandoned(what: str, close: Callable[[], None]) -> None:
    log.warning("%s was not closed; closing it now (use close() or a with block)", what)
    try:
        close()
    except Exception:
        log.exception("closing the abandoned %s failed", what)


def close_when_abandoned(
    owner: object, close: Callable[[], None], what: str
) -> weakref.finalize[Any, Any]:
    """Call ``close`` when ``owner`` is garbage-collected or at interpreter exit.

    ``close`` must not reference ``owner`` (it would then never be collected). Unlike
    ``__del__``, a finalizer also runs at exit for objects still alive then, before the
    daemon loop threads are killed, so buffered records still get sent. Detach the returned
    finalizer in the owner's own close().
    """
    return weakref.finalize(owner, _abandoned, what, close)
