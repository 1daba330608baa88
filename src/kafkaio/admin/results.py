"""Per-item results: every topic, group, partition or resource carries its own error.

Admin operations return a :class:`ResultMap` keyed by the item asked for (in the order
asked). One bad item never fails the whole call; :meth:`ResultMap.raise_on_error` turns
the first failure into an exception for callers who prefer that.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol, TypeVar

from kafkaio.errors import (
    BrokerResponseError,
    GroupIdNotFoundError,
    KafkaError,
    TransactionalIdNotFoundError,
    UnknownTopicIdError,
    UnknownTopicOrPartitionError,
    for_code,
)

__all__ = ["HasError", "ResultMap", "broker_error", "final", "rejected"]

K = TypeVar("K", bound=Hashable)


class HasError(Protocol):
    """Anything with an ``error`` attribute (``None`` on success)."""

    @property
    def error(self) -> KafkaError | None: ...


R = TypeVar("R", bound=HasError)


class ResultMap(dict[K, R]):
    """Results of one admin operation, one per item, keyed by item in request order."""

    @property
    def errors(self) -> dict[K, KafkaError]:
        """The items that failed and their errors."""
        return {k: r.error for k, r in self.items() if r.error is not None}

    @property
    def succeeded(self) -> dict[K, R]:
        """The items that succeeded."""
        return {k: r for k, r in self.items() if r.error is None}

    @property
    def ok(self) -> bool:
        """Whether every item succeeded."""
        return all(r.error is None for r in self.values())

    def raise_on_error(self) -> ResultMap[K, R]:
        """Raise the first item's error if any item failed; otherwise return ``self``.

        The exception is the failed item's own (e.g. ``TopicAlreadyExistsError``); when
        several items failed, the others are listed in a note on it.
        """
        errors = list(self.errors.items())
        if not errors:
            return self
        _first_key, first = errors[0]
        if len(errors) > 1 and hasattr(first, "add_note"):
            others = "; ".join(f"{k!r}: {e}" for k, e in errors[1:])
            first.add_note(f"{len(errors) - 1} more item(s) failed: {others}")
        raise first

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


def broker_error(
    code: int, message: str | None, item: str, *, missing_is_final: bool = True
) -> BrokerResponseError | None:
    """The error for a per-item ``code`` (``None`` for 0), described as ``"<item>: <why>"``.

    "Does not exist" answers are final (not retried) unless ``missing_is_final`` is off,
    as for partition leaders that may not have caught up with a new topic yet.
    """
    if code == 0:
        return None
    cls = for_code(code)
    error = cls(f"{item}: {message or cls.message}")
    return final(error) if missing_is_final else error


def rejected(cls: type[BrokerResponseError], item: str, reason: str) -> BrokerResponseError:
    """A per-item error for input refused before sending (the item was never sent)."""
    return cls(f"{item}: {reason} (rejected by the client, not sent)")


_DOES_NOT_EXIST = (
    UnknownTopicOrPartitionError,
    UnknownTopicIdError,
    GroupIdNotFoundError,
    TransactionalIdNotFoundError,
)


def final(error: BrokerResponseError | None) -> BrokerResponseError | None:
    """Mark a "does not exist" answer as not worth retrying (it is the item's result).

    These codes are retriable for clients that wait for metadata to catch up; for an
    admin operation naming a missing topic or group they are the answer.
    """
    if isinstance(error, _DOES_NOT_EXIST):
        error.retriable = False
    return error
