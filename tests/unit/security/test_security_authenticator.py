"""SaslAuthenticator against a fake broker: handshake, failures, KIP-368 re-authentication."""

from __future__ import annotations

import asyncio
import logging

import pytest
from _fakebroker import FakeBroker, FakeConn, Received

from kafkaio.errors import (
    KafkaConnectionError,
    SaslAuthenticationFailedError,
    UnsupportedSaslMechanismError,
)
from kafkaio.net import BrokerConnection, CloseReason, ConnectionConfig, SecurityProtocol
from kafkaio.net.sasl import PlainMechanism, SaslAuthenticator
from kafkaio.protocol.messages import (
    MetadataRequest,
    MetadataResponse,
    SaslAuthenticateRequest,
    SaslAuthenticateResponse,
    SaslHandshakeRequest,
    SaslHandshakeResponse,
)

PASSWORD = "pw-5b1e9c"
HANDSHAKE, AUTHENTICATE, METADATA = 17, 36, 3


class SaslBroker:
    """Broker side of PLAIN with a session lifetime, enforcing expiry like Kafka does."""

    def __init__(self, *, lifetime_ms: int = 0, mechanisms: tuple[str, ...] = ("PLAIN",)) -> None:
        self.lifetime_ms = lifetime_ms
        self.mechanisms = mechanisms
        self.fail_after = -1  # reject the n-th successful authentication onwards
        self.auth_ok = 0
        self.expired_requests = 0
        self._expiry: dict[int, float] = {}

    async def __call__(self, conn: FakeConn, req: Received) -> None:
        loop = asyncio.get_running_loop()
        if req.api_key == HANDSHAKE:
            assert isinstance(req.request, SaslHandshakeRequest)
            ok = req.request.mechanism in self.mechanisms
            conn.respond(
                req,
                SaslHandshakeResponse(error_code=0 if ok else 33, mechanisms=list(self.mechanisms)),
            )
            return
        if req.api_key == AUTHENTICATE:
            assert isinstance(req.request, SaslAuthenticateRequest)
            good = req.request.auth_bytes == b"\0alice\0" + PASSWORD.encode()
            if good and self.fail_after >= 0 and self.auth_ok >= self.fail_after:
                good = False
            if not good:
                conn.respond(
                    req,
                    SaslAuthenticateResponse(
                        error_code=58, error_message="Invalid username or password"
                    ),
                )
                conn.close()
                return
            self.auth_ok += 1
            self._expiry[id(conn)] = loop.time() + self.lifetime_ms / 1000
            conn.respond(req, SaslAuthenticateResponse(session_lifetime_ms=self.lifetime_ms))
            return
        expiry = self._expiry.get(id(conn))
        if self.lifetime_ms and expiry is not None and loop.time() > expiry:
            self.expired_requests += 1
            conn.close()  # Kafka closes connections used after their session expired
            return
        await asyncio.sleep(0.002)  # keep requests in flight while re-auth is queued
        conn.respond(req, MetadataResponse(brokers=[], topics=[]))


def _connection(
    port: int, password: str = PASSWORD, max_in_flight: int = 5
) -> tuple[BrokerConnection, SaslAuthenticator]:
    auth = SaslAuthenticator(PlainMechanism("alice", password))
    config = ConnectionConfig(
        security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        authenticator=auth,
        request_timeout_ms=5000,
        max_in_flight_requests_per_connection=max_in_flight,
    )
    return BrokerConnection("127.0.0.1", port, config=config), auth


@pytest.mark.parametrize("max_in_flight", [1, 5])
async def test_reauthentication_queues_requests_and_drops_none(
    caplog: pytest.LogCaptureFixture, max_in_flight: int
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    broker = SaslBroker(lifetime_ms=1000)
    async with FakeBroker(broker) as fake:
        conn, auth = _connection(fake.port, max_in_flight=max_in_flight)
        await conn.connect()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.5
        done = 0

        async def worker() -> None:
            nonlocal done
            while loop.time() < deadline:
                response = await conn.send(MetadataRequest(topics=[]))
                assert isinstance(response, MetadataResponse)
                done += 1

        await asyncio.gather(*(worker() for _ in range(4)))
        assert conn.connected
        await conn.aclose()
    assert auth.reauthentications >= 2
    assert broker.expired_requests == 0
    assert done > 20
    keys = [r.api_key for r in fake.conns[0].received]
    # Nothing but the SASL exchange may reach the broker between handshake and authenticate.
    for i, key in enumerate(keys):
        if key == HANDSHAKE:
            assert keys[i + 1] == AUTHENTICATE
    assert keys.count(HANDSHAKE) == auth.reauthentications + 1
    assert PASSWORD not in caplog.text


async def test_wrong_password_is_a_sasl_authentication_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafkaio")
    async with FakeBroker(SaslBroker()) as fake:
        conn, _ = _connection(fake.port, password="not-" + PASSWORD)
        with pytest.raises(
            SaslAuthenticationFailedError, match="Invalid username or password"
        ) as info:
            await conn.connect()
    assert "PLAIN" in str(info.value)
    assert PASSWORD not in str(info.value) and PASSWORD not in caplog.text


async def test_unsupported_mechanism_lists_the_enabled_ones() -> None:
    async with FakeBroker(SaslBroker(mechanisms=("SCRAM-SHA-512", "OAUTHBEARER"))) as fake:
        conn, _ = _connection(fake.port)
        with pytest.raises(UnsupportedSaslMechanismError, match="PLAIN") as info:
            await conn.connect()
    assert "SCRAM-SHA-512, OAUTHBEARER" in str(info.value)


async def test_failed_reauthentication_closes_the_connection_with_the_cause() -> None:
    broker = SaslBroker(lifetime_ms=200)
    broker.fail_after = 1
    async with FakeBroker(broker) as fake:
        conn, auth = _connection(fake.port)
        await conn.connect()
        await asyncio.wait_for(conn.wait_closed(), 2)
        with pytest.raises(KafkaConnectionError):
            await conn.send(MetadataRequest(topics=[]))
    assert auth.reauthentications == 0
    assert conn.close_reason is not None


async def test_no_reauthentication_without_a_session_lifetime() -> None:
    broker = SaslBroker(lifetime_ms=0)
    async with FakeBroker(broker) as fake:
        conn, auth = _connection(fake.port)
        await conn.connect()
        await asyncio.sleep(0.2)
        assert isinstance(await conn.send(MetadataRequest(topics=[])), MetadataResponse)
        await conn.aclose()
    assert auth.authentications == 1 and auth.reauthentications == 0


async def test_reauthentication_does_not_keep_an_idle_connection_open() -> None:
    broker = SaslBroker(lifetime_ms=150)
    async with FakeBroker(broker) as fake:
        auth = SaslAuthenticator(PlainMechanism("alice", PASSWORD))
        config = ConnectionConfig(
            security_protocol=SecurityProtocol.SASL_PLAINTEXT,
            authenticator=auth,
            connections_max_idle_ms=600,
        )
        conn = BrokerConnection("127.0.0.1", fake.port, config=config)
        await conn.connect()
        await asyncio.wait_for(conn.wait_closed(), 3)
    assert conn.close_reason is CloseReason.IDLE
    assert auth.reauthentications >= 2
