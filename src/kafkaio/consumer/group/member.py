"""What the consumer needs from its group membership, whichever rebalance protocol runs it.

:class:`GroupMember` holds what both protocols share: committing positions under the
member's current identity, giving partitions up (commit, then the listener, then the
fetcher drops their buffers) and the ``max_poll_interval_ms`` clock. The classic protocol
(:mod:`~kafkaio.consumer.group.coordinator`) and the KIP-848 consumer protocol
(:mod:`~kafkaio.consumer.group.consumer_protocol`) subclass it.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.consumer.group.listener import ConsumerRebalanceListener
from kafkaio.consumer.offsets import OffsetsClient
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.record import OffsetAndMetadata
from kafkaio.consumer.subscription import SubscriptionState
from kafkaio.errors import KafkaError

__all__ = ["GroupMember"]

log = logging.getLogger("kafkaio.consumer.group")


class GroupMember(abc.ABC):
    """Keeps a subscribed consumer in its group and its assignment in ``subscriptions``."""

    def __init__(
        self,
        client: ClusterClient,
        subscriptions: SubscriptionState,
        offsets: OffsetsClient,
        options: ConsumerOptions,
        *,
        listener: Callable[[], ConsumerRebalanceListener | None],
        on_revoked: Callable[[frozenset[TopicPartition]], None],
        on_released: Callable[[], None] | None = None,
    ) -> None:
        assert options.group_id is not None
        self.group_id: str = options.group_id
        self._client = client
        self._subs = subscriptions
        self._offsets = offsets
        self._options = options
        self._listener = listener
        self._on_revoked = on_revoked
        self._on_released = on_released
        self.member_id = ""
        self.generation_id = -1
        """The classic generation, or the KIP-848 member epoch (``-1``: not in the group)."""
        self.rebalances = 0
        self.fatal_error: KafkaError | None = None
        self.withheld: frozenset[TopicPartition] = frozenset()
        """Partitions whose records polls do not return now: being revoked (their positions
        are being committed) or waiting for ``on_partitions_assigned`` (which may seek)."""
        self._closed = False
        self._backoff = options.retry_backoff_ms / 1000
        self._last_poll = 0.0
        self._poll_expired = False
        self._last_committed: dict[TopicPartition, tuple[int, int | None]] = {}
        self._callback_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ protocol specific

    @abc.abstractmethod
    def start(self) -> None:
        """Start the background tasks (the consumer is bootstrapped)."""

    @abc.abstractmethod
    async def close(self, *, leave: bool = True) -> None:
        """Commit (auto-commit), revoke through the listener, leave the group, stop tasks."""

    @abc.abstractmethod
    def unsubscribed(
        self, owned: frozenset[TopicPartition], offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        """The application unsubscribed: commit (auto-commit), revoke and leave, in the
        background; ``offsets`` are the positions before the subscription was dropped."""

    @abc.abstractmethod
    def request_rejoin(self, reason: str) -> None:
        """The subscription changed (or a rebalance is needed): tell the group soon."""

    @abc.abstractmethod
    async def on_poll(self) -> None:
        """The application asked for records (for ``max_poll_interval_ms``)."""

    @property
    @abc.abstractmethod
    def needs_join(self) -> bool:
        """Whether the member has no current assignment from the group."""

    @abc.abstractmethod
    async def _commit_offsets(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        """Send one OffsetCommit under the member's identity; membership errors raise."""

    # ------------------------------------------------------------------ commits

    @property
    def _auto_commit(self) -> bool:
        return self._options.enable_auto_commit

    def positions_to_commit(
        self, partitions: frozenset[TopicPartition] | None = None
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        """Current positions (the next offsets to read) of assigned partitions."""
        return {
            tp: OffsetAndMetadata(pos, "", epoch)
            for tp, (pos, epoch) in self._subs.all_consumed().items()
            if partitions is None or tp in partitions
        }

    async def commit_positions(self, partitions: frozenset[TopicPartition] | None = None) -> None:
        """Commit the current positions (only those that changed since the last commit)."""
        offsets = {
            tp: om
            for tp, om in self.positions_to_commit(partitions).items()
            if self._last_committed.get(tp) != (om.offset, om.leader_epoch)
        }
        await self.commit(offsets)

    async def commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        """Commit ``offsets`` under the member's current identity; membership errors are
        raised (after the protocol reacted to them), never dropped."""
        if not offsets:
            return
        await self._commit_offsets(offsets)
        for tp, om in offsets.items():
            self._last_committed[tp] = (om.offset, om.leader_epoch)

    # ------------------------------------------------------------------ giving partitions up

    async def _revoke(self, partitions: frozenset[TopicPartition], *, lost: bool) -> None:
        """Commit (auto-commit, unless ``lost``), run the listener, drop fetched data.

        The caller removes ``partitions`` from the assignment afterwards; until then the
        consumer returns none of their records, so the committed positions stay exact.
        """
        listener = self._listener()
        self.withheld = self.withheld | partitions
        try:
            if not lost and self._auto_commit and self.generation_id >= 0:
                try:
                    await self.commit_positions(partitions)
                except KafkaError as exc:
                    log.warning(
                        "group %r: committing revoked partitions failed: %s", self.group_id, exc
                    )
            if listener is not None:
                async with self._callback_lock:
                    if lost:
                        await listener.on_partitions_lost(partitions)
                    else:
                        await listener.on_partitions_revoked(partitions)
        finally:
            self.withheld = self.withheld - partitions
            for tp in partitions:
                self._last_committed.pop(tp, None)
            self._on_revoked(partitions)

    async def _assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """Run ``on_partitions_assigned``; polls return none of their records meanwhile."""
        listener = self._listener()
        if listener is None:
            return
        self.withheld = self.withheld | partitions
        try:
            async with self._callback_lock:
                await listener.on_partitions_assigned(partitions)
        finally:
            self.withheld = self.withheld - partitions
            if self._on_released is not None:
                self._on_released()  # a poll may be waiting for these records

    # ------------------------------------------------------------------ helpers

    def _poll_interval_exceeded(self, now: float) -> bool:
        """Whether the application has not polled for ``max_poll_interval_ms`` (logged)."""
        if now - self._last_poll <= self._options.max_poll_interval_ms / 1000:
            return False
        log.warning(
            "group %r: no poll for more than max_poll_interval_ms (%d ms): leaving the"
            " group; the next poll rejoins",
            self.group_id,
            self._options.max_poll_interval_ms,
        )
        return True

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
