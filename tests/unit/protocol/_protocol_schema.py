"""Helpers shared by the protocol tests: every generated class, and hypothesis strategies
built from the classes' ``FIELDS`` schema."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

import kafkaio.protocol.messages as messages
from kafkaio.protocol.api import FieldInfo, Message, Request, Response
from kafkaio.protocol.apis import API_BY_KEY, request_type, response_type
from kafkaio.protocol.primitives import ZERO_UUID

REPO = Path(__file__).resolve().parents[3]

INT_RANGES = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
    "uint16": (0, (1 << 16) - 1),
    "uint32": (0, (1 << 32) - 1),
}

# Tags far above any tag the specs use, so that they stay "unknown" on decode.
UNKNOWN_TAGS = st.integers(min_value=64, max_value=300)


def load_tools_spec() -> ModuleType:
    """Import tools/_spec.py (jar lookup and spec parsing) without packaging tools/."""
    tools = str(REPO / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    return importlib.import_module("_spec")


def top_level_classes() -> list[type[Message]]:
    """Every generated request, response and data class."""
    out: list[type[Message]] = []
    for key in sorted(API_BY_KEY):
        out.append(request_type(key))
        out.append(response_type(key))
    for name in messages.__all__:
        cls = getattr(messages, name)
        if not issubclass(cls, (Request, Response)):
            out.append(cls)
    return out


def versions(cls: type[Message]) -> range:
    """Every version with generated codecs (unstable ones included)."""
    latest = getattr(cls, "LATEST_VERSION", None)
    hi = latest if latest is not None else cls.MAX_VERSION  # type: ignore[attr-defined]
    return range(cls.MIN_VERSION, hi + 1)  # type: ignore[attr-defined]


def is_flexible(cls: type[Message], version: int) -> bool:
    flex = cls.FLEXIBLE_MIN_VERSION  # type: ignore[attr-defined]
    return flex is not None and version >= flex


def struct_class(owner: type[Message], name: str) -> type[Message]:
    cls: type[Message] = getattr(sys.modules[owner.__module__], name)
    return cls


def _value(
    owner: type[Message], info: FieldInfo, wire: str, version: int, flexible: bool
) -> st.SearchStrategy[Any]:
    if wire.startswith("[]"):
        return st.lists(_value(owner, info, wire[2:], version, flexible), max_size=3)
    if wire in INT_RANGES:
        lo, hi = INT_RANGES[wire]
        return st.integers(min_value=lo, max_value=hi)
    if wire == "bool":
        return st.booleans()
    if wire == "float64":
        return st.floats(allow_nan=False)
    if wire == "string":
        return st.text(max_size=12)
    if wire in ("bytes", "records"):
        return st.binary(max_size=12)
    if wire == "uuid":
        return st.uuids() | st.just(ZERO_UUID)
    if wire == "struct":
        assert info.struct_name is not None
        return message_strategy(struct_class(owner, info.struct_name), version, flexible)
    raise AssertionError(f"unknown wire type {wire}")


def message_strategy(
    cls: type[Message], version: int, flexible: bool
) -> st.SearchStrategy[Message]:
    """Instances of ``cls`` whose every field is representable at ``version``."""
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for info in cls.FIELDS:
        if not info.present_in(version):
            continue
        strategy = _value(cls, info, info.type, version, flexible)
        if info.nullable_in(version):
            strategy = st.none() | strategy
        kwargs[info.name] = strategy
    if flexible:
        kwargs["unknown_tagged_fields"] = st.dictionaries(
            UNKNOWN_TAGS, st.binary(max_size=6), max_size=2
        )
    return st.builds(cls, **kwargs)


def iter_cases() -> Iterator[tuple[type[Message], int]]:
    for cls in top_level_classes():
        for v in versions(cls):
            yield cls, v
