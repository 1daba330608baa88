"""SASL SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka speaks them.

The client checks that the server nonce extends its own and verifies the server
signature, so a broker that does not hold the user's credentials is detected. Passwords
are encoded as UTF-8 without SASLprep, as Kafka's ``ScramFormatter`` does, so the salted
password matches what the broker stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from kafkaio.errors import AuthenticationError, ConfigurationError
from kafkaio.net.sasl.base import SaslExchange, SaslMechanism

__all__ = [
    "MIN_ITERATIONS",
    "SCRAM_MECHANISMS",
    "ScramMechanism",
    "salted_password",
]

MIN_ITERATIONS = 4096
"""Fewest PBKDF2 iterations accepted from a broker (Kafka's own minimum)."""
_MAX_ITERATIONS = 1 << 24  # a hostile broker must not make us spin for minutes

SCRAM_MECHANISMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
"""SCRAM mechanism name -> hashlib algorithm."""

_GS2_HEADER = b"n,,"


def salted_password(algorithm: str, password: str, salt: bytes, iterations: int) -> bytes:
    """``Hi(password, salt, i)`` of RFC 5802 (PBKDF2 with HMAC-``algorithm``)."""
    return hashlib.pbkdf2_hmac(algorithm, password.encode(), salt, iterations)


def _escape_name(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


@dataclass(frozen=True)
class _Keys:
    client_key: bytes
    stored_key: bytes
    server_key: bytes


def _keys(algorithm: str, salted: bytes) -> _Keys:
    client_key = hmac.digest(salted, b"Client Key", algorithm)
    return _Keys(
        client_key=client_key,
        stored_key=hashlib.new(algorithm, client_key).digest(),
        server_key=hmac.digest(salted, b"Server Key", algorithm),
    )


class ScramMechanism(SaslMechanism):
    """``SCRAM-SHA-256`` or ``SCRAM-SHA-512`` with a user name and password."""

    def __init__(self, mechanism: str, username: str, password: str) -> None:
        if mechanism not in SCRAM_MECHANISMS:
            raise ConfigurationError(
                f"unknown SCRAM mechanism {mechanism!r}; expected one of {sorted(SCRAM_MECHANISMS)}"
            )
        if not isinstance(username, str) or not username:
            raise ConfigurationError("option 'sasl_plain_username' must be a non-empty str")
        if not isinstance(password, str) or not password:
            raise ConfigurationError("option 'sasl_plain_password' must be a non-empty str")
        self.name = mechanism
        self.algorithm = SCRAM_MECHANISMS[mechanism]
        self.username = username
        self._password = password

    def exchange(self) -> SaslExchange:
        return ScramExchange(self.algorithm, self.username, self._password)

    def __repr__(self) -> str:
        return f"<ScramMechanism {self.name} username={self.username!r} password=***>"


class ScramExchange(SaslExchange):
    """One SCRAM conversation: client-first, client-final, then server-final verified."""

    def __init__(
        self, algorithm: str, username: str, password: str, *, nonce: str | None = None
    ) -> None:
        self._algorithm = algorithm
        self._password = password
        self._nonce = nonce or secrets.token_urlsafe(24)
        self._client_first_bare = f"n={_escape_name(username)},r={self._nonce}".encode()
        self._server_signature: bytes | None = None
        self._state = 0

    async def respond(self, challenge: bytes | None) -> bytes | None:
        state, self._state = self._state, self._state + 1
        if state == 0:
            return _GS2_HEADER + self._client_first_bare
        if challenge is None:
            raise AuthenticationError("SCRAM: the broker sent no challenge")
        if state == 1:
            return self._client_final(challenge)
        if state == 2:
            self._verify_server_final(challenge)
            return None
        raise AuthenticationError("SCRAM: the broker continued a finished exchange")

    def _client_final(self, server_first: bytes) -> bytes:
        attrs = _parse_attributes(server_first, "server-first message")
        if "e" in attrs:
            raise AuthenticationError(f"SCRAM: the broker refused: {attrs['e']}")
        try:
            nonce, salt_b64, iterations_text = attrs["r"], attrs["s"], attrs["i"]
        except KeyError as exc:
            raise AuthenticationError(
                f"SCRAM: the broker's server-first message lacks attribute {exc.args[0]!r}"
            ) from None
        if not nonce.startswith(self._nonce) or len(nonce) <= len(self._nonce):
            raise AuthenticationError(
                "SCRAM: the broker's nonce does not extend the client nonce (possible replay)"
            )
        try:
            salt = base64.b64decode(salt_b64, validate=True)
            iterations = int(iterations_text)
        except ValueError:
            raise AuthenticationError("SCRAM: invalid salt or iteration count") from None
        if not MIN_ITERATIONS <= iterations <= _MAX_ITERATIONS:
            raise AuthenticationError(
                f"SCRAM: the broker asks for {iterations} iterations; accepted range is"
                f" {MIN_ITERATIONS}..{_MAX_ITERATIONS}"
            )
        salted = salted_password(self._algorithm, self._password, salt, iterations)
        keys = _keys(self._algorithm, salted)
        without_proof = b"c=" + base64.b64encode(_GS2_HEADER) + b",r=" + nonce.encode()
        auth_message = self._client_first_bare + b"," + server_first + b"," + without_proof
        client_signature = hmac.digest(keys.stored_key, auth_message, self._algorithm)
        proof = bytes(a ^ b for a, b in zip(keys.client_key, client_signature, strict=True))
        self._server_signature = hmac.digest(keys.server_key, auth_message, self._algorithm)
        return without_proof + b",p=" + base64.b64encode(proof)

    def _verify_server_final(self, server_final: bytes) -> None:
        attrs = _parse_attributes(server_final, "server-final message")
        if "e" in attrs:
            raise AuthenticationError(f"SCRAM: the broker refused: {attrs['e']}")
        try:
            signature = base64.b64decode(attrs["v"], validate=True)
        except (KeyError, ValueError):
            raise AuthenticationError("SCRAM: the broker sent no valid server signature") from None
        expected = self._server_signature
        if expected is None or not hmac.compare_digest(signature, expected):
            raise AuthenticationError(
                "SCRAM: the broker's server signature does not verify (it does not know the"
                " credentials: wrong broker or man in the middle)"
            )


def _parse_attributes(message: bytes, what: str) -> dict[str, str]:
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthenticationError(f"SCRAM: the broker's {what} is not UTF-8") from None
    attrs: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and len(key) == 1 and key not in attrs:
            attrs[key] = value
    return attrs
