"""Helpers for the admin client's integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from kafkaio.admin import Admin, NewTopic
from kafkaio.cluster import ConnectionGroup, CoordinationType, TopicPartition
from kafkaio.errors import RetriableError, for_code, raise_for_code
from kafkaio.net.connection import BrokerConnection
from kafkaio.protocol.messages import (
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    InitProducerIdRequest,
    InitProducerIdResponse,
    JoinGroupRequest,
    JoinGroupResponse,
    ProduceRequest,
    ProduceResponse,
    SaslAuthenticateRequest,
    SaslAuthenticateResponse,
    SaslHandshakeRequest,
    SaslHandshakeResponse,
    SyncGroupRequest,
    SyncGroupResponse,
)
from kafkaio.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnTopic
from kafkaio.protocol.messages.consumer_protocol_assignment import (
    ConsumerProtocolAssignment,
)
from kafkaio.protocol.messages.consumer_protocol_assignment import (
    TopicPartition as AssignedPartitions,
)
from kafkaio.protocol.messages.consumer_protocol_subscription import (
    ConsumerProtocolSubscription,
)
from kafkaio.protocol.messages.join_group import JoinGroupRequestProtocol
from kafkaio.protocol.messages.produce import PartitionProduceData, TopicProduceData
from kafkaio.protocol.messages.sync_group import SyncGroupRequestAssignment
from kafkaio.records.v2 import RecordBatchBuilder

_PRODUCE_BY_NAME_MAX_VERSION = 12
_CLIENT_ADD_PARTITIONS_MAX_VERSION = 3
_VERSION_0 = b"\x00\x00"  # consumer-protocol payloads start with their int16 version
T = TypeVar("T")


async def produce(
    admin: Admin,
    tp: TopicPartition,
    values: Sequence[bytes],
    *,
    timestamps: Sequence[int] | None = None,
) -> int:
    """Write ``values`` to ``tp`` in one batch (acks=all); returns the base offset.

    Uses the raw Produce API so the admin tests do not depend on the producer.
    """
    leader = None
    for _ in range(50):
        description = (await admin.describe_topics([tp.topic]))[tp.topic]
        if description.error is None:
            leader = description.partitions[tp.partition].leader
            if leader is not None:
                break
    assert leader is not None, f"no leader for {tp}"
    builder = RecordBatchBuilder()
    for i, value in enumerate(values):
        builder.append(None if timestamps is None else timestamps[i], None, value)
    request = ProduceRequest(
        transactional_id=None,
        acks=-1,
        timeout_ms=10_000,
        topic_data=[
            TopicProduceData(
                name=tp.topic,
                partition_data=[PartitionProduceData(index=tp.partition, records=builder.build())],
            )
        ],
    )
    return await _send_produce(admin, leader, request)


async def _send_produce(admin: Admin, leader: int, request: ProduceRequest) -> int:
    """Send a one-partition Produce by topic name; retry while the replica is not ready."""
    client = admin.client
    version = min(
        await client.api_version_for(leader, ProduceRequest), _PRODUCE_BY_NAME_MAX_VERSION
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        response = await client.send(leader, request, version=version)
        assert isinstance(response, ProduceResponse)
        part = response.responses[0].partition_responses[0]
        # Right after creation the broker may not host the replica yet: retry.
        if part.error_code and for_code(part.error_code).retriable and loop.time() < deadline:
            await asyncio.sleep(0.05)
            continue
        raise_for_code(part.error_code, part.error_message)
        return part.base_offset


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Await ``check()`` until it stops raising AssertionError or LookupError (a key or
    item not there yet), then return its result.

    Admin changes are committed by the controller before the answer; brokers apply them
    from the metadata log a moment later, so an independent read may lag briefly.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await check()
        except (AssertionError, LookupError):
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(interval)


async def create_topic(admin: Admin, topic: NewTopic) -> None:
    """Create ``topic`` and wait until the broker serves every partition."""
    (await admin.create_topics([topic])).raise_on_error()

    async def ready() -> None:
        description = (await admin.describe_topics([topic.name]))[topic.name]
        assert description.error is None
        assert description.partitions
        assert all(p.leader is not None for p in description.partitions)

    await eventually(ready)


async def open_transaction(
    admin: Admin, transactional_id: str, tp: TopicPartition
) -> tuple[int, int]:
    """Start a transaction by hand that writes one record to ``tp`` and stays open.

    Returns ``(producer_id, producer_epoch)``. Raw requests keep the admin tests
    independent of the producer.
    """
    client = admin.client
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        # The transaction state topic is created on first use: retry until it is loaded.
        try:
            coordinator = await client.coordinator_lookup(
                CoordinationType.TRANSACTION, transactional_id
            )
            init = await client.send(
                coordinator,
                InitProducerIdRequest(
                    transactional_id=transactional_id, transaction_timeout_ms=60_000
                ),
                group=ConnectionGroup.COORDINATION,
            )
            assert isinstance(init, InitProducerIdResponse)
            raise_for_code(init.error_code)
            break
        except RetriableError:
            client.invalidate_coordinator(CoordinationType.TRANSACTION, transactional_id)
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)
    pid, epoch = init.producer_id, init.producer_epoch
    added = await client.send(
        coordinator,
        AddPartitionsToTxnRequest(
            v3_and_below_transactional_id=transactional_id,
            v3_and_below_producer_id=pid,
            v3_and_below_producer_epoch=epoch,
            v3_and_below_topics=[AddPartitionsToTxnTopic(name=tp.topic, partitions=[tp.partition])],
        ),
        group=ConnectionGroup.COORDINATION,
        version=_CLIENT_ADD_PARTITIONS_MAX_VERSION,
    )
    assert isinstance(added, AddPartitionsToTxnResponse)
    for topic in added.results_by_topic_v3_and_below:
        for part in topic.results_by_partition:
            raise_for_code(part.partition_error_code)
    builder = RecordBatchBuilder(
        is_transactional=True, producer_id=pid, producer_epoch=epoch, base_sequence=0
    )
    builder.append(None, None, b"in-transaction")
    leader = client.leader_for(tp)
    if leader is None:
        await client.partitions_for(tp.topic)
        leader = client.leader_for(tp)
    assert leader is not None
    request = ProduceRequest(
        transactional_id=transactional_id,
        acks=-1,
        timeout_ms=10_000,
        topic_data=[
            TopicProduceData(
                name=tp.topic,
                partition_data=[PartitionProduceData(index=tp.partition, records=builder.build())],
            )
        ],
    )
    await _send_produce(admin, leader, request)
    return pid, epoch


async def join_static_member(
    admin: Admin, group: str, instance_id: str, assignment: Sequence[TopicPartition]
) -> str:
    """Join ``group`` as a static classic consumer that leads and assigns ``assignment``
    to itself; returns its member id. Raw requests, no consumer needed."""
    client = admin.client
    topics = sorted({tp.topic for tp in assignment})
    subscription = ConsumerProtocolSubscription(topics=topics)
    metadata = _VERSION_0 + subscription.encode(0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        try:
            coordinator = await client.coordinator_lookup(CoordinationType.GROUP, group)
            joined = await client.send(
                coordinator,
                JoinGroupRequest(
                    group_id=group,
                    session_timeout_ms=30_000,
                    rebalance_timeout_ms=30_000,
                    member_id="",
                    group_instance_id=instance_id,
                    protocol_type="consumer",
                    protocols=[JoinGroupRequestProtocol(name="range", metadata=metadata)],
                ),
                group=ConnectionGroup.COORDINATION,
            )
            assert isinstance(joined, JoinGroupResponse)
            raise_for_code(joined.error_code)
            break
        except RetriableError:
            client.invalidate_coordinator(CoordinationType.GROUP, group)
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)
    assert joined.leader == joined.member_id
    by_topic: dict[str, list[int]] = {}
    for tp in assignment:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    assigned = ConsumerProtocolAssignment(
        assigned_partitions=[
            AssignedPartitions(topic=t, partitions=ps) for t, ps in sorted(by_topic.items())
        ]
    )
    synced = await client.send(
        coordinator,
        SyncGroupRequest(
            group_id=group,
            generation_id=joined.generation_id,
            member_id=joined.member_id,
            group_instance_id=instance_id,
            protocol_type="consumer",
            protocol_name="range",
            assignments=[
                SyncGroupRequestAssignment(
                    member_id=joined.member_id, assignment=_VERSION_0 + assigned.encode(0)
                )
            ],
        ),
        group=ConnectionGroup.COORDINATION,
    )
    assert isinstance(synced, SyncGroupResponse)
    raise_for_code(synced.error_code)
    return joined.member_id


class PlainAuthenticator:
    """SASL/PLAIN for the tests' SASL listener (the client has no SASL layer of its own)."""

    def __init__(self, user: str, password: str) -> None:
        self._token = b"\0" + user.encode() + b"\0" + password.encode()

    async def authenticate(self, connection: BrokerConnection) -> None:
        handshake = await connection.send(SaslHandshakeRequest(mechanism="PLAIN"))
        assert isinstance(handshake, SaslHandshakeResponse)
        raise_for_code(handshake.error_code, f"mechanisms: {handshake.mechanisms}")
        answer = await connection.send(SaslAuthenticateRequest(auth_bytes=self._token))
        assert isinstance(answer, SaslAuthenticateResponse)
        raise_for_code(answer.error_code, answer.error_message)
