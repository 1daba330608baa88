"""One secured broker for every security test: SSL, mTLS, SASL_PLAINTEXT, SASL_SSL, re-auth."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from security_helpers import REAUTH_MS, SecureBroker

from kafkaio.cluster import ClusterClient
from kafkaio.errors import AuthenticationError
from kafkaio.testing import (
    KafkaCluster,
    SecurityConfig,
    TlsMaterial,
    create_scram_user,
    make_tls_material,
)


@pytest.fixture(scope="session")
def _secure_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[KafkaCluster, TlsMaterial, str]]:
    tls = make_tls_material(tmp_path_factory.mktemp("tls"))
    plain_password = "plain-" + secrets.token_hex(8)
    security = SecurityConfig(tls, plain_users={"alice": plain_password}, reauth_ms=REAUTH_MS)
    cluster = KafkaCluster(
        listeners=security.listeners,
        broker_properties=security.broker_properties,
        work_dir=tmp_path_factory.mktemp("kafka-secure"),
    )
    cluster.start()
    try:
        yield cluster, tls, plain_password
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
async def secure_broker(
    _secure_cluster: tuple[KafkaCluster, TlsMaterial, str],
) -> AsyncIterator[SecureBroker]:
    cluster, tls, plain_password = _secure_cluster
    broker = SecureBroker(
        cluster, tls, "alice", plain_password, "bob", "scram-" + secrets.token_hex(8)
    )
    await create_scram_user(cluster.bootstrap_servers, broker.scram_user, broker.scram_password)
    # The credentials reach the broker through the metadata log: wait until they work.
    deadline = asyncio.get_running_loop().time() + 30
    for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        while True:
            try:
                async with ClusterClient(
                    bootstrap_servers=broker.servers("SASL_PLAINTEXT"),
                    security_protocol="SASL_PLAINTEXT",
                    **broker.scram_options(mechanism),
                ):
                    break
            except AuthenticationError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
    yield broker
