"""Error-code lookup: from a code in a response to the class to raise."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kafkaio.errors._base import BrokerResponseError, unknown_error_class
from kafkaio.errors._codes import BY_CODE

BROKER_ERRORS: Mapping[int, type[BrokerResponseError]] = MappingProxyType(BY_CODE)
"""Every error code of the pinned Kafka's table (0, NONE, excluded) and its class."""


def for_code(code: int) -> type[BrokerResponseError]:
    """The exception class for Kafka error ``code``.

    A code missing from the table (a newer broker) gives an
    :class:`~kafkaio.errors.UnknownBrokerError` subclass whose ``errno`` is ``code``.
    Code 0 means "no error" and has no class: :class:`ValueError`.
    """
    if not isinstance(code, int) or isinstance(code, bool):
        raise TypeError(f"error code must be an int, not {code!r}")
    cls = BY_CODE.get(code)
    if cls is not None:
        return cls
    if code == 0:
        raise ValueError("error code 0 (NONE) means success and has no exception class")
    return unknown_error_class(code)


def raise_for_code(code: int, message: str | None = None) -> None:
    """Raise the error for ``code`` with ``message`` as its description; do nothing for 0."""
    if code == 0 and not isinstance(code, bool):
        return
    raise for_code(code)(message)
