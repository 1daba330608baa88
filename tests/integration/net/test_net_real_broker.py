"""BrokerConnection against a real Apache Kafka broker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kafkaio.errors import KafkaConnectionError
from kafkaio.net import BrokerConnection, CloseReason, ConnectionConfig
from kafkaio.protocol.messages import ApiVersionsRequest, MetadataRequest, MetadataResponse

pytestmark = pytest.mark.kafka


async def open_conn(cluster: Any, **config: Any) -> BrokerConnection:
    host, port = cluster.addresses()[0]
    conn = BrokerConnection(host, port, config=ConnectionConfig(**config))
    await conn.connect()
    return conn


@pytest.mark.parametrize("cluster_fixture", ["kafka_cluster", "kafka_legacy_cluster"])
async def test_handshake_and_pipelining(
    request: pytest.FixtureRequest, cluster_fixture: str
) -> None:
    cluster = request.getfixturevalue(cluster_fixture)
    conn = await open_conn(cluster, max_in_flight_requests_per_connection=3)
    try:
        # Both lines accept ApiVersions v4 with the KIP-511 software name and version.
        assert conn.api_versions.api_versions_version == ApiVersionsRequest.MAX_VERSION
        assert 3 in conn.api_versions and 18 in conn.api_versions
        responses = await asyncio.gather(
            *(conn.send(MetadataRequest(topics=[])) for _ in range(30))
        )
        assert all(isinstance(r, MetadataResponse) and r.brokers for r in responses)
        assert conn.in_flight == 0
    finally:
        await conn.aclose()


async def test_broker_hanging_up_fails_requests_in_flight(kafka_cluster: Any) -> None:
    conn = await open_conn(kafka_cluster, request_timeout_ms=30_000)
    writer = conn._writer
    assert writer is not None
    # A frame that is not a request: the broker closes the connection.
    writer.write(b"\x00\x00\x00\x04\xff\xff\xff\xff")
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(KafkaConnectionError):
        await conn.send(MetadataRequest(topics=[]))
    assert loop.time() - start < 10
    assert conn.closed and conn.close_reason is CloseReason.CONNECTION_LOST
