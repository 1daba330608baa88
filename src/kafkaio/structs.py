"""Small public value types shared by the consumer and the admin client."""

from __future__ import annotations

from typing import NamedTuple


class OffsetAndMetadata(NamedTuple):
    """A committed offset: the next offset to read, its metadata and leader epoch."""

    offset: int
    metadata: str | None = ""
    leader_epoch: int | None = None


__all__ = ["OffsetAndMetadata"]
