"""SASL PLAIN (RFC 4616): user name and password in one message. Use it only over TLS."""

from __future__ import annotations

from kafkaio.errors import ConfigurationError
from kafkaio.net.sasl.base import SaslExchange, SaslMechanism

__all__ = ["PlainMechanism"]


class PlainMechanism(SaslMechanism):
    """``PLAIN`` with ``sasl_plain_username`` / ``sasl_plain_password``."""

    name = "PLAIN"

    def __init__(self, username: str, password: str) -> None:
        if not isinstance(username, str) or not username:
            raise ConfigurationError("option 'sasl_plain_username' must be a non-empty str")
        if not isinstance(password, str):
            raise ConfigurationError("option 'sasl_plain_password' must be a str")
        if "\0" in username or "\0" in password:
            raise ConfigurationError(
                "options 'sasl_plain_username' and 'sasl_plain_password' must not contain NUL"
            )
        self.username = username
        self._password = password

    def exchange(self) -> SaslExchange:
        return _PlainExchange(self.username, self._password)

    def __repr__(self) -> str:
        return f"<PlainMechanism username={self.username!r} password=***>"


class _PlainExchange(SaslExchange):
    def __init__(self, username: str, password: str) -> None:
        self._message = b"\0" + username.encode() + b"\0" + password.encode()
        self._sent = False

    async def respond(self, challenge: bytes | None) -> bytes | None:
        if self._sent:
            return None
        self._sent = True
        message, self._message = self._message, b""
        return message
