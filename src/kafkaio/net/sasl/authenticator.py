"""SaslHandshake + SaslAuthenticate on a broker connection, and KIP-368 re-authentication."""

from __future__ import annotations

import asyncio
import logging
import random

from kafkaio.errors import (
    IncompatibleBrokerVersionError,
    KafkaError,
    UnsupportedSaslMechanismError,
    for_code,
)
from kafkaio.net.connection import BrokerConnection, CloseReason
from kafkaio.net.sasl.base import SaslMechanism
from kafkaio.protocol.messages import (
    SaslAuthenticateRequest,
    SaslAuthenticateResponse,
    SaslHandshakeRequest,
    SaslHandshakeResponse,
)

__all__ = ["SaslAuthenticator"]

log = logging.getLogger("kafkaio.net.sasl")

_UNSUPPORTED_SASL_MECHANISM = 33
# KIP-368: re-authenticate at a random point between 85% and 95% of the session lifetime,
# so that many connections opened together do not re-authenticate together.
_REAUTH_WINDOW = (0.85, 0.95)
_MAX_ROUNDS = 16


class SaslAuthenticator:
    """The :class:`~kafkaio.net.connection.Authenticator` for SASL_PLAINTEXT / SASL_SSL.

    On each new connection: SaslHandshake v1 (the broker must enable the mechanism on the
    listener), then SaslAuthenticate rounds driven by the mechanism. When the broker
    reports a session lifetime (``connections.max.reauth.ms``, or the token's expiry for
    OAUTHBEARER), the connection re-authenticates before the session ends: other requests
    queue meanwhile; requests already in flight complete. A failed re-authentication
    closes the connection (the next request reconnects and reports the cause).

    One instance serves every connection of a client. Errors name the mechanism and the
    broker's reason, never a credential.
    """

    def __init__(self, mechanism: SaslMechanism, *, reauthenticate: bool = True) -> None:
        self.mechanism = mechanism
        self.reauthenticate = reauthenticate
        self.authentications = 0
        """Successful exchanges so far (initial and re-authentications)."""
        self.reauthentications = 0
        """Successful re-authentications so far."""

    def __repr__(self) -> str:
        return f"<SaslAuthenticator {self.mechanism!r}>"

    async def authenticate(self, connection: BrokerConnection) -> None:
        """Authenticate a new connection; schedule its re-authentication if needed."""
        lifetime_ms = await self._exchange(connection)
        if self.reauthenticate and lifetime_ms > 0:
            _Session(self, connection).schedule(lifetime_ms)

    async def _exchange(self, conn: BrokerConnection) -> int:
        """One full SASL exchange; returns the session lifetime (0: unlimited)."""
        name = self.mechanism.name
        handshake_version = conn.version_for(SaslHandshakeRequest)
        if handshake_version < 1:
            raise IncompatibleBrokerVersionError(
                f"{conn.description} only supports SaslHandshake v0 (unframed SASL),"
                " which kafkaio does not implement"
            )
        response = await conn.send(SaslHandshakeRequest(mechanism=name), version=handshake_version)
        assert isinstance(response, SaslHandshakeResponse)
        if response.error_code == _UNSUPPORTED_SASL_MECHANISM:
            enabled = ", ".join(response.mechanisms) or "none"
            raise UnsupportedSaslMechanismError(
                f"{conn.description}: the broker does not enable SASL mechanism {name}"
                f" on this listener (enabled: {enabled})"
            )
        if response.error_code:
            raise for_code(response.error_code)(
                f"{conn.description}: SaslHandshake for {name} failed (does this listener use"
                " SASL? check option 'security_protocol')"
            )
        exchange = self.mechanism.exchange()
        token = await exchange.respond(None)
        lifetime_ms = 0
        rounds = 0
        while token is not None:
            rounds += 1
            if rounds > _MAX_ROUNDS:
                raise KafkaError(f"{conn.description}: SASL {name} exchange does not end")
            answer = await conn.send(SaslAuthenticateRequest(auth_bytes=token))
            assert isinstance(answer, SaslAuthenticateResponse)
            if answer.error_code:
                reason = answer.error_message or "no reason given"
                detail = exchange.failure_detail()
                extra = f" ({detail})" if detail else ""
                raise for_code(answer.error_code)(
                    f"{conn.description}: SASL {name} authentication failed: {reason}{extra}"
                )
            lifetime_ms = answer.session_lifetime_ms
            token = await exchange.respond(answer.auth_bytes)
        self.authentications += 1
        log.debug(
            "%s: SASL %s authentication succeeded (session lifetime %s)",
            conn.description,
            name,
            f"{lifetime_ms} ms" if lifetime_ms > 0 else "unlimited",
        )
        return lifetime_ms


class _Session:
    """Re-authentication timer of one connection."""

    def __init__(self, authenticator: SaslAuthenticator, conn: BrokerConnection) -> None:
        self._auth = authenticator
        self._conn = conn
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        conn.add_close_callback(self._on_close)

    def schedule(self, lifetime_ms: int) -> None:
        if self._conn.closed:
            return
        delay = lifetime_ms / 1000 * random.uniform(*_REAUTH_WINDOW)
        self._timer = asyncio.get_running_loop().call_later(delay, self._start)

    def _start(self) -> None:
        self._timer = None
        if not self._conn.closed:
            self._task = asyncio.get_running_loop().create_task(
                self._reauthenticate(), name=f"kafkaio-reauth-{self._conn.description}"
            )

    async def _reauthenticate(self) -> None:
        conn = self._conn
        try:
            lifetime_ms = await conn.run_exclusive(lambda: self._auth._exchange(conn))
        except KafkaError as exc:
            if conn.closed:
                return
            log.warning("%s: SASL re-authentication failed: %s", conn.description, exc)
            conn.close(CloseReason.CONNECTION_LOST, exc)
            return
        except Exception as exc:
            log.exception("%s: SASL re-authentication failed", conn.description)
            conn.close(
                CloseReason.CONNECTION_LOST,
                KafkaError(f"{conn.description}: SASL re-authentication failed: {exc!r}"),
            )
            return
        self._auth.reauthentications += 1
        log.debug("%s: re-authenticated", conn.description)
        if lifetime_ms > 0:
            self.schedule(lifetime_ms)

    def _on_close(self, conn: BrokerConnection, reason: CloseReason) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
