"""ClusterClient against fake brokers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from _fakebroker import FakeBroker, FakeConn, Received

from kafkaio.cluster import ClusterClient, ConnectionGroup, CoordinationType
from kafkaio.cluster.pool import BOOTSTRAP_NODE
from kafkaio.errors import (
    CoordinatorNotAvailableError,
    IllegalStateError,
    KafkaConnectionError,
    NodeNotReadyError,
    RequestTimedOutError,
    StaleMetadataError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from kafkaio.net.releases import release_max_versions
from kafkaio.protocol.messages import (
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    ListOffsetsRequest,
    MetadataRequest,
    MetadataResponse,
)
from kafkaio.protocol.messages.find_coordinator import Coordinator
from kafkaio.protocol.messages.metadata import MetadataResponseTopic


async def closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


@contextlib.asynccontextmanager
async def client_for(*addresses: str, **options: object) -> AsyncIterator[ClusterClient]:
    opts: dict[str, object] = {"request_timeout_ms": 2000, "retry_backoff_ms": 20}
    opts.update(options)
    client = ClusterClient.from_options({"bootstrap_servers": list(addresses), **opts})
    try:
        await client.bootstrap()
        yield client
    finally:
        await client.close()


def coordinator_handler(broker: FakeBroker, node_for: dict[str, int]) -> object:
    def handle(conn: FakeConn, req: Received) -> None:
        if req.api_key == 3:
            conn.respond(req, broker.metadata_response())
        elif req.api_key == 10:
            r = req.request
            assert isinstance(r, FindCoordinatorRequest)
            if req.api_version >= 4:
                conn.respond(
                    req,
                    FindCoordinatorResponse(
                        coordinators=[
                            Coordinator(k, node_for.get(k, 1), "127.0.0.1", broker.port)
                            if node_for.get(k, 1) >= 0
                            else Coordinator(k, -1, "", -1, error_code=15)
                            for k in r.coordinator_keys
                        ]
                    ),
                )
            else:
                node = node_for.get(r.key, 1)
                if node < 0:
                    conn.respond(req, FindCoordinatorResponse(error_code=15, node_id=-1, port=-1))
                else:
                    conn.respond(
                        req,
                        FindCoordinatorResponse(node_id=node, host="127.0.0.1", port=broker.port),
                    )
        elif req.api_key == 12:
            conn.respond(req, HeartbeatResponse(error_code=broker.heartbeat_error))  # type: ignore[attr-defined]

    return handle


# ---------------------------------------------------------------------- bootstrap


async def test_bootstrap_skips_dead_address_and_drops_bootstrap_connection() -> None:
    dead = await closed_port()
    async with FakeBroker() as broker, client_for(f"127.0.0.1:{dead}", broker.address) as client:
        assert [b.node_id for b in client.cluster.brokers()] == [1]
        assert client.cluster.cluster_id == "fake"
        assert client.api_version == (4, 3)
        assert all(node != BOOTSTRAP_NODE for (node, _), _c in client._pool)
        assert len(broker.requests(3)) == 1


async def test_bootstrap_fails_naming_every_address() -> None:
    ports = [await closed_port(), await closed_port()]
    client = ClusterClient(bootstrap_servers=[f"127.0.0.1:{p}" for p in ports])
    with pytest.raises(KafkaConnectionError) as info:
        await client.bootstrap()
    text = str(info.value)
    assert text.startswith("Unable to bootstrap from")
    assert all(f"127.0.0.1:{p}" in text for p in ports)
    await client.close()


async def test_api_version_detected_from_an_older_broker() -> None:
    versions = {k: (0, v) for k, v in release_max_versions((3, 9)).items()}
    async with FakeBroker(versions=versions) as broker, client_for(broker.address) as client:
        assert client.api_version == (3, 9)
        assert await client.check_version() == (3, 9)
        assert await client.api_version_for(1, MetadataRequest) == 12


async def test_bootstrap_connection_kept_until_brokers_are_known() -> None:
    answer_brokers = False

    def handler(conn: FakeConn, req: Received) -> None:
        response = broker.metadata_response()
        if not answer_brokers:
            response.brokers = []
        conn.respond(req, response)

    async with FakeBroker(handler) as broker, client_for(broker.address) as client:
        assert client.cluster.brokers() == []
        assert client._pool.get(BOOTSTRAP_NODE) is not None
        # A refresh that again lists no broker counts as a failure.
        assert await client.force_metadata_update() is False
        answer_brokers = True
        assert await client.force_metadata_update() is True
        assert [b.node_id for b in client.cluster.brokers()] == [1]
        assert client._pool.get(BOOTSTRAP_NODE) is None


# ---------------------------------------------------------------------- metadata


async def test_metadata_update_falls_through_to_next_broker() -> None:
    def broken(conn: FakeConn, req: Received) -> None:
        conn.close()

    async with FakeBroker(node_id=2) as good, FakeBroker(broken, node_id=1) as bad:
        good.peers = [(1, bad.port)]
        async with client_for(good.address) as client:
            assert {b.node_id for b in client.cluster.brokers()} == {1, 2}
            for _ in range(5):
                assert await client.force_metadata_update() is True


async def test_rebootstrap_when_every_known_broker_is_gone() -> None:
    async with FakeBroker(node_id=1) as seed, FakeBroker(node_id=2) as other:
        # The seed address advertises only node 2.
        def only_other(conn: FakeConn, req: Received) -> None:
            response = other.metadata_response()
            conn.respond(req, response)

        seed.handler = only_other
        async with client_for(seed.address) as client:
            assert [b.node_id for b in client.cluster.brokers()] == [2]
            await other.stop()
            client._pool.close_node(2)
            assert await client.force_metadata_update() is True
            assert len(seed.requests(3)) >= 2


async def test_partitions_for_waits_for_the_topic() -> None:
    async def handler(conn: FakeConn, req: Received) -> None:
        if req.api_key == 3:
            assert isinstance(req.request, MetadataRequest)
            names = [t.name for t in req.request.topics or []]
            if "late" in names and len(broker.requests(3)) >= 4:
                broker.topics["late"] = 3
            conn.respond(req, broker.metadata_response())

    async with FakeBroker(handler) as broker, client_for(broker.address) as client:
        assert await asyncio.wait_for(client.partitions_for("late"), 5) == {0, 1, 2}
        assert "late" in client.topics
        assert await client.partitions_for("late") == {0, 1, 2}


async def test_partitions_for_unknown_topic_times_out() -> None:
    async with FakeBroker() as broker, client_for(broker.address, request_timeout_ms=300) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(UnknownTopicOrPartitionError, match="nope"):
            await client.partitions_for("nope")
        assert 0.25 <= loop.time() - start < 2
        assert len(broker.requests(3)) >= 3  # refreshed with back-off meanwhile


async def test_partitions_for_unauthorized_topic_raises_at_once() -> None:
    def handler(conn: FakeConn, req: Received) -> None:
        response = broker.metadata_response()
        response.topics.append(MetadataResponseTopic(error_code=29, name="secret"))
        conn.respond(req, response)

    async with (
        FakeBroker(handler) as broker,
        client_for(broker.address, request_timeout_ms=5000) as client,
    ):
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TopicAuthorizationFailedError):
            await client.partitions_for("secret")
        assert loop.time() - start < 1


async def test_topic_set_changes_force_refresh() -> None:
    async with FakeBroker() as broker, client_for(broker.address) as client:
        broker.topics = {"a": 1, "b": 2}
        assert await client.add_topic("a") is True
        assert client.cluster.topics() == {"a"}
        assert await client.set_topics(["a", "b"]) is True
        assert client.cluster.topics() == {"a", "b"}
        last = broker.requests(3)[-1].request
        assert isinstance(last, MetadataRequest) and [t.name for t in last.topics or []] == [
            "a",
            "b",
        ]
        assert await client.track_all_topics() is True
        last = broker.requests(3)[-1].request
        assert isinstance(last, MetadataRequest) and last.topics is None
        all_md = await client.fetch_all_metadata()
        assert all_md.topics() == {"a", "b"}


# ---------------------------------------------------------------------- sending


async def test_send_to_unknown_or_unreachable_node() -> None:
    dead = await closed_port()
    async with FakeBroker() as broker:
        broker.peers = [(2, dead)]
        async with client_for(broker.address) as client:
            with pytest.raises(StaleMetadataError):
                await client.send(99, MetadataRequest())
            with pytest.raises(StaleMetadataError):
                await client.ready(99)
            assert await client.ready(2) is False
            with pytest.raises(NodeNotReadyError):
                await client.send(2, MetadataRequest())
            assert await client.ready(1) is True
            response = await client.send(1, MetadataRequest(topics=None))
            assert isinstance(response, MetadataResponse)


async def test_timeout_closes_connection_refreshes_metadata_and_next_request_reconnects() -> None:
    ignored = 0

    def handler(conn: FakeConn, req: Received) -> None:
        nonlocal ignored
        if req.api_key == 3:
            conn.respond(req, broker.metadata_response())
        elif req.api_key == 12:
            if ignored == 0:
                ignored += 1  # never answer the first heartbeat
                return
            conn.respond(req, HeartbeatResponse())

    async with (
        FakeBroker(handler) as broker,
        client_for(broker.address, request_timeout_ms=300) as client,
    ):
        await client.ready(1)
        connections_before = len(broker.conns)
        metadata_before = len(broker.requests(3))
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(RequestTimedOutError):
            await client.send(1, HeartbeatRequest(group_id="g"))
        assert 0.25 <= loop.time() - start < 2
        response = await client.send(1, HeartbeatRequest(group_id="g"))
        assert isinstance(response, HeartbeatResponse)
        assert len(broker.conns) > connections_before  # a new connection
        await asyncio.sleep(0.05)
        assert len(broker.requests(3)) > metadata_before  # the closure forced a refresh


async def test_connect_lock_is_per_node() -> None:
    async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept, never answer ApiVersions

    hole = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    hole_port = hole.sockets[0].getsockname()[1]
    try:
        async with FakeBroker() as broker:
            broker.peers = [(2, hole_port)]
            async with client_for(
                broker.address, socket_connection_setup_timeout_ms=1500
            ) as client:
                slow = asyncio.ensure_future(client.ready(2))
                await asyncio.sleep(0.05)
                loop = asyncio.get_running_loop()
                start = loop.time()
                assert await client.ready(1, group=ConnectionGroup.COORDINATION)
                assert loop.time() - start < 0.8
                assert not slow.done()
                assert await slow is False
    finally:
        hole.close()
        await hole.wait_closed()


async def test_idle_connections_are_reaped_without_refreshing_metadata() -> None:
    async with (
        FakeBroker() as broker,
        client_for(broker.address, connections_max_idle_ms=150) as client,
    ):
        await client.ready(1)
        assert client._pool.get(1) is not None
        before = len(broker.requests(3))
        await asyncio.sleep(0.4)
        assert client._pool.get(1) is None
        assert len(client._pool) == 0
        assert len(broker.requests(3)) == before


async def test_close_fails_pending_requests_and_later_calls() -> None:
    async with FakeBroker() as broker:
        client = ClusterClient(bootstrap_servers=broker.address)
        await client.bootstrap()
        task = asyncio.ensure_future(client.send(1, HeartbeatRequest(group_id="g")))
        await asyncio.sleep(0.05)
        await client.close()
        with pytest.raises(KafkaConnectionError):
            await task
        with pytest.raises(IllegalStateError):
            client.force_metadata_update()
        with pytest.raises(IllegalStateError):
            await client.send(1, MetadataRequest())


# ---------------------------------------------------------------------- coordinators & routing


async def test_coordinator_lookups_are_batched_and_cached() -> None:
    async with FakeBroker() as broker:
        broker.handler = coordinator_handler(broker, {"g1": 1, "g2": 1, "bad": -1})  # type: ignore[assignment]
        async with client_for(broker.address) as client:
            results = await asyncio.gather(
                client.coordinator_lookup(CoordinationType.GROUP, "g1"),
                client.coordinator_lookup(CoordinationType.GROUP, "g2"),
                client.coordinator_lookup(CoordinationType.GROUP, "g1"),
                return_exceptions=True,
            )
            assert list(results) == [1, 1, 1]
            requests = broker.requests(10)
            assert len(requests) == 1
            fc = requests[0].request
            assert isinstance(fc, FindCoordinatorRequest)
            assert sorted(fc.coordinator_keys) == ["g1", "g2"] and fc.key_type == 0
            assert await client.coordinator_lookup(CoordinationType.GROUP, "g1") == 1
            assert len(broker.requests(10)) == 1
            client.invalidate_coordinator(CoordinationType.GROUP, "g1")
            assert await client.coordinator_lookup(CoordinationType.GROUP, "g1") == 1
            assert len(broker.requests(10)) == 2
            with pytest.raises(CoordinatorNotAvailableError):
                await client.coordinator_lookup(CoordinationType.TRANSACTION, "bad")
            many = await client.coordinator_lookup_many(CoordinationType.TRANSACTION, ["t1", "bad"])
            assert many["t1"] == 1 and isinstance(many["bad"], CoordinatorNotAvailableError)


async def test_coordinator_lookup_one_key_per_request_on_old_brokers() -> None:
    versions = FakeBroker().versions
    versions[10] = (0, 3)
    async with FakeBroker(versions=versions) as broker:
        broker.handler = coordinator_handler(broker, {"bad": -1})  # type: ignore[assignment]
        async with client_for(broker.address) as client:
            results = await asyncio.gather(
                client.coordinator_lookup(CoordinationType.GROUP, "a"),
                client.coordinator_lookup(CoordinationType.TRANSACTION, "txn"),
            )
            assert list(results) == [1, 1]
            reqs = [r.request for r in broker.requests(10)]
            assert sorted((r.key, r.key_type) for r in reqs) == [("a", 0), ("txn", 1)]  # type: ignore[attr-defined]
            assert all(r.api_version == 3 for r in broker.requests(10))
            with pytest.raises(CoordinatorNotAvailableError):
                await client.coordinator_lookup(CoordinationType.GROUP, "bad")


async def test_send_routed_by_routing_kind() -> None:
    async with FakeBroker() as broker:
        broker.handler = coordinator_handler(broker, {})  # type: ignore[assignment]
        broker.heartbeat_error = 0  # type: ignore[attr-defined]
        async with client_for(broker.address) as client:
            any_broker = await client.send_routed(MetadataRequest(topics=None))
            assert isinstance(any_broker, MetadataResponse)
            hb = await client.send_routed(HeartbeatRequest(group_id="g"))
            assert isinstance(hb, HeartbeatResponse)
            assert client._pool.get(1, ConnectionGroup.COORDINATION) is not None
            assert client._coordinators.cached(CoordinationType.GROUP, "g") == 1
            broker.heartbeat_error = 16  # type: ignore[attr-defined]  # NOT_COORDINATOR
            hb = await client.send_routed(HeartbeatRequest(group_id="g"))
            assert isinstance(hb, HeartbeatResponse) and hb.error_code == 16
            assert client._coordinators.cached(CoordinationType.GROUP, "g") is None
            with pytest.raises(ValueError, match="leader_for"):
                await client.send_routed(ListOffsetsRequest())
            with pytest.raises(ValueError, match="key="):
                await client.send_routed(HeartbeatRequest(group_id=""))
            everyone = await client.send_to_all_brokers(MetadataRequest(topics=None))
            assert set(everyone) == {1} and isinstance(everyone[1], MetadataResponse)


async def test_concurrent_bootstrap_calls_share_one_bootstrap() -> None:
    async with FakeBroker() as broker:
        client = ClusterClient(bootstrap_servers=broker.address)
        try:
            await asyncio.gather(client.bootstrap(), client.bootstrap(), client.bootstrap())
            assert len(broker.requests(3)) == 1
        finally:
            await client.close()
