"""TLS and SASL against the older pinned Apache Kafka line (KAFKA_LEGACY_VERSION)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from kafkaio._pin import KAFKA_LEGACY_VERSION
from kafkaio.cluster import ClusterClient
from kafkaio.errors import SaslAuthenticationFailedError
from kafkaio.net.sasl import AbstractTokenProvider, build_authenticator
from kafkaio.testing import (
    KafkaCluster,
    SecurityConfig,
    TlsMaterial,
    create_scram_user,
    make_tls_material,
    unsecured_jwt,
)

pytestmark = pytest.mark.kafka

REAUTH_MS = 2000


class Tokens(AbstractTokenProvider):
    async def token(self) -> str:
        return unsecured_jwt("carol", 600)


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KafkaCluster, TlsMaterial]]:
    tls = make_tls_material(tmp_path_factory.mktemp("tls-legacy"))
    security = SecurityConfig(tls, reauth_ms=REAUTH_MS)
    cluster = KafkaCluster(
        version=KAFKA_LEGACY_VERSION,
        listeners=security.listeners,
        broker_properties=security.broker_properties,
        work_dir=tmp_path_factory.mktemp("kafka-secure-legacy"),
    )
    cluster.start()
    try:
        yield cluster, tls
    finally:
        cluster.stop()


async def test_legacy_broker_security(legacy: tuple[KafkaCluster, TlsMaterial]) -> None:
    cluster, tls = legacy
    password = secrets.token_hex(8)
    await create_scram_user(cluster.bootstrap_servers, "bob", password, ["SCRAM-SHA-512"])
    tls_options = {"ssl_cafile": str(tls.ca_file)}
    cases: list[tuple[str, dict[str, Any]]] = [
        (
            "MTLS",
            {
                "security_protocol": "SSL",
                **tls_options,
                "ssl_certfile": str(tls.client_cert_file),
                "ssl_keyfile": str(tls.client_key_file),
                "ssl_password": tls.client_key_password,
            },
        ),
        (
            "SASL_SSL",
            {
                "security_protocol": "SASL_SSL",
                **tls_options,
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": "bob",
                "sasl_plain_password": password,
            },
        ),
        (
            "SASL_SSL",
            {
                "security_protocol": "SASL_SSL",
                **tls_options,
                "sasl_mechanism": "OAUTHBEARER",
                "sasl_oauth_token_provider": Tokens(),
            },
        ),
    ]
    loop = asyncio.get_running_loop()
    for listener, options in cases:
        deadline = loop.time() + 20
        while True:
            try:
                async with ClusterClient(
                    bootstrap_servers=cluster.bootstrap_servers_for(listener), **options
                ) as client:
                    assert client.api_version is not None and client.api_version[0] == 3
                    assert client.cluster.brokers()
                break
            except SaslAuthenticationFailedError:
                # The SCRAM credential reaches the broker through the metadata log.
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)
    auth = build_authenticator("OAUTHBEARER", token_provider=Tokens())
    async with ClusterClient(
        bootstrap_servers=cluster.bootstrap_servers_for("REAUTH"),
        security_protocol="SASL_PLAINTEXT",
        authenticator=auth,
    ) as client:
        deadline = loop.time() + 2 * REAUTH_MS / 1000 + 0.5
        while loop.time() < deadline:
            await client.fetch_all_metadata()
            await asyncio.sleep(0.05)
    assert auth.reauthentications >= 2
