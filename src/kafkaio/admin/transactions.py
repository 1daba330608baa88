"""Transactions and producers: list and describe transactions, describe a partition's
active producers, abort a hanging transaction, fence transactional producers."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kafkaio.admin._core import AdminCore
from kafkaio.admin.results import ResultMap, broker_error, final, rejected
from kafkaio.admin.validation import check_int, check_topic_partition, no_duplicates
from kafkaio.cluster import CoordinationType, TopicPartition
from kafkaio.errors import (
    InvalidRequestError,
    KafkaError,
    UnsupportedVersionError,
)
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    DescribeProducersRequest,
    DescribeProducersResponse,
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
    InitProducerIdRequest,
    InitProducerIdResponse,
    ListTransactionsRequest,
    ListTransactionsResponse,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)
from kafkaio.protocol.messages.describe_producers import TopicRequest
from kafkaio.protocol.messages.write_txn_markers import WritableTxnMarker, WritableTxnMarkerTopic

__all__ = [
    "AbortTransactionSpec",
    "FenceResult",
    "ListTransactionsResult",
    "PartitionProducers",
    "ProducerState",
    "TransactionDescription",
    "TransactionListing",
    "TransactionsMixin",
    "TxnPartitionResult",
]

_TXN = CoordinationType.TRANSACTION
_DURATION_MIN_VERSION = 1
_PATTERN_MIN_VERSION = 2
_FENCE_TIMEOUT_MS = 1
_NO_PRODUCER = -1


@dataclass(frozen=True, slots=True)
class TransactionListing:
    """A transactional id as ListTransactions reports it."""

    transactional_id: str
    producer_id: int
    state: str


@dataclass(frozen=True, slots=True)
class ListTransactionsResult:
    """Transactions of every broker that answered, and the brokers that did not."""

    transactions: tuple[TransactionListing, ...]
    errors: Mapping[int, KafkaError] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransactionDescription:
    """A transactional id's state at its coordinator."""

    transactional_id: str
    state: str = ""
    timeout_ms: int = 0
    start_time_ms: int | None = None
    producer_id: int = -1
    producer_epoch: int = -1
    partitions: tuple[TopicPartition, ...] = ()
    coordinator: int | None = None
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class ProducerState:
    """A producer with state on a partition (idempotent or transactional)."""

    producer_id: int
    producer_epoch: int
    last_sequence: int
    last_timestamp: int | None
    coordinator_epoch: int | None
    current_txn_start_offset: int | None
    """First offset of the producer's open transaction on the partition, if any."""


@dataclass(frozen=True, slots=True)
class PartitionProducers:
    """The active producers of one partition."""

    tp: TopicPartition
    producers: tuple[ProducerState, ...] = ()
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class AbortTransactionSpec:
    """A hanging transaction to abort on one partition (values from describe_producers)."""

    tp: TopicPartition
    producer_id: int
    producer_epoch: int
    coordinator_epoch: int


@dataclass(frozen=True, slots=True)
class TxnPartitionResult:
    """Outcome of writing an abort marker to one partition."""

    tp: TopicPartition
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class FenceResult:
    """The producer id and bumped epoch that fenced a transactional id's producers."""

    transactional_id: str
    producer_id: int | None = None
    producer_epoch: int | None = None
    error: KafkaError | None = None


def _opt(value: int) -> int | None:
    return value if value >= 0 else None


class TransactionsMixin(AdminCore):
    """Transaction and producer operations of :class:`~kafkaio.admin.Admin`."""

    async def list_transactions(
        self,
        *,
        states: Iterable[str] | None = None,
        producer_ids: Iterable[int] | None = None,
        duration_ms: int | None = None,
        transactional_id_pattern: str | None = None,
        timeout_ms: int | None = None,
    ) -> ListTransactionsResult:
        """Transactional ids of every broker's coordinator, optionally filtered by state
        (``"Ongoing"``...), producer id, running longer than ``duration_ms`` (v1+) or
        matching a regular expression (v2+)."""
        state_filter = [] if states is None else list(states)
        pid_filter = (
            [] if producer_ids is None else [check_int(p, "a producer id") for p in producer_ids]
        )
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            if duration_ms is not None and version < _DURATION_MIN_VERSION:
                raise UnsupportedVersionError(
                    f"filtering transactions by duration needs ListTransactions v1+, broker offers v{version}"
                )
            if transactional_id_pattern is not None and version < _PATTERN_MIN_VERSION:
                raise UnsupportedVersionError(
                    f"filtering transactions by id pattern needs ListTransactions v2+, broker offers v{version}"
                )
            return ListTransactionsRequest(
                state_filters=state_filter,
                producer_id_filters=pid_filter,
                duration_filter=-1 if duration_ms is None else duration_ms,
                transactional_id_pattern=transactional_id_pattern,
            )

        await self._ensure_started()
        nodes = [b.node_id for b in self._client.cluster.brokers()]

        @dataclass(frozen=True, slots=True)
        class _NodeResult:
            listed: tuple[TransactionListing, ...] = ()
            error: KafkaError | None = None

        def fail(node: int, exc: KafkaError) -> _NodeResult:
            return _NodeResult(error=exc)

        async def one(node: int, _items: list[int]) -> dict[int, _NodeResult]:
            response = await self._send_node(node, build, ListTransactionsResponse, deadline)
            return {
                node: _NodeResult(
                    tuple(
                        TransactionListing(t.transactional_id, t.producer_id, t.transaction_state)
                        for t in response.transaction_states
                    ),
                    broker_error(response.error_code, None, f"ListTransactions on broker {node}"),
                )
            }

        async def attempt(pending: list[int]) -> Mapping[int, _NodeResult]:
            return await self._gather_nodes({n: [n] for n in pending}, one, fail)

        listed: dict[str, TransactionListing] = {}
        errors: dict[int, KafkaError] = {}
        for node, result in (await self._run_items(nodes, attempt, fail, deadline)).items():
            if result.error is not None:
                errors[node] = result.error
            for t in result.listed:
                listed[t.transactional_id] = t
        return ListTransactionsResult(tuple(listed[k] for k in sorted(listed)), errors)

    async def describe_transactions(
        self, transactional_ids: Iterable[str], *, timeout_ms: int | None = None
    ) -> ResultMap[str, TransactionDescription]:
        """State, producer id/epoch, timeout and partitions of each transactional id."""
        ids = list(transactional_ids)
        no_duplicates(ids, "transactional id")
        deadline = self._deadline(timeout_ms)

        def fail(t: str, exc: KafkaError) -> TransactionDescription:
            return TransactionDescription(t, error=exc)

        async def one(node: int, batch: list[str]) -> dict[str, TransactionDescription]:
            response = await self._send_coordinator(
                node,
                lambda v: DescribeTransactionsRequest(transactional_ids=batch),
                DescribeTransactionsResponse,
                deadline,
            )
            out = {}
            for t in response.transaction_states:
                error = broker_error(t.error_code, None, f"transactional id {t.transactional_id!r}")
                out[t.transactional_id] = TransactionDescription(
                    transactional_id=t.transactional_id,
                    state=t.transaction_state,
                    timeout_ms=t.transaction_timeout_ms,
                    start_time_ms=_opt(t.transaction_start_time_ms),
                    producer_id=t.producer_id,
                    producer_epoch=t.producer_epoch,
                    partitions=tuple(
                        sorted(TopicPartition(d.topic, p) for d in t.topics for p in d.partitions)
                    ),
                    coordinator=node,
                    error=error,
                )
            return out

        results = await self._run_by_coordinator(_TXN, ids, one, fail, deadline)
        return ResultMap((t, results[t]) for t in ids)

    async def describe_producers(
        self, partitions: Iterable[TopicPartition], *, timeout_ms: int | None = None
    ) -> ResultMap[TopicPartition, PartitionProducers]:
        """Active producers of each partition (asked of its leader)."""
        tps = [check_topic_partition(tp) for tp in partitions]
        no_duplicates(tps, "partition")
        deadline = self._deadline(timeout_ms)

        def fail(tp: TopicPartition, exc: KafkaError) -> PartitionProducers:
            return PartitionProducers(tp, error=exc)

        async def one(
            node: int, batch: list[TopicPartition]
        ) -> dict[TopicPartition, PartitionProducers]:
            by_topic: dict[str, list[int]] = defaultdict(list)
            for tp in batch:
                by_topic[tp.topic].append(tp.partition)
            response = await self._send_node(
                node,
                lambda v: DescribeProducersRequest(
                    topics=[
                        TopicRequest(name=t, partition_indexes=ps) for t, ps in by_topic.items()
                    ]
                ),
                DescribeProducersResponse,
                deadline,
            )
            out = {}
            for t in response.topics:
                for p in t.partitions:
                    tp = TopicPartition(t.name, p.partition_index)
                    out[tp] = PartitionProducers(
                        tp,
                        tuple(
                            ProducerState(
                                s.producer_id,
                                s.producer_epoch,
                                s.last_sequence,
                                _opt(s.last_timestamp),
                                _opt(s.coordinator_epoch),
                                _opt(s.current_txn_start_offset),
                            )
                            for s in p.active_producers
                        ),
                        final(
                            broker_error(
                                p.error_code,
                                p.error_message,
                                f"partition {tp.topic}-{tp.partition}",
                            )
                        ),
                    )
            return out

        results = await self._run_by_leader(tps, one, fail, deadline)
        return ResultMap((tp, results[tp]) for tp in tps)

    async def abort_transaction(
        self, spec: AbortTransactionSpec, *, timeout_ms: int | None = None
    ) -> ResultMap[TopicPartition, TxnPartitionResult]:
        """Write an abort marker for a hanging transaction on one partition.

        Take ``producer_id``, ``producer_epoch`` and ``coordinator_epoch`` from
        :meth:`describe_producers`; needs CLUSTER_ACTION permission.
        """
        if not isinstance(spec, AbortTransactionSpec):
            raise TypeError(f"expected AbortTransactionSpec, got {spec!r}")
        tp = check_topic_partition(spec.tp)
        for name in ("producer_id", "producer_epoch", "coordinator_epoch"):
            check_int(getattr(spec, name), name)
        if spec.producer_id < 0 or spec.producer_epoch < 0:
            return ResultMap(
                {
                    tp: TxnPartitionResult(
                        tp,
                        rejected(
                            InvalidRequestError,
                            f"partition {tp.topic}-{tp.partition}",
                            "producer id and epoch must be >= 0",
                        ),
                    )
                }
            )
        deadline = self._deadline(timeout_ms)

        def fail(t: TopicPartition, exc: KafkaError) -> TxnPartitionResult:
            return TxnPartitionResult(t, exc)

        async def one(
            node: int, batch: list[TopicPartition]
        ) -> dict[TopicPartition, TxnPartitionResult]:
            response = await self._send_node(
                node,
                lambda v: WriteTxnMarkersRequest(
                    markers=[
                        WritableTxnMarker(
                            producer_id=spec.producer_id,
                            producer_epoch=spec.producer_epoch,
                            transaction_result=False,
                            topics=[
                                WritableTxnMarkerTopic(
                                    name=tp.topic, partition_indexes=[tp.partition]
                                )
                            ],
                            coordinator_epoch=spec.coordinator_epoch,
                        )
                    ]
                ),
                WriteTxnMarkersResponse,
                deadline,
            )
            return {
                TopicPartition(t.name, p.partition_index): TxnPartitionResult(
                    TopicPartition(t.name, p.partition_index),
                    broker_error(
                        p.error_code,
                        None,
                        f"partition {t.name}-{p.partition_index}",
                        missing_is_final=False,
                    ),
                )
                for m in response.markers
                for t in m.topics
                for p in t.partitions
            }

        return ResultMap((await self._run_by_leader([tp], one, fail, deadline)).items())

    async def fence_producers(
        self, transactional_ids: Iterable[str], *, timeout_ms: int | None = None
    ) -> ResultMap[str, FenceResult]:
        """Bump the epoch of each transactional id, fencing its current producers (their
        open transactions are aborted)."""
        ids = list(transactional_ids)
        no_duplicates(ids, "transactional id")
        deadline = self._deadline(timeout_ms)

        def fail(t: str, exc: KafkaError) -> FenceResult:
            return FenceResult(t, error=exc)

        async def fence_one(node: int, tid: str) -> FenceResult:
            response = await self._send_coordinator(
                node,
                lambda v: InitProducerIdRequest(
                    transactional_id=tid,
                    transaction_timeout_ms=_FENCE_TIMEOUT_MS,
                    producer_id=_NO_PRODUCER,
                    producer_epoch=-1,
                ),
                InitProducerIdResponse,
                deadline,
            )
            error = broker_error(response.error_code, None, f"transactional id {tid!r}")
            if error is not None:
                return FenceResult(tid, error=error)
            return FenceResult(tid, response.producer_id, response.producer_epoch)

        async def one(node: int, batch: list[str]) -> dict[str, FenceResult]:
            done = await asyncio.gather(*(fence_one(node, t) for t in batch))
            return {r.transactional_id: r for r in done}

        results = await self._run_by_coordinator(_TXN, ids, one, fail, deadline)
        return ResultMap((t, results[t]) for t in ids)
