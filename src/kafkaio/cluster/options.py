"""Options of the cluster client, validated when the client is constructed."""

from __future__ import annotations

import dataclasses
import ipaddress
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafkaio.config import (
    check_bool,
    check_choice,
    check_int,
    check_optional_str,
    reject_unknown_options,
)
from kafkaio.errors import ConfigurationError, UnrecognizedBrokerVersionError
from kafkaio.net.connection import Authenticator, SecurityProtocol
from kafkaio.net.releases import ReleaseTuple, release_caps
from kafkaio.net.sasl import TokenProvider, build_authenticator, check_sasl_options
from kafkaio.net.tls import build_ssl_context

__all__ = ["DEFAULT_PORT", "ClusterOptions", "parse_bootstrap_servers"]

DEFAULT_PORT = 9092
_SECRET_OPTIONS = frozenset({"ssl_password", "sasl_plain_password"})
_SSL_FILE_OPTIONS = ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_crlfile")


def parse_bootstrap_servers(value: Any) -> list[tuple[str, int]]:
    """Parse ``bootstrap_servers`` into ``(host, port)`` pairs, in the order given.

    Accepts a string (comma-separated addresses allowed) or a list/tuple of strings. Each
    address is ``host``, ``host:port``, ``[ipv6]``, ``[ipv6]:port`` or a bare IPv6 address;
    the port defaults to 9092. Raises :class:`TypeError` for a wrong type and
    :class:`ValueError` naming the address that cannot be parsed.
    """
    if isinstance(value, str):
        items: list[str] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = []
        for item in value:
            if not isinstance(item, str):
                raise TypeError(
                    "option 'bootstrap_servers' must contain only str addresses,"
                    f" got {type(item).__name__} {item!r}"
                )
            items.extend(item.split(","))
    else:
        raise TypeError(
            "option 'bootstrap_servers' must be a str or a list of str,"
            f" got {type(value).__name__} {value!r}"
        )
    result = [_parse_address(item.strip()) for item in items if item.strip()]
    if not result:
        raise ValueError(f"option 'bootstrap_servers' holds no address: {value!r}")
    return result


def _parse_address(text: str) -> tuple[str, int]:
    if "://" in text:
        raise ValueError(
            f"cannot parse bootstrap server {text!r}: give host:port without a protocol prefix"
        )
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"cannot parse bootstrap server {text!r}: missing ']'")
        host, rest = text[1:end], text[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(
                f"cannot parse bootstrap server {text!r}: {host!r} is not an IPv6 address"
            ) from None
        if not rest:
            return host, DEFAULT_PORT
        if not rest.startswith(":"):
            raise ValueError(f"cannot parse bootstrap server {text!r}: junk after ']'")
        return host, _parse_port(text, rest[1:])
    if text.count(":") > 1:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            raise ValueError(
                f"cannot parse bootstrap server {text!r}: write IPv6 addresses as [addr]:port"
            ) from None
        return text, DEFAULT_PORT
    host, sep, port_text = text.partition(":")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"cannot parse bootstrap server {text!r}: empty or invalid host")
    if not sep:
        return host, DEFAULT_PORT
    return host, _parse_port(text, port_text)


def _parse_port(text: str, port_text: str) -> int:
    if not port_text.isdigit():
        raise ValueError(
            f"cannot parse bootstrap server {text!r}: port {port_text!r} is not a number"
        )
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"cannot parse bootstrap server {text!r}: port {port} is out of range")
    return port


def _parse_api_version(value: Any) -> ReleaseTuple | None:
    """``"auto"`` -> ``None``; ``(3, 9)`` / ``"3.9"`` / ``"3.9.1"`` -> a tuple of ints."""
    if isinstance(value, str):
        if value.lower() == "auto":
            return None
        parts = value.split(".")
        if len(parts) < 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"option 'api_version' must be 'auto' or like '3.9', got {value!r}")
        return tuple(int(p) for p in parts)
    if isinstance(value, tuple):
        if len(value) < 2 or not all(
            isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in value
        ):
            raise ValueError(
                f"option 'api_version' must be a tuple of at least two ints like (3, 9), got {value!r}"
            )
        return tuple(value)
    raise TypeError(
        f"option 'api_version' must be 'auto', a str like '3.9' or a tuple like (3, 9),"
        f" got {type(value).__name__} {value!r}"
    )


def _check_secret(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"option {name!r} must be a str, got {type(value).__name__}")


def _parse_caps(value: Any) -> dict[int, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(
            "option 'api_version_caps' must be a mapping of API name or key to a version,"
            f" got {type(value).__name__}"
        )
    from kafkaio.protocol.apis import API_BY_KEY, API_BY_NAME

    caps: dict[int, int] = {}
    for api, version in value.items():
        if isinstance(api, str):
            info = API_BY_NAME.get(api)
            if info is None:
                raise ValueError(f"option 'api_version_caps' names an unknown API {api!r}")
            key = info.key
        elif isinstance(api, int) and not isinstance(api, bool):
            if api not in API_BY_KEY:
                raise ValueError(f"option 'api_version_caps' names an unknown API key {api}")
            key = api
        else:
            raise TypeError(
                f"option 'api_version_caps' keys must be API names or keys, got {api!r}"
            )
        caps[key] = check_int(f"api_version_caps[{api!r}]", version, minimum=0)
    return caps


@dataclass(frozen=True, kw_only=True, repr=False)
class ClusterOptions:
    """Validated options of :class:`~kafkaio.cluster.ClusterClient`.

    Names follow the Java client's configuration names in snake_case. Construct it with
    keywords (``ClusterOptions(bootstrap_servers="host:9092")``) or from a mapping with
    :meth:`from_mapping`; bad values raise at construction.
    """

    bootstrap_servers: str | Sequence[str] = "localhost"
    """``"host[:port]"`` (comma-separated allowed) or a list of them; port defaults to 9092."""
    client_id: str | None = "kafkaio"
    """Sent in every request header; shows up in broker logs and quotas."""
    metadata_max_age_ms: int = 300_000
    """Refresh metadata at least this often even when nothing asks for it."""
    request_timeout_ms: int = 40_000
    """How long to wait for each response; also the budget for a topic to appear."""
    retry_backoff_ms: int = 100
    """Pause between attempts (metadata refresh while waiting for a topic, ...)."""
    retry_backoff_max_ms: int = 1_000
    """Cap of the exponential back-off between failed background metadata refreshes."""
    socket_connection_setup_timeout_ms: int = 10_000
    """Budget for TCP/TLS setup plus the ApiVersions exchange of a new connection."""
    connections_max_idle_ms: int = 540_000
    """Close connections without traffic for this long (``-1``: never)."""
    max_in_flight_requests_per_connection: int = 5
    """Requests pipelined per connection. Without idempotence, retries with more than one
    request in flight can reorder records of a partition."""
    api_version: str | tuple[int, ...] = "auto"
    """``"auto"`` (detect from ApiVersions) or a broker release like ``(3, 9)``, which caps
    every request at the versions that release serves."""
    api_version_caps: Mapping[str | int, int] | None = None
    """Extra per-API caps, e.g. ``{"Fetch": 12}`` (API name or key to highest version)."""
    security_protocol: str = "PLAINTEXT"
    """``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT`` or ``SASL_SSL``."""
    ssl_context: ssl.SSLContext | None = None
    """TLS settings for SSL / SASL_SSL (instead of the ``ssl_*`` file options); default:
    built from those options, or ``ssl.create_default_context()`` without them."""
    ssl_cafile: str | None = None
    """PEM file of the CA certificates to trust (default: the system trust store)."""
    ssl_certfile: str | None = None
    """PEM client certificate (chain) for mutual TLS."""
    ssl_keyfile: str | None = None
    """PEM private key of ``ssl_certfile`` (omit if ``ssl_certfile`` contains it)."""
    ssl_password: str | None = None
    """Password of an encrypted ``ssl_keyfile``."""
    ssl_check_hostname: bool = True
    """Verify that the broker's certificate names the host connected to."""
    ssl_crlfile: str | None = None
    """PEM certificate revocation list to check the broker's certificate against."""
    sasl_mechanism: str = "PLAIN"
    """SASL_* only: ``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512`` or ``OAUTHBEARER``."""
    sasl_plain_username: str | None = None
    """User name for PLAIN and SCRAM."""
    sasl_plain_password: str | None = None
    """Password for PLAIN and SCRAM (masked in ``repr``)."""
    sasl_oauth_token_provider: TokenProvider | None = None
    """OAUTHBEARER: an object with ``async token() -> str`` and optionally
    ``extensions() -> Mapping[str, str]`` (see :class:`kafkaio.net.sasl.AbstractTokenProvider`)."""
    authenticator: Authenticator | None = None
    """A custom authenticator run on every new connection after ApiVersions; replaces
    the ``sasl_*`` options."""
    allow_auto_create_topics: bool = True
    """Let Metadata requests auto-create topics (when the broker allows it)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        parse_bootstrap_servers(self.bootstrap_servers)
        check_optional_str("client_id", self.client_id)
        check_int("metadata_max_age_ms", self.metadata_max_age_ms, minimum=0)
        check_int("request_timeout_ms", self.request_timeout_ms, minimum=1)
        check_int("retry_backoff_ms", self.retry_backoff_ms, minimum=0)
        check_int("retry_backoff_max_ms", self.retry_backoff_max_ms, minimum=0)
        check_int(
            "socket_connection_setup_timeout_ms", self.socket_connection_setup_timeout_ms, minimum=1
        )
        check_int("connections_max_idle_ms", self.connections_max_idle_ms, minimum=-1)
        check_int(
            "max_in_flight_requests_per_connection",
            self.max_in_flight_requests_per_connection,
            minimum=1,
        )
        release = _parse_api_version(self.api_version)
        if release is not None:
            try:
                release_caps(release)
            except UnrecognizedBrokerVersionError as exc:
                raise ValueError(f"option 'api_version': {exc}") from None
        _parse_caps(self.api_version_caps)
        set_(self, "security_protocol", check_choice(
            "security_protocol", self.security_protocol, SecurityProtocol.__members__
        ))  # fmt: skip
        if self.ssl_context is not None and not isinstance(self.ssl_context, ssl.SSLContext):
            raise TypeError(
                "option 'ssl_context' must be an ssl.SSLContext,"
                f" got {type(self.ssl_context).__name__}"
            )
        if self.authenticator is not None and not callable(
            getattr(self.authenticator, "authenticate", None)
        ):
            raise TypeError(
                "option 'authenticator' must have an async authenticate(connection) method"
            )
        check_bool("allow_auto_create_topics", self.allow_auto_create_topics)
        for name in _SSL_FILE_OPTIONS:
            check_optional_str(name, getattr(self, name))
        _check_secret("ssl_password", self.ssl_password)
        check_bool("ssl_check_hostname", self.ssl_check_hostname)
        if self.ssl_context is not None:
            given = [n for n in (*_SSL_FILE_OPTIONS, "ssl_password") if getattr(self, n)]
            if given:
                raise ConfigurationError(
                    f"give either option 'ssl_context' or the file options {given}, not both"
                )
        if SecurityProtocol(self.security_protocol).uses_sasl and self.authenticator is None:
            try:
                check_sasl_options(
                    self.sasl_mechanism,
                    self.sasl_plain_username,
                    self.sasl_plain_password,
                    self.sasl_oauth_token_provider,
                )
            except ConfigurationError as exc:
                raise ConfigurationError(
                    f"option 'security_protocol' is {self.security_protocol}: {exc}"
                ) from None

    def __repr__(self) -> str:
        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            text = "'***'" if f.name in _SECRET_OPTIONS and value is not None else repr(value)
            shown.append(f"{f.name}={text}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> ClusterOptions:
        """Build from a mapping; unknown names raise :class:`TypeError` naming the option."""
        reject_unknown_options(cls.__name__, options, cls.field_names())
        return cls(**options)

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """Every option name."""
        return frozenset(f.name for f in dataclasses.fields(cls))

    # ---- derived values

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The bootstrap addresses as ``(host, port)`` pairs."""
        return parse_bootstrap_servers(self.bootstrap_servers)

    @property
    def api_release(self) -> ReleaseTuple | None:
        """The configured broker release, or ``None`` for ``"auto"``."""
        return _parse_api_version(self.api_version)

    @property
    def protocol(self) -> SecurityProtocol:
        """``security_protocol`` as an enum."""
        return SecurityProtocol(self.security_protocol)

    def connection_security(self) -> tuple[ssl.SSLContext | None, Authenticator | None]:
        """The TLS context and SASL authenticator connections use (built anew each call).

        Raises :class:`~kafkaio.errors.ConfigurationError` when a TLS file is unusable.
        """
        protocol = self.protocol
        context = self.ssl_context
        if protocol.uses_tls and context is None:
            context = build_ssl_context(
                cafile=self.ssl_cafile,
                certfile=self.ssl_certfile,
                keyfile=self.ssl_keyfile,
                password=self.ssl_password,
                check_hostname=self.ssl_check_hostname,
                crlfile=self.ssl_crlfile,
            )
        authenticator = self.authenticator
        if protocol.uses_sasl and authenticator is None:
            authenticator = build_authenticator(
                self.sasl_mechanism,
                username=self.sasl_plain_username,
                password=self.sasl_plain_password,
                token_provider=self.sasl_oauth_token_provider,
            )
        return context, authenticator

    def version_caps(self) -> dict[int, int]:
        """Per-API caps from ``api_version`` and ``api_version_caps`` (the lower wins)."""
        release = self.api_release
        caps: dict[int, int] = release_caps(release) if release is not None else {}
        for key, cap in _parse_caps(self.api_version_caps).items():
            caps[key] = min(cap, caps.get(key, cap))
        return caps
