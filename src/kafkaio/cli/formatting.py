"""Output: aligned text tables, JSON, and kcat-style record formats."""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

__all__ = [
    "FORMAT_HELP",
    "BytesCodec",
    "RecordFormatter",
    "RecordLike",
    "UsageFormatError",
    "json_default",
    "record_to_json",
    "table",
    "to_json",
    "unescape",
]


class UsageFormatError(ValueError):
    """A ``--format`` string or escape sequence that cannot be understood."""


class RecordLike(Protocol):
    """What the formatters read from a record (a :class:`~kafkaio.ConsumerRecord`)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]]: ...


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "0": "\0"}


def unescape(text: str) -> str:
    r"""Interpret ``\n``, ``\t``, ``\r``, ``\0``, ``\\`` and ``\xHH`` in ``text``."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(text):
            raise UsageFormatError(f"dangling backslash at the end of {text!r}")
        nxt = text[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "x":
            digits = text[i + 2 : i + 4]
            try:
                if len(digits) != 2:
                    raise ValueError(digits)
                out.append(chr(int(digits, 16)))
            except ValueError:
                raise UsageFormatError(f"bad \\x escape in {text!r}") from None
            i += 4
        else:
            raise UsageFormatError(f"unknown escape \\{nxt} in {text!r}")
    return "".join(out)


# ---------------------------------------------------------------- kcat-style --format


def _header_bytes(headers: Sequence[tuple[str, bytes | None]]) -> bytes:
    return b",".join(k.encode() + b"=" + (v if v is not None else b"") for k, v in headers)


_FIELDS: dict[str, Callable[[RecordLike], bytes]] = {
    "t": lambda r: r.topic.encode(),
    "p": lambda r: str(r.partition).encode(),
    "o": lambda r: str(r.offset).encode(),
    "k": lambda r: r.key if r.key is not None else b"",
    "s": lambda r: r.value if r.value is not None else b"",
    "K": lambda r: str(len(r.key) if r.key is not None else -1).encode(),
    "S": lambda r: str(len(r.value) if r.value is not None else -1).encode(),
    "T": lambda r: str(r.timestamp).encode(),
    "h": lambda r: _header_bytes(r.headers),
}
FORMAT_HELP = (
    "%%t topic, %%p partition, %%o offset, %%k key, %%s value, %%K key length, "
    "%%S value length, %%T timestamp (ms), %%h headers (k=v,...), %%%% a percent sign; "
    "escapes \\n \\t \\r \\0 \\\\ \\xHH"
)


class RecordFormatter:
    """Renders records through a kcat-style format such as ``'%t/%p@%o: %k=%s\\n'``.

    Keys, values and headers are written as the raw bytes they are (binary-safe); a null
    key or value renders as nothing.
    """

    def __init__(self, fmt: str) -> None:
        text = unescape(fmt)
        parts: list[bytes | Callable[[RecordLike], bytes]] = []
        literal = bytearray()
        i = 0
        while i < len(text):
            ch = text[i]
            if ch != "%":
                literal += ch.encode()
                i += 1
                continue
            if i + 1 >= len(text):
                raise UsageFormatError(f"dangling % at the end of the format {fmt!r}")
            code = text[i + 1]
            i += 2
            if code == "%":
                literal += b"%"
                continue
            getter = _FIELDS.get(code)
            if getter is None:
                raise UsageFormatError(
                    f"unknown placeholder %{code} in the format {fmt!r}"
                    f" (known: {', '.join('%' + c for c in _FIELDS)})"
                )
            if literal:
                parts.append(bytes(literal))
                literal.clear()
            parts.append(getter)
        if literal:
            parts.append(bytes(literal))
        self._parts = parts

    def format(self, record: RecordLike) -> bytes:
        """The record rendered as bytes."""
        return b"".join(p if isinstance(p, bytes) else p(record) for p in self._parts)


# ---------------------------------------------------------------- JSON


class BytesCodec:
    """Turns bytes into JSON strings: UTF-8 text, or base64 when asked.

    Without base64, bytes that are not valid UTF-8 are written with ``\\xHH`` escapes for
    the bad bytes (so nothing is dropped) and ``on_lossy`` is called once.
    """

    def __init__(self, use_base64: bool, on_lossy: Callable[[], None] | None = None) -> None:
        self.use_base64 = use_base64
        self._on_lossy = on_lossy

    def __call__(self, data: bytes | None) -> str | None:
        if data is None:
            return None
        if self.use_base64:
            return base64.b64encode(data).decode("ascii")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if self._on_lossy is not None:
                self._on_lossy()
                self._on_lossy = None
            return data.decode("utf-8", errors="backslashreplace")


def record_to_json(
    record: RecordLike,
    encode: Callable[[bytes | None], str | None],
    *,
    timestamp_type: str | None = None,
) -> dict[str, Any]:
    """One record as a JSON-ready dict (headers as ``[name, value]`` pairs, in order)."""
    out: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
    }
    if timestamp_type is not None:
        out["timestamp_type"] = timestamp_type
    out["key"] = encode(record.key)
    out["value"] = encode(record.value)
    out["headers"] = [[k, encode(v)] for k, v in record.headers]
    return out


def json_default(value: object) -> object:
    """JSON for the admin result types: dataclasses, enums, UUIDs, sets, bytes, errors."""
    if isinstance(value, BaseException):
        return {"error": type(value).__name__, "message": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _plain(value: object) -> object:
    """Mappings with non-string keys (partitions, resources) made JSON-friendly."""
    if isinstance(value, Mapping):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _key(key: object) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, tuple) and len(key) == 2:
        return f"{key[0]}-{key[1]}"
    if isinstance(key, enum.Enum):
        return key.name
    return str(key)


def to_json(value: object, *, indent: int | None = None) -> str:
    """``value`` as JSON text (admin results included; see :func:`json_default`)."""
    return json.dumps(_plain(value), default=json_default, indent=indent, sort_keys=False)


# ---------------------------------------------------------------- tables


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An aligned text table (no trailing spaces); ``None`` cells show as ``-``."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    lines = []
    for row in [list(headers), *cells]:
        line = "  ".join(text.ljust(widths[i]) for i, text in enumerate(row))
        lines.append(line.rstrip())
    return "\n".join(lines)
