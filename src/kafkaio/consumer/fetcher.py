"""Fetching: one loop per broker, prefetching into a bounded buffer.

Each broker that leads (or, with ``client_rack``, is the preferred read replica of) an
assigned partition gets its own fetch loop with its own fetch session, so a slow broker
never delays the others. A loop fetches only partitions that are assigned, not paused,
have a position and have nothing buffered; a partition becomes fetchable again as soon as
the application has taken its buffered records, so the next fetch runs while the
application works. Memory is therefore bounded by one response (``fetch_max_bytes``) per
broker.

A fetch lets the broker hold it (``fetch_max_wait_ms``) only when nothing of that broker is
buffered: one fetch is in flight per broker, so a held fetch for caught-up partitions would
keep partitions the application is draining from being fetched again. While data is
buffered, an empty answer makes the loop wait until a partition is drained instead.

Data is checked against the partition's state when it is handed out, not when it arrives:
a fetch whose offset is no longer the partition's position (the user seeked meanwhile) is
dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.cluster.metadata import BrokerMetadata, ClusterMetadata, MetadataUpdate
from kafkaio.consumer.fetch_session import FetchRequestData, FetchSession, PartitionFetchData
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.record import (
    CONSUMER_RECORD_ROW,
    ConsumerRecord,
    RecordDeserializationError,
)
from kafkaio.consumer.subscription import PartitionState, SubscriptionState
from kafkaio.errors import (
    CorruptRecordError,
    KafkaError,
    OffsetOutOfRangeError,
    for_code,
)
from kafkaio.protocol.messages import FetchRequest, FetchResponse
from kafkaio.protocol.messages.fetch import FetchPartition, FetchTopic, ForgottenTopic
from kafkaio.records import ControlRecordType, Record, iter_batches
from kafkaio.records.v2 import DefaultRecordBatch

__all__ = ["CompletedFetch", "Fetcher", "FetcherMetrics", "parse_partition_data"]

log = logging.getLogger("kafkaio.consumer")

_ZERO_UUID = UUID(int=0)
_FETCH_TOPIC_ID_VERSION = 13
_DIVERGING_EPOCH_VERSION = 12
_OFFSET_OUT_OF_RANGE = 1
# NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH: may name the new leader (KIP-951).
_LEADER_MOVED = frozenset({6, 74})
_REFRESH_CODES = frozenset(
    {
        3,  # UNKNOWN_TOPIC_OR_PARTITION
        5,  # LEADER_NOT_AVAILABLE
        6,  # NOT_LEADER_OR_FOLLOWER
        9,  # REPLICA_NOT_AVAILABLE
        56,  # KAFKA_STORAGE_ERROR
        74,  # FENCED_LEADER_EPOCH
        75,  # UNKNOWN_LEADER_EPOCH
        100,  # UNKNOWN_TOPIC_ID
        103,  # INCONSISTENT_TOPIC_ID
        110,  # FETCH_SESSION_TOPIC_ID_ERROR
    }
)
_FATAL_PARTITION_CODES = frozenset({29})  # TOPIC_AUTHORIZATION_FAILED


@dataclass
class FetcherMetrics:
    """Counters of the fetcher (fetch sessions are counted per broker in ``sessions``)."""

    fetch_requests: int = 0
    fetch_errors: int = 0
    records_fetched: int = 0
    bytes_fetched: int = 0
    sessions: dict[int, FetchSession] = field(default_factory=dict)

    @property
    def full_fetches(self) -> int:
        """Full fetch requests over all brokers."""
        return sum(s.full_fetches for s in self.sessions.values())

    @property
    def incremental_fetches(self) -> int:
        """Incremental fetch requests over all brokers."""
        return sum(s.incremental_fetches for s in self.sessions.values())

    @property
    def session_errors(self) -> int:
        """Fetch session errors over all brokers."""
        return sum(s.session_errors for s in self.sessions.values())


@dataclass
class ParsedPartition:
    """Records of one partition of a fetch response, ready to hand out."""

    batches: list[tuple[list[ConsumerRecord[Any, Any]], int]]
    """Per batch: its records at or after the fetch offset, and its leader epoch."""
    next_offset: int
    """Where to fetch next once every record was taken (skips control/aborted batches)."""
    error: KafkaError | None = None
    """A corrupt batch after ``batches``: raised once they were taken."""
    last_epoch: int = -1
    """Leader epoch of the last batch read (control and aborted ones included)."""

    @property
    def count(self) -> int:
        """Number of records."""
        return sum(len(records) for records, _epoch in self.batches)


def parse_partition_data(
    data: bytes | None,
    tp: TopicPartition,
    fetch_offset: int,
    *,
    read_committed: bool,
    aborted: list[tuple[int, int]] | None,
    check_crcs: bool,
) -> ParsedPartition:
    """Decode a partition's records: trim below ``fetch_offset``, drop control records and,
    with ``read_committed``, the batches of aborted transactions.

    ``aborted`` is the response's aborted-transactions list as ``(producer_id, first_offset)``.
    A transaction is aborted from its first offset up to its ABORT marker.
    """
    out: list[tuple[list[ConsumerRecord[Any, Any]], int]] = []
    topic, partition = tp
    next_offset = fetch_offset
    pending = sorted((first, pid) for pid, first in aborted or ())
    heapq.heapify(pending)
    aborted_pids: set[int] = set()
    error: KafkaError | None = None
    last_epoch = -1
    try:
        for batch in iter_batches(
            data or b"", verify_crc=check_crcs, topic=tp.topic, partition=tp.partition
        ):
            if batch.next_offset <= fetch_offset:
                continue
            last_epoch = batch.partition_leader_epoch
            if read_committed and batch.producer_id >= 0:
                while pending and pending[0][0] <= batch.last_offset:
                    aborted_pids.add(heapq.heappop(pending)[1])
                if batch.is_control:
                    if batch.control_type is ControlRecordType.ABORT:
                        aborted_pids.discard(batch.producer_id)
                elif batch.is_transactional and batch.producer_id in aborted_pids:
                    next_offset = max(next_offset, batch.next_offset)
                    continue
            if batch.is_control:
                next_offset = max(next_offset, batch.next_offset)
                continue
            epoch = batch.partition_leader_epoch
            # Raw (not yet deserialized) records, built once: a plain _drain hands them out as is.
            if isinstance(batch, DefaultRecordBatch):
                records = batch.records_as(
                    CONSUMER_RECORD_ROW, topic, partition, epoch if epoch >= 0 else None
                )
            else:
                records = [_from_record(tp, r, epoch) for r in batch.records()]
            if records and records[0].offset < fetch_offset:
                records = [r for r in records if r.offset >= fetch_offset]
            if records:
                out.append((records, batch.partition_leader_epoch))
            next_offset = max(next_offset, batch.next_offset)
    except CorruptRecordError as exc:
        if exc.topic is None:
            exc.topic, exc.partition = tp.topic, tp.partition
        if exc.offset is None:
            exc.offset = next_offset
        error = exc
    return ParsedPartition(out, next_offset, error, last_epoch)


def _from_record(tp: TopicPartition, record: Record, epoch: int) -> ConsumerRecord[Any, Any]:
    key, value = record.key, record.value
    return ConsumerRecord(
        tp.topic,
        tp.partition,
        record.offset,
        record.timestamp,
        record.timestamp_type,
        key,
        value,
        record.headers,
        epoch if epoch >= 0 else None,
        -1 if key is None else len(key),
        -1 if value is None else len(value),
    )


@dataclass
class CompletedFetch:
    """A partition's fetched records waiting for the application."""

    tp: TopicPartition
    fetch_offset: int
    parsed: ParsedPartition
    batch_index: int = 0
    record_index: int = 0

    @property
    def exhausted(self) -> bool:
        """Every record was taken (a pending error may remain)."""
        return self.batch_index >= len(self.parsed.batches)


Deserializer = Callable[[bytes | None], Any] | None


class Fetcher:
    """Runs the per-broker fetch loops and hands out buffered records."""

    def __init__(
        self,
        client: ClusterClient,
        subscriptions: SubscriptionState,
        options: ConsumerOptions,
    ) -> None:
        self._client = client
        self._subs = subscriptions
        self._options = options
        self._key_deserializer: Deserializer = options.key_deserializer
        self._value_deserializer: Deserializer = options.value_deserializer
        self._read_committed = options.isolation == 1
        self._completed: dict[TopicPartition, CompletedFetch] = {}
        self._errors: dict[TopicPartition, KafkaError] = {}
        self._loops: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._data = asyncio.Event()
        self.metrics = FetcherMetrics()
        self._closed = False
        self._started = False
        self._backoff = options.retry_backoff_ms / 1000
        self.on_out_of_range: Callable[[TopicPartition], None] | None = None
        subscriptions.add_listener(self.wakeup)

    # ------------------------------------------------------------------ signalling

    def wakeup(self) -> None:
        """Something changed (assignment, position, pause): re-plan fetches, wake readers."""
        old, self._wake = self._wake, asyncio.Event()
        old.set()
        self._notify_data()
        if self._started and not self._closed:
            self._ensure_loops()

    def start(self) -> None:
        """Start fetching (call from a running event loop)."""
        self._started = True
        # Leaders move with metadata: a partition may now need another broker's loop.
        self._client.cluster.add_listener(self._on_metadata)
        self._ensure_loops()

    def _notify_data(self) -> None:
        old, self._data = self._data, asyncio.Event()
        old.set()

    async def wait_for_data(self, timeout: float) -> None:
        """Wait until new data, an error or a state change arrives (or ``timeout``)."""
        event = self._data
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    # ------------------------------------------------------------------ loops

    def _target(self, tp: TopicPartition, state: PartitionState, now: float) -> int | None:
        replica = state.preferred_read_replica
        if replica is not None:
            if now < state.preferred_replica_expiry and self._client.cluster.broker(replica):
                return replica
            state.preferred_read_replica = None
        return self._client.leader_for(tp)

    def _ensure_loops(self) -> None:
        now = asyncio.get_running_loop().time()
        missing_leader = False
        for tp, state in self._subs.items():
            if state.paused or state.position is None or tp in self._completed:
                continue
            node = self._target(tp, state, now)
            if node is None:
                missing_leader = True
                continue
            task = self._loops.get(node)
            if task is None or task.done():
                self._loops[node] = asyncio.create_task(
                    self._node_loop(node), name=f"kafkaio-fetch-{node}"
                )
        if missing_leader and not self._client.closed:
            self._client.force_metadata_update()

    def _wanted(self, node: int, now: float) -> dict[TopicPartition, PartitionFetchData]:
        wanted: dict[TopicPartition, PartitionFetchData] = {}
        cluster = self._client.cluster
        for tp, state in self._subs.items():
            if state.paused or state.position is None or tp in self._completed:
                continue
            if tp in self._errors or now < state.backoff_until:
                continue
            if self._target(tp, state, now) != node:
                continue
            wanted[tp] = PartitionFetchData(
                fetch_offset=state.position,
                max_bytes=self._options.max_partition_fetch_bytes,
                current_leader_epoch=cluster.leader_epoch(tp),
                last_fetched_epoch=-1 if state.position_epoch is None else state.position_epoch,
            )
        return wanted

    async def _node_loop(self, node: int) -> None:
        session = self.metrics.sessions.setdefault(node, FetchSession(node))
        loop = asyncio.get_running_loop()
        use_ids: bool | None = None
        while not self._closed:
            wake = self._wake
            wanted = self._wanted(node, loop.time())
            if not wanted:
                # Keep the session: the partitions come back (usually at a new offset)
                # once the application took the buffered records.
                delay = self._next_backoff(node, loop.time())
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)
                continue
            try:
                version = await self._client.api_version_for(node, FetchRequest)
                ids = version >= _FETCH_TOPIC_ID_VERSION and all(
                    self._client.cluster.topic_id(tp.topic) is not None for tp in wanted
                )
                if not ids:
                    version = min(version, _FETCH_TOPIC_ID_VERSION - 1)
                if ids != use_ids:
                    session.reset()
                    use_ids = ids
                request_data = session.build(wanted)
                draining = self._buffered_for(node, loop.time())
                request, names = self._build_request(
                    request_data, ids, version, 0 if draining else self._options.fetch_max_wait_ms
                )
                self.metrics.fetch_requests += 1
                response = await self._client.send(node, request, version=version)
            except asyncio.CancelledError:
                raise
            except KafkaError as exc:
                self.metrics.fetch_errors += 1
                session.reset()
                log.info("fetch from node %d failed: %s", node, exc)
                if not self._client.closed:
                    self._client.force_metadata_update()
                await asyncio.sleep(self._backoff)
                continue
            if self._closed:
                return
            assert isinstance(response, FetchResponse)
            if not session.handle_response(request_data, response.error_code, response.session_id):
                if response.error_code:
                    await asyncio.sleep(self._backoff)
                continue
            before = self.metrics.records_fetched
            self._handle_response(node, request_data, response, names)
            if draining and self.metrics.records_fetched == before:
                # Nothing new: fetch again once the application drained a partition, rather
                # than spinning on unheld fetches.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wake.wait(), self._options.fetch_max_wait_ms / 1000)

    def _buffered_for(self, node: int, now: float) -> bool:
        """Whether records of a partition fetched from ``node`` wait for the application."""
        subs = self._subs
        for tp in self._completed:
            if not subs.is_assigned(tp):
                continue
            state = subs.state(tp)
            if not state.paused and self._target(tp, state, now) == node:
                return True
        return False

    def _next_backoff(self, node: int, now: float) -> float:
        # Wake up when the earliest backed-off partition may be fetched again.
        pending = [s.backoff_until - now for _tp, s in self._subs.items() if s.backoff_until > now]
        return max(min(pending), 0.001) if pending else 5.0

    def _build_request(
        self, data: FetchRequestData, ids: bool, version: int, max_wait_ms: int
    ) -> tuple[FetchRequest, dict[UUID, str]]:
        cluster = self._client.cluster
        names: dict[UUID, str] = {}

        def topic_id(topic: str) -> UUID:
            tid = cluster.topic_id(topic) or _ZERO_UUID
            names[tid] = topic
            return tid

        topics: dict[str, list[FetchPartition]] = {}
        for tp, part in data.to_send.items():
            topics.setdefault(tp.topic, []).append(
                FetchPartition(
                    partition=tp.partition,
                    current_leader_epoch=part.current_leader_epoch,
                    fetch_offset=part.fetch_offset,
                    last_fetched_epoch=(
                        part.last_fetched_epoch if version >= _DIVERGING_EPOCH_VERSION else -1
                    ),
                    log_start_offset=part.log_start_offset,
                    partition_max_bytes=part.max_bytes,
                )
            )
        forgotten: dict[str, list[int]] = {}
        for tp in data.to_forget:
            forgotten.setdefault(tp.topic, []).append(tp.partition)
        for tp in data.session_partitions:
            if ids:
                topic_id(tp.topic)
        request = FetchRequest(
            replica_id=-1,
            max_wait_ms=max_wait_ms,
            min_bytes=self._options.fetch_min_bytes,
            max_bytes=self._options.fetch_max_bytes,
            isolation_level=self._options.isolation,
            session_id=data.session_id,
            session_epoch=data.epoch,
            topics=[
                FetchTopic(topic=t, partitions=parts)
                if not ids
                else FetchTopic(topic_id=topic_id(t), partitions=parts)
                for t, parts in topics.items()
            ],
            forgotten_topics_data=[
                ForgottenTopic(topic=t, partitions=parts)
                if not ids
                else ForgottenTopic(topic_id=topic_id(t), partitions=parts)
                for t, parts in forgotten.items()
            ],
            rack_id=self._options.client_rack,
        )
        return request, names

    def _handle_response(
        self,
        node: int,
        request: FetchRequestData,
        response: FetchResponse,
        names: dict[UUID, str],
    ) -> None:
        loop_time = asyncio.get_running_loop().time()
        got_data = False
        refresh = False
        replan = False
        for topic in response.responses:
            name = names.get(topic.topic_id) if topic.topic_id != _ZERO_UUID else topic.topic
            if not name:
                continue
            for part in topic.partitions:
                tp = TopicPartition(name, part.partition_index)
                sent = request.session_partitions.get(tp)
                if sent is None or not self._subs.is_assigned(tp):
                    continue
                state = self._subs.state(tp)
                code = part.error_code
                if code == 0:
                    state.highwater = part.high_watermark
                    state.last_stable_offset = (
                        part.last_stable_offset if part.last_stable_offset >= 0 else None
                    )
                    state.log_start_offset = (
                        part.log_start_offset if part.log_start_offset >= 0 else None
                    )
                    if part.preferred_read_replica >= 0:
                        if part.preferred_read_replica != node:
                            replan = True  # the replica's node may have no loop yet
                        state.preferred_read_replica = part.preferred_read_replica
                        state.preferred_replica_expiry = (
                            loop_time + self._client.options.metadata_max_age_ms / 1000
                        )
                    if state.position != sent.fetch_offset or state.paused:
                        continue
                    diverging = part.diverging_epoch
                    if diverging.epoch >= 0 and diverging.end_offset >= 0:
                        self._truncated(
                            tp, sent.fetch_offset, diverging.epoch, diverging.end_offset
                        )
                        got_data = True
                        continue
                    if not part.records:
                        continue
                    self.metrics.bytes_fetched += len(part.records)
                    aborted = (
                        [(a.producer_id, a.first_offset) for a in part.aborted_transactions]
                        if part.aborted_transactions
                        else None
                    )
                    parsed = parse_partition_data(
                        part.records,
                        tp,
                        sent.fetch_offset,
                        read_committed=self._read_committed,
                        aborted=aborted,
                        check_crcs=self._options.check_crcs,
                    )
                    if parsed.batches or parsed.error or parsed.next_offset > sent.fetch_offset:
                        self.metrics.records_fetched += parsed.count
                        self._completed[tp] = CompletedFetch(tp, sent.fetch_offset, parsed)
                        got_data = True
                elif code == _OFFSET_OUT_OF_RANGE:
                    if state.preferred_read_replica == node:
                        # A follower may lag the leader: ask the leader before resetting.
                        state.preferred_read_replica = None
                        replan = True
                    elif state.position == sent.fetch_offset:
                        self._out_of_range(tp, sent.fetch_offset)
                        got_data = True
                elif code in _REFRESH_CODES:
                    log.debug("fetch of %s from node %d: error code %d", tp, node, code)
                    state.preferred_read_replica = None
                    leader = part.current_leader
                    # KIP-951 (Fetch v16+): the old leader names the new one; fetch there
                    # at once instead of after a back-off and a Metadata round trip.
                    if (
                        code in _LEADER_MOVED
                        and leader.leader_id >= 0
                        and self._client.cluster.apply_leader_hint(
                            tp,
                            leader.leader_id,
                            leader.leader_epoch,
                            (
                                BrokerMetadata(e.node_id, e.host, e.port, e.rack)
                                for e in response.node_endpoints
                            ),
                        )
                    ):
                        replan = True
                    else:
                        state.backoff_until = loop_time + self._backoff
                        refresh = True
                elif code in _FATAL_PARTITION_CODES:
                    self._errors[tp] = for_code(code)(f"fetching {tp.topic}-{tp.partition}")
                    got_data = True
                else:
                    log.warning("fetch of %s from node %d: error code %d", tp, node, code)
                    state.backoff_until = loop_time + self._backoff
        if refresh and not self._client.closed:
            self._client.force_metadata_update()
        if refresh or replan:
            self.wakeup_loops()  # another broker may serve these partitions now
        if got_data:
            self._notify_data()

    def _truncated(self, tp: TopicPartition, offset: int, epoch: int, end_offset: int) -> None:
        # The log diverged from what we read (an unclean leader change truncated it): go
        # back to where the logs agree, as the Java client does unless resets are disabled.
        if self._options.auto_offset_reset == "none":
            self._errors[tp] = OffsetOutOfRangeError(
                f"log truncation detected for {tp.topic}-{tp.partition}: offset {offset} is past"
                f" the end ({end_offset}) of leader epoch {epoch}"
            )
            return
        target = min(offset, end_offset)
        log.warning(
            "log truncation detected for %s: fetch offset %d, epoch %d ends at %d; seeking to %d",
            tp,
            offset,
            epoch,
            end_offset,
            target,
        )
        self._subs.seek(tp, target, epoch)

    def _out_of_range(self, tp: TopicPartition, offset: int) -> None:
        policy = self._options.auto_offset_reset
        if policy == "none":
            self._errors[tp] = OffsetOutOfRangeError(
                f"offset {offset} is out of range for {tp.topic}-{tp.partition}"
                " and auto_offset_reset is 'none'"
            )
            return
        log.info("offset %d out of range for %s; resetting to %s", offset, tp, policy)
        self._subs.request_reset(tp, policy)

    # ------------------------------------------------------------------ handing out

    def has_buffered(self) -> bool:
        """Whether records (or errors) are ready for a non-paused partition."""
        if self._errors:
            return True
        return any(self._subs.is_fetchable(tp) for tp in self._completed)

    def take(
        self, max_records: int, partitions: frozenset[TopicPartition] | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        """Buffered records of non-paused partitions (``partitions``: only those), advancing
        positions; raises a pending partition error when no records came before it."""
        result: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = {}
        remaining = max_records
        for tp in list(self._errors):
            if partitions is not None and tp not in partitions:
                continue
            if not self._subs.is_assigned(tp):
                del self._errors[tp]
                continue
            error = self._errors.pop(tp)
            self.wakeup_loops()  # the partition may be fetched again
            raise error
        buffered = len(self._completed)
        try:
            for tp in list(self._completed):
                if remaining <= 0:
                    break
                if partitions is not None and tp not in partitions:
                    continue
                completed = self._completed[tp]
                if not self._subs.is_assigned(tp):
                    del self._completed[tp]
                    continue
                state = self._subs.state(tp)
                if state.paused:
                    continue
                if state.position is None or state.position < completed.fetch_offset:
                    del self._completed[tp]
                    continue
                try:
                    records = self._drain(completed, state, remaining)
                except KafkaError:
                    if result:
                        break  # hand out what we have; the error comes with the next call
                    raise
                if completed.exhausted and completed.parsed.error is None:
                    del self._completed[tp]
                    parsed = completed.parsed
                    if state.position is not None and parsed.next_offset > state.position:
                        state.position = parsed.next_offset
                        if parsed.last_epoch >= 0:
                            state.position_epoch = parsed.last_epoch
                else:
                    # Fair share: partitions with records left go to the back of the queue.
                    self._completed[tp] = self._completed.pop(tp)
                if records:
                    result[tp] = records
                    remaining -= len(records)
        finally:
            if len(self._completed) < buffered:
                self.wakeup_loops()  # partitions became fetchable
        return result

    def wakeup_loops(self) -> None:
        """Let the fetch loops see partitions that became fetchable."""
        old, self._wake = self._wake, asyncio.Event()
        old.set()
        if self._started and not self._closed:
            self._ensure_loops()

    def _drain(
        self, completed: CompletedFetch, state: PartitionState, limit: int
    ) -> list[ConsumerRecord[Any, Any]]:
        tp = completed.tp
        out: list[ConsumerRecord[Any, Any]] = []
        batches = completed.parsed.batches
        position = state.position
        assert position is not None
        plain = self._key_deserializer is None and self._value_deserializer is None
        while completed.batch_index < len(batches) and len(out) < limit:
            records, raw_epoch = batches[completed.batch_index]
            epoch = raw_epoch if raw_epoch >= 0 else None
            i = completed.record_index
            n = len(records)
            while i < n and records[i].offset < position:
                i += 1  # the user seeked forward within the buffered data
            end = min(n, i + limit - len(out))
            before = len(out)
            if plain:
                # Parsed records are already ConsumerRecords with raw key and value.
                out += records[i:end]
                i = end
            else:
                while i < end:
                    try:
                        out.append(self._make_record(tp, records[i], epoch))
                    except RecordDeserializationError:
                        completed.record_index = i
                        if out:
                            state.position = out[-1].offset + 1
                            state.position_epoch = epoch
                            return out
                        state.position = records[i].offset
                        raise
                    i += 1
            if len(out) > before:
                position = out[-1].offset + 1
                state.position = position
                state.position_epoch = epoch
            if i >= n:
                completed.batch_index += 1
                completed.record_index = 0
            else:
                completed.record_index = i
        if completed.exhausted and completed.parsed.error is not None and not out:
            error = completed.parsed.error
            del self._completed[tp]
            raise error
        return out

    def _make_record(
        self, tp: TopicPartition, record: ConsumerRecord[Any, Any], epoch: int | None
    ) -> ConsumerRecord[Any, Any]:
        key: Any = record.key
        value: Any = record.value
        if self._key_deserializer is not None:
            try:
                key = self._key_deserializer(record.key)
            except Exception as exc:
                raise RecordDeserializationError(
                    tp.topic, tp.partition, record.offset, "key", exc
                ) from exc
        if self._value_deserializer is not None:
            try:
                value = self._value_deserializer(record.value)
            except Exception as exc:
                raise RecordDeserializationError(
                    tp.topic, tp.partition, record.offset, "value", exc
                ) from exc
        return ConsumerRecord(
            tp.topic,
            tp.partition,
            record.offset,
            record.timestamp,
            record.timestamp_type,
            key,
            value,
            record.headers,
            epoch,
            len(record.key) if record.key is not None else -1,
            len(record.value) if record.value is not None else -1,
        )

    def discard(self, tp: TopicPartition) -> None:
        """Drop buffered data and errors of ``tp`` (after a seek or revocation)."""
        self._completed.pop(tp, None)
        self._errors.pop(tp, None)

    # ------------------------------------------------------------------ lifecycle

    def _on_metadata(self, _cluster: ClusterMetadata, _update: MetadataUpdate) -> None:
        if self._started and not self._closed:
            self.wakeup_loops()

    async def close(self) -> None:
        """Stop every fetch loop."""
        self._closed = True
        if self._started:
            with contextlib.suppress(ValueError):
                self._client.cluster.remove_listener(self._on_metadata)
        tasks = list(self._loops.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._loops.clear()
        self._completed.clear()
