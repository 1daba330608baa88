"""The interface between SASL mechanisms and the SaslAuthenticate exchange."""

from __future__ import annotations

import abc

__all__ = ["SaslExchange", "SaslMechanism"]


class SaslExchange(abc.ABC):
    """One authentication conversation (a new one per connection and per re-authentication)."""

    @abc.abstractmethod
    async def respond(self, challenge: bytes | None) -> bytes | None:
        """The next message for the broker: the initial response when ``challenge`` is
        ``None``, else the answer to the broker's ``challenge``; ``None`` once the exchange
        is complete on the client side.

        Raises :class:`~kafkaio.errors.AuthenticationError` when the broker's message is
        invalid (for example a SCRAM server signature that does not verify).
        """

    def failure_detail(self) -> str | None:
        """Extra, credential-free words on why the broker rejected this exchange."""
        return None


class SaslMechanism(abc.ABC):
    """A SASL mechanism with its credentials; ``repr`` never shows secrets."""

    name: str
    """The mechanism name sent in SaslHandshake (e.g. ``"SCRAM-SHA-256"``)."""

    @abc.abstractmethod
    def exchange(self) -> SaslExchange:
        """Start a new conversation."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
