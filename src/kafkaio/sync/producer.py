"""The blocking producer: :class:`kafkaio.Producer` driven from a background event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from kafkaio.cluster import TopicPartition
from kafkaio.errors import KafkaTimeoutError, ProducerClosedError
from kafkaio.producer import ConsumerGroupMetadata, RecordMetadata
from kafkaio.producer import Producer as AsyncProducer
from kafkaio.producer.options import ProducerOptions, Serializer
from kafkaio.records import Header
from kafkaio.structs import OffsetAndMetadata
from kafkaio.sync.delivery import DeliveryCallback, DeliveryThread
from kafkaio.sync.handover import Handover
from kafkaio.sync.loop_thread import LoopThread, check_timeout, wait_future
from kafkaio.sync.record_future import RecordFuture
from kafkaio.sync.safety_net import close_when_abandoned

__all__ = ["Producer"]

log = logging.getLogger("kafkaio.sync.producer")

_ABANDONED_CLOSE_TIMEOUT = 30.0
"""How long the safety net (garbage collection, interpreter exit) lets buffered records go."""

_CLOSE_GRACE = 5.0
"""Seconds close() waits beyond its timeout for the asyncio producer to finish closing."""


def _to_bytes(value: object, what: str, serializer: Serializer | None) -> bytes | None:
    if serializer is not None:
        value = serializer(value)
    if value is None or type(value) is bytes:
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    origin = f"{what}_serializer returned" if serializer is not None else f"{what} is"
    raise TypeError(
        f"{what} must be bytes or None (or set {what}_serializer): {origin} {type(value).__name__}"
    )


_FAILED_START_CLOSE = 10.0
"""Seconds to release what a constructor that failed had opened."""


class _ProducerCore:
    """What the loop side needs; holds no reference to the facade (see safety_net)."""

    def __init__(self, loop_thread: LoopThread, owns_loop: bool, max_pending: int) -> None:
        self.loop_thread = loop_thread
        self.owns_loop = owns_loop
        self.delivery = DeliveryThread(f"{loop_thread.name}-delivery")
        self.max_pending = max_pending
        self.producer: AsyncProducer | None = None
        self.handover: Handover | None = None
        self.closed = False

    async def start(self, options: dict[str, Any]) -> None:
        producer = self.producer = AsyncProducer(**options)
        self.handover = Handover(producer, self.loop_thread, self.delivery, self.max_pending)
        await producer.start()
        self.handover.start()

    async def stop(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            handover = self.handover
            if handover is not None and handover.started:
                # Records still queued go to the asyncio producer first, so that its
                # stop() sends them too.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.wrap_future(handover.barrier()), timeout)
            if self.producer is not None:
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                await self.producer.stop(remaining)
        finally:
            if self.handover is not None:
                await self.handover.stop()

    def close(self, timeout: float | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        lt = self.loop_thread
        if self.handover is not None:
            self.handover.close()
        if lt.in_loop_thread():
            # Garbage-collected on the loop itself: nothing may block here.
            if not lt.stopped:
                lt.loop.create_task(self.stop(timeout)).add_done_callback(self._stopped_on_loop)
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            if not lt.stopped:
                with contextlib.suppress(KafkaTimeoutError):
                    lt.run(
                        self.stop(timeout),
                        None if timeout is None else timeout + _CLOSE_GRACE,
                        "Producer.close()",
                    )
                # Done-callbacks of the last records were scheduled before this no-op runs.
                lt.call(_nothing)
        finally:
            self.delivery.stop(_remaining(deadline))
            if self.owns_loop:
                lt.stop()
            if self.handover is not None:
                self.handover.fail_queued()

    def _stopped_on_loop(self, _task: object) -> None:
        self.delivery.stop(0)
        if self.owns_loop:
            self.loop_thread.stop()


def _copy_outcome(
    target: concurrent.futures.Future[list[RecordMetadata]],
    source: asyncio.Future[list[RecordMetadata]],
) -> None:
    if source.cancelled():
        target.set_exception(ProducerClosedError("the records were cancelled"))
    elif source.exception() is not None:
        target.set_exception(source.exception())
    else:
        target.set_result(source.result())


def _fail_if_failed(
    target: concurrent.futures.Future[list[RecordMetadata]],
    step: concurrent.futures.Future[Any],
) -> None:
    # send_batch() itself raised (bad arguments, closed producer): nothing was queued.
    error = step.exception()
    if error is not None and not target.done():
        target.set_exception(error)


def _nothing() -> None:
    return None


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


class Producer:
    """A blocking Kafka producer for code without asyncio (a facade of :class:`kafkaio.Producer`).

    ::

        with Producer(bootstrap_servers="localhost:9092") as producer:
            future = producer.send("events", b"payload", key=b"user-1")
            producer.flush()
            print(future.result().offset)

    Options are those of the asyncio :class:`kafkaio.Producer` (the Java names in
    snake_case); bad options raise here. The constructor connects (bootstrap). An asyncio
    producer runs on a private event loop in a background thread (or on ``loop_thread``,
    shared with other facades, which the caller then stops); every method is thread-safe
    and may be called from any number of application threads.

    ``send()`` queues the record and returns a :class:`concurrent.futures.Future`; records
    reach the asyncio producer in batches through one queue (``max_pending_sends`` records
    at most; ``send()`` blocks beyond that, up to ``max_block_ms``). Key and value
    serializers run in the calling thread. Delivery callbacks (``on_delivery``) run on a
    dedicated callback thread, one at a time, in completion order: never on the event loop
    thread, so they may call ``send()`` or ``flush()``. Callbacks added with the future's
    own ``add_done_callback`` run on the event loop thread instead: keep them short and
    never block in them. Call :meth:`close` (or use ``with``); a producer dropped without
    it is closed when garbage-collected or at exit.
    """

    def __init__(
        self,
        *,
        loop_thread: LoopThread | None = None,
        max_pending_sends: int = 1_024,
        **options: Any,
    ) -> None:
        if (
            isinstance(max_pending_sends, bool)
            or not isinstance(max_pending_sends, int)
            or max_pending_sends < 1
        ):
            raise ValueError(f"max_pending_sends must be a positive int, got {max_pending_sends!r}")
        # Serializers run in the application's threads: off the loop that does every
        # record's I/O, and their errors raise at send().
        self._key_serializer = options.pop("key_serializer", None)
        self._value_serializer = options.pop("value_serializer", None)
        for name, serializer in (
            ("key_serializer", self._key_serializer),
            ("value_serializer", self._value_serializer),
        ):
            if serializer is not None and not callable(serializer):
                raise TypeError(f"{name} must be callable or None, got {serializer!r}")
        owns = loop_thread is None
        lt = LoopThread("kafkaio-sync-producer") if loop_thread is None else loop_thread
        core = self._core = _ProducerCore(lt, owns, max_pending_sends)
        try:
            lt.run(core.start(options), None, "Producer start")
        except BaseException:
            core.close(_FAILED_START_CLOSE)
            raise
        assert core.producer is not None and core.handover is not None
        self._producer = core.producer
        self._handover = core.handover
        self._max_block = self._producer.options.max_block_ms / 1000
        self._known_topics: set[str] = set()
        self._finalizer = close_when_abandoned(
            self, functools.partial(core.close, _ABANDONED_CLOSE_TIMEOUT), repr(self)
        )

    # ------------------------------------------------------------------ lifecycle

    @property
    def options(self) -> ProducerOptions:
        """The asyncio producer's validated options (its serializers are the facade's)."""
        return self._producer.options

    @property
    def loop_thread(self) -> LoopThread:
        """The event loop thread the producer runs on."""
        return self._core.loop_thread

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._core.closed

    def close(self, timeout: float | None = None) -> None:
        """Send what is queued and buffered, then close and stop the background thread.

        Waits up to ``timeout`` seconds (default: ``delivery_timeout_ms``) for records to be
        acknowledged; those still unsent then fail with
        :class:`~kafkaio.errors.ProducerClosedError` (never raises a timeout). Runs the
        remaining delivery callbacks. Idempotent.
        """
        check_timeout(timeout)
        self._finalizer.detach()
        self._core.close(timeout)

    def __enter__(self) -> Producer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._core.closed:
            raise ProducerClosedError("the producer is closed; records cannot be sent")

    # ------------------------------------------------------------------ sending

    def send(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        *,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Sequence[Header] | None = None,
        on_delivery: DeliveryCallback | None = None,
        timeout: float | None = None,
    ) -> RecordFuture:
        """Queue one record; returns a future of its :class:`RecordMetadata`.

        Blocks only to fetch the metadata of a topic not sent to before and when
        ``max_pending_sends`` records wait already; both up to ``timeout`` seconds
        (default ``max_block_ms``), then :class:`~kafkaio.errors.KafkaTimeoutError`.
        Raises at once for a key/value that is not bytes (after the serializer), an
        unknown or unauthorized topic, and after :meth:`close`
        (:class:`~kafkaio.errors.ProducerClosedError`). Anything the asyncio producer
        rejects later (a partition out of range, a record too large, a broker error) fails
        the future with the same exception class.

        ``on_delivery(metadata, None)`` or ``on_delivery(None, error)`` is called on the
        producer's callback thread once the record is written or failed.
        """
        if self._core.closed:
            self._check_open()
        key_serializer = self._key_serializer
        if key_serializer is not None or not (key is None or type(key) is bytes):
            key = _to_bytes(key, "key", key_serializer)
        value_serializer = self._value_serializer
        if value_serializer is not None or not (value is None or type(value) is bytes):
            value = _to_bytes(value, "value", value_serializer)
        if timeout is None:
            timeout = self._max_block
        else:
            check_timeout(timeout)
        if topic not in self._known_topics:
            # As the Java client does: the first record to a topic waits for its metadata,
            # so that a missing topic raises here rather than in every future.
            self.partitions_for(topic, timeout=timeout)
            self._known_topics.add(topic)
        return self._handover.put(
            topic, value, key, partition, timestamp_ms, headers, on_delivery, timeout
        )

    def send_and_wait(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        *,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Sequence[Header] | None = None,
        timeout: float | None = None,
    ) -> RecordMetadata:
        """Send one record and wait (up to ``timeout`` seconds) for its acknowledgement."""
        check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        future = self.send(
            topic,
            value,
            key,
            partition=partition,
            timestamp_ms=timestamp_ms,
            headers=headers,
            timeout=timeout,
        )
        return wait_future(future, _remaining(deadline), "send_and_wait()")

    def send_batch(
        self,
        topic: str,
        values: Sequence[Any],
        *,
        keys: Sequence[Any] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Sequence[Header] | None = None,
        timeout: float | None = None,
    ) -> concurrent.futures.Future[list[RecordMetadata]]:
        """Queue many records of one topic with little per-record overhead (the asyncio
        :meth:`kafkaio.Producer.send_batch`): one future of their metadata, in order, or
        of the first error any of them met.

        ``keys`` pairs with ``values``; ``partition``, ``timestamp_ms`` and ``headers``
        apply to every record. Serializers run here, in the calling thread; the records
        are ordered with those of :meth:`send`. Blocks as :meth:`send` does.
        """
        self._check_open()
        if keys is not None and len(keys) != len(values):
            raise ValueError(f"keys has {len(keys)} items but values has {len(values)}")
        value_serializer = self._value_serializer
        value_bytes = [_to_bytes(v, "value", value_serializer) for v in values]
        key_bytes = (
            [_to_bytes(k, "key", self._key_serializer) for k in keys] if keys is not None else None
        )
        if timeout is None:
            timeout = self._max_block
        else:
            check_timeout(timeout)
        if topic not in self._known_topics:
            self.partitions_for(topic, timeout=timeout)
            self._known_topics.add(topic)
        result: concurrent.futures.Future[list[RecordMetadata]] = concurrent.futures.Future()
        result.set_running_or_notify_cancel()
        producer = self._producer

        async def enqueue() -> None:
            batch = await producer.send_batch(
                topic,
                value_bytes,
                keys=key_bytes,
                partition=partition,
                timestamp_ms=timestamp_ms,
                headers=headers,
            )
            batch.add_done_callback(functools.partial(_copy_outcome, result))

        step = self._handover.put_control(enqueue)
        step.add_done_callback(functools.partial(_fail_if_failed, result))
        return result

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record sent so far is acknowledged or failed, and its delivery
        callback has run (unless called from a callback).

        Raises :class:`~kafkaio.errors.KafkaTimeoutError` after ``timeout`` seconds.
        """
        check_timeout(timeout)
        self._check_open()
        deadline = None if timeout is None else time.monotonic() + timeout
        wait_future(self._handover.barrier(), timeout, "flush()")
        self._core.loop_thread.run(self._producer.flush(_remaining(deadline)), None, "flush()")
        if not self._core.delivery.barrier(_remaining(deadline)):
            raise KafkaTimeoutError(f"flush(): delivery callbacks still running after {timeout} s")

    # ------------------------------------------------------------------ metadata

    def partitions_for(self, topic: str, *, timeout: float | None = None) -> set[int]:
        """The partition numbers of ``topic`` (waits up to ``max_block_ms`` for metadata)."""
        self._check_open()
        return self._core.loop_thread.run(
            self._producer.partitions_for(topic), timeout, "partitions_for()"
        )

    def metrics(self) -> dict[str, float]:
        """The asyncio producer's counters, plus ``sync_queued_records`` (records queued
        here, not yet handed to it)."""
        result = self._core.loop_thread.call(self._producer.metrics)
        result["sync_queued_records"] = len(self._handover)
        return result

    # ------------------------------------------------------------------ transactions

    def _in_order(self, factory: Any, timeout: float | None, what: str) -> Any:
        """Run a producer step after every record queued before it."""
        check_timeout(timeout)
        self._check_open()
        return wait_future(self._handover.put_control(factory), timeout, what)

    def init_transactions(self, timeout: float | None = None) -> None:
        """Register the ``transactional_id`` with its coordinator (once, after start)."""
        self._in_order(self._producer.init_transactions, timeout, "init_transactions()")

    def begin_transaction(self, timeout: float | None = None) -> None:
        """Start a transaction: records sent from now on are part of it."""

        async def begin() -> None:
            self._producer.begin_transaction()

        self._in_order(begin, timeout, "begin_transaction()")

    def send_offsets_to_transaction(
        self,
        offsets: Mapping[TopicPartition, int | OffsetAndMetadata],
        group_metadata: str | ConsumerGroupMetadata | Any,
        timeout: float | None = None,
    ) -> None:
        """Commit consumer offsets as part of the transaction.

        ``group_metadata``: the group id, a :class:`ConsumerGroupMetadata`, or a group
        consumer (a :class:`kafkaio.sync.Consumer` or an asyncio one).
        """
        group_metadata_of = getattr(group_metadata, "group_metadata", None)
        if callable(group_metadata_of):
            group_metadata = group_metadata_of()
        offsets = dict(offsets)

        async def send_offsets() -> None:
            await self._producer.send_offsets_to_transaction(offsets, group_metadata)

        self._in_order(send_offsets, timeout, "send_offsets_to_transaction()")

    def commit_transaction(self, timeout: float | None = None) -> None:
        """Send every record sent so far, then commit the transaction."""
        self._in_order(self._producer.commit_transaction, timeout, "commit_transaction()")

    def abort_transaction(self, timeout: float | None = None) -> None:
        """Abort the transaction (records not yet sent fail)."""
        self._in_order(self._producer.abort_transaction, timeout, "abort_transaction()")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Producer]:
        """``with producer.transaction():`` begins a transaction, commits it when the block
        succeeds and aborts it when the block (or the commit) raises, as the asyncio
        producer's ``transaction()`` does (it is the one run here)."""
        manager = self._producer.transaction()

        async def enter() -> None:
            await manager.__aenter__()

        self._in_order(enter, None, "transaction()")
        try:
            yield self
        except BaseException as exc:
            error = exc

            async def exit_with_error() -> None:
                await manager.__aexit__(type(error), error, error.__traceback__)

            self._in_order(exit_with_error, None, "transaction()")
            raise

        async def exit_ok() -> None:
            await manager.__aexit__(None, None, None)

        self._in_order(exit_ok, None, "transaction()")

    def __repr__(self) -> str:
        state = "closed" if self._core.closed else "open"
        client_id = self._producer.options.cluster.client_id if hasattr(self, "_producer") else "?"
        return f"<kafkaio.sync.Producer client_id={client_id!r} {state}>"
