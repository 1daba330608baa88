"""The public asyncio consumer."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import AsyncIterator, Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any

from kafkaio.cluster import ClusterClient, ClusterMetadata, MetadataUpdate, TopicPartition
from kafkaio.consumer.fetcher import Fetcher
from kafkaio.consumer.group.consumer_protocol import ConsumerGroupMember
from kafkaio.consumer.group.coordinator import GroupCoordinator
from kafkaio.consumer.group.listener import ConsumerRebalanceListener
from kafkaio.consumer.group.member import GroupMember
from kafkaio.consumer.offsets import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, OffsetsClient
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.record import ConsumerRecord, OffsetAndMetadata, OffsetAndTimestamp
from kafkaio.consumer.subscription import SubscriptionState, SubscriptionType
from kafkaio.errors import IllegalStateError, NoOffsetForPartitionError, RecordDeserializationError

__all__ = ["Consumer"]

log = logging.getLogger("kafkaio.consumer")

_FOREVER_MS = 2**31 - 1


class Consumer:
    """Reads records from Kafka; usable as ``async with`` and ``async for``.

    ::

        async with Consumer("events", bootstrap_servers="localhost:9092",
                            group_id="my-group") as consumer:
            async for record in consumer:
                print(record.offset, record.value)

    Partitions come from a group subscription (:meth:`subscribe`, or topics given to the
    constructor), or from :meth:`assign`. Without a ``group_id`` a subscription reads every
    partition of its topics and nothing is committed. Options are the Java consumer's
    configuration names in snake_case (see :class:`~kafkaio.consumer.options.ConsumerOptions`)
    plus the cluster client's (``bootstrap_servers``, ``client_id``...); bad options raise
    at construction (:class:`TypeError` / :class:`ValueError` naming the option).

    Group protocol: ``group_protocol="classic"`` (default) runs JoinGroup/SyncGroup with the
    client-side ``partition_assignment_strategy``. ``group_protocol="consumer"`` (KIP-848,
    Kafka 4.0+) lets the broker assign partitions incrementally through
    ConsumerGroupHeartbeat (``group_remote_assignor`` picks the broker's assignor, e.g.
    ``"uniform"`` or ``"range"``); the broker sets the heartbeat interval and session
    timeout, so ``session_timeout_ms``, ``heartbeat_interval_ms`` and
    ``partition_assignment_strategy`` must not be given then. Its listener calls name only
    the partitions that move (as with cooperative rebalancing): revoked ones first (their
    positions auto-committed before), then added ones; fencing calls ``on_partitions_lost``.
    """

    def __init__(self, *topics: str, **options: Any) -> None:
        self._options = ConsumerOptions.from_kwargs(options)
        opts = self._options
        self._async_deserializing = (
            opts.async_key_deserializer is not None or opts.async_value_deserializer is not None
        )
        self._client = ClusterClient.from_options(opts.cluster)
        self._subs = SubscriptionState()
        self._offsets = OffsetsClient(
            self._client,
            request_timeout_ms=opts.request_timeout_ms,
            retry_backoff_ms=opts.retry_backoff_ms,
            isolation_level=opts.isolation,
        )
        self._fetcher = Fetcher(self._client, self._subs, opts)
        self._listener: ConsumerRebalanceListener | None = None
        self._coordinator: GroupMember | None = None
        if opts.group_id is not None:
            member = ConsumerGroupMember if opts.group_protocol == "consumer" else GroupCoordinator
            self._coordinator = member(
                self._client,
                self._subs,
                self._offsets,
                opts,
                listener=lambda: self._listener,
                on_revoked=self._on_revoked,
                on_released=self._fetcher.wakeup,
            )
        self._positions_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False
        self._closed = False
        if topics:
            self.subscribe(list(topics))

    # ------------------------------------------------------------------ lifecycle

    @property
    def options(self) -> ConsumerOptions:
        """The validated options."""
        return self._options

    @property
    def client(self) -> ClusterClient:
        """The cluster client the consumer uses."""
        return self._client

    async def start(self) -> None:
        """Connect (bootstrap), join the group if subscribed, and start fetching."""
        if self._closed:
            raise IllegalStateError("the consumer is stopped; create a new one")
        if self._started:
            return
        await self._client.bootstrap()
        self._client.cluster.add_listener(self._on_metadata)
        self._started = True
        self._fetcher.start()
        await self._track_topics()
        if self._coordinator is not None:
            self._coordinator.start()

    async def stop(self) -> None:
        """Commit (with auto-commit), leave the group (unless static) and close."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._coordinator is not None and self._started:
                await self._coordinator.close()
        finally:
            await self._fetcher.close()
            self._fetcher.wakeup()
            await self._client.close()

    async def __aenter__(self) -> Consumer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _check_running(self) -> None:
        if self._closed:
            raise IllegalStateError("the consumer is stopped")
        if not self._started:
            raise IllegalStateError("the consumer is not started: await start() first")

    # ------------------------------------------------------------------ subscription

    def subscribe(
        self,
        topics: Iterable[str] | None = None,
        pattern: str | re.Pattern[str] | None = None,
        listener: ConsumerRebalanceListener | None = None,
    ) -> None:
        """Subscribe to ``topics`` or to every topic matching ``pattern`` (not both).

        Replaces a previous subscription. ``listener`` gets the rebalance callbacks.
        """
        if (topics is None) == (pattern is None):
            raise ValueError("subscribe() needs exactly one of topics or pattern")
        if listener is not None and not isinstance(listener, ConsumerRebalanceListener):
            raise TypeError(
                f"listener must be a ConsumerRebalanceListener, got {type(listener).__name__}"
            )
        if self._subs.type is SubscriptionType.USER_ASSIGNED:
            raise IllegalStateError(
                "subscribe() cannot be used after assign(): call unsubscribe() first"
            )
        if topics is not None:
            if isinstance(topics, str):
                raise TypeError("topics must be a list of topic names, not a str")
            names = list(topics)
            if not names:
                raise ValueError("subscribe() got an empty topic list (use unsubscribe())")
            for name in names:
                if not isinstance(name, str) or not name:
                    raise ValueError(f"invalid topic name {name!r}")
            self._subs.subscribe(names)
        else:
            assert pattern is not None
            compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
            if not isinstance(compiled, re.Pattern):
                raise TypeError(f"pattern must be a str or re.Pattern, got {pattern!r}")
            self._subs.subscribe_pattern(compiled)
        self._listener = listener
        if self._started:
            self._spawn(self._track_topics())
        if self._coordinator is not None:
            self._coordinator.request_rejoin("subscription changed")

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """Read exactly ``partitions`` (no group rebalancing); replaces a previous assignment."""
        parts = list(partitions)
        for tp in parts:
            if not isinstance(tp, tuple) or len(tp) != 2:
                raise TypeError(f"assign() takes TopicPartition objects, got {tp!r}")
            topic, partition = tp
            if not isinstance(topic, str) or not topic:
                raise ValueError(f"invalid topic name {topic!r} in {tp!r}")
            if isinstance(partition, bool) or not isinstance(partition, int) or partition < 0:
                raise ValueError(f"invalid partition {partition!r} in {tp!r}")
        if self._subs.subscribed:
            raise IllegalStateError(
                "assign() cannot be used after subscribe(): call unsubscribe() first"
            )
        parts = [TopicPartition(t, p) for t, p in parts]
        for tp in self._subs.assignment() - set(parts):
            self._fetcher.discard(tp)
        self._subs.assign_from_user(parts)
        if self._started:
            self._spawn(self._track_topics())

    def unsubscribe(self) -> None:
        """Drop the subscription or assignment; a group member commits (with auto-commit),
        gets ``on_partitions_revoked`` and leaves the group in the background."""
        if self._coordinator is not None and self._subs.subscribed and self._started:
            owned = self._subs.assignment()
            self._coordinator.unsubscribed(owned, self._coordinator.positions_to_commit())
        for tp in self._subs.assignment():
            self._fetcher.discard(tp)
        self._subs.unsubscribe()
        if self._started:
            self._client.set_topics(())
            self._client.track_all_topics(False)

    def subscription(self) -> frozenset[str]:
        """The subscribed topics (for a pattern: those it currently matches)."""
        return self._subs.topics

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions currently assigned to this consumer."""
        return self._subs.assignment()

    async def _track_topics(self) -> None:
        if self._subs.type is SubscriptionType.AUTO_PATTERN:
            await self._client.track_all_topics(True)
            self._match_pattern()
        else:
            await self._client.set_topics(self._subs.topics)
        if self._coordinator is None and self._subs.subscribed:
            self._assign_all_partitions()

    def _on_metadata(self, cluster: ClusterMetadata, update: MetadataUpdate) -> None:
        if self._closed:
            return
        if self._subs.type is SubscriptionType.AUTO_PATTERN:
            self._match_pattern()
        if self._coordinator is None and self._subs.subscribed:
            self._assign_all_partitions()
        if update.leaders_changed:
            self._fetcher.wakeup_loops()

    def _match_pattern(self) -> None:
        pattern = self._subs.pattern
        if pattern is None:
            return
        topics = self._client.cluster.topics(exclude_internal=self._options.exclude_internal_topics)
        matched = self._subs.set_pattern_matches(t for t in topics if pattern.fullmatch(t))
        if matched and self._coordinator is not None:
            self._coordinator.request_rejoin("the pattern matches other topics")

    def _assign_all_partitions(self) -> None:
        cluster = self._client.cluster
        wanted = {
            TopicPartition(t, p)
            for t in self._subs.topics
            for p in cluster.partitions_for_topic(t) or ()
        }
        if wanted != self._subs.assignment():
            self._subs.assign_from_group(wanted)

    def _on_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        for tp in partitions:
            self._fetcher.discard(tp)

    # ------------------------------------------------------------------ records

    async def getmany(
        self,
        *partitions: TopicPartition,
        timeout_ms: int = 0,
        max_records: int | None = None,
    ) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        """Records fetched so far, waiting up to ``timeout_ms`` for some to arrive.

        At most ``max_records`` (default ``max_poll_records``) over all partitions; with
        ``partitions`` only those. Paused partitions return nothing.
        """
        self._check_running()
        if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or timeout_ms < 0:
            raise ValueError(f"timeout_ms must be a non-negative int, got {timeout_ms!r}")
        limit = self._options.max_poll_records if max_records is None else max_records
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_records must be a positive int, got {max_records!r}")
        only = frozenset(partitions) if partitions else None
        if only is not None:
            for tp in only:
                self._subs.state(tp)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        while True:
            if self._closed:
                return {}
            if self._coordinator is not None:
                await self._coordinator.on_poll()
            await self._update_positions()
            withheld = self._coordinator.withheld if self._coordinator is not None else None
            if withheld:
                # Being revoked or waiting for on_partitions_assigned: none of their records.
                base = self._subs.assignment() if only is None else only
                records = self._fetcher.take(limit, base - withheld)
            else:
                records = self._fetcher.take(limit, only)
            if records:
                if self._async_deserializing:
                    return await self._deserialize(records)
                return records
            remaining = deadline - loop.time()
            if remaining <= 0:
                return {}
            await self._fetcher.wait_for_data(remaining)

    async def _deserialize(
        self, batch: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]
    ) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        """Apply the async deserializers. On a failure nothing of this poll is handed out:
        every partition goes back to its first record here, and the error names the record
        (``seek`` past it to go on)."""
        key_deser = self._options.async_key_deserializer
        value_deser = self._options.async_value_deserializer
        out: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = {}
        for tp, records in batch.items():
            done: list[ConsumerRecord[Any, Any]] = []
            for r in records:
                key, value = r.key, r.value
                part = "key"
                try:
                    if key_deser is not None:
                        key = await key_deser(tp.topic, r.key)
                    part = "value"
                    if value_deser is not None:
                        value = await value_deser(tp.topic, r.value)
                except Exception as exc:
                    for back, recs in batch.items():
                        if recs and self._subs.is_assigned(back):
                            self._fetcher.discard(back)
                            self._subs.seek(back, recs[0].offset, recs[0].leader_epoch)
                    raise RecordDeserializationError(
                        tp.topic, tp.partition, r.offset, part, exc
                    ) from exc
                # A new (GC-tracked) record: a deserialized value may refer to anything.
                done.append(dataclasses.replace(r, key=key, value=value))
            out[tp] = done
        return out

    async def getone(self, *partitions: TopicPartition) -> ConsumerRecord[Any, Any]:
        """The next record (of ``partitions`` if given), waiting as long as it takes."""
        while True:
            self._check_running()
            batch = await self.getmany(*partitions, timeout_ms=_FOREVER_MS, max_records=1)
            for records in batch.values():
                if records:
                    return records[0]

    def __aiter__(self) -> AsyncIterator[ConsumerRecord[Any, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ConsumerRecord[Any, Any]]:
        while not self._closed:
            batch = await self.getmany(timeout_ms=_FOREVER_MS)
            for records in batch.values():
                for record in records:
                    yield record

    # ------------------------------------------------------------------ positions

    async def _update_positions(self) -> None:
        if not self._subs.missing_positions() and not self._subs.awaiting_reset():
            return
        async with self._positions_lock:
            missing = self._subs.missing_positions()
            if missing:
                await self._initialize_positions(missing)
            resets = self._subs.awaiting_reset()
            if resets:
                await self._reset_positions(resets)

    async def _initialize_positions(self, missing: list[TopicPartition]) -> None:
        committed: Mapping[TopicPartition, OffsetAndMetadata | None] = {}
        if self._coordinator is not None:
            committed = await self._offsets.fetch_committed(self._coordinator.group_id, missing)
        policy = self._options.auto_offset_reset
        no_offset = []
        for tp in missing:
            if not self._subs.is_assigned(tp):
                continue
            state = self._subs.state(tp)
            if state.position is not None or state.reset_strategy is not None:
                continue  # the user seeked meanwhile
            om = committed.get(tp)
            if om is not None:
                self._subs.seek(tp, om.offset, om.leader_epoch)
            elif policy == "none":
                no_offset.append(tp)
            else:
                self._subs.request_reset(tp, policy)
        if no_offset:
            raise NoOffsetForPartitionError(
                f"no committed offset for {sorted(no_offset)} and auto_offset_reset is 'none'"
            )

    async def _reset_positions(self, resets: Mapping[TopicPartition, str]) -> None:
        timestamps = {
            tp: EARLIEST_TIMESTAMP if strategy == "earliest" else LATEST_TIMESTAMP
            for tp, strategy in resets.items()
        }
        found = await self._offsets.list_offsets(timestamps)
        for tp, strategy in resets.items():
            if not self._subs.is_assigned(tp):
                continue
            state = self._subs.state(tp)
            if state.reset_strategy != strategy or state.position is not None:
                continue
            result = found.get(tp)
            if result is not None:
                self._fetcher.discard(tp)
                self._subs.seek(tp, result.offset, result.leader_epoch)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read ``partition`` from ``offset`` next (buffered records of it are dropped)."""
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a non-negative int, got {offset!r}")
        self._subs.state(partition)
        self._fetcher.discard(partition)
        self._subs.seek(partition, offset)

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        """Read ``partitions`` (default: all assigned) from their first offset."""
        await self._seek_to("earliest", partitions)

    async def seek_to_end(self, *partitions: TopicPartition) -> None:
        """Read ``partitions`` (default: all assigned) from the end (only new records)."""
        await self._seek_to("latest", partitions)

    async def _seek_to(self, strategy: str, partitions: tuple[TopicPartition, ...]) -> None:
        self._check_running()
        targets = list(partitions) if partitions else sorted(self._subs.assignment())
        for tp in targets:
            self._subs.state(tp)
        for tp in targets:
            self._fetcher.discard(tp)
            self._subs.request_reset(tp, strategy)
        async with self._positions_lock:
            await self._reset_positions(self._subs.awaiting_reset())

    async def position(self, partition: TopicPartition) -> int:
        """The offset of the next record :meth:`getmany` returns for ``partition``."""
        self._check_running()
        state = self._subs.state(partition)
        while state.position is None:
            await self._update_positions()
            state = self._subs.state(partition)
        return state.position

    def highwater(self, partition: TopicPartition) -> int | None:
        """The partition's high watermark from the last fetch (``None`` before one)."""
        return self._subs.state(partition).highwater

    def last_stable_offset(self, partition: TopicPartition) -> int | None:
        """The last stable offset from the last fetch (``None`` before one)."""
        return self._subs.state(partition).last_stable_offset

    async def beginning_offsets(
        self, partitions: Iterable[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """The first offset of each partition."""
        return await self._list(partitions, EARLIEST_TIMESTAMP)

    async def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """The offset after the last record of each partition (the last stable offset with
        ``read_committed``)."""
        return await self._list(partitions, LATEST_TIMESTAMP)

    async def _list(
        self, partitions: Iterable[TopicPartition], timestamp: int
    ) -> dict[TopicPartition, int]:
        self._check_running()
        parts = [TopicPartition(*tp) for tp in partitions]
        found = await self._offsets.list_offsets(dict.fromkeys(parts, timestamp))
        return {tp: (r.offset if r is not None else -1) for tp, r in found.items()}

    async def offsets_for_times(
        self, timestamps: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        """For each partition, the first offset whose timestamp is at or after the given
        one (milliseconds since the epoch), or ``None`` if there is none."""
        self._check_running()
        for tp, ts in timestamps.items():
            if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
                raise ValueError(f"timestamp for {tp} must be a non-negative int, got {ts!r}")
        return await self._offsets.list_offsets(
            {TopicPartition(*tp): ts for tp, ts in timestamps.items()}
        )

    # ------------------------------------------------------------------ pause

    def pause(self, *partitions: TopicPartition) -> None:
        """Stop returning records of ``partitions`` (buffered ones are kept for later)."""
        for tp in partitions:
            self._subs.pause(tp)

    def resume(self, *partitions: TopicPartition) -> None:
        """Return records of ``partitions`` again."""
        for tp in partitions:
            self._subs.resume(tp)

    def paused(self) -> frozenset[TopicPartition]:
        """The paused partitions."""
        return self._subs.paused()

    # ------------------------------------------------------------------ commits

    def _group(self) -> GroupMember:
        if self._coordinator is None:
            raise IllegalStateError("committed offsets need a group_id")
        return self._coordinator

    async def commit(
        self,
        offsets: Mapping[TopicPartition, int | tuple[int, str] | OffsetAndMetadata] | None = None,
    ) -> None:
        """Commit ``offsets`` (default: every assigned partition's position).

        Each offset is the next one to read (last processed + 1), optionally with metadata:
        ``{tp: offset}``, ``{tp: (offset, "metadata")}`` or :class:`OffsetAndMetadata`.
        Committing a partition not assigned raises :class:`~kafkaio.errors.IllegalStateError`;
        group errors (e.g. :class:`~kafkaio.errors.RebalanceInProgressError`) are raised.
        """
        self._check_running()
        group = self._group()
        if offsets is None:
            to_commit = group.positions_to_commit()
        else:
            to_commit = {}
            for tp, value in offsets.items():
                tp = TopicPartition(*tp)
                if not self._subs.is_assigned(tp):
                    raise IllegalStateError(f"cannot commit {tp}: it is not assigned")
                state = self._subs.state(tp)
                om = _offset_and_metadata(tp, value)
                if om.leader_epoch is None and om.offset == state.position:
                    om = om._replace(leader_epoch=state.position_epoch)
                to_commit[tp] = om
        await group.commit(to_commit)

    async def committed(self, partition: TopicPartition) -> int | None:
        """The group's committed offset for ``partition`` (``None`` if none)."""
        result = await self.committed_offsets(partition)
        om = result.get(TopicPartition(*partition))
        return om.offset if om is not None else None

    async def committed_offsets(
        self, *partitions: TopicPartition
    ) -> dict[TopicPartition, OffsetAndMetadata | None]:
        """Committed offsets with their metadata and leader epoch."""
        self._check_running()
        group = self._group()
        parts = [TopicPartition(*tp) for tp in partitions]
        return await self._offsets.fetch_committed(group.group_id, parts)

    # ------------------------------------------------------------------ metadata

    async def topics(self) -> set[str]:
        """Every topic of the cluster (internal ones excluded per ``exclude_internal_topics``)."""
        self._check_running()
        snapshot = await self._client.fetch_all_metadata()
        return snapshot.topics(exclude_internal=self._options.exclude_internal_topics)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        """Partition numbers of ``topic`` from cached metadata (``None`` if unknown)."""
        return self._client.cluster.partitions_for_topic(topic)

    # ------------------------------------------------------------------ introspection

    @property
    def member_id(self) -> str | None:
        """The group member id (``None`` without a group)."""
        return self._coordinator.member_id if self._coordinator is not None else None

    @property
    def generation_id(self) -> int | None:
        """The group generation, or with ``group_protocol="consumer"`` the member epoch
        (``None`` without a group; ``-1`` before joining)."""
        return self._coordinator.generation_id if self._coordinator is not None else None

    def metrics(self) -> dict[str, float]:
        """Counters: fetch requests, full and incremental fetches, records, rebalances."""
        m = self._fetcher.metrics
        return {
            "fetch_requests": m.fetch_requests,
            "fetch_errors": m.fetch_errors,
            "full_fetches": m.full_fetches,
            "incremental_fetches": m.incremental_fetches,
            "fetch_session_errors": m.session_errors,
            "records_fetched": m.records_fetched,
            "bytes_fetched": m.bytes_fetched,
            "rebalances": self._coordinator.rebalances if self._coordinator is not None else 0,
        }

    def __repr__(self) -> str:
        return (
            f"<Consumer group={self._options.group_id!r} "
            f"assignment={sorted(self._subs.assignment())}>"
        )


def _offset_and_metadata(
    tp: TopicPartition, value: int | tuple[int, str] | OffsetAndMetadata
) -> OffsetAndMetadata:
    if isinstance(value, OffsetAndMetadata):
        om = value
    elif isinstance(value, int) and not isinstance(value, bool):
        om = OffsetAndMetadata(value)
    elif isinstance(value, tuple) and len(value) == 2:
        om = OffsetAndMetadata(value[0], value[1])
    else:
        raise TypeError(
            f"offset for {tp} must be an int, (offset, metadata) or OffsetAndMetadata, got {value!r}"
        )
    if isinstance(om.offset, bool) or not isinstance(om.offset, int) or om.offset < 0:
        raise ValueError(f"offset for {tp} must be a non-negative int, got {om.offset!r}")
    if not isinstance(om.metadata, str):
        raise TypeError(f"metadata for {tp} must be a str, got {om.metadata!r}")
    return om
