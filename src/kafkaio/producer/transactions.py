"""The transactional producer's state machine and its requests to the transaction coordinator.

Protocol: transactions version 2 (KIP-890 part 2) when the cluster has finalized
``transaction.version`` >= 2 and the coordinator serves EndTxn v5: partitions and offsets join
the transaction implicitly (Produce v12+, TxnOffsetCommit v5+, no AddPartitionsToTxn or
AddOffsetsToTxn), and the coordinator bumps the epoch at every EndTxn, returning the new one.
Otherwise transactions version 1: explicit AddPartitionsToTxn (v0-3) and AddOffsetsToTxn,
Produce at most v11, EndTxn at most v4. The version is chosen when a transaction begins and
kept until it ends, as the Java client does, so a feature upgrade never changes a transaction
midway.

States (as in the Java client): UNINITIALIZED -> (init_transactions) READY -> (begin)
IN_TRANSACTION -> (commit) COMMITTING / (abort) ABORTING -> READY. A failed batch or an
abortable coordinator error moves to ABORTABLE_ERROR (only abort is allowed); a fenced
producer or a missing authorization moves to FATAL_ERROR (nothing is allowed).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from kafkaio.cluster import ClusterClient, ConnectionGroup, CoordinationType, TopicPartition
from kafkaio.errors import (
    ClusterAuthorizationFailedError,
    IllegalStateError,
    KafkaError,
    KafkaTimeoutError,
    ProducerFencedError,
    TransactionAbortedError,
    TransactionalIdAuthorizationFailedError,
    UnsupportedVersionError,
    for_code,
)
from kafkaio.producer.idempotence import IdempotenceState
from kafkaio.protocol.messages import (
    AddOffsetsToTxnRequest,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    EndTxnRequest,
    EndTxnResponse,
    InitProducerIdRequest,
    InitProducerIdResponse,
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
)
from kafkaio.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnTopic
from kafkaio.protocol.messages.txn_offset_commit import (
    TxnOffsetCommitRequestPartition,
    TxnOffsetCommitRequestTopic,
)
from kafkaio.structs import OffsetAndMetadata

__all__ = [
    "ConsumerGroupMetadata",
    "TransactionAbortedError",
    "TransactionManager",
    "TransactionState",
]

log = logging.getLogger("kafkaio.producer")

# Highest versions of transactions version 1 (clients use AddPartitionsToTxn v0-3 only; v4+
# is the brokers' verification layout).
ADD_PARTITIONS_MAX_VERSION = 3
END_TXN_MAX_VERSION = 4
PRODUCE_MAX_VERSION = 11
# Transactions version 2 (KIP-890 part 2).
_TV2_FEATURE = "transaction.version"
_TV2_END_TXN_VERSION = 5
_TV2_TXN_OFFSET_COMMIT_VERSION = 5
_BUMP_MIN_VERSION = 3  # InitProducerId v3+ bumps the epoch of a known producer id (KIP-360)

_NOT_COORDINATOR = frozenset({15, 16})  # COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR
_RETRY = frozenset({14, 51, 3, 7})  # LOAD_IN_PROGRESS, CONCURRENT_TXNS, UNKNOWN_TOPIC, TIMED_OUT
_FENCED = frozenset({47, 90})  # INVALID_PRODUCER_EPOCH / PRODUCER_FENCED from a coordinator
# Abortable in the coordinator's answers (the rest is fatal, as in the Java client).
_ABORTABLE = frozenset({29, 30, 59, 49, 120, 22, 25, 82})
_CONCURRENT_BACKOFF = 0.02


class TransactionState(enum.Enum):
    """Where the transactional producer is (see the module docstring)."""

    UNINITIALIZED = "uninitialized"
    INITIALIZING = "initializing"
    READY = "ready"
    IN_TRANSACTION = "in_transaction"
    COMMITTING = "committing"
    ABORTING = "aborting"
    ABORTABLE_ERROR = "abortable_error"
    FATAL_ERROR = "fatal_error"


class ConsumerGroupMetadata(NamedTuple):
    """The consumer group member whose offsets a transaction commits (fences zombies)."""

    group_id: str
    generation_id: int = -1
    member_id: str = ""
    group_instance_id: str | None = None


def group_metadata_from(value: Any) -> ConsumerGroupMetadata:
    """A :class:`ConsumerGroupMetadata` from a group id, itself, or a group consumer."""
    if isinstance(value, ConsumerGroupMetadata):
        return value
    if isinstance(value, str):
        if not value:
            raise ValueError("the group id must not be empty")
        return ConsumerGroupMetadata(value)
    options = getattr(value, "options", None)
    group_id = getattr(options, "group_id", None)
    if isinstance(group_id, str) and group_id:
        generation = getattr(value, "generation_id", None)
        return ConsumerGroupMetadata(
            group_id,
            generation if isinstance(generation, int) else -1,
            getattr(value, "member_id", None) or "",
            getattr(options, "group_instance_id", None),
        )
    raise TypeError(
        "group_metadata must be a group id, a ConsumerGroupMetadata or a Consumer with a"
        f" group_id, got {type(value).__name__} {value!r}"
    )


class TransactionManager:
    """The transaction state of one transactional producer and its coordinator requests."""

    def __init__(
        self,
        cluster: ClusterClient,
        idempotence: IdempotenceState,
        *,
        transactional_id: str,
        transaction_timeout_ms: int,
        timeout: float,
        backoff: float,
        backoff_max: float,
        wakeup: Callable[[], None],
    ) -> None:
        self._cluster = cluster
        self._idem = idempotence
        self.transactional_id = transactional_id
        self._txn_timeout_ms = transaction_timeout_ms
        self._timeout = timeout
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._wakeup = wakeup
        self.state = TransactionState.UNINITIALIZED
        self.error: KafkaError | None = None
        self.partitions: set[TopicPartition] = set()
        """Partitions added to the ongoing transaction (their batches may be sent)."""
        self._pending: set[TopicPartition] = set()
        self._adding: asyncio.Task[None] | None = None
        self._offsets_added = False
        self.epoch_bump_required = False
        self.v2 = False
        """The ongoing transaction uses transactions version 2 (implicit adds)."""
        self._v2_available = False

    # ------------------------------------------------------------------ state checks

    def _raise_if_fatal(self) -> None:
        if self.state is TransactionState.FATAL_ERROR:
            assert self.error is not None
            raise self.error

    def check_send(self) -> None:
        """Raise unless records may be sent now (inside a transaction without error)."""
        if self.state is TransactionState.IN_TRANSACTION:
            return
        self._raise_if_fatal()
        if self.state is TransactionState.ABORTABLE_ERROR:
            assert self.error is not None
            raise TransactionAbortedError(
                f"the transaction must be aborted (abort_transaction()): {self.error}"
            ) from self.error
        raise IllegalStateError(
            f"cannot send records in state {self.state.value}: call begin_transaction() first"
        )

    @property
    def undrained_error(self) -> KafkaError | None:
        """What unsent batches fail with (the transaction cannot commit), if anything."""
        if self.state in (TransactionState.ABORTABLE_ERROR, TransactionState.FATAL_ERROR):
            return TransactionAbortedError(f"the transaction failed: {self.error}")
        if self.state is TransactionState.ABORTING:
            return TransactionAbortedError(
                "the transaction was aborted before the records were sent"
            )
        return None

    def fail(self, exc: KafkaError) -> None:
        """Record an error: fatal ones end the producer, the others require an abort."""
        if self.state is TransactionState.FATAL_ERROR:
            return
        if exc.fatal or isinstance(
            exc, (TransactionalIdAuthorizationFailedError, ClusterAuthorizationFailedError)
        ):
            log.error("transactional producer %r: fatal error %s", self.transactional_id, exc)
            self.state = TransactionState.FATAL_ERROR
            self.error = exc
        elif self.state in (TransactionState.IN_TRANSACTION, TransactionState.COMMITTING):
            log.warning("transaction of %r must be aborted: %s", self.transactional_id, exc)
            self.state = TransactionState.ABORTABLE_ERROR
            self.error = exc
        self._wakeup()

    def on_batch_failed(self, exc: BaseException, *, had_sequence: bool) -> None:
        """Sender hook: a batch of the transaction failed (or may not be in the log)."""
        if had_sequence:
            self.epoch_bump_required = True  # the partition's sequence chain is broken
        if self.state is TransactionState.ABORTING or isinstance(exc, TransactionAbortedError):
            return
        self.fail(exc if isinstance(exc, KafkaError) else KafkaError(repr(exc)))

    # ------------------------------------------------------------------ user operations

    async def init(self) -> None:
        """InitProducerId for the transactional id (fences older instances)."""
        self._raise_if_fatal()
        if self.state not in (TransactionState.UNINITIALIZED, TransactionState.INITIALIZING):
            raise IllegalStateError(f"init_transactions() called in state {self.state.value}")
        self.state = TransactionState.INITIALIZING
        await self._init_producer_id(bump=False)
        self._v2_available = await self._coordinator_supports_v2()
        self.state = TransactionState.READY

    async def _coordinator_supports_v2(self) -> bool:
        """Whether the cluster finalized transactions version 2 and the coordinator serves it."""
        try:
            node = await self._cluster.coordinator_lookup(
                CoordinationType.TRANSACTION, self.transactional_id
            )
            versions = await self._cluster.api_versions_of(node, group=ConnectionGroup.COORDINATION)
        except KafkaError as exc:
            log.debug("cannot tell the transactions version (%s); using version 1", exc)
            return False
        end_txn = versions.ranges.get(EndTxnRequest.API_KEY)
        return (
            versions.finalized_features.get(_TV2_FEATURE, 0) >= 2
            and end_txn is not None
            and end_txn.max >= _TV2_END_TXN_VERSION
            and EndTxnRequest.MAX_VERSION >= _TV2_END_TXN_VERSION
        )

    def begin(self) -> None:
        """Start a transaction."""
        self._raise_if_fatal()
        if self.state is TransactionState.UNINITIALIZED:
            raise IllegalStateError("call init_transactions() before begin_transaction()")
        if self.state is not TransactionState.READY:
            raise IllegalStateError(
                f"begin_transaction() called in state {self.state.value}: a transaction is"
                " already in progress"
            )
        self.partitions.clear()
        self._offsets_added = False
        self.v2 = self._v2_available
        self.state = TransactionState.IN_TRANSACTION

    def begin_commit(self) -> None:
        """Move to COMMITTING (commit may be retried after a timeout)."""
        if self.state in (TransactionState.IN_TRANSACTION, TransactionState.COMMITTING):
            self.state = TransactionState.COMMITTING
            return
        self._raise_error_state("commit_transaction()")

    def begin_abort(self) -> None:
        """Move to ABORTING."""
        self._raise_if_fatal()
        if self.state in (
            TransactionState.IN_TRANSACTION,
            TransactionState.ABORTABLE_ERROR,
            TransactionState.ABORTING,
        ):
            self.state = TransactionState.ABORTING
            return
        raise IllegalStateError(
            f"abort_transaction() called in state {self.state.value}: no transaction to abort"
        )

    def _raise_error_state(self, operation: str) -> None:
        self._raise_if_fatal()
        if self.state is TransactionState.ABORTABLE_ERROR:
            assert self.error is not None
            raise self.error
        raise IllegalStateError(
            f"{operation} called in state {self.state.value}: no transaction in progress"
        )

    def check_commit_possible(self) -> None:
        """After the flush: raise the error that prevents the commit, if any."""
        if self.state is not TransactionState.COMMITTING:
            self._raise_error_state("commit_transaction()")

    async def end(self, *, commit: bool) -> None:
        """EndTxn (if anything joined the transaction), then READY."""
        await self.wait_adds()
        if self.partitions or self._offsets_added:
            response = await self._coordinator_call(
                lambda _v: EndTxnRequest(
                    transactional_id=self.transactional_id,
                    producer_id=self._idem.producer_id,
                    producer_epoch=self._idem.epoch,
                    committed=commit,
                ),
                None if self.v2 else END_TXN_MAX_VERSION,
                _end_txn_error,
                "EndTxn",
            )
            assert isinstance(response, EndTxnResponse)
            if self.v2 and response.producer_id >= 0 and response.producer_epoch >= 0:
                # Version 2: the coordinator bumped the epoch (or, at the last epoch, gave a
                # new producer id); every partition's sequences restart at 0 under it.
                self._idem.producer_id = response.producer_id
                self._idem.epoch = response.producer_epoch
                log.debug(
                    "transactional id %r: now producer id %d, epoch %d",
                    self.transactional_id,
                    response.producer_id,
                    response.producer_epoch,
                )
        if not commit and self.epoch_bump_required and not self.v2:
            # Failed batches left gaps in some partitions' sequences: a new epoch restarts
            # every partition's sequences at 0 (KIP-360). Version 2 bumped it at EndTxn.
            await self._init_producer_id(bump=True)
        self.epoch_bump_required = False
        self.partitions.clear()
        self._pending.clear()
        self._offsets_added = False
        self.state = TransactionState.READY
        self.error = None

    async def send_offsets(
        self,
        offsets: Mapping[TopicPartition, int | OffsetAndMetadata],
        group: ConsumerGroupMetadata,
    ) -> None:
        """AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator."""
        self.check_send()
        committed: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, value in offsets.items():
            tp = TopicPartition(*tp)
            om = value if isinstance(value, OffsetAndMetadata) else OffsetAndMetadata(value)
            if isinstance(om.offset, bool) or not isinstance(om.offset, int) or om.offset < 0:
                raise ValueError(f"offset for {tp} must be an int >= 0, got {om.offset!r}")
            committed[tp] = om
        try:
            if not self.v2:
                await self._coordinator_call(
                    lambda _v: AddOffsetsToTxnRequest(
                        transactional_id=self.transactional_id,
                        producer_id=self._idem.producer_id,
                        producer_epoch=self._idem.epoch,
                        group_id=group.group_id,
                    ),
                    None,
                    _single_error,
                    "AddOffsetsToTxn",
                )
            # Version 2: TxnOffsetCommit (v5+) adds the group's offsets to the transaction.
            self._offsets_added = True
            await self._txn_offset_commit(committed, group)
        except KafkaError as exc:
            if not isinstance(exc, KafkaTimeoutError):
                self.fail(exc)
            raise

    # ------------------------------------------------------------------ partitions

    def maybe_add_partition(self, tp: TopicPartition) -> None:
        """Make sure ``tp`` joins the transaction (batched AddPartitionsToTxn)."""
        if tp in self.partitions or tp in self._pending:
            return
        if self.state not in (TransactionState.IN_TRANSACTION, TransactionState.COMMITTING):
            return
        if self.v2:
            # Version 2: the partition leader adds it when the first Produce (v12+) arrives.
            self.partitions.add(tp)
            return
        self._pending.add(tp)
        if self._adding is None or self._adding.done():
            self._adding = asyncio.get_running_loop().create_task(self._add_partitions())

    async def wait_adds(self) -> None:
        """Wait for the AddPartitionsToTxn in progress, if any."""
        task = self._adding
        if task is not None and not task.done():
            await asyncio.shield(task)

    async def _add_partitions(self) -> None:
        await asyncio.sleep(0)  # gather the partitions of this event-loop iteration
        while self._pending:
            batch = sorted(self._pending)
            topics: dict[str, list[int]] = {}
            for tp in batch:
                topics.setdefault(tp.topic, []).append(tp.partition)
            request = AddPartitionsToTxnRequest(
                v3_and_below_transactional_id=self.transactional_id,
                v3_and_below_producer_id=self._idem.producer_id,
                v3_and_below_producer_epoch=self._idem.epoch,
                v3_and_below_topics=[
                    AddPartitionsToTxnTopic(name=t, partitions=p) for t, p in topics.items()
                ],
            )
            try:
                await self._coordinator_call(
                    lambda _v, r=request: r,  # type: ignore[misc]
                    ADD_PARTITIONS_MAX_VERSION,
                    _add_partitions_error,
                    "AddPartitionsToTxn",
                )
            except KafkaError as exc:
                self._pending.clear()
                self.fail(exc)
                return
            except Exception as exc:  # a bug must not leave batches waiting forever
                log.exception("AddPartitionsToTxn failed unexpectedly")
                self._pending.clear()
                self.fail(KafkaError(f"AddPartitionsToTxn failed: {exc!r}"))
                return
            self._pending.difference_update(batch)
            self.partitions.update(batch)
            log.debug("added %s to the transaction of %r", batch, self.transactional_id)
            self._wakeup()

    # ------------------------------------------------------------------ requests

    async def _init_producer_id(self, *, bump: bool) -> None:
        def build(version: int) -> InitProducerIdRequest:
            # Before v3 the coordinator cannot be asked to bump a known id; a plain
            # InitProducerId for the transactional id bumps the epoch as well.
            known = bump and version >= _BUMP_MIN_VERSION
            return InitProducerIdRequest(
                transactional_id=self.transactional_id,
                transaction_timeout_ms=self._txn_timeout_ms,
                producer_id=self._idem.producer_id if known else -1,
                producer_epoch=self._idem.epoch if known else -1,
            )

        response = await self._coordinator_call(build, None, _single_error, "InitProducerId")
        assert isinstance(response, InitProducerIdResponse)
        self._idem.producer_id = response.producer_id
        self._idem.epoch = response.producer_epoch
        log.info(
            "transactional id %r: producer id %d, epoch %d",
            self.transactional_id,
            response.producer_id,
            response.producer_epoch,
        )

    async def _coordinator_call(
        self,
        build: Callable[[int], Any],
        max_version: int | None,
        error_of: Callable[[Any], int],
        name: str,
        *,
        kind: CoordinationType = CoordinationType.TRANSACTION,
        key: str | None = None,
        min_version: int | None = None,
    ) -> Any:
        """Send to the coordinator until a definitive answer; raise its error by category."""
        key = self.transactional_id if key is None else key
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        attempt = 0
        while True:
            attempt += 1
            pause = min(self._backoff * 2 ** (attempt - 1), self._backoff_max)
            last: KafkaError
            try:
                node = await self._cluster.coordinator_lookup(kind, key)
                version = await self._cluster.api_version_for(
                    node, type(build(0)), group=ConnectionGroup.COORDINATION
                )
                if max_version is not None:
                    version = min(version, max_version)
                if min_version is not None and version < min_version:
                    raise UnsupportedVersionError(
                        f"{name} needs version {min_version}+ for transactions version 2;"
                        f" node {node} serves at most {version}"
                    )
                response = await self._cluster.send(
                    node, build(version), group=ConnectionGroup.COORDINATION, version=version
                )
                code = error_of(response)
                if code == 0:
                    return response
                last = for_code(code)(f"{name} failed")
                if code in _NOT_COORDINATOR:
                    self._cluster.invalidate_coordinator(kind, key)
                elif code == 51:
                    pause = _CONCURRENT_BACKOFF
                elif code not in _RETRY:
                    raise _classify(code, name)
            except KafkaError as exc:
                if not exc.retriable:
                    raise
                self._cluster.invalidate_coordinator(kind, key)
                last = exc
            if loop.time() + pause > deadline:
                raise KafkaTimeoutError(
                    f"{name} for transactional id {self.transactional_id!r} did not succeed"
                    f" within {self._timeout * 1000:.0f} ms: {last}"
                ) from last
            log.debug("%s: %s; retrying in %.0f ms", name, last, pause * 1000)
            await asyncio.sleep(pause * random.uniform(0.8, 1.2))

    async def _txn_offset_commit(
        self, offsets: dict[TopicPartition, OffsetAndMetadata], group: ConsumerGroupMetadata
    ) -> None:
        remaining = dict(offsets)

        def build(version: int) -> TxnOffsetCommitRequest:
            topics: dict[str, TxnOffsetCommitRequestTopic] = {}
            for tp, om in sorted(remaining.items()):
                topic = topics.get(tp.topic)
                if topic is None:
                    topic = topics[tp.topic] = TxnOffsetCommitRequestTopic(name=tp.topic)
                topic.partitions.append(
                    TxnOffsetCommitRequestPartition(
                        partition_index=tp.partition,
                        committed_offset=om.offset,
                        committed_leader_epoch=-1 if om.leader_epoch is None else om.leader_epoch,
                        committed_metadata=om.metadata,
                    )
                )
            return TxnOffsetCommitRequest(
                transactional_id=self.transactional_id,
                group_id=group.group_id,
                producer_id=self._idem.producer_id,
                producer_epoch=self._idem.epoch,
                generation_id=group.generation_id,
                member_id=group.member_id,
                group_instance_id=group.group_instance_id,
                topics=list(topics.values()),
            )

        def error_of(response: Any) -> int:
            assert isinstance(response, TxnOffsetCommitResponse)
            worst = 0
            for topic in response.topics:
                for part in topic.partitions:
                    tp = TopicPartition(topic.name, part.partition_index)
                    if part.error_code == 0:
                        remaining.pop(tp, None)
                    elif worst == 0 or worst in _RETRY or worst in _NOT_COORDINATOR:
                        worst = part.error_code  # definitive errors win over retriable ones
            return worst

        await self._coordinator_call(
            build,
            None if self.v2 else _TV2_TXN_OFFSET_COMMIT_VERSION - 1,
            error_of,
            "TxnOffsetCommit",
            kind=CoordinationType.GROUP,
            key=group.group_id,
            min_version=_TV2_TXN_OFFSET_COMMIT_VERSION if self.v2 else None,
        )


def _classify(code: int, name: str) -> KafkaError:
    """The error a coordinator's definitive error code stands for (KIP-588 for epochs)."""
    if code in _FENCED:
        return ProducerFencedError(
            f"{name}: another producer with the same transactional id has a newer epoch"
        )
    exc = for_code(code)(f"{name} failed")
    if code in _ABORTABLE:
        exc.fatal = False  # e.g. FENCED_INSTANCE_ID: the consumer is fenced, not the producer
        exc.txn_requires_abort = True
        return exc
    if not exc.fatal and not exc.txn_requires_abort:
        exc.fatal = True  # unexpected answers end the producer, as in the Java client
    return exc


def _single_error(response: Any) -> int:
    code = response.error_code
    assert isinstance(code, int)
    return code


def _end_txn_error(response: Any) -> int:
    assert isinstance(response, EndTxnResponse)
    return response.error_code


def _add_partitions_error(response: Any) -> int:
    assert isinstance(response, AddPartitionsToTxnResponse)
    if response.error_code:
        return response.error_code
    worst = 0
    for topic in response.results_by_topic_v3_and_below:
        for part in topic.results_by_partition:
            code = part.partition_error_code
            if code and code != 55 and (worst == 0 or worst in _RETRY):  # 55: NOT_ATTEMPTED
                worst = code
            elif code == 55 and worst == 0:
                worst = 55
    return worst
