"""TLS and SASL against a real broker: round trips on every protocol and mechanism,
bad input (named cause, no secret in messages or logs), KIP-368 re-authentication."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import pytest
from security_helpers import REAUTH_MS, SecureBroker

from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.errors import (
    AuthenticationError,
    ConfigurationError,
    KafkaError,
    SaslAuthenticationFailedError,
    SslError,
    UnsupportedSaslMechanismError,
    raise_for_code,
)
from kafkaio.net.sasl import AbstractTokenProvider, build_authenticator
from kafkaio.producer import Producer
from kafkaio.protocol.messages import (
    CreateTopicsRequest,
    CreateTopicsResponse,
    FetchRequest,
    FetchResponse,
)
from kafkaio.protocol.messages.create_topics import CreatableTopic
from kafkaio.protocol.messages.fetch import FetchPartition, FetchTopic
from kafkaio.records import DefaultRecordBatch, iter_batches
from kafkaio.testing import unsecured_jwt

pytestmark = pytest.mark.kafka


class JwtProvider(AbstractTokenProvider):
    """Fresh unsecured JWTs from the broker's test validator; counts calls."""

    def __init__(self, subject: str = "carol", lifetime_s: float = 600, **extensions: str):
        self.subject = subject
        self.lifetime_s = lifetime_s
        self._extensions = extensions
        self.calls = 0
        self.last_token = ""

    async def token(self) -> str:
        self.calls += 1
        self.last_token = unsecured_jwt(self.subject, self.lifetime_s)
        return self.last_token

    def extensions(self) -> dict[str, str]:
        return dict(self._extensions)


def _case(b: SecureBroker, name: str) -> tuple[str, dict[str, Any]]:
    """(listener, client options) of each round-trip case."""
    if name == "ssl":
        return "SSL", {"security_protocol": "SSL", **b.tls_options()}
    if name == "mtls":
        return "MTLS", {
            "security_protocol": "SSL",
            **b.tls_options(),
            "ssl_certfile": str(b.tls.client_cert_file),
            "ssl_keyfile": str(b.tls.client_key_file),
            "ssl_password": b.tls.client_key_password,
        }
    if name == "sasl_plaintext-PLAIN":
        return "SASL_PLAINTEXT", {"security_protocol": "SASL_PLAINTEXT", **b.plain_options()}
    if name.startswith("sasl_plaintext-SCRAM"):
        mech = name.split("-", 1)[1]
        return "SASL_PLAINTEXT", {"security_protocol": "SASL_PLAINTEXT", **b.scram_options(mech)}
    if name == "sasl_ssl-SCRAM-SHA-512":
        return "SASL_SSL", {
            "security_protocol": "SASL_SSL",
            **b.tls_options(),
            **b.scram_options("SCRAM-SHA-512"),
        }
    if name == "sasl_ssl-OAUTHBEARER":
        return "SASL_SSL", {
            "security_protocol": "SASL_SSL",
            **b.tls_options(),
            "sasl_mechanism": "OAUTHBEARER",
            "sasl_oauth_token_provider": JwtProvider(traceId="kafkaio-test"),
        }
    raise AssertionError(name)


CASES = [
    "ssl",
    "mtls",
    "sasl_plaintext-PLAIN",
    "sasl_plaintext-SCRAM-SHA-256",
    "sasl_plaintext-SCRAM-SHA-512",
    "sasl_ssl-SCRAM-SHA-512",
    "sasl_ssl-OAUTHBEARER",
]


async def _create_topic(client: ClusterClient, topic: str) -> None:
    request = CreateTopicsRequest(
        topics=[CreatableTopic(name=topic, num_partitions=1, replication_factor=1)],
        timeout_ms=30_000,
    )
    response = await client.send_routed(request)
    assert isinstance(response, CreateTopicsResponse)
    for result in response.topics:
        raise_for_code(result.error_code, result.error_message)
    assert await client.partitions_for(topic) == {0}


async def _fetch_values(client: ClusterClient, topic: str) -> list[bytes | None]:
    tp = TopicPartition(topic, 0)
    leader = client.leader_for(tp)
    assert leader is not None
    request = FetchRequest(
        max_wait_ms=0,
        min_bytes=0,
        max_bytes=1 << 20,
        isolation_level=0,
        topics=[
            FetchTopic(
                topic=topic,
                partitions=[
                    FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20)
                ],
            )
        ],
    )
    response = await client.send(leader, request, version=12)
    assert isinstance(response, FetchResponse)
    part = response.responses[0].partitions[0]
    raise_for_code(part.error_code)
    values: list[bytes | None] = []
    for batch in iter_batches(part.records or b"", topic=topic, partition=0):
        assert isinstance(batch, DefaultRecordBatch)
        values.extend(r.value for r in batch.records())
    return values


@pytest.mark.parametrize("case", CASES)
async def test_round_trip(
    secure_broker: SecureBroker, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    listener, options = _case(secure_broker, case)
    servers = secure_broker.servers(listener)
    topic = f"sec-{case}-{uuid.uuid4().hex[:8]}"
    async with ClusterClient(bootstrap_servers=servers, **options) as client:
        assert [b.port for b in client.cluster.brokers()] == [int(servers.rpartition(":")[2])]
        await _create_topic(client, topic)
        async with Producer(bootstrap_servers=servers, linger_ms=0, **options) as producer:
            sent = [f"{case}-{i}".encode() for i in range(5)]
            offsets = [(await producer.send_and_wait(topic, v)).offset for v in sent]
        assert offsets == [0, 1, 2, 3, 4]
        assert await _fetch_values(client, topic) == sent
    provider = options.get("sasl_oauth_token_provider")
    if isinstance(provider, JwtProvider):
        assert provider.calls >= 2  # each connection asks for a token
        assert provider.last_token not in caplog.text
    for secret in secure_broker.secrets:
        assert secret not in caplog.text


def _assert_clean(exc: BaseException, caplog: pytest.LogCaptureFixture, secrets: list[str]) -> None:
    text = f"{exc} {exc!r}"
    for secret in secrets:
        assert secret not in text, "secret in the exception message"
        assert secret not in caplog.text, "secret in the log output"


async def _fail(servers: str, **options: Any) -> KafkaError:
    try:
        async with ClusterClient(
            bootstrap_servers=servers, request_timeout_ms=10_000, **options
        ) as client:
            raise AssertionError(f"the client connected: {client.cluster}")
    except KafkaError as exc:
        return exc
    raise AssertionError("the client connected")


async def test_wrong_plain_password(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    wrong = "wrong-" + secure_broker.plain_password
    exc = await _fail(
        secure_broker.servers("SASL_PLAINTEXT"),
        security_protocol="SASL_PLAINTEXT",
        sasl_plain_username="alice",
        sasl_plain_password=wrong,
    )
    assert isinstance(exc, SaslAuthenticationFailedError)
    assert "PLAIN" in str(exc) and "Invalid username or password" in str(exc)
    _assert_clean(exc, caplog, [*secure_broker.secrets, wrong])


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
async def test_wrong_scram_password_fails_at_once_on_every_bootstrap_server(
    secure_broker: SecureBroker, listener: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    wrong = "wrong-" + secure_broker.scram_password
    server = secure_broker.servers(listener)
    exc = await _fail(
        f"{server},{server}",  # a second address must not turn this into "Unable to bootstrap"
        security_protocol=listener,
        **(secure_broker.tls_options() if listener == "SASL_SSL" else {}),
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=secure_broker.scram_user,
        sasl_plain_password=wrong,
    )
    assert isinstance(exc, SaslAuthenticationFailedError)
    assert "SCRAM-SHA-512" in str(exc) and "invalid credentials" in str(exc)
    assert "Unable to bootstrap" not in str(exc)
    _assert_clean(exc, caplog, [*secure_broker.secrets, wrong])


async def test_unknown_scram_user(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    exc = await _fail(
        secure_broker.servers("SASL_PLAINTEXT"),
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_plain_username="nobody",
        sasl_plain_password=secure_broker.scram_password,
    )
    assert isinstance(exc, SaslAuthenticationFailedError)
    _assert_clean(exc, caplog, secure_broker.secrets)


async def test_mechanism_not_enabled_on_the_listener(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    exc = await _fail(
        secure_broker.servers("SASL_SSL"),
        security_protocol="SASL_SSL",
        **secure_broker.tls_options(),
        **secure_broker.scram_options("SCRAM-SHA-256"),
    )
    assert isinstance(exc, UnsupportedSaslMechanismError)
    assert "SCRAM-SHA-256" in str(exc)
    assert "PLAIN, SCRAM-SHA-512, OAUTHBEARER" in str(exc)
    _assert_clean(exc, caplog, secure_broker.secrets)


def test_unknown_mechanism_name_is_rejected_at_construction(secure_broker: SecureBroker) -> None:
    with pytest.raises(ConfigurationError, match="SCRAM-SHA-1") as info:
        ClusterClient(
            bootstrap_servers=secure_broker.servers("SASL_PLAINTEXT"),
            security_protocol="SASL_PLAINTEXT",
            **secure_broker.scram_options("SCRAM-SHA-1"),
        )
    assert secure_broker.scram_password not in str(info.value)


async def test_expired_oauth_token(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    provider = JwtProvider(lifetime_s=-300)
    exc = await _fail(
        secure_broker.servers("SASL_SSL"),
        security_protocol="SASL_SSL",
        **secure_broker.tls_options(),
        sasl_mechanism="OAUTHBEARER",
        sasl_oauth_token_provider=provider,
    )
    assert isinstance(exc, SaslAuthenticationFailedError)
    assert "OAUTHBEARER" in str(exc) and "expired" in str(exc)
    assert "invalid_token" in str(exc)
    _assert_clean(exc, caplog, [*secure_broker.secrets, provider.last_token])


async def test_untrusted_certificate(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    exc = await _fail(
        secure_broker.servers("SASL_SSL"),
        security_protocol="SASL_SSL",
        ssl_cafile=str(secure_broker.tls.untrusted_ca_file),
        **secure_broker.scram_options("SCRAM-SHA-512"),
    )
    assert isinstance(exc, SslError)
    assert "certificate" in str(exc) and "Unable to bootstrap" not in str(exc)
    _assert_clean(exc, caplog, secure_broker.secrets)


async def test_hostname_mismatch(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    servers = secure_broker.servers("BADHOST")
    exc = await _fail(servers, security_protocol="SSL", **secure_broker.tls_options())
    assert isinstance(exc, SslError)
    assert "mismatch" in str(exc) and "127.0.0.1" in str(exc)
    _assert_clean(exc, caplog, secure_broker.secrets)
    # The chain is still verified without the hostname check, and then it connects.
    async with ClusterClient(
        bootstrap_servers=servers,
        security_protocol="SSL",
        ssl_check_hostname=False,
        **secure_broker.tls_options(),
    ) as client:
        assert client.cluster.brokers()


async def test_revoked_broker_certificate(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    servers = secure_broker.servers("SSL")
    tls = secure_broker.tls
    exc = await _fail(
        servers,
        security_protocol="SSL",
        **secure_broker.tls_options(),
        ssl_crlfile=str(tls.revoked_crl_file),
    )
    assert isinstance(exc, SslError)
    assert "revoked" in str(exc)
    _assert_clean(exc, caplog, secure_broker.secrets)
    async with ClusterClient(
        bootstrap_servers=servers,
        security_protocol="SSL",
        ssl_crlfile=str(tls.crl_file),
        **secure_broker.tls_options(),
    ) as client:
        assert client.cluster.brokers()


async def test_mutual_tls_without_client_certificate(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    exc = await _fail(
        secure_broker.servers("MTLS"), security_protocol="SSL", **secure_broker.tls_options()
    )
    assert isinstance(exc, SslError)
    assert "certificate" in str(exc).lower()
    _assert_clean(exc, caplog, secure_broker.secrets)


async def test_producer_with_wrong_password_fails_promptly(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    producer = Producer(
        bootstrap_servers=secure_broker.servers("SASL_PLAINTEXT"),
        security_protocol="SASL_PLAINTEXT",
        sasl_plain_username="alice",
        sasl_plain_password="nope-" + secure_broker.plain_password,
    )
    assert secure_broker.plain_password not in repr(producer.options)
    with pytest.raises(AuthenticationError) as info:
        await asyncio.wait_for(producer.start(), 20)
    await producer.stop()
    _assert_clean(info.value, caplog, secure_broker.secrets)


async def test_producer_keeps_sending_across_reauthentications(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kafkaio")
    auth = build_authenticator(
        "SCRAM-SHA-256",
        username=secure_broker.scram_user,
        password=secure_broker.scram_password,
    )
    servers = secure_broker.servers("REAUTH")
    options: dict[str, Any] = {"security_protocol": "SASL_PLAINTEXT", "authenticator": auth}
    topic = f"sec-reauth-{uuid.uuid4().hex[:8]}"
    async with ClusterClient(bootstrap_servers=servers, **options) as client:
        await _create_topic(client, topic)
        sent: list[bytes] = []
        async with Producer(bootstrap_servers=servers, linger_ms=0, **options) as producer:
            await producer.send_and_wait(topic, b"warm-up")
            sent.append(b"warm-up")
            opened = auth.authentications - auth.reauthentications
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 2.5 * REAUTH_MS / 1000
            i = 0
            while loop.time() < deadline:
                # Several records in flight at once, so re-authentication meets traffic.
                batch = [f"r{i + k}".encode() for k in range(5)]
                futures = [await producer.send(topic, v) for v in batch]
                for future in futures:
                    await future
                sent.extend(batch)
                i += 5
                await asyncio.sleep(0.02)
            # No connection was re-opened: the sessions were renewed in place.
            assert auth.authentications - auth.reauthentications == opened
        # Both live connections (client and producer) renew every ~3 s during 7.5 s.
        assert auth.reauthentications >= 2
        assert await _fetch_values(client, topic) == sent
    assert "re-authentication failed" not in caplog.text
    # Unexpected closures (broker hang-ups, timeouts) are logged at INFO; none happened.
    assert "closing connection" not in caplog.text


async def test_oauth_reauthentication_asks_for_a_fresh_token(
    secure_broker: SecureBroker,
) -> None:
    provider = JwtProvider()
    auth = build_authenticator("OAUTHBEARER", token_provider=provider)
    async with ClusterClient(
        bootstrap_servers=secure_broker.servers("REAUTH"),
        security_protocol="SASL_PLAINTEXT",
        authenticator=auth,
    ) as client:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * REAUTH_MS / 1000 + 0.5
        while loop.time() < deadline:
            await client.fetch_all_metadata()
            await asyncio.sleep(0.05)
    assert auth.reauthentications >= 2
    assert provider.calls == auth.authentications
