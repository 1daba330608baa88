"""Client options given on the command line (``-X name=value``, ``-b``, ``--client-id``).

Names are the library's own option names (snake_case of the Java client's); a name no
client knows is rejected with the library's own message. Values are typed from the text
(int, float, bool, else str) unless the option only takes strings, so a password or a
client id made of digits stays a string. Values of credential options are never printed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kafkaio.config import reject_unknown_options

__all__ = [
    "BOOTSTRAP_ENV",
    "SENSITIVE_OPTIONS",
    "ClientKind",
    "ClientOptions",
    "UsageError",
    "known_options",
    "parse_assignment",
    "parse_value",
    "redact",
]

BOOTSTRAP_ENV = "KAFKAIO_BOOTSTRAP_SERVERS"

ClientKind = Literal["producer", "consumer", "admin"]

SENSITIVE_OPTIONS = frozenset({"sasl_plain_password", "ssl_password"})
"""Options whose values are secrets: never echoed in errors or warnings."""

_TRUE = frozenset({"true", "yes", "on"})
_FALSE = frozenset({"false", "no", "off"})
_NONE = frozenset({"none", "null"})


class UsageError(Exception):
    """A bad command-line argument (exit status 2, like argparse's own errors)."""


@dataclass(frozen=True)
class _OptionInfo:
    clients: frozenset[str]
    typed: bool
    """Whether the option takes anything but strings (so the text is converted)."""
    optional: bool
    """Whether ``None`` is a valid value (so ``none``/``null`` mean ``None``)."""


def _annotation_info(annotation: object) -> tuple[bool, bool]:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    words = text.replace("|", " ").replace("[", " ").replace("]", " ").replace(",", " ").split()
    typed = any(w in ("int", "float", "bool") for w in words)
    return typed, "None" in words


def _collect() -> dict[str, _OptionInfo]:
    """Every option of Producer, Consumer and Admin (with the cluster client's options)."""
    from kafkaio.admin import Admin
    from kafkaio.cluster.options import ClusterOptions
    from kafkaio.consumer.options import ConsumerOptions
    from kafkaio.producer.options import ProducerOptions

    found: dict[str, tuple[set[str], bool, bool]] = {}

    def add(name: str, client: str, annotation: object) -> None:
        typed, optional = _annotation_info(annotation)
        clients, was_typed, was_optional = found.get(name, (set(), False, False))
        clients.add(client)
        found[name] = (clients, was_typed or typed, was_optional or optional)

    cluster_fields = [f for f in dataclasses.fields(ClusterOptions)]
    for client, options_cls in (("producer", ProducerOptions), ("consumer", ConsumerOptions)):
        for f in dataclasses.fields(options_cls):
            if f.name != "cluster":
                add(f.name, client, f.type)
        for f in cluster_fields:
            add(f.name, client, f.type)
    for name, param in inspect.signature(Admin.__init__).parameters.items():
        if name in ("self", "client") or param.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        add(name, "admin", param.annotation)
    for f in cluster_fields:
        add(f.name, "admin", f.type)
    return {
        name: _OptionInfo(frozenset(clients), typed, optional)
        for name, (clients, typed, optional) in found.items()
    }


_KNOWN: dict[str, _OptionInfo] | None = None


def known_options() -> Mapping[str, frozenset[str]]:
    """Option name -> the clients (``producer``, ``consumer``, ``admin``) that take it."""
    return {name: info.clients for name, info in _info().items()}


def _info() -> dict[str, _OptionInfo]:
    global _KNOWN
    if _KNOWN is None:
        _KNOWN = _collect()
    return _KNOWN


def parse_value(text: str, *, typed: bool = True, optional: bool = True) -> object:
    """The value of ``-X name=<text>``: int, float, bool (true/false/yes/no/on/off),
    ``None`` (none/null, for options that accept it), else the text itself."""
    if not typed:
        return None if optional and text.lower() in _NONE else text
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    if optional and lowered in _NONE:
        return None
    with contextlib.suppress(ValueError):
        return int(lowered, 10)
    try:
        return float(lowered)
    except ValueError:
        return text


def parse_assignment(text: str, what: str = "-X") -> tuple[str, str]:
    """Split ``name=value`` (the value may contain ``=``); :class:`UsageError` otherwise."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UsageError(f"{what} expects name=value, got {redact_assignment(text)!r}")
    return name, value


def redact_assignment(text: str) -> str:
    """``name=value`` with the value hidden when ``name`` is a credential option."""
    name, sep, _ = text.partition("=")
    return f"{name}{sep}***" if sep and _normalize(name) in SENSITIVE_OPTIONS else text


def _normalize(name: str) -> str:
    # Java-style dotted names are accepted as a convenience: security.protocol -> security_protocol.
    return name.strip().replace(".", "_").replace("-", "_")


def redact(message: str, secrets: Iterable[str]) -> str:
    """``message`` with every secret value replaced by ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


@dataclass
class ClientOptions:
    """Options for the clients a command creates, from ``-b``, ``--client-id`` and ``-X``."""

    bootstrap_servers: str
    client_id: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    """Values of credential options, to hide from anything printed."""

    @classmethod
    def from_arguments(
        cls, bootstrap_servers: str | None, client_id: str | None, assignments: Iterable[str]
    ) -> ClientOptions:
        """Validate names against every client's options; :class:`UsageError` on a bad one."""
        if bootstrap_servers is None or not bootstrap_servers.strip():
            bootstrap_servers = os.environ.get(BOOTSTRAP_ENV, "").strip() or None
        if bootstrap_servers is None:
            raise UsageError(
                f"the bootstrap servers are required: give -b/--bootstrap-servers or set"
                f" {BOOTSTRAP_ENV}"
            )
        info = _info()
        extra: dict[str, object] = {}
        secrets: list[str] = []
        for text in assignments:
            raw_name, raw_value = parse_assignment(text)
            name = _normalize(raw_name)
            try:
                reject_unknown_options("kafkaio", [name], info)
            except TypeError as exc:
                raise UsageError(f"-X {raw_name}: {exc}") from None
            if name in ("bootstrap_servers",):
                raise UsageError("give the bootstrap servers with -b/--bootstrap-servers, not -X")
            option = info[name]
            extra[name] = parse_value(raw_value, typed=option.typed, optional=option.optional)
            if name in SENSITIVE_OPTIONS and raw_value:
                secrets.append(raw_value)
        return cls(bootstrap_servers.strip(), client_id, extra, secrets)

    def for_client(self, kind: ClientKind, **overrides: object) -> tuple[dict[str, Any], list[str]]:
        """Keyword arguments for a ``kind`` client, and the ``-X`` names it does not take.

        ``overrides`` are what the command's own flags set; a flag given explicitly wins over
        ``-X`` (``None`` means the flag was not given).
        """
        info = _info()
        kwargs: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers}
        if self.client_id is not None:
            kwargs["client_id"] = self.client_id
        ignored: list[str] = []
        for name, value in self.extra.items():
            if kind in info[name].clients:
                kwargs[name] = value
            else:
                ignored.append(name)
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        return kwargs, ignored

    def hide(self, message: str) -> str:
        """``message`` without any credential given on the command line."""
        return redact(message, self.secrets)
