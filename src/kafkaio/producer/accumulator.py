"""Per-partition queues of record batches, and the memory bound that gives ``send`` back-pressure.

Each partition has a deque of :class:`ProducerBatch`. ``send`` appends to the last batch of
its partition (a new one when it is full); the sender drains the head batch of every ready
partition a broker leads. A batch is ready when it is full, when it has waited ``linger_ms``
(linger is per partition), when a flush or close is in progress, when ``send`` is blocked on
memory, or when it is a retry whose back-off has elapsed.

Memory is reserved per record before it is appended and released when its batch is done
(acknowledged or failed), so at most ``buffer_memory`` bytes of records wait in the producer.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kafkaio.cluster.metadata import TopicPartition
from kafkaio.errors import KafkaError, KafkaTimeoutError
from kafkaio.producer.metadata import RecordMetadata
from kafkaio.records import (
    CompressionType,
    Header,
    RecordBatchBuilder,
    TimestampType,
    iter_batches,
)
from kafkaio.records.v2 import _native, append_tracked, append_tracked_many, complete_entries

__all__ = [
    "BufferPool",
    "GroupResult",
    "PartitionQueue",
    "ProducerBatch",
    "RecordAccumulator",
    "estimate_record_size",
]

log = logging.getLogger("kafkaio.producer")

_RECORD_OVERHEAD = 21  # length, attributes, timestamp/offset deltas, key/value/header varints


def estimate_record_size(
    key: bytes | None, value: bytes | None, headers: Sequence[Header] = ()
) -> int:
    """Bytes a record is charged against ``buffer_memory`` (close to its encoded size)."""
    size = _RECORD_OVERHEAD
    if key is not None:
        size += len(key)
    if value is not None:
        size += len(value)
    for hkey, hvalue in headers:
        size += 10 + len(hkey) + (len(hvalue) if hvalue is not None else 0)
    return size


class GroupResult:
    """Collects the results of the records of one ``send_batch`` call into one future."""

    __slots__ = ("future", "remaining", "results")

    def __init__(self, future: asyncio.Future[list[RecordMetadata]], count: int) -> None:
        self.future = future
        self.results: list[Any] = [None] * count
        self.remaining = count

    def set(self, index: int, metadata: RecordMetadata) -> None:
        self.results[index] = metadata
        self.remaining -= 1
        if self.remaining == 0 and not self.future.done():
            self.future.set_result(self.results)

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


# Per record, a batch keeps _ENTRY_WIDTH values in the flat list ``entries``: the target (the
# record's own future, or the GroupResult of a send_batch call), the index in the GroupResult
# (-1 for a future), the timestamp, the key size and the value size (-1: null); the offset
# delta is the record's position. A flat list rather than a tuple per record: one object
# fewer per record for the garbage collector, whose passes were ~20% of the send path.
_ENTRY_WIDTH = 5


_batch_order = itertools.count()

if TYPE_CHECKING or _native is None:

    class _BatchFields:
        """The fields the native send path appends through (``_native.BatchCore`` when built)."""

        __slots__ = ("builder", "entries", "record_count", "reserved", "sealed")
        builder: RecordBatchBuilder | None
        entries: list[Any]
        record_count: int
        reserved: int
        sealed: bool

    class _PoolFields:
        """The counters the native send path reserves through (``_native.PoolCore``)."""

        __slots__ = ("_waiters", "total", "used")
        _waiters: collections.deque[tuple[int, asyncio.Future[None]]]
        total: int
        used: int

else:
    _BatchFields = _native.BatchCore
    _PoolFields = _native.PoolCore


class ProducerBatch(_BatchFields):
    """One record batch of one partition, from the first append to its final outcome."""

    __slots__ = (
        "ambiguous",
        "attempts",
        "base_sequence",
        "created",
        "data",
        "done",
        "futures_failed",
        "order",
        "parent",
        "pending_children",
        "producer_epoch",
        "producer_id",
        "retry_at",
        "tp",
        "transactional",
    )

    def __init__(
        self,
        tp: TopicPartition,
        compression: CompressionType,
        batch_size: int,
        now: float,
        compression_level: int | None = None,
    ) -> None:
        self.tp = tp
        self.order: tuple[int, ...] = (next(_batch_order),)
        """Sorts batches of a partition in record order (split parts extend their parent's)."""
        self.parent: ProducerBatch | None = None
        """The batch this one was split from (the broker rejected it as too large)."""
        self.pending_children = 0
        self.builder = RecordBatchBuilder(
            compression=compression,
            compression_level=compression_level,
            max_bytes=max(batch_size, 1),
        )
        self.entries = []
        self.created = now
        self.attempts = 0
        self.retry_at = 0.0
        self.data: bytes | None = None
        self.base_sequence: int | None = None
        self.producer_id = -1
        self.producer_epoch = -1
        self.record_count = 0
        self.reserved = 0
        self.ambiguous = False
        """A previous attempt may have been written (timeout, dropped connection...)."""
        self.futures_failed = False
        """The user was told this batch failed (it may still be retried, see sender)."""
        self.done = False
        self.sealed = False
        """A record did not fit: no more appends (the batch is full)."""
        self.transactional = False
        """Part of a transaction (the batch header's transactional flag)."""

    def __repr__(self) -> str:
        return (
            f"<ProducerBatch {self.tp.topic}-{self.tp.partition} records={self.record_count}"
            f" seq={self.base_sequence} attempts={self.attempts}>"
        )

    @property
    def is_full(self) -> bool:
        """No more records fit (or the batch is already closed)."""
        return self.sealed or self.builder is None or self.builder.is_full

    def try_append(
        self,
        timestamp_ms: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header],
        target: Any,
        index: int,
        reserved: int,
    ) -> bool:
        """Append one record; ``False`` when it does not fit (nothing stored)."""
        builder = self.builder
        if builder is None:
            return False
        if timestamp_ms is None:
            timestamp_ms = time.time_ns() // 1_000_000
        if (
            append_tracked(builder, timestamp_ms, key, value, headers, self.entries, target, index)
            < 0
        ):
            self.sealed = True
            return False
        self.record_count += 1
        self.reserved += reserved
        return True

    def close(self) -> bytes:
        """Encode the batch (compression happens here); later appends go to a new batch."""
        if self.data is None:
            assert self.builder is not None
            if self.producer_id >= 0:
                self.builder.set_producer_state(
                    self.producer_id,
                    self.producer_epoch,
                    self.base_sequence or 0,
                    self.transactional,
                )
            self.data = self.builder.build()
            self.builder = None
        return self.data

    def split(
        self, compression: CompressionType, compression_level: int | None = None
    ) -> list[ProducerBatch]:
        """Two closed batches holding this batch's records (halves), for a broker that
        rejected it as too large. They keep the records' futures, creation time and order;
        with idempotence they take over this batch's sequence range."""
        assert self.data is not None and self.record_count > 1
        decoded = next(iter(iter_batches(self.data))).records()
        half = len(decoded) // 2
        parts: list[ProducerBatch] = []
        seq = self.base_sequence
        w = _ENTRY_WIDTH
        for i, (records, lo, hi) in enumerate(
            ((decoded[:half], 0, half), (decoded[half:], half, len(decoded)))
        ):
            # No byte limit: every record of the half must go in.
            part = ProducerBatch(self.tp, compression, 0x7FFFFFFF, self.created, compression_level)
            part.order = (*self.order, i)
            part.parent = self
            part.attempts = self.attempts
            part.transactional = self.transactional
            builder = part.builder
            assert builder is not None
            for record in records:
                builder.append(record.timestamp, record.key, record.value, record.headers)
            part.entries = self.entries[lo * w : hi * w]
            part.record_count = len(records)
            if seq is not None:
                part.producer_id, part.producer_epoch = self.producer_id, self.producer_epoch
                part.base_sequence = seq
                seq += part.record_count
            part.close()
            parts.append(part)
        self.pending_children = len(parts)
        return parts

    def complete(self, base_offset: int, log_append_time: int, log_start_offset: int) -> None:
        """Resolve every record's future with its metadata."""
        self.done = True
        if self.futures_failed:
            return
        try:
            self._resolve(base_offset, log_append_time, log_start_offset)
        except Exception as exc:
            # A bug here must not leave records pending forever: what is not resolved fails.
            log.exception("completing a batch of %s failed", self.tp)
            self.fail(KafkaError(f"completing the records of {self.tp} failed: {exc!r}"))

    def _resolve(self, base_offset: int, log_append_time: int, log_start_offset: int) -> None:
        topic, partition = self.tp
        if log_append_time >= 0:
            ts_type = TimestampType.LOG_APPEND_TIME
        else:
            ts_type = TimestampType.CREATE_TIME
        if complete_entries is not None:
            complete_entries(
                self.entries,
                RecordMetadata,
                topic,
                partition,
                base_offset,
                log_append_time,
                ts_type,
                log_start_offset,
            )
            return
        new = tuple.__new__  # skips the NamedTuple's Python-level __new__: once per record
        e = self.entries
        for delta, (target, index, ts, ksize, vsize) in enumerate(
            zip(e[0::5], e[1::5], e[2::5], e[3::5], e[4::5], strict=True)
        ):
            metadata = new(
                RecordMetadata,
                (
                    topic,
                    partition,
                    base_offset + delta if base_offset >= 0 else -1,
                    log_append_time if log_append_time >= 0 else ts,
                    ts_type,
                    ksize,
                    vsize,
                    log_start_offset,
                ),
            )
            if index < 0:
                if not target.done():
                    target.set_result(metadata)
            else:
                # GroupResult.set(), inlined: once per record of a send_batch call.
                target.results[index] = metadata
                target.remaining -= 1
                if target.remaining == 0 and not target.future.done():
                    target.future.set_result(target.results)

    def fail(self, exc: BaseException, *, final: bool = True) -> None:
        """Fail every record's future with ``exc`` (``final=False``: the batch lives on)."""
        if final:
            self.done = True
        if self.futures_failed:
            return
        self.futures_failed = True
        e = self.entries
        for target, index in zip(e[0::_ENTRY_WIDTH], e[1::_ENTRY_WIDTH], strict=True):
            if index < 0:
                if not target.done():
                    target.set_exception(exc)
            else:
                target.fail(exc)


class PartitionQueue:
    """The batches of one partition, its in-flight state and its idempotence state."""

    __slots__ = (
        "acked_under",
        "batches",
        "in_flight",
        "in_flight_node",
        "next_sequence",
        "producer",
        "resequence_from",
        "tp",
    )

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.batches: collections.deque[ProducerBatch] = collections.deque()
        self.in_flight: list[ProducerBatch] = []
        self.in_flight_node: int | None = None
        self.next_sequence = 0
        self.producer: tuple[int, int] | None = None
        """The producer id and epoch the partition's sequences belong to."""
        self.acked_under: tuple[int, int] | None = None
        """The producer id/epoch under which a batch of this partition was acknowledged."""
        self.resequence_from: int | None = None
        """A batch with this sequence failed for good: later sequences must be rewritten
        under a new epoch (once everything before them is resolved)."""

    def insert_retry(self, batch: ProducerBatch) -> None:
        """Put a batch back in the queue in creation order (so retries keep record order)."""
        batches = self.batches
        order = batch.order
        for i, other in enumerate(batches):
            if other.order > order:
                batches.insert(i, batch)
                return
        batches.append(batch)

    def lowest_unresolved_sequence(self) -> int | None:
        """The smallest sequence queued or in flight."""
        seqs = [b.base_sequence for b in self.in_flight if b.base_sequence is not None]
        seqs += [b.base_sequence for b in self.batches if b.base_sequence is not None]
        return min(seqs) if seqs else None


class BufferPool(_PoolFields):
    """Counts reserved bytes against ``buffer_memory``; reservations wait in FIFO order."""

    __slots__ = ()

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._waiters = collections.deque()

    @property
    def waiting(self) -> int:
        """How many reservations are blocked."""
        return len(self._waiters)

    def try_reserve(self, size: int) -> bool:
        """Reserve without waiting; ``False`` if it would exceed the bound or others wait."""
        if not self._waiters and self.used + size <= self.total:
            self.used += size
            return True
        return False

    async def reserve(self, size: int, timeout: float, on_block: Callable[[], None]) -> None:
        """Reserve ``size`` bytes, waiting up to ``timeout`` s (then :class:`KafkaTimeoutError`)."""
        if self.try_reserve(size):
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        entry = (size, waiter)
        self._waiters.append(entry)
        on_block()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled():
                self.release(size)  # granted just as we gave up
            else:
                waiter.cancel()
                self._remove(entry)
                self._wake()
            if isinstance(exc, asyncio.TimeoutError):
                raise KafkaTimeoutError(
                    f"failed to allocate {size} bytes of buffer_memory within"
                    f" {timeout * 1000:.0f} ms (max_block_ms); {self.used} of {self.total}"
                    " bytes are held by records not yet acknowledged"
                ) from None
            raise

    def _remove(self, entry: tuple[int, asyncio.Future[None]]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(entry)

    def release(self, size: int) -> None:
        """Give ``size`` bytes back and grant waiting reservations that now fit."""
        self.used -= size
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            size, waiter = self._waiters[0]
            if waiter.done():
                self._waiters.popleft()
                continue
            if self.used + size > self.total and self.used > 0:
                break
            self._waiters.popleft()
            self.used += size
            waiter.set_result(None)


class RecordAccumulator:
    """Partition queues plus the rules that decide which batches are ready to send."""

    def __init__(
        self,
        *,
        batch_size: int,
        linger_ms: int,
        compression: CompressionType,
        buffer_memory: int,
        on_new_batch: Callable[[], None],
        compression_level: int | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.linger = linger_ms / 1000
        self.compression = compression
        self.compression_level = compression_level
        self.pool = BufferPool(buffer_memory)
        self.queues: dict[TopicPartition, PartitionQueue] = {}
        self._on_new_batch = on_new_batch
        self.flushing = 0
        self.closing = False
        self._drain_index: dict[int, int] = {}
        self.transactional = False
        """New batches belong to transactions (set by a transactional producer)."""
        self.incomplete: set[ProducerBatch] = set()
        """Batches not yet done (queued or in flight): what ``flush`` waits for."""
        self._progress: asyncio.Event | None = None

    # ---------------------------------------------------------------- appending

    def queue(self, tp: TopicPartition) -> PartitionQueue:
        """The queue of ``tp`` (created on first use)."""
        q = self.queues.get(tp)
        if q is None:
            q = self.queues[tp] = PartitionQueue(tp)
        return q

    def append(
        self,
        tp: TopicPartition,
        timestamp_ms: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header],
        target: Any,
        index: int,
        reserved: int,
    ) -> bool:
        """Append a record whose memory is already reserved; True if it started a batch."""
        q = self.queues.get(tp)
        if q is None:
            q = self.queues[tp] = PartitionQueue(tp)
        batches = q.batches
        if batches:
            last = batches[-1]
            if not last.sealed and last.try_append(
                timestamp_ms, key, value, headers, target, index, reserved
            ):
                return False
        batch = self._new_batch(tp)
        if not batch.try_append(timestamp_ms, key, value, headers, target, index, reserved):
            raise AssertionError("the first record of a batch is always accepted")
        self._register(batch, batches)
        return True

    def append_many(
        self,
        tp: TopicPartition,
        timestamp_ms: int,
        keys: list[bytes | None] | None,
        values: list[bytes | None],
        headers: Sequence[Header],
        target: Any,
        start: int,
        stop: int,
        header_size: int,
    ) -> tuple[int, bool]:
        """Append records ``start``.. of a ``send_batch`` call (memory already reserved, no
        null key or value) to ``tp``'s open batch, or a new one, until it is full or ``stop``
        is reached; returns where it stopped and whether it started a batch."""
        q = self.queues.get(tp)
        if q is None:
            q = self.queues[tp] = PartitionQueue(tp)
        batches = q.batches
        batch = batches[-1] if batches else None
        end = start
        if batch is not None and not batch.sealed and batch.builder is not None:
            end = append_tracked_many(
                batch.builder,
                timestamp_ms,
                keys,
                values,
                headers,
                batch.entries,
                target,
                start,
                stop,
            )
            if end == start:
                batch.sealed = True  # full
        started = end == start
        if started:
            # A new batch takes at least one record (the first always fits); it is queued
            # only with records in it.
            batch = self._new_batch(tp)
            assert batch.builder is not None
            end = append_tracked_many(
                batch.builder,
                timestamp_ms,
                keys,
                values,
                headers,
                batch.entries,
                target,
                start,
                stop,
            )
            self._register(batch, batches)
        assert batch is not None
        count = end - start
        batch.record_count += count
        reserved = header_size * count + sum(map(len, values[start:end]))  # type: ignore[arg-type]
        if keys is not None:
            reserved += sum(map(len, keys[start:end]))  # type: ignore[arg-type]
        batch.reserved += reserved
        if end < stop:
            batch.sealed = True
        return end, started

    def _new_batch(self, tp: TopicPartition) -> ProducerBatch:
        batch = ProducerBatch(
            tp, self.compression, self.batch_size, time.monotonic(), self.compression_level
        )
        batch.transactional = self.transactional
        return batch

    def _register(self, batch: ProducerBatch, batches: collections.deque[ProducerBatch]) -> None:
        batches.append(batch)
        self.incomplete.add(batch)
        self._on_new_batch()

    # ---------------------------------------------------------------- sending

    def is_ready(self, q: PartitionQueue, now: float, force: bool) -> tuple[bool, float]:
        """Whether the head batch of ``q`` may be sent now, else when to look again."""
        batches = q.batches
        if not batches:
            return False, float("inf")
        head = batches[0]
        if head.attempts and q.in_flight:
            # A retry goes out alone, after everything before it is answered: keeps order.
            return False, float("inf")
        if head.retry_at > now:
            return False, head.retry_at
        if head.attempts or force or len(batches) > 1 or head.is_full:
            return True, now
        deadline = head.created + self.linger
        if deadline <= now:
            return True, now
        return False, deadline

    def drain_candidates(
        self, node: int, leader_of: Callable[[TopicPartition], int | None]
    ) -> list[PartitionQueue]:
        """Queues with batches whose partition ``node`` leads, rotated for fairness."""
        queues = [q for q in self.queues.values() if q.batches and leader_of(q.tp) == node]
        if len(queues) > 1:
            start = self._drain_index.get(node, 0) % len(queues)
            self._drain_index[node] = start + 1
            queues = queues[start:] + queues[:start]
        return queues

    @property
    def force_ready(self) -> bool:
        """Send without waiting for linger (flush, close, or ``send`` blocked on memory)."""
        return bool(self.flushing or self.closing or self.pool.waiting)

    # ---------------------------------------------------------------- completion

    def deallocate(self, batch: ProducerBatch) -> None:
        """The batch is done: release its memory and forget it."""
        parent = batch.parent
        if parent is not None:
            batch.parent = None
            parent.pending_children -= 1
            if parent.pending_children == 0:
                self.deallocate(parent)
            return
        if batch in self.incomplete:
            self.incomplete.discard(batch)
            self.pool.release(batch.reserved)
            batch.reserved = 0
            if self._progress is not None:
                self._progress.set()

    async def wait_all_done(self) -> None:
        """Return once every batch appended so far is done."""
        targets = set(self.incomplete)
        while targets:
            event = self._progress
            if event is None or event.is_set():
                event = self._progress = asyncio.Event()
            await event.wait()
            targets &= self.incomplete

    def abort_undrained(self, exc: KafkaError) -> int:
        """Fail queued batches that were never sent (aborting a transaction); returns how
        many records. Batches sent before stay: their fate must be learnt from the broker."""
        count = 0
        for q in self.queues.values():
            keep = [b for b in q.batches if b.attempts > 0]
            if len(keep) == len(q.batches):
                continue
            for batch in q.batches:
                if batch.attempts == 0:
                    count += batch.record_count
                    batch.fail(exc)
                    self.deallocate(batch)
            q.batches.clear()
            q.batches.extend(keep)
        return count

    def abort_all(self, exc: KafkaError) -> int:
        """Fail every queued (not in flight) batch with ``exc``; returns how many records."""
        count = 0
        for q in self.queues.values():
            while q.batches:
                batch = q.batches.popleft()
                count += batch.record_count
                batch.fail(exc)
                self.deallocate(batch)
        return count
