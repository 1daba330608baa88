"""The producer's side of the native send path (``records/_native_producer.c``).

``Producer.send`` (Python) is the reference. When the extension is built, a started producer
without serializers or a transaction routes ``send`` through a native ``SendCore`` that does
the common case in one C call -- bytes or ``None`` key and value, no headers, the topic's
metadata cached, buffer memory free -- and hands every other call, untouched, to the Python
method. Records then get a :data:`RecordFuture`: a future in asyncio's sense (tasks, gather,
wait and wait_for take it like ``asyncio.Future``) that costs one small object per record and
is resolved by the batch in C.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kafkaio.records.v2 import _native

if TYPE_CHECKING:
    from kafkaio.producer.metadata import RecordMetadata

__all__ = ["NATIVE_SEND", "SendCoreLike", "make_send_core", "new_record_future"]

NATIVE_SEND = _native is not None
"""Whether ``send`` can take the native path (the extension is built and enabled)."""

SendCoreLike = Any
"""The native ``SendCore`` (untyped: a C type; see ``_native_producer.c``)."""


def new_record_future(loop: asyncio.AbstractEventLoop) -> asyncio.Future[RecordMetadata]:
    """A record's future: the native ``RecordFuture`` when built, else an ``asyncio.Future``."""
    if _native is not None:
        future: asyncio.Future[RecordMetadata] = _native.RecordFuture(loop)
        return future
    return loop.create_future()


def make_send_core(
    *,
    slow_send: Callable[..., Any],
    loop: asyncio.AbstractEventLoop,
    topic_cache: dict[str, tuple[int, list[int]]],
    tps: dict[str, dict[int, Any]],
    queues: dict[Any, Any],
    pool: Any,
    place: Callable[..., int],
    sticky: dict[str, list[int]] | None,
    sticky_batch_size: int,
    hash_keys: bool,
    append: Callable[..., bool],
    make_tp: Callable[[str, int], Any],
    max_request_size: int,
    record_overhead: int,
    header_slack: int,
) -> SendCoreLike | None:
    """The native fast path over the producer's own state, or ``None`` without the extension.

    ``sticky`` is the built-in partitioner's table (``None`` for any other partitioner: then
    ``place`` decides every record), ``hash_keys`` whether keys go by murmur2 as the built-in
    partitioner places them; the core shares these objects, it copies nothing.
    """
    if _native is None:
        return None
    return _native.SendCore(
        slow_send=slow_send,
        loop=loop,
        topic_cache=topic_cache,
        tps=tps,
        queues=queues,
        pool=pool,
        place=place,
        sticky=sticky,
        append=append,
        make_tp=make_tp,
        sticky_batch_size=sticky_batch_size,
        hash_keys=hash_keys,
        max_request_size=max_request_size,
        record_overhead=record_overhead,
        header_slack=header_slack,
    )
