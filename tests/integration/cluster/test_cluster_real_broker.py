"""ClusterClient against real Apache Kafka brokers (the kafkaio.testing harness)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kafkaio._pin import KAFKA_LEGACY_VERSION, KAFKA_VERSION
from kafkaio.cluster import ClusterClient, ConnectionGroup, CoordinationType, TopicPartition
from kafkaio.errors import (
    CoordinatorLoadInProgressError,
    CoordinatorNotAvailableError,
    KafkaError,
    NotCoordinatorError,
    UnknownTopicOrPartitionError,
    for_code,
)
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    MetadataRequest,
    MetadataResponse,
)
from kafkaio.protocol.messages.list_offsets import ListOffsetsPartition, ListOffsetsTopic
from kafkaio.protocol.messages.metadata import MetadataRequestTopic

pytestmark = pytest.mark.kafka

log = logging.getLogger(__name__)

_LATEST_TIMESTAMP = -1


def release(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


async def closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


@contextlib.asynccontextmanager
async def connected(bootstrap: str | list[str], **options: Any) -> AsyncIterator[ClusterClient]:
    opts: dict[str, Any] = {"request_timeout_ms": 10_000, "retry_backoff_ms": 50}
    opts.update(options)
    client = ClusterClient.from_options({"bootstrap_servers": bootstrap, **opts})
    try:
        await client.bootstrap()
        yield client
    finally:
        await client.close()


def list_offsets(topic: str, partition: int = 0) -> ListOffsetsRequest:
    return ListOffsetsRequest(
        replica_id=-1,
        topics=[
            ListOffsetsTopic(
                name=topic,
                partitions=[
                    ListOffsetsPartition(partition_index=partition, timestamp=_LATEST_TIMESTAMP)
                ],
            )
        ],
    )


def list_offsets_error(response: object) -> int:
    assert isinstance(response, ListOffsetsResponse)
    (topic,) = response.topics
    (part,) = topic.partitions
    return part.error_code


async def list_offsets_ok(client: ClusterClient, node: int, topic: str) -> int:
    """ListOffsets to ``node`` until it stops answering with a retriable error code.

    Right after a topic is created or a leader moves, the leader may briefly answer
    NOT_LEADER_OR_FOLLOWER / LEADER_NOT_AVAILABLE while it takes up leadership.
    """
    code = -1
    for _ in range(100):
        try:
            code = list_offsets_error(await client.send(node, list_offsets(topic)))
        except KafkaError:
            code = -1
        if code == 0 or not (code == -1 or for_code(code).retriable):
            return code
        await asyncio.sleep(0.1)
    return code


async def lookup_with_retry(client: ClusterClient, kind: CoordinationType, key: str) -> int:
    """Coordinator lookups fail with retriable errors until the internal topic exists."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        try:
            return await client.coordinator_lookup(kind, key)
        except (CoordinatorNotAvailableError, CoordinatorLoadInProgressError, NotCoordinatorError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.25)


# ---------------------------------------------------------------------- single node


async def test_bootstrap_when_the_first_address_is_dead(kafka_cluster: Any) -> None:
    dead = f"127.0.0.1:{await closed_port()}"
    async with connected([dead, kafka_cluster.bootstrap_servers]) as client:
        brokers = client.cluster.brokers()
        assert len(brokers) >= 1
        assert client.cluster.cluster_id
        assert client.cluster.controller_id is not None
        assert client.api_version == release(KAFKA_VERSION)
        assert await client.check_version() == release(KAFKA_VERSION)


async def test_metadata_for_a_topic(kafka_cluster: Any, make_topic: Any) -> None:
    topic = await asyncio.to_thread(make_topic, 3)
    async with connected(kafka_cluster.bootstrap_servers) as client:
        assert await client.partitions_for(topic) == {0, 1, 2}
        meta = client.cluster.topic(topic)
        assert meta is not None and meta.topic_id is not None and not meta.is_internal
        for p in range(3):
            tp = TopicPartition(topic, p)
            leader = client.leader_for(tp)
            assert leader is not None and client.cluster.broker(leader) is not None
            assert client.cluster.leader_epoch(tp) >= 0
            part = client.cluster.partition(tp)
            assert part is not None and leader in part.replicas and leader in part.isr
        # Leaders answer ListOffsets for their partitions.
        leader = client.leader_for(TopicPartition(topic, 0))
        assert leader is not None
        assert await list_offsets_ok(client, leader, topic) == 0


async def test_unknown_topic_times_out(kafka_cluster: Any) -> None:
    async with connected(
        kafka_cluster.bootstrap_servers, request_timeout_ms=800, allow_auto_create_topics=False
    ) as client:
        with pytest.raises(UnknownTopicOrPartitionError):
            await client.partitions_for("kafkaio-no-such-topic-x1")
        assert "kafkaio-no-such-topic-x1" in client.cluster.unknown_topics


async def test_coordinator_lookup_for_group_and_transactional_id(kafka_cluster: Any) -> None:
    async with connected(kafka_cluster.bootstrap_servers) as client:
        group_node = await lookup_with_retry(client, CoordinationType.GROUP, "kafkaio-group-1")
        txn_node = await lookup_with_retry(client, CoordinationType.TRANSACTION, "kafkaio-txn-1")
        broker_ids = {b.node_id for b in client.cluster.brokers()}
        assert group_node in broker_ids and txn_node in broker_ids
        assert await client.ready(group_node, group=ConnectionGroup.COORDINATION)
        many = await client.coordinator_lookup_many(CoordinationType.GROUP, ["a-1", "a-2", "a-3"])
        assert all(isinstance(v, int) and v in broker_ids for v in many.values()), many


async def test_idle_connections_are_reaped(kafka_cluster: Any) -> None:
    async with connected(kafka_cluster.bootstrap_servers, connections_max_idle_ms=500) as client:
        node = client.cluster.brokers()[0].node_id
        assert await client.ready(node)
        assert client._pool.get(node) is not None
        await asyncio.sleep(1.5)
        assert client._pool.get(node) is None
        # The next request simply reconnects.
        assert isinstance(await client.send(node, MetadataRequest(topics=[])), MetadataResponse)


# ---------------------------------------------------------------------- version negotiation


@pytest.mark.parametrize(
    ("cluster_fixture", "pin"),
    [("kafka_cluster", KAFKA_VERSION), ("kafka_legacy_cluster", KAFKA_LEGACY_VERSION)],
)
async def test_version_negotiation(
    request: pytest.FixtureRequest, cluster_fixture: str, pin: str
) -> None:
    cluster = request.getfixturevalue(cluster_fixture)
    topic = f"kafkaio-versions-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(cluster.create_topic, topic, 1)
    async with connected(cluster.bootstrap_servers) as client:
        assert client.api_version == release(pin)
        await client.partitions_for(topic)
        node = client.leader_for(TopicPartition(topic, 0))
        assert node is not None
        conn_versions = client._pool.get(node)
        if conn_versions is None:
            assert await client.ready(node)
            conn_versions = client._pool.get(node)
        assert conn_versions is not None
        broker = conn_versions.api_versions

        async def check(req: Request) -> object:
            version = await client.api_version_for(node, type(req))
            rng = broker[type(req).API_KEY]
            assert version == min(type(req).MAX_VERSION, rng.max)
            return await client.send(node, req)

        md = await check(MetadataRequest(topics=[MetadataRequestTopic(name=topic)]))
        assert isinstance(md, MetadataResponse) and md.topics[0].error_code == 0
        av = await check(
            ApiVersionsRequest(client_software_name="kafkaio", client_software_version="1")
        )
        assert isinstance(av, ApiVersionsResponse) and av.error_code == 0
        group = f"kafkaio-negotiation-{cluster_fixture}"
        code = -1
        for _ in range(120):
            fc = await check(FindCoordinatorRequest(key_type=0, coordinator_keys=[group]))
            assert isinstance(fc, FindCoordinatorResponse)
            code = fc.coordinators[0].error_code
            if code == 0:
                break
            await asyncio.sleep(0.25)
        assert code == 0
        assert await list_offsets_ok(client, node, topic) == 0
        lo = await check(list_offsets(topic))
        assert list_offsets_error(lo) == 0
        if pin == KAFKA_LEGACY_VERSION:
            # 3.9 serves older versions than kafkaio's newest of these APIs.
            assert await client.api_version_for(node, MetadataRequest) < MetadataRequest.MAX_VERSION


async def test_user_cap_by_release_tuple(kafka_cluster: Any) -> None:
    async with connected(kafka_cluster.bootstrap_servers, api_version=(3, 0)) as client:
        assert client.api_version == (3, 0)
        node = client.cluster.brokers()[0].node_id
        assert await client.api_version_for(node, MetadataRequest) == 11
        assert await client.api_version_for(node, FindCoordinatorRequest) == 4
        response = await client.send(node, MetadataRequest(topics=None))
        assert isinstance(response, MetadataResponse) and response.brokers


# ---------------------------------------------------------------------- three nodes


@pytest.mark.slow
async def test_leader_failover_and_reconnect(kafka_cluster_3: Any) -> None:
    cluster = kafka_cluster_3
    topic = f"kafkaio-failover-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(cluster.create_topic, topic, 1, 3)
    tp = TopicPartition(topic, 0)
    async with connected(cluster.bootstrap_servers, request_timeout_ms=5000) as client:
        await client.partitions_for(topic)
        old_leader = client.leader_for(tp)
        assert old_leader is not None
        old_epoch = client.cluster.leader_epoch(tp)
        assert await list_offsets_ok(client, old_leader, topic) == 0
        await asyncio.to_thread(cluster.kill_node, old_leader)
        try:
            loop = asyncio.get_running_loop()
            start = loop.time()
            new_leader = old_leader
            while loop.time() - start < 30:
                await client.force_metadata_update()
                new_leader = client.leader_for(tp)  # type: ignore[assignment]
                if new_leader is not None and new_leader != old_leader:
                    break
                await asyncio.sleep(0.2)
            elapsed = loop.time() - start
            log.info("leader of %s moved %d -> %s in %.1f s", tp, old_leader, new_leader, elapsed)
            assert new_leader is not None and new_leader != old_leader, "leader did not move"
            assert client.cluster.leader_epoch(tp) > old_epoch
            # The broker session timeout of the harness is 6 s; allow scheduling slack.
            assert elapsed < 20
            assert await list_offsets_ok(client, new_leader, topic) == 0
        finally:
            await asyncio.to_thread(cluster.start_node, old_leader)
        # The restarted node is reachable again through the same client.
        for _ in range(100):
            await client.force_metadata_update()
            if client.cluster.broker(old_leader) is not None and await client.ready(old_leader):
                break
            await asyncio.sleep(0.2)
        assert await client.ready(old_leader)
        response = await client.send(old_leader, MetadataRequest(topics=[]))
        assert isinstance(response, MetadataResponse)
