"""SASL OAUTHBEARER (RFC 7628, KIP-255 / KIP-342) with a user-supplied async token provider.

The provider is asked for a fresh token on every authentication, including each
re-authentication, so it decides about caching and refreshing.
"""

from __future__ import annotations

import abc
import base64
import binascii
import datetime
import inspect
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from kafkaio.errors import AuthenticationError, ConfigurationError
from kafkaio.net.sasl.base import SaslExchange, SaslMechanism

__all__ = ["AbstractTokenProvider", "OAuthBearerMechanism", "TokenProvider"]

_SEP = b"\x01"
_EXTENSION_KEY = re.compile(r"^[A-Za-z]+$")
_EXTENSION_VALUE = re.compile(r"^[\x21-\x7E \t\r\n]+$")


@runtime_checkable
class TokenProvider(Protocol):
    """What ``sasl_oauth_token_provider`` must provide (``extensions()`` is optional)."""

    async def token(self) -> str:
        """A valid access token (for example a JWT from the identity provider)."""
        ...


class AbstractTokenProvider(abc.ABC):
    """Base class for OAUTHBEARER token providers (aiokafka-compatible shape).

    Implement :meth:`token`; override :meth:`extensions` to send SASL extensions
    (KIP-342), e.g. ``{"logicalCluster": "lkc-123"}`` for some managed services.
    """

    @abc.abstractmethod
    async def token(self) -> str:
        """Return a currently valid access token."""

    def extensions(self) -> Mapping[str, str]:
        """SASL extensions sent with the token (none by default)."""
        return {}


def check_token_provider(provider: object) -> None:
    """Raise :class:`~kafkaio.errors.ConfigurationError` unless ``provider`` fits."""
    token = getattr(provider, "token", None)
    if not callable(token) or not inspect.iscoroutinefunction(token):
        raise ConfigurationError(
            "option 'sasl_oauth_token_provider' must have an async token() method,"
            f" got {type(provider).__name__}"
        )


class OAuthBearerMechanism(SaslMechanism):
    """``OAUTHBEARER`` with a token provider."""

    name = "OAUTHBEARER"

    def __init__(self, provider: TokenProvider) -> None:
        check_token_provider(provider)
        self.provider = provider

    def exchange(self) -> SaslExchange:
        return _OAuthBearerExchange(self.provider)

    def __repr__(self) -> str:
        return f"<OAuthBearerMechanism provider={type(self.provider).__name__}>"


class _OAuthBearerExchange(SaslExchange):
    def __init__(self, provider: TokenProvider) -> None:
        self._provider = provider
        self._state = 0
        self._token_expiry: float | None = None
        self._server_error: str | None = None

    async def respond(self, challenge: bytes | None) -> bytes | None:
        state, self._state = self._state, self._state + 1
        if state == 0:
            return await self._initial_response()
        if challenge:
            # RFC 7628 3.2.2: the server reports an error as a JSON challenge; the client
            # answers with a lone %x01 and the server then fails the exchange.
            self._server_error = _describe_server_error(challenge)
            return _SEP
        return None

    async def _initial_response(self) -> bytes:
        try:
            token = await self._provider.token()
        except Exception as exc:
            raise AuthenticationError(
                f"OAUTHBEARER: the token provider failed ({type(exc).__name__})"
            ) from exc
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                f"OAUTHBEARER: the token provider returned no token (got {type(token).__name__})"
            )
        if any(c in token for c in "\x01 \t\r\n"):
            raise AuthenticationError("OAUTHBEARER: the token contains whitespace or %x01")
        self._token_expiry = _jwt_expiry(token)
        extensions = await _extensions(self._provider)
        message = b"n,," + _SEP + b"auth=Bearer " + token.encode()
        for key, value in extensions.items():
            message += _SEP + key.encode() + b"=" + value.encode()
        return message + _SEP + _SEP

    def failure_detail(self) -> str | None:
        parts = []
        if self._server_error:
            parts.append(f"broker says {self._server_error}")
        expiry = self._token_expiry
        if (
            expiry is not None
            and expiry <= datetime.datetime.now(datetime.timezone.utc).timestamp()
        ):
            when = datetime.datetime.fromtimestamp(expiry, datetime.timezone.utc).isoformat()
            parts.append(f"the token expired at {when}")
        return "; ".join(parts) or None


async def _extensions(provider: object) -> dict[str, str]:
    method = getattr(provider, "extensions", None)
    if method is None:
        return {}
    result: Any = method()
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, Mapping):
        raise AuthenticationError(
            f"OAUTHBEARER: extensions() must return a mapping, got {type(result).__name__}"
        )
    out: dict[str, str] = {}
    for key, value in result.items():
        if not isinstance(key, str) or not _EXTENSION_KEY.match(key) or key == "auth":
            raise AuthenticationError(
                f"OAUTHBEARER: invalid SASL extension name {key!r} (letters only, not 'auth')"
            )
        if not isinstance(value, str) or not _EXTENSION_VALUE.match(value):
            raise AuthenticationError(f"OAUTHBEARER: invalid value for SASL extension {key!r}")
        out[key] = value
    return out


def _describe_server_error(challenge: bytes) -> str:
    try:
        data = json.loads(challenge.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "an unreadable error"
    if not isinstance(data, dict):
        return "an unreadable error"
    fields = [f"{k}={data[k]!r}" for k in ("status", "scope", "openid-configuration") if k in data]
    return ", ".join(fields) or "an error without status"


def _jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (seconds since the epoch), if the token is one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return float(exp)
    return None
