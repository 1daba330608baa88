"""SASL authentication for SASL_PLAINTEXT and SASL_SSL connections.

Mechanisms: ``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512`` and ``OAUTHBEARER`` (with a
user-supplied async token provider). :func:`build_authenticator` turns the client options
(``sasl_mechanism``, ``sasl_plain_username``, ``sasl_plain_password``,
``sasl_oauth_token_provider``) into a :class:`SaslAuthenticator`, which the connection runs
after ApiVersions and again before the broker's session expires (KIP-368).
"""

from __future__ import annotations

from kafkaio.errors import ConfigurationError
from kafkaio.net.sasl.authenticator import SaslAuthenticator
from kafkaio.net.sasl.base import SaslExchange, SaslMechanism
from kafkaio.net.sasl.oauthbearer import (
    AbstractTokenProvider,
    OAuthBearerMechanism,
    TokenProvider,
    check_token_provider,
)
from kafkaio.net.sasl.plain import PlainMechanism
from kafkaio.net.sasl.scram import SCRAM_MECHANISMS, ScramMechanism

__all__ = [
    "SASL_MECHANISMS",
    "AbstractTokenProvider",
    "OAuthBearerMechanism",
    "PlainMechanism",
    "SaslAuthenticator",
    "SaslExchange",
    "SaslMechanism",
    "ScramMechanism",
    "TokenProvider",
    "build_authenticator",
    "check_sasl_options",
]

SASL_MECHANISMS = ("PLAIN", *SCRAM_MECHANISMS, "OAUTHBEARER")
"""The ``sasl_mechanism`` values kafkaio implements."""


def check_sasl_options(
    mechanism: object,
    username: object,
    password: object,
    token_provider: object,
) -> None:
    """Validate the SASL options (messages name options, never values of secrets)."""
    if not isinstance(mechanism, str):
        raise TypeError(f"option 'sasl_mechanism' must be a str, got {type(mechanism).__name__}")
    if mechanism not in SASL_MECHANISMS:
        hint = " (GSSAPI/Kerberos is not supported)" if mechanism == "GSSAPI" else ""
        raise ConfigurationError(
            f"option 'sasl_mechanism' must be one of {list(SASL_MECHANISMS)};"
            f" got {mechanism!r}{hint}"
        )
    if mechanism == "OAUTHBEARER":
        if token_provider is None:
            raise ConfigurationError(
                "sasl_mechanism OAUTHBEARER needs option 'sasl_oauth_token_provider'"
            )
        check_token_provider(token_provider)
        return
    if username is None or password is None:
        missing = "sasl_plain_username" if username is None else "sasl_plain_password"
        raise ConfigurationError(f"sasl_mechanism {mechanism} needs option {missing!r}")
    if not isinstance(username, str) or not username:
        raise ConfigurationError("option 'sasl_plain_username' must be a non-empty str")
    if not isinstance(password, str):
        raise ConfigurationError(
            f"option 'sasl_plain_password' must be a str, got {type(password).__name__}"
        )


def build_authenticator(
    mechanism: str,
    *,
    username: str | None = None,
    password: str | None = None,
    token_provider: TokenProvider | None = None,
) -> SaslAuthenticator:
    """A :class:`SaslAuthenticator` for ``mechanism`` and its credentials."""
    check_sasl_options(mechanism, username, password, token_provider)
    mech: SaslMechanism
    if mechanism == "OAUTHBEARER":
        assert token_provider is not None
        mech = OAuthBearerMechanism(token_provider)
    else:
        assert username is not None and password is not None
        if mechanism == "PLAIN":
            mech = PlainMechanism(username, password)
        else:
            mech = ScramMechanism(mechanism, username, password)
    return SaslAuthenticator(mech)
