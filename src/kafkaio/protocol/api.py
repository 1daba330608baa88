"""Runtime base classes of the generated protocol messages.

Every generated struct derives from :class:`Message`; top-level messages from
:class:`Request` or :class:`Response`. The generated modules attach per-version codec
functions to each class (``_ENCODERS``/``_DECODERS``, indexed by ``version - _VMIN``), so
encoding is straight-line code chosen by one tuple lookup.
"""

from __future__ import annotations

import enum
import struct
from typing import Any, ClassVar, NamedTuple, TypeVar

from kafkaio.errors import KafkaError, ProtocolDecodeError, UnsupportedVersionError
from kafkaio.protocol.primitives import Buffer, as_buffer

__all__ = [
    "ApiInfo",
    "FieldInfo",
    "Message",
    "ProtocolEncodeError",
    "Request",
    "Response",
    "RoutingKind",
    "field_is_null",
    "field_not_supported",
    "tagged_fields_not_supported",
]

_M = TypeVar("_M", bound="Message")

_OPEN = 0x7FFF


class ProtocolEncodeError(KafkaError, ValueError):
    """A message could not be encoded because a field holds a value its type cannot carry.

    Examples: ``None`` in a non-nullable field, an int16 field holding 40000, a string longer
    than 32767 UTF-8 bytes. The message names the class, field and version.
    """


class RoutingKind(enum.Enum):
    """Where a request must be sent (not part of Kafka's specs; kept by the generator)."""

    ANY_BROKER = "any_broker"
    """Any live broker (admin requests in KRaft are forwarded by brokers as needed)."""
    CONTROLLER = "controller"
    """The active controller."""
    GROUP_COORDINATOR = "group_coordinator"
    """The coordinator of the request's group (FindCoordinator key type GROUP)."""
    TRANSACTION_COORDINATOR = "transaction_coordinator"
    """The coordinator of the request's transactional id (key type TRANSACTION)."""
    SHARE_COORDINATOR = "share_coordinator"
    """The share-group state coordinator (key type SHARE)."""
    PARTITION_LEADER = "partition_leader"
    """The leader of each partition in the request (split per broker)."""
    ALL_BROKERS = "all_brokers"
    """Every broker (results merged)."""
    BOOTSTRAP_ONLY = "bootstrap_only"
    """Connection-level requests (ApiVersions, SASL): sent on the connection being set up."""
    NOT_CLIENT = "not_client"
    """Broker/controller-internal APIs that a client never sends."""


class FieldInfo(NamedTuple):
    """Schema of one field of a generated struct (``Message.FIELDS``)."""

    name: str
    """Python attribute name (snake_case of the spec name)."""
    type: str
    """Wire type: ``int8 int16 int32 int64 uint16 uint32 float64 bool string bytes records
    uuid`` or ``struct``; arrays are ``"[]"`` + element type."""
    versions: tuple[int, int]
    """Inclusive version range the field is present in (upper bound 32767 = open)."""
    nullable_versions: tuple[int, int] | None
    """Versions in which the field may be ``None``."""
    tag: int | None
    """Tag number when the field is a tagged field (in flexible versions)."""
    ignorable: bool
    """Whether a non-default value may be dropped silently at versions lacking the field."""
    struct_name: str | None
    """For ``struct``/``[]struct`` fields: the struct class name in the same module."""

    def present_in(self, version: int) -> bool:
        """Whether the field is on the wire at ``version``."""
        return self.versions[0] <= version <= self.versions[1]

    def nullable_in(self, version: int) -> bool:
        """Whether the field may be ``None`` at ``version``."""
        nv = self.nullable_versions
        return nv is not None and nv[0] <= version <= nv[1]


class ApiInfo(NamedTuple):
    """Static facts about one API key (see ``kafkaio.protocol.apis``)."""

    key: int
    name: str
    """API name without suffix, e.g. ``"Metadata"``."""
    min_version: int
    max_version: int
    """Highest stable version (versions upstream marks unstable are excluded)."""
    flexible_min_version: int | None
    routing: RoutingKind
    module: str
    """Module that defines ``<name>Request`` and ``<name>Response``."""
    latest_version: int
    """Highest version with generated codecs (equals ``max_version`` unless upstream ships
    an unstable newer version)."""


class Message:
    """Base of every generated struct and message."""

    __slots__ = ()

    FIELDS: ClassVar[tuple[FieldInfo, ...]]
    """Field schema, in spec order (tagged fields included)."""
    _VMIN: ClassVar[int]
    _ENCODERS: ClassVar[tuple[Any, ...]]
    _DECODERS: ClassVar[tuple[Any, ...]]
    _LABEL: ClassVar[str]

    def encode(self, version: int) -> bytes:
        """Encode at ``version``; the API header is not included."""
        w = bytearray()
        self.encode_into(w, version)
        return bytes(w)

    def encode_into(self, w: bytearray, version: int) -> None:
        """Append the encoding at ``version`` to ``w`` (e.g. after a request header)."""
        cls = type(self)
        idx = version - cls._VMIN
        encoders = cls._ENCODERS
        if idx < 0 or idx >= len(encoders) or encoders[idx] is None:
            raise UnsupportedVersionError(
                f"{cls._LABEL} cannot be encoded at version {version}"
                f" (supported: {_describe_versions(encoders, cls._VMIN)})"
            )
        start = len(w)
        try:
            encoders[idx](w, self)
        except UnsupportedVersionError as exc:
            del w[start:]
            raise UnsupportedVersionError(
                f"cannot encode {cls._LABEL} v{version}: {_message(exc)}"
            ) from None
        except ProtocolEncodeError as exc:
            del w[start:]
            raise ProtocolEncodeError(
                f"cannot encode {cls._LABEL} v{version}: {_message(exc)}"
            ) from None
        except (struct.error, TypeError, ValueError, AttributeError, OverflowError) as exc:
            del w[start:]
            where = _find_bad_field(self, version)
            raise ProtocolEncodeError(
                f"cannot encode {cls._LABEL} v{version}: {where or exc}"
            ) from exc

    @classmethod
    def decode(cls: type[_M], data: Buffer, version: int) -> _M:
        """Decode ``data`` (exactly one encoded message, no header) at ``version``."""
        idx = version - cls._VMIN
        decoders = cls._DECODERS
        if idx < 0 or idx >= len(decoders) or decoders[idx] is None:
            raise UnsupportedVersionError(
                f"{cls._LABEL} cannot be decoded at version {version}"
                f" (supported: {_describe_versions(decoders, cls._VMIN)})"
            )
        buf = as_buffer(data)
        try:
            obj, pos = decoders[idx](buf, 0)
        except ProtocolDecodeError as exc:
            raise ProtocolDecodeError(f"{cls._LABEL} v{version}: {_message(exc)}") from None
        except (
            struct.error,
            IndexError,
            ValueError,
            OverflowError,
            MemoryError,
            RecursionError,
        ) as exc:
            raise ProtocolDecodeError(
                f"{cls._LABEL} v{version}: malformed input ({type(exc).__name__}: {exc})"
            ) from None
        if pos != len(buf):
            raise ProtocolDecodeError(
                f"{cls._LABEL} v{version}: {len(buf) - pos} unexpected trailing byte(s)"
                f" after offset {pos}"
            )
        result: _M = obj
        return result

    @classmethod
    def decode_prefix(cls: type[_M], data: Buffer, version: int, pos: int = 0) -> tuple[_M, int]:
        """Decode one message starting at ``pos``; return it and the offset after it."""
        idx = version - cls._VMIN
        decoders = cls._DECODERS
        if idx < 0 or idx >= len(decoders) or decoders[idx] is None:
            raise UnsupportedVersionError(f"{cls._LABEL} cannot be decoded at version {version}")
        buf = as_buffer(data)
        try:
            obj, end = decoders[idx](buf, pos)
        except ProtocolDecodeError as exc:
            raise ProtocolDecodeError(f"{cls._LABEL} v{version}: {_message(exc)}") from None
        except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as exc:
            raise ProtocolDecodeError(
                f"{cls._LABEL} v{version}: malformed input ({type(exc).__name__}: {exc})"
            ) from None
        return obj, end


class Request(Message):
    """Base of generated ``<Name>Request`` classes."""

    __slots__ = ()

    API_KEY: ClassVar[int]
    API_NAME: ClassVar[str]
    MIN_VERSION: ClassVar[int]
    MAX_VERSION: ClassVar[int]
    """Highest stable version."""
    LATEST_VERSION: ClassVar[int]
    """Highest version with codecs (may include a version upstream marks unstable)."""
    FLEXIBLE_MIN_VERSION: ClassVar[int | None]
    ROUTING: ClassVar[RoutingKind]
    RESPONSE_TYPE: ClassVar[type[Response]]

    @classmethod
    def header_version(cls, version: int) -> int:
        """Request header version for this API at ``version`` (1, or 2 when flexible)."""
        flex = cls.FLEXIBLE_MIN_VERSION
        return 2 if flex is not None and version >= flex else 1


class Response(Message):
    """Base of generated ``<Name>Response`` classes."""

    __slots__ = ()

    API_KEY: ClassVar[int]
    API_NAME: ClassVar[str]
    MIN_VERSION: ClassVar[int]
    MAX_VERSION: ClassVar[int]
    LATEST_VERSION: ClassVar[int]
    FLEXIBLE_MIN_VERSION: ClassVar[int | None]
    REQUEST_TYPE: ClassVar[type[Request]]
    _HEADER_ALWAYS_V0: ClassVar[bool] = False

    @classmethod
    def header_version(cls, version: int) -> int:
        """Response header version (0, or 1 when flexible; ApiVersions always uses 0)."""
        if cls._HEADER_ALWAYS_V0:
            return 0
        flex = cls.FLEXIBLE_MIN_VERSION
        return 1 if flex is not None and version >= flex else 0


def field_not_supported(
    api: str, struct: str, field: str, versions: str
) -> UnsupportedVersionError:
    """Error for a non-default, non-ignorable field the chosen version cannot carry."""
    return UnsupportedVersionError(
        f"{api} API: {struct}.{field} holds a non-default value but exists only in versions"
        f" {versions}"
    )


def tagged_fields_not_supported(api: str, struct: str) -> UnsupportedVersionError:
    """Error for unknown tagged fields set on a struct encoded at a non-flexible version."""
    return UnsupportedVersionError(
        f"{api} API: {struct}.unknown_tagged_fields is not empty but the version is not flexible"
    )


def field_is_null(struct: str, field: str, nullable_versions: str) -> ProtocolEncodeError:
    """Error for ``None`` in a field that is not nullable at the chosen version."""
    return ProtocolEncodeError(
        f"{struct}.{field} is None but is nullable only in versions {nullable_versions}"
    )


def _message(exc: BaseException) -> str:
    """The bare message of ``exc`` (without any class prefix its ``__str__`` may add)."""
    if exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc)


def _describe_versions(table: tuple[Any, ...], vmin: int) -> str:
    present = [vmin + i for i, fn in enumerate(table) if fn is not None]
    if not present:
        return "none"
    return f"{present[0]}-{present[-1]}"


_INT_RANGES = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
    "uint16": (0, (1 << 16) - 1),
    "uint32": (0, (1 << 32) - 1),
}


def _find_bad_field(obj: Message, version: int, path: str = "") -> str | None:
    """Slow path after an encode failure: name the first field whose value cannot be sent."""
    for info in type(obj).FIELDS:
        if not info.present_in(version):
            continue
        value = getattr(obj, info.name, None)
        where = f"{path}{info.name}"
        problem = _check_value(info.type, value, info, version, where)
        if problem:
            return problem
    return None


def _check_value(wire: str, value: Any, info: FieldInfo, version: int, where: str) -> str | None:
    if value is None:
        if wire == info.type and (info.nullable_in(version) or wire == "records"):
            return None
        return f"field {where!r} is None but is not nullable at version {version}"
    if wire.startswith("[]"):
        if not isinstance(value, (list, tuple)):
            return f"field {where!r} must be a list, got {type(value).__name__}"
        for i, item in enumerate(value):
            problem = _check_value(wire[2:], item, info, version, f"{where}[{i}]")
            if problem:
                return problem
        return None
    rng = _INT_RANGES.get(wire)
    if rng is not None:
        if not isinstance(value, int):
            return f"field {where!r} must be an int, got {type(value).__name__}"
        if not rng[0] <= value <= rng[1]:
            return f"field {where!r} value {value} is out of {wire} range"
        return None
    if wire == "string":
        if not isinstance(value, str):
            return f"field {where!r} must be a str, got {type(value).__name__}"
        if len(value.encode("utf-8", "surrogatepass")) > 0x7FFF:
            return f"field {where!r} is longer than 32767 UTF-8 bytes"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"field {where!r} is not encodable as UTF-8"
        return None
    if wire in ("bytes", "records"):
        if not isinstance(value, (bytes, bytearray, memoryview)):
            return f"field {where!r} must be bytes, got {type(value).__name__}"
        return None
    if wire == "struct":
        if not isinstance(value, Message):
            return f"field {where!r} must be a {info.struct_name}, got {type(value).__name__}"
        return _find_bad_field(value, version, f"{where}.")
    if wire == "float64" and not isinstance(value, (int, float)):
        return f"field {where!r} must be a float, got {type(value).__name__}"
    if wire == "uuid" and not hasattr(value, "bytes"):
        return f"field {where!r} must be a uuid.UUID, got {type(value).__name__}"
    return None
