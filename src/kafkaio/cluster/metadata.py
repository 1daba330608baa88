"""The client's view of the cluster: brokers, topics, partitions, controller, cluster id.

:class:`ClusterMetadata` is filled from Metadata responses. It enforces two rules that
clients learn the hard way:

* never accept partition metadata whose leader epoch is older than the one already held
  (KIP-320): a lagging broker would otherwise flip the client back to a stale leader;
* a topic re-created under the same name has a new topic id: its partitions are replaced
  wholesale and the name is reported in :attr:`MetadataUpdate.recreated_topics`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple
from uuid import UUID

from kafkaio.protocol.messages import MetadataResponse

__all__ = [
    "BrokerMetadata",
    "ClusterMetadata",
    "MetadataUpdate",
    "PartitionMetadata",
    "TopicMetadata",
    "TopicPartition",
]

log = logging.getLogger("kafkaio.cluster")

_ZERO_UUID = UUID(int=0)
_NONE = 0
_LEADER_NOT_AVAILABLE = 5
_UNKNOWN_TOPIC_OR_PARTITION = 3
_INVALID_TOPIC = 17
_TOPIC_AUTHORIZATION_FAILED = 29


class TopicPartition(NamedTuple):
    """A topic name and a partition number."""

    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class BrokerMetadata:
    """A broker as Metadata (or FindCoordinator) describes it."""

    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass(frozen=True, slots=True)
class PartitionMetadata:
    """One partition: its leader (``None`` when there is none), epoch and replicas."""

    topic: str
    partition: int
    leader: int | None
    leader_epoch: int
    """``-1`` when the broker did not report one (Metadata < v7)."""
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    offline_replicas: tuple[int, ...] = ()
    error_code: int = 0

    @property
    def tp(self) -> TopicPartition:
        """The partition's :class:`TopicPartition`."""
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class TopicMetadata:
    """One topic and its partitions."""

    name: str
    topic_id: UUID | None
    is_internal: bool
    partitions: Mapping[int, PartitionMetadata]


@dataclass(frozen=True)
class MetadataUpdate:
    """What changed in one accepted Metadata response (passed to listeners)."""

    brokers_changed: bool
    leaders_changed: frozenset[TopicPartition]
    """Partitions whose leader or leader epoch changed (new partitions included)."""
    recreated_topics: frozenset[str]
    """Topics whose topic id changed: deleted and re-created, reset any per-topic state."""
    stale_partitions_ignored: frozenset[TopicPartition]
    """Partitions whose reported leader epoch was older than the one held (kept as was)."""


@dataclass
class _Errors:
    unauthorized: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    unavailable: set[str] = field(default_factory=set)


Listener = Callable[["ClusterMetadata", MetadataUpdate], None]


class ClusterMetadata:
    """Brokers, topics and partitions known to the client; updated from Metadata responses.

    Reads are cheap and synchronous; the cluster client replaces the contents after each
    successful refresh with :meth:`update`.
    """

    def __init__(self) -> None:
        self._brokers: dict[int, BrokerMetadata] = {}
        self._extra_brokers: dict[int, BrokerMetadata] = {}
        self._topics: dict[str, TopicMetadata] = {}
        self._names_by_id: dict[UUID, str] = {}
        # Highest leader epoch ever accepted per partition, with the topic id it belonged
        # to: survives a topic dropping out of the tracked set (KIP-320).
        self._epochs: dict[TopicPartition, tuple[UUID | None, int]] = {}
        self._errors = _Errors()
        self._controller_id: int | None = None
        self._cluster_id: str | None = None
        self._listeners: list[Listener] = []
        self.last_successful_update: float | None = None
        """``time.time()`` of the last accepted response."""
        self.last_failed_update: float | None = None
        self.last_error: BaseException | None = None
        """Why the last refresh failed (``None`` after a success)."""

    # ------------------------------------------------------------------ brokers

    def brokers(self) -> list[BrokerMetadata]:
        """Every broker of the last accepted response, by node id."""
        return [self._brokers[k] for k in sorted(self._brokers)]

    def broker(self, node_id: int) -> BrokerMetadata | None:
        """The broker with ``node_id``: from Metadata, else as FindCoordinator described it."""
        return self._brokers.get(node_id) or self._extra_brokers.get(node_id)

    def add_coordinator_broker(self, broker: BrokerMetadata) -> None:
        """Remember a coordinator's address until Metadata describes that broker itself."""
        if broker.node_id not in self._brokers:
            self._extra_brokers[broker.node_id] = broker

    @property
    def controller_id(self) -> int | None:
        """Node id reported as controller (in KRaft: a broker that forwards to it)."""
        return self._controller_id

    @property
    def cluster_id(self) -> str | None:
        """The cluster id (Metadata v2+)."""
        return self._cluster_id

    # ------------------------------------------------------------------ topics

    def topics(self, *, exclude_internal: bool = False) -> set[str]:
        """Names of the topics with metadata (``exclude_internal`` drops ``__consumer_offsets``...)."""
        return {
            name
            for name, topic in self._topics.items()
            if not (exclude_internal and topic.is_internal)
        }

    def topic(self, name: str) -> TopicMetadata | None:
        """Metadata of one topic, if known."""
        return self._topics.get(name)

    def topic_id(self, name: str) -> UUID | None:
        """The topic's id (Metadata v10+), if known."""
        topic = self._topics.get(name)
        return topic.topic_id if topic is not None else None

    def topic_name(self, topic_id: UUID) -> str | None:
        """The name of the topic with ``topic_id``, if known."""
        return self._names_by_id.get(topic_id)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        """Partition numbers of ``topic``, or ``None`` when the topic is unknown."""
        meta = self._topics.get(topic)
        return set(meta.partitions) if meta is not None else None

    def available_partitions_for_topic(self, topic: str) -> set[int] | None:
        """Partitions of ``topic`` that currently have a leader."""
        meta = self._topics.get(topic)
        if meta is None:
            return None
        return {p for p, part in meta.partitions.items() if part.leader is not None}

    def partition(self, tp: TopicPartition) -> PartitionMetadata | None:
        """Metadata of one partition, if known."""
        meta = self._topics.get(tp.topic)
        return meta.partitions.get(tp.partition) if meta is not None else None

    def leader_for_partition(self, tp: TopicPartition) -> int | None:
        """Node id of the partition's leader; ``None`` if unknown or leaderless."""
        part = self.partition(tp)
        return part.leader if part is not None else None

    def leader_epoch(self, tp: TopicPartition) -> int:
        """Leader epoch of the partition (``-1`` if unknown)."""
        part = self.partition(tp)
        return part.leader_epoch if part is not None else -1

    def partitions_for_broker(self, node_id: int) -> set[TopicPartition]:
        """Partitions led by ``node_id``."""
        return {
            TopicPartition(name, p)
            for name, meta in self._topics.items()
            for p, part in meta.partitions.items()
            if part.leader == node_id
        }

    @property
    def unauthorized_topics(self) -> frozenset[str]:
        """Topics the last response refused with TOPIC_AUTHORIZATION_FAILED."""
        return frozenset(self._errors.unauthorized)

    @property
    def invalid_topics(self) -> frozenset[str]:
        """Topic names the last response rejected as invalid."""
        return frozenset(self._errors.invalid)

    @property
    def unknown_topics(self) -> frozenset[str]:
        """Topics the last response reported as not existing."""
        return frozenset(self._errors.unknown)

    @property
    def unavailable_topics(self) -> frozenset[str]:
        """Topics that exist but have no usable metadata yet (LEADER_NOT_AVAILABLE...)."""
        return frozenset(self._errors.unavailable)

    # ------------------------------------------------------------------ updating

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(self, update)`` after each accepted response."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    def failed_update(self, error: BaseException) -> None:
        """Record a refresh that could not get any response."""
        self.last_failed_update = time.time()
        self.last_error = error

    def update(self, response: MetadataResponse) -> MetadataUpdate:
        """Replace the view with ``response`` (partitions with older epochs are kept).

        Topics absent from ``response`` are dropped: the response covers exactly the
        topics the client tracks. Returns what changed and notifies the listeners.
        """
        brokers = {
            b.node_id: BrokerMetadata(b.node_id, b.host, b.port, b.rack) for b in response.brokers
        }
        brokers_changed = brokers != self._brokers
        errors = _Errors()
        topics: dict[str, TopicMetadata] = {}
        leaders_changed: set[TopicPartition] = set()
        recreated: set[str] = set()
        stale: set[TopicPartition] = set()
        for t in response.topics:
            name = t.name
            if not name:
                continue  # a topic-id lookup without a name: nothing the client can key on
            code = t.error_code
            if code == _TOPIC_AUTHORIZATION_FAILED:
                errors.unauthorized.add(name)
                continue
            if code == _INVALID_TOPIC:
                errors.invalid.add(name)
                continue
            if code == _UNKNOWN_TOPIC_OR_PARTITION:
                errors.unknown.add(name)
                continue
            if code != _NONE:
                # LEADER_NOT_AVAILABLE while a topic is being created, and the like.
                errors.unavailable.add(name)
                if code != _LEADER_NOT_AVAILABLE:
                    log.warning("metadata for topic %r carries error code %d", name, code)
                continue
            topic_id = t.topic_id if t.topic_id != _ZERO_UUID else None
            old = self._topics.get(name)
            if old is not None and _recreated(old.topic_id, topic_id):
                recreated.add(name)
                log.info(
                    "topic %r was re-created (topic id %s -> %s)", name, old.topic_id, topic_id
                )
            partitions: dict[int, PartitionMetadata] = {}
            for p in t.partitions:
                new = PartitionMetadata(
                    topic=name,
                    partition=p.partition_index,
                    leader=p.leader_id if p.leader_id >= 0 else None,
                    leader_epoch=p.leader_epoch,
                    replicas=tuple(p.replica_nodes),
                    isr=tuple(p.isr_nodes),
                    offline_replicas=tuple(p.offline_replicas),
                    error_code=p.error_code,
                )
                tp = TopicPartition(name, p.partition_index)
                held = self._epochs.get(tp)
                if (
                    held is not None
                    and not _recreated(held[0], topic_id)
                    and name not in recreated
                    and 0 <= new.leader_epoch < held[1]
                ):
                    stale.add(tp)
                    previous = old.partitions.get(p.partition_index) if old is not None else None
                    if previous is None:
                        # Keep the partition visible (the partition count must stay right)
                        # but without a leader until a fresh enough answer arrives.
                        previous = PartitionMetadata(
                            name, p.partition_index, None, held[1], new.replicas, (), ()
                        )
                    partitions[p.partition_index] = previous
                    log.debug(
                        "ignoring metadata for %s: leader epoch %d is older than %d",
                        tp,
                        new.leader_epoch,
                        held[1],
                    )
                    continue
                previous = old.partitions.get(p.partition_index) if old is not None else None
                if (
                    previous is None
                    or previous.leader != new.leader
                    or previous.leader_epoch != new.leader_epoch
                ):
                    leaders_changed.add(tp)
                if new.leader_epoch >= 0:
                    self._epochs[tp] = (topic_id, new.leader_epoch)
                elif name in recreated:
                    self._epochs.pop(tp, None)
                partitions[p.partition_index] = new
            topics[name] = TopicMetadata(name, topic_id, t.is_internal, partitions)
        self._brokers = brokers
        for node_id in brokers:
            self._extra_brokers.pop(node_id, None)
        self._topics = topics
        self._names_by_id = {t.topic_id: n for n, t in topics.items() if t.topic_id is not None}
        self._errors = errors
        self._controller_id = response.controller_id if response.controller_id >= 0 else None
        if response.cluster_id is not None:
            self._cluster_id = response.cluster_id
        self.last_successful_update = time.time()
        self.last_error = None
        change = MetadataUpdate(
            brokers_changed=brokers_changed,
            leaders_changed=frozenset(leaders_changed),
            recreated_topics=frozenset(recreated),
            stale_partitions_ignored=frozenset(stale),
        )
        for listener in list(self._listeners):
            try:
                listener(self, change)
            except Exception:
                log.exception("metadata listener %r failed", listener)
        return change

    def apply_leader_hint(
        self,
        tp: TopicPartition,
        leader: int,
        leader_epoch: int,
        brokers: Iterable[BrokerMetadata] = (),
    ) -> bool:
        """Take a partition's new leader from an error response (KIP-951: Produce v10+ and
        Fetch v16+ name it with NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH), with the
        endpoints of brokers the view does not know yet; True when the view changed.

        Only a newer leader epoch is taken, so a late hint never undoes a newer view.
        Listeners are told as for a Metadata response.
        """
        topic = self._topics.get(tp.topic)
        current = topic.partitions.get(tp.partition) if topic is not None else None
        if topic is None or current is None or leader < 0 or leader_epoch < 0:
            return False
        held = self._epochs.get(tp)
        if leader_epoch <= current.leader_epoch or (held is not None and leader_epoch <= held[1]):
            return False
        added = {b.node_id: b for b in brokers if b.node_id not in self._brokers}
        if leader not in self._brokers and leader not in added:
            return False  # no address for the new leader: wait for a Metadata response
        if added:
            self._brokers = {**self._brokers, **added}
        partitions = dict(topic.partitions)
        partitions[tp.partition] = replace(current, leader=leader, leader_epoch=leader_epoch)
        self._topics[tp.topic] = replace(topic, partitions=partitions)
        self._epochs[tp] = (topic.topic_id, leader_epoch)
        log.debug("%s: leader %d at epoch %d (from a response's hint)", tp, leader, leader_epoch)
        change = MetadataUpdate(
            brokers_changed=bool(added),
            leaders_changed=frozenset({tp}),
            recreated_topics=frozenset(),
            stale_partitions_ignored=frozenset(),
        )
        for listener in list(self._listeners):
            try:
                listener(self, change)
            except Exception:
                log.exception("metadata listener %r failed", listener)
        return True

    def with_topics(self, names: Iterable[str]) -> dict[str, TopicMetadata]:
        """The known metadata of ``names`` (unknown ones omitted)."""
        return {n: self._topics[n] for n in names if n in self._topics}

    def __repr__(self) -> str:
        return (
            f"<ClusterMetadata cluster_id={self._cluster_id} brokers={sorted(self._brokers)}"
            f" topics={len(self._topics)} controller={self._controller_id}>"
        )


def _recreated(old_id: UUID | None, new_id: UUID | None) -> bool:
    return old_id is not None and new_id is not None and old_id != new_id
