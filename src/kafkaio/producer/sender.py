"""Moves batches from the accumulator to the brokers and settles their outcome.

* A coordinating task watches the accumulator: it wakes the task of each broker that leads
  a ready partition, asks for metadata when a partition has no known leader, expires
  batches past ``delivery_timeout_ms`` and fetches the producer id.
* One task per broker drains one batch per ready partition the broker leads into a single
  Produce request, up to ``max_in_flight_requests_per_connection`` requests in flight.
* Responses settle each partition's batch separately: success, retry with exponential
  back-off and jitter (metadata refresh first when the leader moved), or failure.

Idempotence rules (see DESIGN.md): a batch gets its sequence when first drained and keeps
it across retries and leader moves; a batch whose attempt may have been written
(timeout, broken connection, ``REQUEST_TIMED_OUT``...) is never reported as not written and
never re-sequenced; a retried batch is sent alone once everything before it is answered; a
partition moves to a new epoch (sequences from 0) only when nothing of it is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable
from uuid import UUID

from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.cluster.metadata import BrokerMetadata
from kafkaio.errors import (
    AuthenticationError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NodeNotReadyError,
    ProducerClosedError,
    StaleMetadataError,
    for_code,
)
from kafkaio.producer.accumulator import PartitionQueue, ProducerBatch, RecordAccumulator
from kafkaio.producer.idempotence import IdempotenceState
from kafkaio.producer.metrics import ProducerMetrics
from kafkaio.producer.options import ProducerOptions
from kafkaio.producer.transactions import PRODUCE_MAX_VERSION, TransactionManager
from kafkaio.protocol.messages.produce import (
    LeaderIdAndEpoch,
    NodeEndpoint,
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from kafkaio.records import with_producer_state

__all__ = ["Sender"]

log = logging.getLogger("kafkaio.producer")

_NONE = 0
_MESSAGE_TOO_LARGE = 10
_OUT_OF_ORDER_SEQUENCE_NUMBER = 45
_DUPLICATE_SEQUENCE_NUMBER = 46
_UNKNOWN_PRODUCER_ID = 59
# The broker may have appended the batch although it answered with an error.
_AMBIGUOUS_CODES = frozenset(
    {7, 13, 20}
)  # REQUEST_TIMED_OUT, NETWORK_EXCEPTION, NOT_ENOUGH_REPLICAS_AFTER_APPEND
# NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH: Produce v10+ names the new leader (KIP-951).
_LEADER_MOVED = frozenset({6, 74})
_TOPIC_ID_VERSION = 13  # Produce v13 addresses topics by id
_EXPIRY_CHECK_INTERVAL = 0.05
_ZERO_UUID = UUID(int=0)


class Sender:
    """Background tasks that send the accumulator's batches; see the module docstring."""

    def __init__(
        self,
        cluster: ClusterClient,
        accumulator: RecordAccumulator,
        options: ProducerOptions,
        metrics: ProducerMetrics,
    ) -> None:
        self._cluster = cluster
        self._acc = accumulator
        self._opts = options
        self._metrics = metrics
        self._acks = options.acks_value
        self._idempotent = options.idempotent
        self._idem = IdempotenceState()
        self._max_in_flight = options.max_in_flight_requests_per_connection
        self._max_request_size = options.max_request_size
        self._delivery_timeout = options.delivery_timeout_ms / 1000
        self._backoff = options.retry_backoff_ms / 1000
        self._backoff_max = max(options.retry_backoff_max_ms, options.retry_backoff_ms) / 1000
        self._wake = asyncio.Event()
        self._node_events: dict[int, asyncio.Event] = {}
        self._node_tasks: dict[int, asyncio.Task[None]] = {}
        self._node_in_flight: dict[int, int] = {}
        self._node_backoff: dict[int, float] = {}
        self._node_failures: dict[int, int] = {}
        self._requests: set[asyncio.Task[None]] = set()
        self._main: asyncio.Task[None] | None = None
        self._next_expiry_check = 0.0
        self._next_metadata_request = 0.0
        self._closed = False
        self.transactions: TransactionManager | None = None
        """Set by a transactional producer: gates which partitions may be sent, takes the
        place of local epoch bumps and learns of failed batches."""

    @property
    def idempotence(self) -> IdempotenceState:
        """Producer id and epoch (idempotent producers)."""
        return self._idem

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the coordinating task."""
        self._main = asyncio.get_running_loop().create_task(self._run(), name="kafkaio-sender")

    def wakeup(self) -> None:
        """Look at the accumulator again (a batch was created, a flush began...)."""
        self._wake.set()

    async def close(self) -> None:
        """Stop every task; batches still queued or in flight fail with ProducerClosedError."""
        self._closed = True
        tasks: list[asyncio.Task[None]] = [*self._node_tasks.values(), *self._requests]
        if self._main is not None:
            tasks.append(self._main)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        in_flight = [b for q in self._acc.queues.values() for b in q.in_flight]
        for batch in in_flight:
            self._fail(
                batch,
                ProducerClosedError(
                    f"the producer was stopped before the broker answered for {batch.tp};"
                    " the records may or may not have been written"
                ),
            )
        for q in self._acc.queues.values():
            q.in_flight.clear()
        dropped = self._acc.abort_all(
            ProducerClosedError("the producer was stopped before the records were sent")
        )
        if dropped:
            log.warning("producer stopped: %d unsent record(s) failed", dropped)

    # ------------------------------------------------------------------ coordinating task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            try:
                await self._step(loop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the producer's sender failed; continuing")
                await asyncio.sleep(self._backoff)

    async def _step(self, loop: asyncio.AbstractEventLoop) -> None:
        """One look at the accumulator, then wait for a wake-up or the next deadline."""
        self._wake.clear()
        if (
            self._idempotent
            and self.transactions is None  # transactional: init_transactions() gets the id
            and self._idem.current is None
            and self._acc.incomplete
        ):
            await self._init_producer_id()
            return
        now = loop.time()
        if now >= self._next_expiry_check:
            self._expire(now)
            self._next_expiry_check = now + _EXPIRY_CHECK_INTERVAL
        delay = self._dispatch(now)
        if self._acc.incomplete:
            delay = min(delay, max(self._next_expiry_check - now, 0.0))
        if delay <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay if delay < 3600 else None)

    async def _init_producer_id(self) -> None:
        try:
            await self._idem.initialize(
                self._cluster,
                timeout=self._opts.max_block_ms / 1000,
                backoff=self._backoff,
                backoff_max=self._backoff_max,
            )
        except KafkaError as exc:
            log.error("cannot get a producer id: %s", exc)
            for q in self._acc.queues.values():
                for batch in list(q.batches):
                    q.batches.remove(batch)
                    self._fail(batch, exc)
            await asyncio.sleep(self._backoff)

    def _dispatch(self, now: float) -> float:
        """Wake the brokers with ready partitions; returns seconds until the next look."""
        acc = self._acc
        force = acc.force_ready
        next_at = float("inf")
        unknown_leader = False
        leader_of = self._cluster.leader_for
        woken: set[int] = set()
        for q in acc.queues.values():
            if not q.batches:
                continue
            ready, at = acc.is_ready(q, now, force)
            if not ready:
                next_at = min(next_at, at)
                continue
            leader = leader_of(q.tp)
            if leader is None:
                unknown_leader = True
                continue
            backoff_until = self._node_backoff.get(leader, 0.0)
            if backoff_until > now:
                next_at = min(next_at, backoff_until)
                continue
            if leader not in woken:
                woken.add(leader)
                self._node_event(leader).set()
        if unknown_leader:
            if now >= self._next_metadata_request:
                self._next_metadata_request = now + self._backoff
                self._cluster.force_metadata_update()
            next_at = min(next_at, self._next_metadata_request)
        return next_at - now

    def _node_event(self, node: int) -> asyncio.Event:
        event = self._node_events.get(node)
        if event is None:
            event = self._node_events[node] = asyncio.Event()
            self._node_in_flight[node] = 0
            self._node_tasks[node] = asyncio.get_running_loop().create_task(
                self._node_loop(node, event), name=f"kafkaio-sender-{node}"
            )
        return event

    # ------------------------------------------------------------------ per-broker tasks

    async def _node_loop(self, node: int, event: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            await event.wait()
            event.clear()
            try:
                await self._drain_node(loop, node)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the sender of node %d failed; continuing", node)
                self._node_backoff[node] = loop.time() + self._backoff
                self._wake.set()

    async def _drain_node(self, loop: asyncio.AbstractEventLoop, node: int) -> None:
        """Send requests to ``node`` while it has ready batches and in-flight room."""
        while self._node_in_flight[node] < self._max_in_flight and not self._closed:
            try:
                version = await self._cluster.api_version_for(node, ProduceRequest)
            except KafkaError as exc:
                failures = self._node_failures.get(node, 0) + 1
                self._node_failures[node] = failures
                (log.info if failures == 1 else log.debug)("cannot send to node %d: %s", node, exc)
                pause = min(self._backoff * 2 ** (failures - 1), self._backoff_max)
                self._node_backoff[node] = loop.time() + pause * random.uniform(0.8, 1.2)
                self._cluster.force_metadata_update()
                self._wake.set()
                break
            if self.transactions is not None and not self.transactions.v2:
                version = min(version, PRODUCE_MAX_VERSION)  # transactions version 1
            if self._node_failures.pop(node, 0):
                log.info("node %d is reachable again", node)
            batches = self._drain(node, loop.time())
            if not batches:
                break
            self._node_in_flight[node] += 1
            task = loop.create_task(self._send(node, version, batches))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)

    def _drain(self, node: int, now: float) -> list[ProducerBatch]:
        acc = self._acc
        force = acc.force_ready
        budget = self._max_request_size
        drained: list[ProducerBatch] = []
        size = 0
        for q in acc.drain_candidates(node, self._cluster.leader_for):
            if q.in_flight and q.in_flight_node != node:
                continue  # the leader moved: let the old broker answer first (ordering)
            ready, _ = acc.is_ready(q, now, force)
            if not ready:
                continue
            head = q.batches[0]
            txn = self.transactions
            if txn is not None and head.attempts == 0:
                error = txn.undrained_error
                if error is not None:
                    q.batches.popleft()
                    self._fail(head, error)
                    continue
                if q.tp not in txn.partitions:
                    txn.maybe_add_partition(q.tp)  # sent once AddPartitionsToTxn succeeds
                    continue
            if self._idempotent:
                if q.in_flight and q.acked_under != q.producer:
                    # Until the broker holds state for our producer on this partition it
                    # accepts any first sequence: pipelining could let a later batch in
                    # ahead of an earlier one that fails for good. One at a time till then.
                    continue
                if not self._assign_sequence(q, head):
                    continue
            try:
                data = head.close()
            except Exception as exc:  # e.g. a codec failing: that batch fails, alone
                log.exception("cannot encode a batch for %s", q.tp)
                q.batches.popleft()
                self._fail(head, KafkaError(f"cannot encode a batch for {q.tp}: {exc!r}"))
                if self._idempotent and head.base_sequence is not None:
                    self._break_chain(q, head)
                continue
            if drained and size + len(data) > budget:
                break
            q.batches.popleft()
            q.in_flight.append(head)
            q.in_flight_node = node
            if head.attempts == 0:
                self._metrics.queue_time_total += now - head.created
            head.attempts += 1
            drained.append(head)
            size += len(data)
        return drained

    def _assign_sequence(self, q: PartitionQueue, head: ProducerBatch) -> bool:
        current = self._idem.current
        if current is None:
            return False
        if head.base_sequence is not None:
            if (
                q.resequence_from is not None
                and head.base_sequence >= q.resequence_from
                and not q.in_flight
                and q.producer != current
            ):
                self._resequence(q, current)
            return True
        if q.producer != current:
            if q.in_flight:
                return False  # old-epoch batches still in flight: never mix epochs
            q.producer = current
            q.next_sequence = 0
            q.resequence_from = None
        head.producer_id, head.producer_epoch = current
        head.base_sequence = q.next_sequence
        q.next_sequence = (q.next_sequence + head.record_count) & 0x7FFFFFFF
        return True

    def _resequence(self, q: PartitionQueue, current: tuple[int, int]) -> None:
        """Rewrite the sequences of ``q``'s queued batches under a new producer epoch.

        Only called for batches after one that failed for good: the broker rejects any
        sequence after a gap, so none of them can have been written.
        """
        producer_id, epoch = current
        seq = 0
        for batch in q.batches:
            if batch.base_sequence is None:
                break
            batch.producer_id, batch.producer_epoch, batch.base_sequence = producer_id, epoch, seq
            if batch.data is not None:
                batch.data = with_producer_state(batch.data, producer_id, epoch, seq)
            seq = (seq + batch.record_count) & 0x7FFFFFFF
        log.info("%s: re-sequenced queued batches under producer %d epoch %d", q.tp, *current)
        q.producer = current
        q.next_sequence = seq
        q.resequence_from = None

    # ------------------------------------------------------------------ requests

    def _build_request(
        self, version: int, batches: list[ProducerBatch]
    ) -> tuple[ProduceRequest, int]:
        topics: dict[str, TopicProduceData] = {}
        metadata = self._cluster.cluster
        if version >= _TOPIC_ID_VERSION:
            for batch in batches:
                if metadata.topic_id(batch.tp.topic) is None:
                    version = _TOPIC_ID_VERSION - 1  # no id known: address topics by name
                    break
        for batch in batches:
            topic = batch.tp.topic
            data = topics.get(topic)
            if data is None:
                topic_id = metadata.topic_id(topic) if version >= _TOPIC_ID_VERSION else None
                data = topics[topic] = TopicProduceData(name=topic, topic_id=topic_id or _ZERO_UUID)
            data.partition_data.append(
                PartitionProduceData(index=batch.tp.partition, records=batch.data)
            )
        request = ProduceRequest(
            transactional_id=None
            if self.transactions is None
            else self.transactions.transactional_id,
            acks=self._acks,
            timeout_ms=self._opts.request_timeout_ms,
            topic_data=list(topics.values()),
        )
        return request, version

    async def _send(self, node: int, version: int, batches: list[ProducerBatch]) -> None:
        loop = asyncio.get_running_loop()
        try:
            request, version = self._build_request(version, batches)
            self._metrics.requests_sent += 1
            try:
                response = await self._cluster.send(node, request, version=version)
            except KafkaError as exc:
                # Nothing was written when the node could not be reached or refused our
                # credentials; otherwise the request's fate is unknown (timeout, broken
                # connection).
                written_unknown = not isinstance(
                    exc, (NodeNotReadyError, StaleMetadataError, AuthenticationError)
                )
                log.info("produce request to node %d failed: %s", node, exc)
                self._cluster.force_metadata_update()
                for batch in batches:
                    self._settle_error(batch, exc, ambiguous=written_unknown, now=loop.time())
                return
            if response is None:  # acks=0
                for batch in batches:
                    self._settle_success(batch, -1, -1, -1)
                return
            assert isinstance(response, ProduceResponse)
            self._handle_response(response, batches, loop.time())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A bug or an unexpected error must not leave batches in flight forever.
            log.exception("produce request to node %d failed unexpectedly", node)
            for batch in batches:
                if batch.done:
                    continue
                q = self._leave_flight(batch)
                self._fail(batch, KafkaError(f"producing to {batch.tp} failed: {exc!r}"))
                if self._idempotent and batch.base_sequence is not None:
                    self._break_chain(q, batch)
        finally:
            self._node_in_flight[node] -= 1
            event = self._node_events.get(node)
            if event is not None:
                event.set()
            self._wake.set()

    def _handle_response(
        self, response: ProduceResponse, batches: list[ProducerBatch], now: float
    ) -> None:
        by_tp = {batch.tp: batch for batch in batches}
        metadata = self._cluster.cluster
        for topic_response in response.responses:
            name = topic_response.name
            if not name and topic_response.topic_id != _ZERO_UUID:
                name = metadata.topic_name(topic_response.topic_id) or ""
            for part in topic_response.partition_responses:
                batch = by_tp.pop(TopicPartition(name, part.index), None)
                if batch is None:
                    log.warning(
                        "produce response names %s-%d, which was not sent", name, part.index
                    )
                    continue
                code = part.error_code
                if code == _NONE:
                    self._settle_success(
                        batch, part.base_offset, part.log_append_time_ms, part.log_start_offset
                    )
                elif code == _DUPLICATE_SEQUENCE_NUMBER:
                    # Already written by an earlier attempt; its offset is not known.
                    self._settle_success(batch, -1, -1, part.log_start_offset)
                else:
                    text = part.error_message
                    if part.record_errors:
                        detail = "; ".join(
                            f"record {e.batch_index}: {e.batch_index_error_message}"
                            for e in part.record_errors
                        )
                        text = f"{text}; {detail}" if text else detail
                    exc = for_code(code)(text or None)
                    moved = code in _LEADER_MOVED and self._take_leader_hint(
                        batch.tp, part.current_leader, response.node_endpoints
                    )
                    self._settle_error(
                        batch, exc, ambiguous=code in _AMBIGUOUS_CODES, now=now, moved=moved
                    )
        for batch in by_tp.values():
            missing = KafkaConnectionError(f"the produce response did not mention {batch.tp}")
            self._settle_error(batch, missing, ambiguous=True, now=now)

    def _take_leader_hint(
        self, tp: TopicPartition, leader: LeaderIdAndEpoch, endpoints: list[NodeEndpoint]
    ) -> bool:
        """KIP-951: the old leader named the new one; use it without a Metadata round trip."""
        if leader.leader_id < 0:
            return False
        return self._cluster.cluster.apply_leader_hint(
            tp,
            leader.leader_id,
            leader.leader_epoch,
            (BrokerMetadata(e.node_id, e.host, e.port, e.rack) for e in endpoints),
        )

    # ------------------------------------------------------------------ outcomes

    def _leave_flight(self, batch: ProducerBatch) -> PartitionQueue:
        q = self._acc.queue(batch.tp)
        with contextlib.suppress(ValueError):
            q.in_flight.remove(batch)
        if not q.in_flight:
            q.in_flight_node = None
        return q

    def _settle_success(
        self, batch: ProducerBatch, base_offset: int, log_append_time: int, log_start_offset: int
    ) -> None:
        q = self._leave_flight(batch)
        if batch.producer_id >= 0:
            q.acked_under = (batch.producer_id, batch.producer_epoch)
        metrics = self._metrics
        metrics.records_sent += batch.record_count
        metrics.batches_sent += 1
        metrics.bytes_sent += len(batch.data or b"")
        batch.complete(base_offset, log_append_time, log_start_offset)
        self._acc.deallocate(batch)

    def _settle_error(
        self,
        batch: ProducerBatch,
        exc: KafkaError,
        *,
        ambiguous: bool,
        now: float,
        moved: bool = False,
    ) -> None:
        q = self._leave_flight(batch)
        if ambiguous:
            batch.ambiguous = True
        if exc.invalid_metadata and not moved:
            self._cluster.force_metadata_update()
        code = getattr(exc, "errno", None)
        if self._idempotent and code in (_OUT_OF_ORDER_SEQUENCE_NUMBER, _UNKNOWN_PRODUCER_ID):
            self._sequence_error(q, batch, exc, now)
            return
        if (
            code == _MESSAGE_TOO_LARGE
            and batch.record_count > 1
            and not batch.ambiguous
            and not self._closed
        ):
            # Nothing was written; the records may fit in smaller batches (the topic's
            # max.message.bytes is below batch_size): halve and resend in place.
            parts = batch.split(self._acc.compression, self._acc.compression_level)
            log.info(
                "%s: batch of %d records too large; split in two", batch.tp, batch.record_count
            )
            for part in parts:
                part.retry_at = now
                q.insert_retry(part)
            return
        within_limits = (
            batch.attempts <= self._opts.retries and now - batch.created < self._delivery_timeout
        )
        if (exc.retriable or ambiguous) and within_limits and not self._closed:
            # A known new leader is worth trying at once (as the Java client does).
            self._retry(q, batch, now, backoff=not moved)
            return
        if (
            self._idempotent
            and batch.ambiguous
            and (exc.retriable or ambiguous)
            and batch.base_sequence is not None
            and now - batch.created < 2 * self._delivery_timeout
            and not self._closed
        ):
            # It may be in the log: tell the user it timed out, but keep retrying it under
            # its sequence so that later batches of the partition stay valid.
            if not batch.futures_failed:
                self._metrics.record_errors += batch.record_count
            batch.fail(
                KafkaTimeoutError(
                    f"{batch.record_count} record(s) for {batch.tp} not acknowledged within"
                    f" delivery_timeout_ms / retries (last error: {exc}); they may or may not"
                    " have been written"
                ),
                final=False,
            )
            if self.transactions is not None:
                self.transactions.on_batch_failed(batch_timeout_error(batch), had_sequence=True)
            self._retry(q, batch, now)
            return
        if (exc.retriable or ambiguous) and now - batch.created >= self._delivery_timeout:
            timeout = KafkaTimeoutError(
                f"{batch.record_count} record(s) for {batch.tp} expired:"
                f" {(now - batch.created) * 1000:.0f} ms since the batch was created"
                f" (delivery_timeout_ms); last error: {exc}"
            )
            timeout.__cause__ = exc
            exc = timeout
        self._fail(batch, exc)
        if self._idempotent and batch.base_sequence is not None:
            self._break_chain(q, batch)

    def _sequence_error(
        self, q: PartitionQueue, batch: ProducerBatch, exc: KafkaError, now: float
    ) -> None:
        seq = batch.base_sequence
        lowest = q.lowest_unresolved_sequence()
        if seq is not None and lowest is not None and lowest < seq:
            # An earlier batch of the partition is not written yet: retry after it.
            self._retry(q, batch, now)
            return
        if batch.ambiguous or self._closed:
            # An earlier attempt may have been written: re-sequencing could duplicate it.
            self._fail(batch, exc)
            self._break_chain(q, batch)
            return
        # The broker has no state matching ours (e.g. it lost the producer's records):
        # nothing of this batch was written; resend it first under a new epoch.
        if self.transactions is not None:
            # The coordinator owns a transactional producer's epoch: the transaction must
            # be aborted, and the abort bumps the epoch.
            self._fail(batch, exc)
            return
        log.info("%s: %s; bumping the producer epoch", q.tp, type(exc).__name__)
        q.resequence_from = seq if seq is not None else 0
        if self._idem.bump(q.producer):
            self._metrics.epoch_bumps += 1
        self._retry(q, batch, now, backoff=False)

    def _break_chain(self, q: PartitionQueue, batch: ProducerBatch) -> None:
        """``batch`` failed for good: later sequences of its partition need a new epoch."""
        seq = batch.base_sequence or 0
        q.resequence_from = seq if q.resequence_from is None else min(q.resequence_from, seq)
        if self.transactions is not None:
            self.transactions.epoch_bump_required = True
            return
        if self._idem.bump(q.producer):
            self._metrics.epoch_bumps += 1

    def _retry(
        self, q: PartitionQueue, batch: ProducerBatch, now: float, backoff: bool = True
    ) -> None:
        self._metrics.retries += 1
        if backoff:
            pause = min(self._backoff * 2 ** max(batch.attempts - 1, 0), self._backoff_max)
            batch.retry_at = now + pause * random.uniform(0.8, 1.2)
        else:
            batch.retry_at = now
        q.insert_retry(batch)
        log.debug("retrying %r", batch)

    def _fail(self, batch: ProducerBatch, exc: BaseException) -> None:
        if not batch.futures_failed:
            self._metrics.record_errors += batch.record_count
        self._metrics.errors += 1
        batch.fail(exc)
        self._acc.deallocate(batch)
        if self.transactions is not None:
            self.transactions.on_batch_failed(exc, had_sequence=batch.base_sequence is not None)

    # ------------------------------------------------------------------ expiry

    def _expire(self, now: float) -> None:
        """Fail queued batches older than ``delivery_timeout_ms`` (in-flight ones wait)."""
        limit = self._delivery_timeout
        for q in self._acc.queues.values():
            if not q.batches:
                continue
            for batch in _expired(q.batches, now, limit):
                error = KafkaTimeoutError(
                    f"{batch.record_count} record(s) for {batch.tp} expired:"
                    f" {(now - batch.created) * 1000:.0f} ms since the batch was created"
                    " (delivery_timeout_ms)"
                )
                if (
                    self._idempotent
                    and batch.base_sequence is not None
                    and batch.ambiguous
                    and now - batch.created < 2 * limit
                ):
                    if not batch.futures_failed:
                        self._metrics.record_errors += batch.record_count
                        batch.fail(
                            KafkaTimeoutError(f"{error}; they may or may not have been written"),
                            final=False,
                        )
                        if self.transactions is not None:
                            self.transactions.on_batch_failed(error, had_sequence=True)
                    continue
                q.batches.remove(batch)
                self._fail(batch, error)
                if self._idempotent and batch.base_sequence is not None:
                    self._break_chain(q, batch)


def batch_timeout_error(batch: ProducerBatch) -> KafkaTimeoutError:
    """The error a transaction records when one of its batches timed out."""
    return KafkaTimeoutError(f"{batch.record_count} record(s) for {batch.tp} timed out")


def _expired(batches: Iterable[ProducerBatch], now: float, limit: float) -> list[ProducerBatch]:
    # A batch already reported as "maybe written" keeps being retried under its sequence
    # for another delivery timeout before it is given up (and the partition re-sequenced).
    return [
        b
        for b in batches
        if now - b.created >= (2 * limit if b.futures_failed and b.ambiguous else limit)
    ]
