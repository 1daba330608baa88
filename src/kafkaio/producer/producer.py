"""The public asyncio producer."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.cluster.metadata import ClusterMetadata, MetadataUpdate
from kafkaio.errors import (
    IllegalStateError,
    InvalidTopicError,
    KafkaError,
    KafkaTimeoutError,
    MessageTooLargeError,
    ProducerClosedError,
    TopicAuthorizationFailedError,
)
from kafkaio.producer.accumulator import (
    _RECORD_OVERHEAD,
    GroupResult,
    RecordAccumulator,
    estimate_record_size,
)
from kafkaio.producer.fast_send import make_send_core, new_record_future
from kafkaio.producer.metadata import RecordMetadata
from kafkaio.producer.metrics import ProducerMetrics
from kafkaio.producer.options import AsyncSerializer, ProducerOptions, Serializer
from kafkaio.producer.partitioner import BuiltInPartitioner
from kafkaio.producer.sender import Sender
from kafkaio.producer.transactions import (
    ConsumerGroupMetadata,
    TransactionManager,
    group_metadata_from,
)
from kafkaio.records import Header, record_size_upper_bound
from kafkaio.structs import OffsetAndMetadata

__all__ = ["Producer"]

log = logging.getLogger("kafkaio.producer")

_MAX_TIMESTAMP = 0x7FFFFFFFFFFFFFFF
_HEADER_SLACK = 61  # a v2 batch header: what a single-record batch adds to its record


def _outcome_not_needed(future: asyncio.Future[Any]) -> None:
    """Mark a future's exception as retrieved: its outcome no longer matters to anyone."""
    if not future.cancelled():
        future.exception()


class Producer:
    """Sends records to Kafka topics, batching per partition; usable as ``async with``.

    ::

        async with Producer(bootstrap_servers="localhost:9092") as producer:
            metadata = await producer.send_and_wait("events", b"payload", key=b"user-1")
            future = await producer.send("events", b"more")   # enqueued; not yet sent
            await producer.flush()

    Options are the Java producer's configuration names in snake_case (documented on
    :class:`~kafkaio.producer.options.ProducerOptions`); the cluster client's options
    (``client_id``, ``security_protocol``, ``metadata_max_age_ms``...) are accepted as
    further keywords (see :class:`~kafkaio.cluster.ClusterOptions`). Idempotence is on by
    default (``acks="all"``). Bad options raise at construction (:class:`TypeError` /
    :class:`ValueError` naming the option; conflicts :class:`~kafkaio.errors.ConfigurationError`).
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str | Sequence[str] = "localhost",
        acks: int | str = "all",
        compression_type: str | None = "none",
        compression_gzip_level: int | None = None,
        compression_zstd_level: int | None = None,
        batch_size: int = 16_384,
        linger_ms: int = 5,
        buffer_memory: int = 33_554_432,
        max_block_ms: int = 60_000,
        max_request_size: int = 1_048_576,
        request_timeout_ms: int = 30_000,
        delivery_timeout_ms: int = 120_000,
        retries: int = 2_147_483_647,
        retry_backoff_ms: int = 100,
        retry_backoff_max_ms: int = 1_000,
        max_in_flight_requests_per_connection: int = 5,
        enable_idempotence: bool | None = None,
        partitioner: str | Callable[..., int] = "default",
        partitioner_adaptive_partitioning_enable: bool = True,
        partitioner_ignore_keys: bool = False,
        key_serializer: Serializer | None = None,
        value_serializer: Serializer | None = None,
        async_key_serializer: AsyncSerializer | None = None,
        async_value_serializer: AsyncSerializer | None = None,
        transactional_id: str | None = None,
        transaction_timeout_ms: int = 60_000,
        **cluster_options: Any,
    ) -> None:
        options = dict(
            bootstrap_servers=bootstrap_servers,
            acks=acks,
            compression_type=compression_type,
            compression_gzip_level=compression_gzip_level,
            compression_zstd_level=compression_zstd_level,
            batch_size=batch_size,
            linger_ms=linger_ms,
            buffer_memory=buffer_memory,
            max_block_ms=max_block_ms,
            max_request_size=max_request_size,
            request_timeout_ms=request_timeout_ms,
            delivery_timeout_ms=delivery_timeout_ms,
            retries=retries,
            retry_backoff_ms=retry_backoff_ms,
            retry_backoff_max_ms=retry_backoff_max_ms,
            max_in_flight_requests_per_connection=max_in_flight_requests_per_connection,
            enable_idempotence=enable_idempotence,
            partitioner=partitioner,
            partitioner_adaptive_partitioning_enable=partitioner_adaptive_partitioning_enable,
            partitioner_ignore_keys=partitioner_ignore_keys,
            key_serializer=key_serializer,
            value_serializer=value_serializer,
            async_key_serializer=async_key_serializer,
            async_value_serializer=async_value_serializer,
            transactional_id=transactional_id,
            transaction_timeout_ms=transaction_timeout_ms,
        )
        options.update(cluster_options)
        self._options = ProducerOptions.from_kwargs(options)
        opts = self._options
        self._cluster = ClusterClient.from_options(opts.cluster)
        self._metrics = ProducerMetrics()
        self._key_serializer: Serializer | None = opts.key_serializer
        self._value_serializer: Serializer | None = opts.value_serializer
        self._async_key_serializer = opts.async_key_serializer
        self._async_value_serializer = opts.async_value_serializer
        self._max_request_size = opts.max_request_size
        self._max_block = opts.max_block_ms / 1000
        self._accumulator = RecordAccumulator(
            batch_size=opts.batch_size,
            linger_ms=opts.linger_ms,
            compression=opts.compression,
            compression_level=opts.compression_level,
            buffer_memory=opts.buffer_memory,
            on_new_batch=self._on_new_batch,
        )
        self._partitioner = opts.make_partitioner(self._queue_sizes)
        self._sender = Sender(self._cluster, self._accumulator, opts, self._metrics)
        self._txn: TransactionManager | None = None
        if opts.transactional_id is not None:
            self._accumulator.transactional = True
            self._txn = self._sender.transactions = TransactionManager(
                self._cluster,
                self._sender.idempotence,
                transactional_id=opts.transactional_id,
                transaction_timeout_ms=opts.transaction_timeout_ms,
                timeout=opts.max_block_ms / 1000,
                backoff=opts.retry_backoff_ms / 1000,
                backoff_max=max(opts.retry_backoff_max_ms, opts.retry_backoff_ms) / 1000,
                wakeup=self._sender.wakeup,
            )
        # topic -> (partition count, partitions with a leader); emptied by every metadata
        # update, so send() needs a single dict lookup.
        self._topic_cache: dict[str, tuple[int, list[int]]] = {}
        self._cluster.cluster.add_listener(self._on_metadata)
        self._tps: dict[str, dict[int, TopicPartition]] = {}
        self._loop: asyncio.AbstractEventLoop  # set by start()
        self._send_core: Any = None
        """The native send path once started (``fast_send``), or None."""
        self._usable = False
        """Started and not stopped (checked once per record)."""
        self._started = False
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def options(self) -> ProducerOptions:
        """The validated options."""
        return self._options

    @property
    def client(self) -> ClusterClient:
        """The cluster client the producer sends through."""
        return self._cluster

    async def start(self) -> None:
        """Connect to the cluster (bootstrap) and start sending.

        Raises :class:`~kafkaio.errors.KafkaConnectionError` when no bootstrap server
        answers; the producer is then closed (create a new one to try again).
        """
        if self._closed:
            raise ProducerClosedError("the producer is stopped; create a new one")
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        try:
            await self._cluster.bootstrap()
        except BaseException:
            # The cluster client cannot be reused once closed: so neither can this producer.
            self._closed = True
            await self._cluster.close()
            raise
        self._sender.start()
        self._started = True
        self._usable = True
        self._install_fast_send()

    def _install_fast_send(self) -> None:
        """Route ``send`` through the native fast path when nothing needs Python per record.

        The core falls back to :meth:`send` (the reference) for every call it does not handle,
        so serializers or a transaction simply mean it is not installed.
        """
        if (
            self._txn is not None
            or self._key_serializer is not None
            or self._value_serializer is not None
            or self._async_key_serializer is not None
            or self._async_value_serializer is not None
        ):
            return
        partitioner = self._partitioner
        builtin = type(partitioner) is BuiltInPartitioner
        core = make_send_core(
            slow_send=functools.partial(Producer.send, self),
            loop=self._loop,
            topic_cache=self._topic_cache,
            tps=self._tps,
            queues=self._accumulator.queues,
            pool=self._accumulator.pool,
            place=partitioner.place,
            sticky=partitioner.sticky_table if builtin else None,  # type: ignore[attr-defined]
            sticky_batch_size=partitioner.batch_size if builtin else 1,  # type: ignore[attr-defined]
            hash_keys=builtin and not self._options.partitioner_ignore_keys,
            append=self._accumulator.append,
            make_tp=self._tp,
            max_request_size=self._max_request_size,
            record_overhead=_RECORD_OVERHEAD,
            header_slack=_HEADER_SLACK,
        )
        if core is not None:
            self._send_core = core
            # An instance attribute shadows the method: producer.send(...) is then one C call.
            vars(self)["send"] = core.send

    async def stop(self, timeout: float | None = None) -> None:
        """Send what is buffered, then close.

        Waits up to ``timeout`` seconds (default: ``delivery_timeout_ms``) for buffered
        records to be acknowledged; records still unsent then fail with
        :class:`~kafkaio.errors.ProducerClosedError`, as do records whose request was still
        unanswered (their message says they may have been written). Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        self._usable = False
        if self._send_core is not None:
            self._send_core.enabled = False
            vars(self).pop("send", None)
        try:
            if self._started and self._txn is not None:
                await self._abort_on_close(timeout)
            if self._started:
                if timeout is None:
                    timeout = self._options.delivery_timeout_ms / 1000
                self._accumulator.closing = True
                self._sender.wakeup()
                try:
                    await asyncio.wait_for(self._accumulator.wait_all_done(), timeout)
                except asyncio.TimeoutError:
                    log.warning("stop(): records still unacknowledged after %.1f s", timeout)
        finally:
            # Also when stop() itself is cancelled: no task may outlive the producer.
            if self._started:
                await self._sender.close()
            await self._cluster.close()

    close = stop

    async def __aenter__(self) -> Producer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _check_open(self) -> None:
        if self._closed:
            raise ProducerClosedError("the producer is stopped; records cannot be sent")
        if not self._started:
            raise IllegalStateError("the producer is not started: call start() or use async with")

    # ------------------------------------------------------------------ metadata

    async def partitions_for(self, topic: str) -> set[int]:
        """The partition numbers of ``topic`` (waits up to ``max_block_ms`` for metadata)."""
        self._check_open()
        count, _ = await self._topic_info(topic)
        return set(range(count))

    def _on_metadata(self, _cluster: ClusterMetadata, _update: MetadataUpdate) -> None:
        self._topic_cache.clear()

    def _cached_topic_info(self, topic: str) -> tuple[int, list[int]] | None:
        cached = self._topic_cache.get(topic)
        if cached is not None:
            return cached
        meta = self._cluster.cluster.topic(topic)
        if meta is None or not meta.partitions:
            return None
        count = max(meta.partitions) + 1
        available = sorted(p for p, part in meta.partitions.items() if part.leader is not None)
        info = self._topic_cache[topic] = (count, available)
        return info

    async def _topic_info(self, topic: str) -> tuple[int, list[int]]:
        info = self._cached_topic_info(topic)
        if info is not None:
            return info
        if not isinstance(topic, str) or not topic:
            raise TypeError(f"topic must be a non-empty str, got {topic!r}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_block
        cluster = self._cluster
        update = cluster.add_topic(topic)
        backoff = self._options.cluster.retry_backoff_ms / 1000
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(asyncio.shield(update), remaining)
            except asyncio.TimeoutError:
                break
            info = self._cached_topic_info(topic)
            if info is not None:
                return info
            if topic in cluster.cluster.unauthorized_topics:
                raise TopicAuthorizationFailedError(f"not authorized to access topic {topic!r}")
            if topic in cluster.cluster.invalid_topics:
                raise InvalidTopicError(f"invalid topic name {topic!r}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.sleep(min(backoff, remaining))
            update = cluster.force_metadata_update()
        # The update may still fail later (the client closing): nobody waits for it now.
        update.add_done_callback(_outcome_not_needed)
        raise KafkaTimeoutError(
            f"topic {topic!r} not present in metadata after {self._options.max_block_ms} ms"
            " (max_block_ms)"
        )

    # ------------------------------------------------------------------ sending

    def _serialize_key(self, key: Any) -> bytes | None:
        if self._key_serializer is not None:
            key = self._key_serializer(key)
        if key is None or type(key) is bytes:
            return key
        if isinstance(key, (bytearray, memoryview)):
            return bytes(key)
        raise TypeError(
            f"key must be bytes or None (or set a key serializer), got {type(key).__name__}"
        )

    def _serialize_value(self, value: Any) -> bytes | None:
        if self._value_serializer is not None:
            value = self._value_serializer(value)
        if value is None or type(value) is bytes:
            return value
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        raise TypeError(
            f"value must be bytes or None (or set a value serializer), got {type(value).__name__}"
        )

    @staticmethod
    def _check_headers(headers: Sequence[Header] | None) -> Sequence[Header]:
        if headers is None:
            return ()
        for item in headers:
            if (
                not isinstance(item, tuple)
                or len(item) != 2
                or not isinstance(item[0], str)
                or not (item[1] is None or isinstance(item[1], bytes))
            ):
                raise TypeError(f"headers must be (str, bytes | None) pairs, got {item!r}")
        return headers

    def _choose_partition(
        self, topic: str, key: bytes | None, partition: int | None, count: int, available: list[int]
    ) -> int:
        if partition is None:
            return self._partitioner.partition(topic, key, count, available)
        if isinstance(partition, bool) or not isinstance(partition, int):
            raise TypeError(f"partition must be an int or None, got {partition!r}")
        if not 0 <= partition < count:
            raise ValueError(
                f"partition {partition} is out of range: topic {topic!r} has {count} partition(s)"
            )
        return partition

    def _too_large(self, size: int) -> Exception | None:
        if size > self._max_request_size:
            return MessageTooLargeError(
                f"the record is {size} bytes when serialized, larger than max_request_size"
                f" ({self._max_request_size})"
            )
        if size > self._accumulator.pool.total:
            return MessageTooLargeError(
                f"the record is {size} bytes when serialized, larger than buffer_memory"
                f" ({self._accumulator.pool.total})"
            )
        return None

    async def send(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        *,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Sequence[Header] | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Enqueue one record; returns a future of its :class:`RecordMetadata`.

        Waits (up to ``max_block_ms``) for the topic's metadata and for buffer space. The
        future fails with the reason the record could not be written, e.g.
        :class:`~kafkaio.errors.MessageTooLargeError` for a record above
        ``max_request_size``. Raises at once for bad arguments: :class:`TypeError` for a
        non-bytes key/value without serializer, :class:`ValueError` for a partition out of
        range, :class:`~kafkaio.errors.ProducerClosedError` after :meth:`stop`, and
        :class:`~kafkaio.errors.KafkaTimeoutError` when ``max_block_ms`` passes.

        With the native extension the future is a ``RecordFuture``: an asyncio future by
        protocol (``await``, callbacks, ``gather``/``wait``/``wait_for``, ``asyncio.isfuture``)
        that costs one small object per record; it is not an ``asyncio.Future`` instance.
        Once started without serializers or a transaction, the common case of this method
        runs in C (``kafkaio.producer.fast_send``), which calls this code for anything else.
        """
        if not self._usable:
            self._check_open()
        if self._txn is not None:
            self._txn.check_send()
        if self._async_key_serializer is not None:
            key = await self._async_key_serializer(topic, key)
        if self._async_value_serializer is not None:
            value = await self._async_value_serializer(topic, value)
        # Fast paths first: this runs once per record.
        if self._key_serializer is None and (key is None or type(key) is bytes):
            key_bytes = key
        else:
            key_bytes = self._serialize_key(key)
        if self._value_serializer is None and (value is None or type(value) is bytes):
            value_bytes = value
        else:
            value_bytes = self._serialize_value(value)
        header_list = () if headers is None else self._check_headers(headers)
        info = self._topic_cache.get(topic)
        if info is None:
            info = await self._topic_info(topic)
            self._check_open()
        count, available = info
        size = _RECORD_OVERHEAD
        if key_bytes is not None:
            size += len(key_bytes)
        if value_bytes is not None:
            size += len(value_bytes)
        if header_list:
            size = estimate_record_size(key_bytes, value_bytes, header_list)
        if partition is None:
            # Placed and counted towards the sticky choice in one call (as Java, only
            # records the partitioner placed count).
            part = self._partitioner.place(topic, key_bytes, count, available, size)
        elif type(partition) is int and 0 <= partition < count:
            part = partition
        else:
            part = self._choose_partition(topic, key_bytes, partition, count, available)
        future = new_record_future(self._loop)
        accumulator = self._accumulator
        pool = accumulator.pool
        if size + _HEADER_SLACK > self._max_request_size or size > pool.total:
            error = self._too_large(
                record_size_upper_bound(key_bytes, value_bytes, header_list) - _HEADER_SLACK
            )
            if error is not None:
                self._metrics.record_errors += 1
                future.set_exception(error)
                return future
        if not pool.try_reserve(size):
            await pool.reserve(size, self._max_block, self._sender.wakeup)
            if self._closed:
                pool.release(size)
                raise ProducerClosedError("the producer was stopped while send() waited for memory")
        tps = self._tps.get(topic)
        tp = tps.get(part) if tps is not None else None
        if tp is None:
            tp = self._tp(topic, part)
        try:
            new_batch = accumulator.append(
                tp, timestamp_ms, key_bytes, value_bytes, header_list, future, -1, size
            )
        except BaseException:
            pool.release(size)
            raise
        if self._txn is not None:
            self._txn.maybe_add_partition(tp)
        if new_batch:
            # Let the sender run between batches even when the caller never blocks.
            await asyncio.sleep(0)
        return future

    def _tp(self, topic: str, partition: int) -> TopicPartition:
        tps = self._tps.get(topic)
        if tps is None:
            tps = self._tps[topic] = {}
        tp = tps.get(partition)
        if tp is None:
            tp = tps[partition] = TopicPartition(topic, partition)
        return tp

    async def send_and_wait(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        *,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Sequence[Header] | None = None,
    ) -> RecordMetadata:
        """Send one record and wait for its acknowledgement."""
        future = await self.send(
            topic, value, key, partition=partition, timestamp_ms=timestamp_ms, headers=headers
        )
        return await future

    async def send_batch(
        self,
        topic: str,
        values: Sequence[Any],
        *,
        keys: Sequence[Any] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Sequence[Header] | None = None,
    ) -> asyncio.Future[list[RecordMetadata]]:
        """Enqueue many records of one topic with little per-record overhead.

        ``keys`` (optional) pairs with ``values``; ``partition``, ``timestamp_ms`` and
        ``headers`` apply to every record. Returns one future resolving to the records'
        metadata in order, or failing with the first error any of them met (the others
        are still sent): an oversized record, or ``max_block_ms`` passing while waiting for
        buffer space (the records after it are then not sent). Arguments are checked
        before anything is enqueued.
        """
        self._check_open()
        if self._txn is not None:
            self._txn.check_send()
        n = len(values)
        if keys is not None and len(keys) != n:
            raise ValueError(f"keys has {len(keys)} items but values has {n}")
        header_list = self._check_headers(headers)
        ser_value = self._serialize_value
        ser_key = self._serialize_key
        if self._async_value_serializer is not None:
            values = [await self._async_value_serializer(topic, v) for v in values]
        if keys is not None and self._async_key_serializer is not None:
            keys = [await self._async_key_serializer(topic, k) for k in keys]
        # Already bytes and no serializer: no per-item call.
        if self._value_serializer is None and all(v is None or type(v) is bytes for v in values):
            vbytes = list(values)
        else:
            vbytes = [ser_value(v) for v in values]
        kbytes: list[bytes | None]
        if keys is None:
            kbytes = [None] * n
        elif self._key_serializer is None and all(k is None or type(k) is bytes for k in keys):
            kbytes = list(keys)
        else:
            kbytes = [ser_key(k) for k in keys]
        info = self._topic_cache.get(topic)
        if info is None:
            info = await self._topic_info(topic)
            self._check_open()
        count, available = info
        if partition is not None:
            self._choose_partition(topic, None, partition, count, available)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[RecordMetadata]] = loop.create_future()
        group = GroupResult(future, n)
        if n == 0:
            future.set_result([])
            return future
        acc = self._accumulator
        pool = acc.pool
        append = acc.append
        place = self._partitioner.place
        header_size = estimate_record_size(None, None, header_list)
        slack_limit = self._max_request_size - _HEADER_SLACK
        tps: dict[int, TopicPartition] = {}
        if await self._send_batch_bulk(
            topic, kbytes if keys is not None else None, vbytes, partition, timestamp_ms,
            header_list, header_size, group, count, available, tps,
        ):  # fmt: skip
            return future
        for i in range(n):
            key_bytes = kbytes[i]
            value_bytes = vbytes[i]
            size = header_size
            if key_bytes is not None:
                size += len(key_bytes)
            if value_bytes is not None:
                size += len(value_bytes)
            if size > slack_limit or size > pool.total:
                error = self._too_large(
                    record_size_upper_bound(key_bytes, value_bytes, header_list) - _HEADER_SLACK
                )
                if error is not None:
                    self._metrics.record_errors += 1
                    group.fail(error)
                    group.remaining -= 1
                    continue
            part = (
                partition
                if partition is not None
                else place(topic, key_bytes, count, available, size)
            )
            tp = tps.get(part)
            if tp is None:
                tp = tps[part] = TopicPartition(topic, part)
            if not pool.try_reserve(size):
                # Earlier records may already be queued: from here on, failures go to the
                # returned future rather than being raised.
                try:
                    await pool.reserve(size, self._max_block, self._sender.wakeup)
                except KafkaTimeoutError as exc:
                    self._metrics.record_errors += n - i
                    group.fail(exc)
                    return future
                if self._closed:
                    pool.release(size)
                    self._metrics.record_errors += n - i
                    group.fail(
                        ProducerClosedError(
                            "the producer was stopped while send_batch() waited for memory"
                        )
                    )
                    return future
            try:
                append(tp, timestamp_ms, key_bytes, value_bytes, header_list, group, i, size)
            except BaseException:
                pool.release(size)
                raise
            if self._txn is not None:
                self._txn.maybe_add_partition(tp)
        return future

    async def _send_batch_bulk(
        self,
        topic: str,
        keys: list[bytes | None] | None,
        values: list[bytes | None],
        partition: int | None,
        timestamp_ms: int | None,
        header_list: Sequence[Header],
        header_size: int,
        group: GroupResult,
        count: int,
        available: list[int],
        tps: dict[int, TopicPartition],
    ) -> bool:
        """send_batch's fast path: whole runs of records per partition in one native call.

        Taken only when nothing can fail per record: no null key or value, every record
        within the size limits, memory for all of them free now, a valid timestamp, and
        keys (if any) going to an explicit partition. Returns False (nothing done) otherwise.
        """
        if (keys is not None and partition is None) or None in values:
            return False
        if keys is not None and None in keys:
            return False
        if timestamp_ms is None:
            timestamp_ms = time.time_ns() // 1_000_000
        elif type(timestamp_ms) is not int or not -1 <= timestamp_ms <= _MAX_TIMESTAMP:
            return False
        n = len(values)
        biggest = header_size + max(map(len, values))  # type: ignore[arg-type]
        total = header_size * n + sum(map(len, values))  # type: ignore[arg-type]
        if keys is not None:
            biggest += max(map(len, keys))  # type: ignore[arg-type]
            total += sum(map(len, keys))  # type: ignore[arg-type]
        pool = self._accumulator.pool
        if biggest + _HEADER_SLACK > self._max_request_size or biggest > pool.total:
            return False
        if not pool.try_reserve(total):
            return False
        append_many = self._accumulator.append_many
        i = 0
        while i < n:
            part = (
                partition
                if partition is not None
                else self._partitioner.partition(topic, None, count, available)
            )
            tp = tps.get(part)
            if tp is None:
                tp = tps[part] = TopicPartition(topic, part)
            try:
                end, started = append_many(
                    tp, timestamp_ms, keys, values, header_list, group, i, n, header_size
                )
            except BaseException:
                # Records from i on were not appended: their memory goes back.
                rest = header_size * (n - i) + sum(map(len, values[i:]))  # type: ignore[arg-type]
                if keys is not None:
                    rest += sum(map(len, keys[i:]))  # type: ignore[arg-type]
                pool.release(rest)
                raise
            if partition is None:
                self._partitioner.on_append(
                    topic,
                    part,
                    header_size * (end - i) + sum(map(len, values[i:end])),  # type: ignore[arg-type]
                )
            if self._txn is not None:
                self._txn.maybe_add_partition(tp)
            i = end
            if started:
                await asyncio.sleep(0)  # let the sender run between batches
        return True

    async def flush(self, timeout: float | None = None) -> None:
        """Send everything buffered now and wait until it is acknowledged or failed.

        Raises :class:`~kafkaio.errors.KafkaTimeoutError` after ``timeout`` seconds.
        """
        self._check_open()
        acc = self._accumulator
        acc.flushing += 1
        self._sender.wakeup()
        try:
            await asyncio.wait_for(acc.wait_all_done(), timeout)
        except asyncio.TimeoutError:
            raise KafkaTimeoutError(f"flush() did not complete within {timeout} s") from None
        finally:
            acc.flushing -= 1

    # ------------------------------------------------------------------ transactions

    def _transactions(self) -> TransactionManager:
        self._check_open()
        if self._txn is None:
            raise IllegalStateError(
                "transactions need a transactional_id (Producer(transactional_id=...))"
            )
        return self._txn

    async def init_transactions(self) -> None:
        """Register the ``transactional_id`` with its coordinator (once, after start).

        Fences any older producer with the same id and completes (aborts) the transaction
        it left open. Raises :class:`~kafkaio.errors.KafkaTimeoutError` after
        ``max_block_ms``; it may then be called again.
        """
        await self._transactions().init()

    def begin_transaction(self) -> None:
        """Start a transaction: records sent from now on are part of it."""
        self._transactions().begin()

    async def send_offsets_to_transaction(
        self,
        offsets: Mapping[TopicPartition, int | OffsetAndMetadata],
        group_metadata: str | ConsumerGroupMetadata | Any,
    ) -> None:
        """Commit consumer offsets (the next offsets to read) as part of the transaction.

        ``group_metadata`` is the group id, a :class:`ConsumerGroupMetadata`, or the group
        :class:`~kafkaio.consumer.Consumer` itself (its member id and generation then let
        the group coordinator reject a zombie member's commit).
        """
        txn = self._transactions()
        await txn.send_offsets(offsets, group_metadata_from(group_metadata))

    async def commit_transaction(self) -> None:
        """Send every buffered record, then commit the transaction.

        When a record of the transaction failed, raises its error: the transaction must
        then be aborted. After a :class:`~kafkaio.errors.KafkaTimeoutError` the commit may
        be retried.
        """
        txn = self._transactions()
        txn.begin_commit()
        acc = self._accumulator
        acc.flushing += 1
        self._sender.wakeup()
        try:
            await txn.wait_adds()
            await acc.wait_all_done()
        finally:
            acc.flushing -= 1
        txn.check_commit_possible()
        try:
            await txn.end(commit=True)
        except KafkaTimeoutError:
            raise
        except Exception as exc:
            if isinstance(exc, KafkaError):
                txn.fail(exc)
            raise

    async def abort_transaction(self) -> None:
        """Abort the transaction: records not yet sent fail with
        :class:`~kafkaio.producer.transactions.TransactionAbortedError`; what was written
        is never seen by ``read_committed`` consumers."""
        txn = self._transactions()
        txn.begin_abort()
        error = txn.undrained_error
        assert error is not None
        acc = self._accumulator
        acc.abort_undrained(error)
        acc.flushing += 1
        self._sender.wakeup()
        try:
            await txn.wait_adds()
            await acc.wait_all_done()  # batches already sent must be answered first
        finally:
            acc.flushing -= 1
        try:
            await txn.end(commit=False)
        except KafkaTimeoutError:
            raise
        except Exception as exc:
            if isinstance(exc, KafkaError):
                txn.fail(exc)
            raise

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Producer]:
        """``async with producer.transaction():`` begins a transaction, commits it when the
        block succeeds and aborts it when the block (or the commit) raises."""
        self.begin_transaction()
        try:
            yield self
        except BaseException:
            await self._abort_quietly()
            raise
        try:
            await self.commit_transaction()
        except KafkaError as exc:
            if exc.txn_requires_abort or self._txn_state_abortable():
                await self._abort_quietly()
            raise

    def _txn_state_abortable(self) -> bool:
        return self._txn is not None and self._txn.state.name == "ABORTABLE_ERROR"

    async def _abort_quietly(self) -> None:
        txn = self._txn
        if txn is None or txn.state.name not in ("IN_TRANSACTION", "ABORTABLE_ERROR", "ABORTING"):
            return
        try:
            await self.abort_transaction()
        except KafkaError as exc:
            log.warning("could not abort the transaction: %s", exc)

    async def _abort_on_close(self, timeout: float | None) -> None:
        """stop() with an open transaction aborts it (best effort)."""
        txn = self._txn
        assert txn is not None
        if txn.state.name not in ("IN_TRANSACTION", "ABORTABLE_ERROR", "ABORTING", "COMMITTING"):
            return
        if txn.state.name == "COMMITTING":
            return  # a timed-out commit: let the coordinator decide (transaction timeout)
        try:
            await asyncio.wait_for(self._abort_quietly(), timeout)
        except asyncio.TimeoutError:
            log.warning("stop(): the open transaction was not aborted in time")

    def _queue_sizes(self, topic: str, partitions: Sequence[int]) -> list[int]:
        queues = self._accumulator.queues
        sizes = []
        for p in partitions:
            q = queues.get(self._tp(topic, p))
            sizes.append(len(q.batches) if q is not None else 0)
        return sizes

    def _on_new_batch(self) -> None:
        self._sender.wakeup()

    # ------------------------------------------------------------------ introspection

    def metrics(self) -> dict[str, float]:
        """Counters since start: records/bytes/batches sent, retries, errors, averages,
        buffer use."""
        result = self._metrics.as_dict()
        pool = self._accumulator.pool
        result["buffer_used_bytes"] = pool.used
        result["buffer_total_bytes"] = pool.total
        result["buffer_waiting_sends"] = pool.waiting
        result["batches_pending"] = len(self._accumulator.incomplete)
        idem = self._sender.idempotence
        result["producer_id"] = idem.producer_id
        result["producer_epoch"] = idem.epoch
        return result

    def __repr__(self) -> str:
        state = "closed" if self._closed else "started" if self._started else "new"
        return f"<Producer client_id={self._options.cluster.client_id!r} {state}>"
