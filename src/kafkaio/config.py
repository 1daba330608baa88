"""Validation helpers shared by every kafkaio component that takes configuration.

Each helper raises at construction time with a message naming the option, so a typo or a
wrong type never surfaces later as a confusing failure deep inside the client:

* an unknown option name raises :class:`TypeError` (like an unexpected keyword argument),
  with close matches suggested;
* a value of the wrong type raises :class:`TypeError`;
* a value of the right type but out of range raises :class:`ValueError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from typing import Any

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_optional_str",
    "check_str",
    "reject_unknown_options",
]


def reject_unknown_options(owner: str, given: Iterable[str], known: Collection[str]) -> None:
    """Raise :class:`TypeError` naming the first option of ``given`` not in ``known``."""
    for name in given:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{owner} got an unknown option {name!r}{hint}")


def _type_name(value: object) -> str:
    return type(value).__name__


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"option {name!r} must be an int, got {_type_name(value)} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"option {name!r} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"option {name!r} must be <= {maximum}, got {value!r}")
    return value


def check_float(
    name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    """Return ``value`` as a float if it is an int or float within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"option {name!r} must be a number, got {_type_name(value)} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"option {name!r} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"option {name!r} must be <= {maximum}, got {value!r}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``."""
    if not isinstance(value, bool):
        raise TypeError(f"option {name!r} must be a bool, got {_type_name(value)} {value!r}")
    return value


def check_str(name: str, value: Any, *, allow_empty: bool = True) -> str:
    """Return ``value`` if it is a ``str`` (non-empty unless ``allow_empty``)."""
    if not isinstance(value, str):
        raise TypeError(f"option {name!r} must be a str, got {_type_name(value)} {value!r}")
    if not allow_empty and not value:
        raise ValueError(f"option {name!r} must not be empty")
    return value


def check_optional_str(name: str, value: Any) -> str | None:
    """Return ``value`` if it is a ``str`` or ``None``."""
    if value is None:
        return None
    return check_str(name, value)


def check_choice(name: str, value: Any, choices: Mapping[str, Any] | Collection[str]) -> str:
    """Return ``value`` (upper-cased) if it names one of ``choices`` (case-insensitive)."""
    if not isinstance(value, str):
        raise TypeError(f"option {name!r} must be a str, got {_type_name(value)} {value!r}")
    upper = value.upper()
    if upper not in choices:
        allowed = ", ".join(sorted(choices))
        raise ValueError(f"option {name!r} must be one of {allowed}; got {value!r}")
    return upper
