"""The transaction manager's state machine and coordinator error handling (fake coordinator)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kafkaio.cluster import TopicPartition
from kafkaio.errors import (
    ConfigurationError,
    IllegalStateError,
    KafkaTimeoutError,
    ProducerFencedError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailedError,
)
from kafkaio.net.versions import BrokerApiVersions, VersionRange
from kafkaio.producer import ConsumerGroupMetadata, Producer, TransactionAbortedError
from kafkaio.producer.idempotence import IdempotenceState
from kafkaio.producer.options import ProducerOptions
from kafkaio.producer.transactions import (
    TransactionManager,
    TransactionState,
    group_metadata_from,
)
from kafkaio.protocol.messages import (
    AddOffsetsToTxnRequest,
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    EndTxnRequest,
    EndTxnResponse,
    InitProducerIdRequest,
    InitProducerIdResponse,
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
)
from kafkaio.protocol.messages.add_partitions_to_txn import (
    AddPartitionsToTxnPartitionResult,
    AddPartitionsToTxnTopicResult,
)
from kafkaio.protocol.messages.txn_offset_commit import (
    TxnOffsetCommitResponsePartition,
    TxnOffsetCommitResponseTopic,
)

TP = TopicPartition("t", 0)


class FakeCoordinator:
    """Answers transactional requests; ``codes[api]`` lists error codes to return first."""

    def __init__(self) -> None:
        self.codes: dict[type, list[int]] = {}
        self.sent: list[tuple[Any, int | None]] = []
        self.lookups = 0
        self.invalidated = 0
        self.epoch = 0
        self.version = 5  # newer than transactions version 1: must be capped
        self.features: dict[str, int] = {}  # {"transaction.version": 2}: version 2

    async def api_versions_of(self, node: int, **_: Any) -> BrokerApiVersions:
        return BrokerApiVersions(
            {EndTxnRequest.API_KEY: VersionRange(0, self.version)}, dict(self.features), 4
        )

    async def coordinator_lookup(self, kind: Any, key: str) -> int:
        self.lookups += 1
        return 1

    def invalidate_coordinator(self, kind: Any, key: str) -> None:
        self.invalidated += 1

    async def api_version_for(self, node: int, request_type: type, **_: Any) -> int:
        return self.version

    async def send(self, node: int, request: Any, **kw: Any) -> Any:
        self.sent.append((request, kw.get("version")))
        pending = self.codes.get(type(request), [])
        code = pending.pop(0) if pending else 0
        if isinstance(request, InitProducerIdRequest):
            if code == 0:
                self.epoch += 1
            return InitProducerIdResponse(
                error_code=code, producer_id=42, producer_epoch=self.epoch
            )
        if isinstance(request, AddPartitionsToTxnRequest):
            results = [
                AddPartitionsToTxnTopicResult(
                    name=t.name,
                    results_by_partition=[
                        AddPartitionsToTxnPartitionResult(
                            partition_index=p, partition_error_code=code
                        )
                        for p in t.partitions
                    ],
                )
                for t in request.v3_and_below_topics
            ]
            return AddPartitionsToTxnResponse(results_by_topic_v3_and_below=results)
        if isinstance(request, EndTxnRequest):
            if kw.get("version", 0) >= 5 and code == 0:
                self.epoch += 1  # version 2: the coordinator bumps the epoch every time
                return EndTxnResponse(error_code=0, producer_id=42, producer_epoch=self.epoch)
            return EndTxnResponse(error_code=code)
        if isinstance(request, AddOffsetsToTxnRequest):
            return AddOffsetsToTxnResponse(error_code=code)
        assert isinstance(request, TxnOffsetCommitRequest)
        return TxnOffsetCommitResponse(
            topics=[
                TxnOffsetCommitResponseTopic(
                    name=t.name,
                    partitions=[
                        TxnOffsetCommitResponsePartition(
                            partition_index=p.partition_index, error_code=code
                        )
                        for p in t.partitions
                    ],
                )
                for t in request.topics
            ]
        )

    def of(self, kind: type) -> list[tuple[Any, int | None]]:
        return [(r, v) for r, v in self.sent if isinstance(r, kind)]


def make() -> tuple[TransactionManager, FakeCoordinator, IdempotenceState, list[int]]:
    fake = FakeCoordinator()
    idem = IdempotenceState()
    wakes: list[int] = []
    manager = TransactionManager(
        fake,  # type: ignore[arg-type]
        idem,
        transactional_id="tid",
        transaction_timeout_ms=10_000,
        timeout=2.0,
        backoff=0.001,
        backoff_max=0.002,
        wakeup=lambda: wakes.append(1),
    )
    return manager, fake, idem, wakes


async def _added(manager: TransactionManager, tps: list[TopicPartition]) -> None:
    for tp in tps:
        manager.maybe_add_partition(tp)
    await manager.wait_adds()


async def test_happy_path_and_versions() -> None:
    manager, fake, idem, wakes = make()
    fake.codes[InitProducerIdRequest] = [14, 51, 16]  # loading, concurrent, not coordinator
    await manager.init()
    assert manager.state is TransactionState.READY
    assert idem.current == (42, 1)
    assert fake.invalidated == 1 and fake.lookups == 5  # 4 for InitProducerId, 1 for versions
    assert not manager.v2
    manager.begin()
    await _added(manager, [TP, TopicPartition("t", 1), TopicPartition("u", 0)])
    adds = fake.of(AddPartitionsToTxnRequest)
    assert len(adds) == 1 and adds[0][1] == 3  # one batched request, capped at v3
    assert manager.partitions == {TP, TopicPartition("t", 1), TopicPartition("u", 0)}
    assert wakes
    manager.begin_commit()
    manager.check_commit_possible()
    await manager.end(commit=True)
    ((end, version),) = fake.of(EndTxnRequest)
    assert end.committed and version == 4 and end.producer_epoch == 1
    assert manager.state is TransactionState.READY and not manager.partitions


async def test_transactions_version_2_adds_implicitly_and_takes_the_bumped_epoch() -> None:
    manager, fake, idem, _ = make()
    fake.features = {"transaction.version": 2}
    await manager.init()
    assert idem.current == (42, 1)
    manager.begin()
    assert manager.v2
    await _added(manager, [TP, TopicPartition("u", 0)])
    assert not fake.of(AddPartitionsToTxnRequest)  # the leaders add them (Produce v12+)
    assert manager.partitions == {TP, TopicPartition("u", 0)}
    await manager.send_offsets({TP: 5}, ConsumerGroupMetadata("g"))
    assert not fake.of(AddOffsetsToTxnRequest)  # TxnOffsetCommit v5+ adds the offsets
    ((_commit, commit_version),) = fake.of(TxnOffsetCommitRequest)
    assert commit_version == 5
    manager.begin_commit()
    await manager.end(commit=True)
    ((end, version),) = fake.of(EndTxnRequest)
    assert version == 5 and end.producer_epoch == 1
    assert idem.current == (42, 2)  # the epoch the coordinator returned
    # An abort after failed batches needs no InitProducerId: EndTxn bumped the epoch.
    manager.begin()
    await _added(manager, [TP])
    manager.epoch_bump_required = True
    manager.begin_abort()
    await manager.end(commit=False)
    assert len(fake.of(InitProducerIdRequest)) == 1
    assert idem.current == (42, 3)


async def test_transactions_version_2_needs_end_txn_v5_at_the_coordinator() -> None:
    manager, fake, _, _ = make()
    fake.features = {"transaction.version": 2}
    fake.version = 4
    await manager.init()
    manager.begin()
    assert not manager.v2


async def test_empty_transaction_sends_no_end_txn() -> None:
    manager, fake, _, _ = make()
    await manager.init()
    manager.begin()
    manager.begin_abort()
    await manager.end(commit=False)
    assert not fake.of(EndTxnRequest)
    assert manager.state is TransactionState.READY


async def test_misuse_raises_illegal_state() -> None:
    manager, _, _, _ = make()
    with pytest.raises(IllegalStateError, match="init_transactions"):
        manager.begin()
    with pytest.raises(IllegalStateError, match="begin_transaction"):
        manager.check_send()
    await manager.init()
    with pytest.raises(IllegalStateError, match="init_transactions"):
        await manager.init()
    with pytest.raises(IllegalStateError, match="no transaction"):
        manager.begin_commit()
    with pytest.raises(IllegalStateError, match="no transaction"):
        manager.begin_abort()
    manager.begin()
    manager.check_send()
    with pytest.raises(IllegalStateError, match="already in progress"):
        manager.begin()


async def test_fenced_is_fatal() -> None:
    manager, fake, _, _ = make()
    await manager.init()
    manager.begin()
    fake.codes[AddPartitionsToTxnRequest] = [47]  # INVALID_PRODUCER_EPOCH: fenced (KIP-588)
    await _added(manager, [TP])
    assert manager.state is TransactionState.FATAL_ERROR
    assert isinstance(manager.error, ProducerFencedError)
    for call in (manager.begin, manager.begin_abort, manager.begin_commit, manager.check_send):
        with pytest.raises(ProducerFencedError):
            call()
    assert isinstance(manager.undrained_error, TransactionAbortedError)


async def test_end_txn_fenced_and_auth_fatal() -> None:
    manager, fake, _, _ = make()
    await manager.init()
    manager.begin()
    await _added(manager, [TP])
    manager.begin_commit()
    fake.codes[EndTxnRequest] = [90]
    with pytest.raises(ProducerFencedError):
        await manager.end(commit=True)
    manager2, fake2, _, _ = make()
    fake2.codes[InitProducerIdRequest] = [53]
    with pytest.raises(TransactionalIdAuthorizationFailedError):
        await manager2.init()


async def test_abortable_error_then_abort_bumps_epoch() -> None:
    manager, fake, idem, _ = make()
    await manager.init()
    manager.begin()
    await _added(manager, [TP])
    manager.on_batch_failed(TopicAuthorizationFailedError("no"), had_sequence=True)
    assert manager.state is TransactionState.ABORTABLE_ERROR
    with pytest.raises(TransactionAbortedError):
        manager.check_send()
    with pytest.raises(TopicAuthorizationFailedError):
        manager.begin_commit()
    manager.begin_abort()
    await manager.end(commit=False)
    ((end, _v),) = fake.of(EndTxnRequest)
    assert not end.committed
    bump = fake.of(InitProducerIdRequest)[-1][0]
    assert (bump.producer_id, bump.producer_epoch) == (42, 1)  # KIP-360 bump of the known id
    assert idem.current == (42, 2) and manager.state is TransactionState.READY


async def test_bump_before_init_producer_id_v3_asks_for_a_new_epoch_plainly() -> None:
    manager, fake, idem, _ = make()
    fake.version = 2
    await manager.init()
    manager.begin()
    manager.on_batch_failed(TopicAuthorizationFailedError("no"), had_sequence=True)
    manager.begin_abort()
    await manager.end(commit=False)
    bump = fake.of(InitProducerIdRequest)[-1][0]
    assert (bump.producer_id, bump.producer_epoch) == (-1, -1)
    assert idem.current == (42, 2)


async def test_add_partitions_unauthorized_topic_is_abortable() -> None:
    manager, fake, _, _ = make()
    await manager.init()
    manager.begin()
    fake.codes[AddPartitionsToTxnRequest] = [51, 29]  # concurrent (retried), then unauthorized
    await _added(manager, [TP])
    assert manager.state is TransactionState.ABORTABLE_ERROR
    assert manager.error is not None and manager.error.txn_requires_abort


async def test_send_offsets() -> None:
    manager, fake, _, _ = make()
    await manager.init()
    manager.begin()
    fake.codes[TxnOffsetCommitRequest] = [16, 0]
    group = ConsumerGroupMetadata("g", 3, "member-1", None)
    await manager.send_offsets({TP: 5}, group)
    commits = fake.of(TxnOffsetCommitRequest)
    assert len(commits) == 2
    request = commits[-1][0]
    assert (request.group_id, request.generation_id, request.member_id) == ("g", 3, "member-1")
    assert request.topics[0].partitions[0].committed_offset == 5
    fake.codes[TxnOffsetCommitRequest] = [22]  # ILLEGAL_GENERATION: abortable
    with pytest.raises(Exception) as info:
        await manager.send_offsets({TP: 6}, group)
    assert getattr(info.value, "txn_requires_abort", False)
    assert manager.state is TransactionState.ABORTABLE_ERROR
    with pytest.raises(ValueError, match="offset"):
        await make_ready_and(lambda m: m.send_offsets({TP: -1}, group))


async def make_ready_and(action: Callable[[TransactionManager], Any]) -> None:
    manager, _, _, _ = make()
    await manager.init()
    manager.begin()
    await action(manager)


async def test_timeout_when_coordinator_keeps_loading() -> None:
    manager, fake, _, _ = make()
    fake.codes[InitProducerIdRequest] = [14] * 10_000
    manager._timeout = 0.05
    with pytest.raises(KafkaTimeoutError, match="InitProducerId"):
        await manager.init()


def test_group_metadata_from() -> None:
    assert group_metadata_from("g") == ConsumerGroupMetadata("g")
    with pytest.raises(TypeError, match="group_metadata"):
        group_metadata_from(3)
    with pytest.raises(ValueError):
        group_metadata_from("")


def test_options() -> None:
    opts = ProducerOptions(transactional_id="x")
    assert opts.transactional and opts.idempotent and opts.transaction_timeout_ms == 60_000
    with pytest.raises(ConfigurationError, match="transactional_id"):
        ProducerOptions(transactional_id="x", enable_idempotence=False)
    with pytest.raises(ConfigurationError, match="transactional_id"):
        ProducerOptions(transactional_id="x", acks=1)
    with pytest.raises(TypeError, match="transactional_id"):
        ProducerOptions(transactional_id="")
    with pytest.raises(ValueError, match="transaction_timeout_ms"):
        ProducerOptions(transactional_id="x", transaction_timeout_ms=0)
    producer = Producer(transactional_id="y")
    assert producer.options.transactional_id == "y"
