"""Rebalance listeners with blocking callbacks, adapted to the asyncio consumer."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import ConsumerRebalanceListener as AsyncRebalanceListener

__all__ = ["ConsumerRebalanceListener", "ListenerAdapter"]

log = logging.getLogger("kafkaio.sync.listener")


class ConsumerRebalanceListener:
    """Subclass and override the methods you need; :class:`kafkaio.sync.Consumer` calls them.

    Same contract as the asyncio :class:`kafkaio.ConsumerRebalanceListener`, with plain
    methods: callbacks never run concurrently, ``on_partitions_revoked`` runs before
    ``on_partitions_assigned``, and the rebalance waits for each callback (heartbeats go
    on meanwhile, up to ``rebalance_timeout_ms``). They run on the consumer's listener
    thread, not on its event loop, so they may call the consumer's blocking methods
    (``commit``, ``seek``, ``position``, ``committed``...), but not :meth:`close`.
    """

    def on_partitions_revoked(self, revoked: frozenset[TopicPartition]) -> None:
        """The consumer gives up ``revoked`` (still owned: committing them works)."""

    def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
        """The consumer now owns ``assigned`` (with cooperative rebalancing: the new ones)."""

    def on_partitions_lost(self, lost: frozenset[TopicPartition]) -> None:
        """``lost`` already belong to other members: committing them fails. By default
        calls :meth:`on_partitions_revoked`."""
        self.on_partitions_revoked(lost)


class ListenerAdapter(AsyncRebalanceListener):
    """The asyncio listener the consumer awaits: each callback runs the blocking one on
    ``executor`` (one thread) while the event loop stays free to serve the calls the
    callback makes into the consumer."""

    def __init__(self, listener: ConsumerRebalanceListener, executor: ThreadPoolExecutor) -> None:
        self.listener = listener
        self._executor = executor

    async def _run(self, name: str, partitions: frozenset[TopicPartition]) -> None:
        callback = getattr(self.listener, name)
        log.debug("running %s(%s) of %r", name, sorted(partitions), self.listener)
        await asyncio.get_running_loop().run_in_executor(self._executor, callback, partitions)

    async def on_partitions_revoked(self, revoked: frozenset[TopicPartition]) -> None:
        await self._run("on_partitions_revoked", revoked)

    async def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
        await self._run("on_partitions_assigned", assigned)

    async def on_partitions_lost(self, lost: frozenset[TopicPartition]) -> None:
        await self._run("on_partitions_lost", lost)
