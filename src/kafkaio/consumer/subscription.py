"""What the consumer reads: subscription or manual assignment, positions, paused partitions."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kafkaio.cluster import TopicPartition
from kafkaio.errors import IllegalStateError

__all__ = ["PartitionState", "SubscriptionState", "SubscriptionType"]


class SubscriptionType(enum.Enum):
    """How the consumer got its partitions."""

    NONE = "none"
    AUTO_TOPICS = "topics"
    AUTO_PATTERN = "pattern"
    USER_ASSIGNED = "assigned"


@dataclass
class PartitionState:
    """Per assigned partition: where to read next and what the last fetch said."""

    position: int | None = None
    """Offset of the next record to return (``None``: not known yet)."""
    position_epoch: int | None = None
    """Leader epoch of the last returned record (committed with the offset)."""
    paused: bool = False
    reset_strategy: str | None = None
    """``earliest``/``latest``: the position must be looked up before fetching."""
    highwater: int | None = None
    last_stable_offset: int | None = None
    log_start_offset: int | None = None
    preferred_read_replica: int | None = None
    preferred_replica_expiry: float = 0.0
    backoff_until: float = 0.0
    """Do not fetch before this loop time (after a partition error)."""


class SubscriptionState:
    """The partitions the consumer reads and their positions.

    Every change (assignment, seek, pause, reset) bumps :attr:`epoch` and calls the change
    listeners, so fetch loops drop data fetched for an older state.
    """

    def __init__(self) -> None:
        self.type = SubscriptionType.NONE
        self.topics: frozenset[str] = frozenset()
        self.pattern: re.Pattern[str] | None = None
        self._assignment: dict[TopicPartition, PartitionState] = {}
        self.epoch = 0
        self._listeners: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ change notification

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every change."""
        self._listeners.append(listener)

    def changed(self) -> None:
        """Record a change and notify the listeners."""
        self.epoch += 1
        for listener in list(self._listeners):
            listener()

    # ------------------------------------------------------------------ subscription

    def _set_type(self, kind: SubscriptionType) -> None:
        if self.type not in (SubscriptionType.NONE, kind):
            raise IllegalStateError(
                "subscribe() and assign() cannot be mixed: call unsubscribe() first"
            )
        self.type = kind

    def subscribe(self, topics: Iterable[str]) -> None:
        """Subscribe to exactly ``topics`` (partitions come from the group)."""
        self._set_type(SubscriptionType.AUTO_TOPICS)
        self.topics = frozenset(topics)
        self.pattern = None
        self.changed()

    def subscribe_pattern(self, pattern: re.Pattern[str]) -> None:
        """Subscribe to every topic matching ``pattern``."""
        self._set_type(SubscriptionType.AUTO_PATTERN)
        self.pattern = pattern
        self.topics = frozenset()
        self.changed()

    def set_pattern_matches(self, topics: Iterable[str]) -> bool:
        """Update the topics a pattern matches; whether they changed."""
        new = frozenset(topics)
        if new == self.topics:
            return False
        self.topics = new
        self.changed()
        return True

    def assign_from_user(self, partitions: Iterable[TopicPartition]) -> None:
        """Manual assignment: exactly ``partitions`` (positions of kept ones are kept)."""
        self._set_type(SubscriptionType.USER_ASSIGNED)
        self._replace(partitions)
        self.topics = frozenset(tp.topic for tp in self._assignment)

    def assign_from_group(self, partitions: Iterable[TopicPartition]) -> None:
        """The group's assignment (positions of kept partitions are kept)."""
        if self.type not in (SubscriptionType.AUTO_TOPICS, SubscriptionType.AUTO_PATTERN):
            raise IllegalStateError("the consumer is not subscribed")
        self._replace(partitions)

    def _replace(self, partitions: Iterable[TopicPartition]) -> None:
        new: dict[TopicPartition, PartitionState] = {}
        for tp in partitions:
            new[tp] = self._assignment.get(tp) or PartitionState()
        self._assignment = new
        self.changed()

    def unsubscribe(self) -> None:
        """Forget the subscription and the assignment."""
        self.type = SubscriptionType.NONE
        self.topics = frozenset()
        self.pattern = None
        self._assignment = {}
        self.changed()

    @property
    def subscribed(self) -> bool:
        """Whether partitions come from a group subscription."""
        return self.type in (SubscriptionType.AUTO_TOPICS, SubscriptionType.AUTO_PATTERN)

    # ------------------------------------------------------------------ assignment

    def assignment(self) -> frozenset[TopicPartition]:
        """The assigned partitions."""
        return frozenset(self._assignment)

    def is_assigned(self, tp: TopicPartition) -> bool:
        """Whether ``tp`` is assigned."""
        return tp in self._assignment

    def state(self, tp: TopicPartition) -> PartitionState:
        """The state of an assigned partition; :class:`IllegalStateError` otherwise."""
        try:
            return self._assignment[tp]
        except KeyError:
            raise IllegalStateError(f"partition {tp} is not assigned to this consumer") from None

    def items(self) -> list[tuple[TopicPartition, PartitionState]]:
        """Assigned partitions with their states."""
        return list(self._assignment.items())

    # ------------------------------------------------------------------ positions

    def seek(self, tp: TopicPartition, offset: int, epoch: int | None = None) -> None:
        """Read ``tp`` from ``offset`` next."""
        state = self.state(tp)
        state.position = offset
        state.position_epoch = epoch
        state.reset_strategy = None
        self.changed()

    def request_reset(self, tp: TopicPartition, strategy: str) -> None:
        """Look the position up by ``strategy`` (earliest/latest) before fetching."""
        state = self.state(tp)
        state.position = None
        state.reset_strategy = strategy
        self.changed()

    def missing_positions(self) -> list[TopicPartition]:
        """Partitions with neither a position nor a pending reset."""
        return [
            tp
            for tp, s in self._assignment.items()
            if s.position is None and s.reset_strategy is None
        ]

    def awaiting_reset(self) -> dict[TopicPartition, str]:
        """Partitions waiting for a reset, with their strategy."""
        return {
            tp: s.reset_strategy
            for tp, s in self._assignment.items()
            if s.reset_strategy is not None and s.position is None
        }

    def all_consumed(self) -> dict[TopicPartition, tuple[int, int | None]]:
        """Position and epoch of every partition that has a position."""
        return {
            tp: (s.position, s.position_epoch)
            for tp, s in self._assignment.items()
            if s.position is not None
        }

    # ------------------------------------------------------------------ pause

    def pause(self, tp: TopicPartition) -> None:
        """Stop returning records of ``tp``."""
        self.state(tp).paused = True
        self.changed()

    def resume(self, tp: TopicPartition) -> None:
        """Return records of ``tp`` again."""
        self.state(tp).paused = False
        self.changed()

    def paused(self) -> frozenset[TopicPartition]:
        """The paused partitions."""
        return frozenset(tp for tp, s in self._assignment.items() if s.paused)

    def is_fetchable(self, tp: TopicPartition) -> bool:
        """Assigned, not paused, with a known position."""
        s = self._assignment.get(tp)
        return s is not None and not s.paused and s.position is not None
