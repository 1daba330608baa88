"""Fixtures for the admin client's integration tests (the session's 1-node cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from admin_helpers import PlainAuthenticator

from kafkaio.admin import Admin
from kafkaio.testing import KafkaCluster, KafkaClusterBase, Listener
from kafkaio.testing.pytest_plugin import unique_topic_name

SASL_ADMIN_PASSWORD = "admin-secret"  # a throw-away test broker's credential


@pytest.fixture
async def admin(kafka_cluster: KafkaClusterBase) -> AsyncIterator[Admin]:
    async with Admin(
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        request_timeout_ms=15_000,
        default_api_timeout_ms=30_000,
        retry_backoff_ms=50,
    ) as client:
        yield client


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A unique topic name (not created)."""
    return unique_topic_name(request.node.name)


@pytest.fixture(scope="session")
def kafka_extra_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """A 1-node cluster with the standard authorizer, two log dirs (JBOD) and a SASL/PLAIN
    listener with delegation tokens enabled.

    ACL operations need an authorizer; moving replicas between log dirs needs two;
    delegation tokens need a SASL-authenticated client. Everyone is allowed when no ACL
    matches, and the PLAINTEXT and SASL admin principals are super users, so the tests'
    own ACLs never lock the admin client out.
    """
    work = tmp_path_factory.mktemp("kafka-extra")
    cluster = KafkaCluster(
        nodes=1,
        work_dir=work,
        broker_properties={
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "true",
            "super.users": "User:ANONYMOUS;User:admin",
            "sasl.enabled.mechanisms": "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
                "org.apache.kafka.common.security.plain.PlainLoginModule required"
                f' user_admin="{SASL_ADMIN_PASSWORD}";'
            ),
            "delegation.token.secret.key": "kafkaio-admin-tests-token-key",
        },
        listeners=[Listener("SASL_PLAINTEXT", "SASL_PLAINTEXT")],
        node_properties={1: {"log.dirs": f"{work / 'dir-a'},{work / 'dir-b'}"}},
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def extra_admin(kafka_extra_cluster: KafkaCluster) -> AsyncIterator[Admin]:
    """An Admin connected to :func:`kafka_extra_cluster`."""
    async with Admin(
        bootstrap_servers=kafka_extra_cluster.bootstrap_servers,
        request_timeout_ms=15_000,
        default_api_timeout_ms=30_000,
        retry_backoff_ms=50,
    ) as client:
        yield client


@pytest.fixture
async def sasl_admin(kafka_extra_cluster: KafkaCluster) -> AsyncIterator[Admin]:
    """An Admin authenticated as ``User:admin`` over SASL/PLAIN."""
    async with Admin(
        bootstrap_servers=kafka_extra_cluster.bootstrap_servers_for("SASL_PLAINTEXT"),
        security_protocol="SASL_PLAINTEXT",
        authenticator=PlainAuthenticator("admin", SASL_ADMIN_PASSWORD),
        request_timeout_ms=15_000,
        default_api_timeout_ms=30_000,
        retry_backoff_ms=50,
    ) as client:
        yield client
