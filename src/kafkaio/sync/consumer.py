"""The blocking consumer: :class:`kafkaio.Consumer` driven from a background event loop."""

from __future__ import annotations

import concurrent.futures
import logging
import re
from collections.abc import Coroutine, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer as AsyncConsumer
from kafkaio.consumer import ConsumerOptions, ConsumerRecord, OffsetAndTimestamp
from kafkaio.errors import IllegalStateError, KafkaTimeoutError
from kafkaio.producer import ConsumerGroupMetadata
from kafkaio.producer.transactions import group_metadata_from
from kafkaio.structs import OffsetAndMetadata
from kafkaio.sync.listener import ConsumerRebalanceListener, ListenerAdapter
from kafkaio.sync.loop_thread import LoopThread, check_timeout
from kafkaio.sync.safety_net import close_when_abandoned

__all__ = ["Consumer"]

log = logging.getLogger("kafkaio.sync.consumer")

T = TypeVar("T")

_ITER_POLL_MS = 1_000
"""How long one wait of ``for record in consumer`` lasts (it loops until close())."""

_CLOSE_GRACE = 5.0


_FAILED_START_CLOSE = 10.0
"""Seconds to release what a constructor that failed had opened."""


class _ConsumerCore:
    """The loop side of one facade; holds no reference to the facade (see safety_net)."""

    def __init__(self, loop_thread: LoopThread, owns_loop: bool) -> None:
        self.loop_thread = loop_thread
        self.owns_loop = owns_loop
        self.consumer: AsyncConsumer | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.closed = False

    def listener_executor(self) -> ThreadPoolExecutor:
        if self.executor is None:
            self.executor = ThreadPoolExecutor(
                1, thread_name_prefix=f"{self.loop_thread.name}-listener"
            )
        return self.executor

    async def start(self, topics: tuple[str, ...], options: dict[str, Any]) -> None:
        self.consumer = AsyncConsumer(*topics, **options)
        await self.consumer.start()

    def close(self, timeout: float | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        lt = self.loop_thread
        consumer = self.consumer
        if lt.in_loop_thread():
            # Garbage-collected on the loop itself: nothing may block here.
            if consumer is not None and not lt.stopped:
                lt.loop.create_task(consumer.stop()).add_done_callback(self._stopped_on_loop)
            return
        try:
            if consumer is not None and not lt.stopped:
                try:
                    lt.run(
                        consumer.stop(),
                        None if timeout is None else timeout + _CLOSE_GRACE,
                        "Consumer.close()",
                    )
                except KafkaTimeoutError:
                    log.warning("close(): the consumer did not stop within %s s", timeout)
        finally:
            if self.owns_loop:
                lt.stop()
            if self.executor is not None:
                self.executor.shutdown(wait=True)

    def _stopped_on_loop(self, _task: object) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False)
        if self.owns_loop:
            self.loop_thread.stop()


class Consumer:
    """A blocking Kafka consumer for code without asyncio (a facade of :class:`kafkaio.Consumer`).

    ::

        with Consumer("events", bootstrap_servers="localhost:9092", group_id="my-group",
                      auto_offset_reset="earliest") as consumer:
            for record in consumer:
                print(record.offset, record.value)
                consumer.commit()

    Topics and options are those of the asyncio :class:`kafkaio.Consumer`; bad options
    raise here. The constructor connects (bootstrap) and, with topics, subscribes. The
    asyncio consumer runs on a private event loop in a background thread (or on a shared
    ``loop_thread``, which the caller then stops); every method is thread-safe.
    Methods that wait take ``timeout`` (seconds, default: no limit) and raise
    :class:`~kafkaio.errors.KafkaTimeoutError` when it expires; errors of the asyncio
    consumer are raised unchanged. A rebalance listener has plain methods (see
    :class:`kafkaio.sync.ConsumerRebalanceListener`) run on a listener thread.
    """

    def __init__(self, *topics: str, loop_thread: LoopThread | None = None, **options: Any) -> None:
        owns = loop_thread is None
        lt = LoopThread("kafkaio-sync-consumer") if loop_thread is None else loop_thread
        core = self._core = _ConsumerCore(lt, owns)
        try:
            lt.run(core.start(topics, options), None, "Consumer start")
        except BaseException:
            core.close(_FAILED_START_CLOSE)
            raise
        assert core.consumer is not None
        self._consumer = core.consumer
        self._finalizer = close_when_abandoned(self, core.close, repr(self))

    # ------------------------------------------------------------------ plumbing

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None, what: str) -> T:
        if self._core.closed:
            coro.close()
            raise IllegalStateError("the consumer is closed")
        try:
            return self._core.loop_thread.run(coro, timeout, what)
        except concurrent.futures.CancelledError:
            if self._core.closed:
                # close() from another thread stopped the loop under this call.
                raise IllegalStateError(f"the consumer was closed during {what}") from None
            raise

    def _call(self, fn: Any, *args: Any) -> Any:
        if self._core.closed:
            raise IllegalStateError("the consumer is closed")
        return self._core.loop_thread.call(fn, *args)

    # ------------------------------------------------------------------ lifecycle

    @property
    def options(self) -> ConsumerOptions:
        """The validated options."""
        return self._consumer.options

    @property
    def loop_thread(self) -> LoopThread:
        """The event loop thread the consumer runs on."""
        return self._core.loop_thread

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._core.closed

    def close(self, timeout: float | None = None) -> None:
        """Commit (with auto-commit), leave the group (unless static), close the
        connections and stop the background thread. Idempotent.

        ``timeout`` bounds the wait (plus a few seconds' grace); the thread is stopped
        even when it expires (never raises a timeout).
        """
        check_timeout(timeout)
        self._finalizer.detach()
        self._core.close(timeout)

    def __enter__(self) -> Consumer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ subscription

    def subscribe(
        self,
        topics: Iterable[str] | None = None,
        pattern: str | re.Pattern[str] | None = None,
        listener: ConsumerRebalanceListener | None = None,
    ) -> None:
        """Subscribe to ``topics`` or to every topic matching ``pattern`` (not both).

        ``listener`` (a :class:`kafkaio.sync.ConsumerRebalanceListener`) gets the
        rebalance callbacks on the consumer's listener thread.
        """
        adapter: ListenerAdapter | None = None
        if listener is not None:
            if not isinstance(listener, ConsumerRebalanceListener):
                raise TypeError(
                    "listener must be a kafkaio.sync.ConsumerRebalanceListener, got"
                    f" {type(listener).__name__}"
                )
            adapter = ListenerAdapter(listener, self._core.listener_executor())
        if topics is not None and not isinstance(topics, str):
            topics = list(topics)
        self._call(self._consumer.subscribe, topics, pattern, adapter)

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """Read exactly ``partitions`` (no group rebalancing); replaces a previous assignment."""
        self._call(self._consumer.assign, list(partitions))

    def unsubscribe(self) -> None:
        """Drop the subscription or assignment."""
        self._call(self._consumer.unsubscribe)

    def subscription(self) -> frozenset[str]:
        """The subscribed topics (for a pattern: those it currently matches)."""
        result: frozenset[str] = self._call(self._consumer.subscription)
        return result

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions currently assigned to this consumer."""
        result: frozenset[TopicPartition] = self._call(self._consumer.assignment)
        return result

    # ------------------------------------------------------------------ records

    def poll(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        """Records fetched so far, waiting up to ``timeout_ms`` for some to arrive.

        At most ``max_records`` (default ``max_poll_records``) over all assigned
        partitions. Returns ``{}`` when nothing arrived in time, or once the consumer is
        closed by another thread.
        """
        return self.getmany(timeout_ms=timeout_ms, max_records=max_records)

    def getmany(
        self,
        *partitions: TopicPartition,
        timeout_ms: int = 0,
        max_records: int | None = None,
    ) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        """:meth:`poll`, limited to ``partitions`` if given (the asyncio signature)."""
        try:
            return self._run(
                self._consumer.getmany(*partitions, timeout_ms=timeout_ms, max_records=max_records),
                None,
                "poll()",
            )
        except IllegalStateError:
            if self._core.closed:
                return {}
            raise

    def getone(
        self, *partitions: TopicPartition, timeout: float | None = None
    ) -> ConsumerRecord[Any, Any]:
        """The next record (of ``partitions`` if given), waiting up to ``timeout`` seconds."""
        return self._run(self._consumer.getone(*partitions), timeout, "getone()")

    def __iter__(self) -> Iterator[ConsumerRecord[Any, Any]]:
        """Every record, blocking for more; ends when the consumer is closed.

        As with the asyncio consumer, positions advance by whole batches: commit() with
        no offsets after breaking out of the loop commits records not yet yielded.
        """
        while not self._core.closed:
            batch = self.poll(_ITER_POLL_MS)
            for records in batch.values():
                yield from records

    # ------------------------------------------------------------------ positions

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read ``partition`` from ``offset`` next."""
        self._call(self._consumer.seek, partition, offset)

    def seek_to_beginning(self, *partitions: TopicPartition, timeout: float | None = None) -> None:
        """Read ``partitions`` (default: all assigned) from their first offset."""
        self._run(self._consumer.seek_to_beginning(*partitions), timeout, "seek_to_beginning()")

    def seek_to_end(self, *partitions: TopicPartition, timeout: float | None = None) -> None:
        """Read ``partitions`` (default: all assigned) from the end (only new records)."""
        self._run(self._consumer.seek_to_end(*partitions), timeout, "seek_to_end()")

    def position(self, partition: TopicPartition, *, timeout: float | None = None) -> int:
        """The offset of the next record :meth:`poll` returns for ``partition``."""
        return self._run(self._consumer.position(partition), timeout, "position()")

    def highwater(self, partition: TopicPartition) -> int | None:
        """The partition's high watermark from the last fetch (``None`` before one)."""
        result: int | None = self._call(self._consumer.highwater, partition)
        return result

    def last_stable_offset(self, partition: TopicPartition) -> int | None:
        """The last stable offset from the last fetch (``None`` before one)."""
        result: int | None = self._call(self._consumer.last_stable_offset, partition)
        return result

    def beginning_offsets(
        self, partitions: Iterable[TopicPartition], *, timeout: float | None = None
    ) -> dict[TopicPartition, int]:
        """The first offset of each partition."""
        parts = list(partitions)
        return self._run(self._consumer.beginning_offsets(parts), timeout, "beginning_offsets()")

    def end_offsets(
        self, partitions: Iterable[TopicPartition], *, timeout: float | None = None
    ) -> dict[TopicPartition, int]:
        """The offset after the last record of each partition."""
        return self._run(self._consumer.end_offsets(list(partitions)), timeout, "end_offsets()")

    def offsets_for_times(
        self, timestamps: Mapping[TopicPartition, int], *, timeout: float | None = None
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        """For each partition, the first offset with a timestamp at or after the given one."""
        return self._run(
            self._consumer.offsets_for_times(dict(timestamps)), timeout, "offsets_for_times()"
        )

    # ------------------------------------------------------------------ pause

    def pause(self, *partitions: TopicPartition) -> None:
        """Stop returning records of ``partitions``."""
        self._call(self._consumer.pause, *partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        """Return records of ``partitions`` again."""
        self._call(self._consumer.resume, *partitions)

    def paused(self) -> frozenset[TopicPartition]:
        """The paused partitions."""
        result: frozenset[TopicPartition] = self._call(self._consumer.paused)
        return result

    # ------------------------------------------------------------------ commits

    def commit(
        self,
        offsets: Mapping[TopicPartition, int | tuple[int, str] | OffsetAndMetadata] | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """Commit ``offsets`` (default: every assigned partition's position); each offset
        is the next one to read."""
        copy = dict(offsets) if offsets is not None else None
        self._run(self._consumer.commit(copy), timeout, "commit()")

    def committed(self, partition: TopicPartition, *, timeout: float | None = None) -> int | None:
        """The group's committed offset for ``partition`` (``None`` if none)."""
        return self._run(self._consumer.committed(partition), timeout, "committed()")

    def committed_offsets(
        self, *partitions: TopicPartition, timeout: float | None = None
    ) -> dict[TopicPartition, OffsetAndMetadata | None]:
        """Committed offsets with their metadata and leader epoch."""
        return self._run(
            self._consumer.committed_offsets(*partitions), timeout, "committed_offsets()"
        )

    # ------------------------------------------------------------------ metadata

    def topics(self, *, timeout: float | None = None) -> set[str]:
        """Every topic of the cluster."""
        return self._run(self._consumer.topics(), timeout, "topics()")

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        """Partition numbers of ``topic`` from cached metadata (``None`` if unknown)."""
        result: set[int] | None = self._call(self._consumer.partitions_for_topic, topic)
        return result

    @property
    def member_id(self) -> str | None:
        """The group member id (``None`` without a group)."""
        result: str | None = self._call(getattr, self._consumer, "member_id")
        return result

    @property
    def generation_id(self) -> int | None:
        """The group generation (``None`` without a group; ``-1`` before joining)."""
        result: int | None = self._call(getattr, self._consumer, "generation_id")
        return result

    def group_metadata(self) -> ConsumerGroupMetadata:
        """The group's id, member id and generation, for
        :meth:`kafkaio.sync.Producer.send_offsets_to_transaction`."""
        result: ConsumerGroupMetadata = self._call(group_metadata_from, self._consumer)
        return result

    def metrics(self) -> dict[str, float]:
        """Counters: fetch requests, full and incremental fetches, records, rebalances."""
        result: dict[str, float] = self._call(self._consumer.metrics)
        return result

    def __repr__(self) -> str:
        state = "closed" if self._core.closed else "open"
        group = self._consumer.options.group_id if hasattr(self, "_consumer") else "?"
        return f"<kafkaio.sync.Consumer group={group!r} {state}>"
