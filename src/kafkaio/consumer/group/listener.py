"""The rebalance listener: application callbacks around partition ownership changes."""

from __future__ import annotations

from kafkaio.cluster import TopicPartition

__all__ = ["ConsumerRebalanceListener"]


class ConsumerRebalanceListener:
    """Subclass and override the coroutines you need; the consumer awaits them.

    Callbacks never run concurrently. During a rebalance ``on_partitions_revoked`` runs
    before ``on_partitions_assigned``; with auto-commit the revoked partitions' positions
    are committed before ``on_partitions_revoked`` is called. Heartbeats continue while a
    callback runs (up to ``rebalance_timeout_ms``); polls return no records of the
    partitions being revoked or assigned until their callback has returned.
    """

    async def on_partitions_revoked(self, revoked: frozenset[TopicPartition]) -> None:
        """The consumer gives up ``revoked`` (still owned: committing them works)."""

    async def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
        """The consumer now owns ``assigned`` (with cooperative rebalancing: the new ones)."""

    async def on_partitions_lost(self, lost: frozenset[TopicPartition]) -> None:
        """``lost`` already belong to other members (the session expired or the generation
        was fenced): committing them fails. By default calls :meth:`on_partitions_revoked`."""
        await self.on_partitions_revoked(lost)
