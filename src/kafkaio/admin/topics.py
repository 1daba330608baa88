"""Topics: create, delete (by name or id), list, describe, create partitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from kafkaio.admin._core import AdminCore
from kafkaio.admin.configs import ConfigEntry
from kafkaio.admin.results import ResultMap, broker_error, final, rejected
from kafkaio.admin.types import AclOperation, ConfigSource, authorized_operations
from kafkaio.admin.validation import (
    TOPIC_CONFIG_KEYS,
    assignment_problem,
    check_int,
    config_value,
    no_duplicates,
    topic_name_problem,
)
from kafkaio.errors import (
    BrokerResponseError,
    InvalidConfigError,
    InvalidPartitionsError,
    InvalidReplicaAssignmentError,
    InvalidReplicationFactorError,
    InvalidTopicError,
    KafkaError,
    TopicAlreadyExistsError,
    UnsupportedVersionError,
)
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreateTopicsRequest,
    CreateTopicsResponse,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
)
from kafkaio.protocol.messages.create_partitions import (
    CreatePartitionsAssignment,
    CreatePartitionsTopic,
)
from kafkaio.protocol.messages.create_topics import (
    CreatableReplicaAssignment,
    CreatableTopic,
    CreatableTopicConfig,
)
from kafkaio.protocol.messages.delete_topics import DeleteTopicState

__all__ = [
    "CreateTopicResult",
    "DeleteTopicResult",
    "NewPartitions",
    "NewTopic",
    "PartitionInfo",
    "TopicDescription",
    "TopicListing",
    "TopicResult",
    "TopicsMixin",
]

_ZERO_UUID = UUID(int=0)
_DELETE_BY_ID_MIN_VERSION = 6
_NO_VALUE = -1


@dataclass(frozen=True)
class NewTopic:
    """A topic to create.

    Give ``num_partitions`` / ``replication_factor`` (``None``: the broker's defaults), or
    an explicit ``replica_assignment`` (partition -> broker ids, the first preferred
    leader). ``configs`` values may be str, int, float or bool.
    """

    name: str
    num_partitions: int | None = None
    replication_factor: int | None = None
    replica_assignment: Mapping[int, Sequence[int]] | None = None
    configs: Mapping[str, str | int | float | bool | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CreateTopicResult:
    """Outcome of creating one topic (details need CreateTopics v5+/v7+ for the id)."""

    name: str
    topic_id: UUID | None = None
    num_partitions: int | None = None
    replication_factor: int | None = None
    configs: Mapping[str, ConfigEntry] | None = None
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class DeleteTopicResult:
    """Outcome of deleting one topic."""

    name: str | None
    topic_id: UUID | None = None
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class TopicResult:
    """Outcome of an operation on one topic (e.g. creating partitions)."""

    name: str
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class TopicListing:
    """A topic as :meth:`TopicsMixin.list_topics` lists it."""

    name: str
    topic_id: UUID | None
    is_internal: bool


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One partition of a described topic (``leader`` is ``None`` when offline)."""

    partition: int
    leader: int | None
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    offline_replicas: tuple[int, ...]
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class TopicDescription:
    """A topic's partitions, id and (when asked for) the caller's authorized operations."""

    name: str
    topic_id: UUID | None = None
    is_internal: bool = False
    partitions: tuple[PartitionInfo, ...] = ()
    authorized_operations: frozenset[AclOperation] | None = None
    error: KafkaError | None = None


@dataclass(frozen=True)
class NewPartitions:
    """Grow a topic to ``total_count`` partitions, optionally placing the new ones."""

    total_count: int
    assignments: Sequence[Sequence[int]] | None = None


class TopicsMixin(AdminCore):
    """Topic operations of :class:`~kafkaio.admin.Admin`."""

    def _new_topic_problem(self, t: NewTopic) -> BrokerResponseError | None:
        item = f"topic {t.name!r}"
        problem = topic_name_problem(t.name)
        if problem is not None:
            return rejected(InvalidTopicError, item, problem)
        if t.num_partitions is not None:
            check_int(t.num_partitions, f"{item}: num_partitions")
            if t.num_partitions <= 0:
                return rejected(
                    InvalidPartitionsError,
                    item,
                    f"num_partitions must be > 0, got {t.num_partitions}",
                )
        if t.replication_factor is not None:
            check_int(t.replication_factor, f"{item}: replication_factor")
            if t.replication_factor <= 0:
                return rejected(
                    InvalidReplicationFactorError,
                    item,
                    f"replication_factor must be > 0, got {t.replication_factor}",
                )
        if t.replica_assignment is not None:
            problem = assignment_problem(
                t.replica_assignment, t.num_partitions, t.replication_factor
            )
            if problem is not None:
                return rejected(InvalidReplicaAssignmentError, item, problem)
        for key, value in t.configs.items():
            config_value(key, value)
            if self._check_topic_config_keys and key not in TOPIC_CONFIG_KEYS:
                return rejected(InvalidConfigError, item, f"unknown topic config {key!r}")
        return None

    async def create_topics(
        self,
        new_topics: Iterable[NewTopic],
        *,
        validate_only: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, CreateTopicResult]:
        """Create topics; one result per topic, in the order given.

        Invalid items (bad name, non-positive counts, an assignment contradicting the
        counts, unknown config keys) are not sent and carry the matching error
        (``InvalidTopicError``, ``InvalidPartitionsError``...). Broker rejections
        (``TopicAlreadyExistsError``, ``PolicyViolationError``,
        ``InvalidReplicationFactorError``...) carry the broker's message. With
        ``validate_only`` the broker only checks. A topic whose first attempt timed out
        may report ``TopicAlreadyExistsError`` on the retry (the first one succeeded).
        """
        topics = list(new_topics)
        for t in topics:
            if not isinstance(t, NewTopic):
                raise TypeError(f"expected NewTopic, got {t!r}")
        no_duplicates((t.name for t in topics), "topic")
        deadline = self._deadline(timeout_ms)
        results: dict[str, CreateTopicResult] = {}
        sendable: dict[str, NewTopic] = {}
        for t in topics:
            problem = self._new_topic_problem(t)
            if problem is not None:
                results[t.name] = CreateTopicResult(t.name, error=problem)
            else:
                sendable[t.name] = t

        def fail(name: str, exc: KafkaError) -> CreateTopicResult:
            return CreateTopicResult(name, error=exc)

        async def attempt(pending: list[str]) -> dict[str, CreateTopicResult]:
            def build(version: int) -> Request:
                return CreateTopicsRequest(
                    topics=[_creatable(sendable[n]) for n in pending],
                    timeout_ms=self._broker_timeout_ms(deadline),
                    validate_only=validate_only,
                )

            response = await self._call_any(build, CreateTopicsResponse, deadline)
            out: dict[str, CreateTopicResult] = {}
            for r in response.topics:
                error = broker_error(r.error_code, r.error_message, f"topic {r.name!r}")
                if isinstance(error, TopicAlreadyExistsError):
                    error.retriable = False
                configs = None
                if r.configs is not None and not error:
                    configs = {
                        c.name: ConfigEntry(
                            c.name,
                            c.value,
                            ConfigSource(c.config_source)
                            if c.config_source >= 0
                            else ConfigSource.UNKNOWN,
                            c.read_only,
                            c.is_sensitive,
                        )
                        for c in r.configs
                    }
                out[r.name] = CreateTopicResult(
                    name=r.name,
                    topic_id=r.topic_id if r.topic_id != _ZERO_UUID else None,
                    num_partitions=r.num_partitions if r.num_partitions >= 0 else None,
                    replication_factor=r.replication_factor if r.replication_factor >= 0 else None,
                    configs=configs,
                    error=error,
                )
            return out

        if sendable:
            results.update(await self._run_items(list(sendable), attempt, fail, deadline))
        return ResultMap((t.name, results[t.name]) for t in topics)

    async def delete_topics(
        self,
        topics: Iterable[str | UUID],
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[str | UUID, DeleteTopicResult]:
        """Delete topics given by name or by topic id (ids need DeleteTopics v6+)."""
        items = list(topics)
        for t in items:
            if not isinstance(t, (str, UUID)):
                raise TypeError(f"a topic to delete is a name or a UUID, got {t!r}")
        no_duplicates(items, "topic")
        deadline = self._deadline(timeout_ms)
        results: dict[str | UUID, DeleteTopicResult] = {}
        sendable: list[str | UUID] = []
        for t in items:
            if isinstance(t, str):
                problem = topic_name_problem(t)
                if problem is not None:
                    results[t] = DeleteTopicResult(
                        t, error=rejected(InvalidTopicError, f"topic {t!r}", problem)
                    )
                    continue
            sendable.append(t)

        def fail(key: str | UUID, exc: KafkaError) -> DeleteTopicResult:
            if isinstance(key, UUID):
                return DeleteTopicResult(None, key, exc)
            return DeleteTopicResult(key, None, exc)

        async def attempt(pending: list[str | UUID]) -> dict[str | UUID, DeleteTopicResult]:
            def build(version: int) -> Request:
                if version >= _DELETE_BY_ID_MIN_VERSION:
                    return DeleteTopicsRequest(
                        topics=[
                            DeleteTopicState(name=t, topic_id=_ZERO_UUID)
                            if isinstance(t, str)
                            else DeleteTopicState(name=None, topic_id=t)
                            for t in pending
                        ],
                        timeout_ms=self._broker_timeout_ms(deadline),
                    )
                if any(isinstance(t, UUID) for t in pending):
                    raise UnsupportedVersionError(
                        f"deleting topics by id needs DeleteTopics v6+, the broker offers"
                        f" v{version}"
                    )
                return DeleteTopicsRequest(
                    topic_names=[t for t in pending if isinstance(t, str)],
                    timeout_ms=self._broker_timeout_ms(deadline),
                )

            response = await self._call_any(build, DeleteTopicsResponse, deadline)
            out: dict[str | UUID, DeleteTopicResult] = {}
            by_id = {t for t in pending if isinstance(t, UUID)}
            for r in response.responses:
                topic_id = r.topic_id if r.topic_id != _ZERO_UUID else None
                what = f"topic {r.name!r}" if r.name else f"topic id {topic_id}"
                error = final(broker_error(r.error_code, r.error_message, what))
                result = DeleteTopicResult(r.name, topic_id, error)
                if topic_id is not None and topic_id in by_id:
                    out[topic_id] = result
                if r.name is not None and r.name in pending:
                    out[r.name] = result
            return out

        if sendable:
            results.update(await self._run_items(sendable, attempt, fail, deadline))
        return ResultMap((t, results[t]) for t in items)

    async def list_topics(
        self, *, include_internal: bool = False, timeout_ms: int | None = None
    ) -> dict[str, TopicListing]:
        """Every topic of the cluster by name (internal ones such as
        ``__consumer_offsets`` only with ``include_internal``)."""
        deadline = self._deadline(timeout_ms)
        response = await self._metadata(None, deadline)
        listing = {
            t.name: TopicListing(
                t.name, t.topic_id if t.topic_id != _ZERO_UUID else None, t.is_internal
            )
            for t in response.topics
            if t.name and t.error_code == 0 and (include_internal or not t.is_internal)
        }
        return dict(sorted(listing.items()))

    async def describe_topics(
        self,
        topics: Iterable[str | UUID],
        *,
        include_authorized_operations: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[str | UUID, TopicDescription]:
        """Partitions (leader, replicas, ISR, offline replicas), topic id and, on request,
        the operations the caller may perform, of topics given by name or by id (ids need
        Metadata v12+); results are keyed as asked."""
        items = list(topics)
        for t in items:
            if not isinstance(t, (str, UUID)):
                raise TypeError(f"a topic to describe is a name or a UUID, got {t!r}")
        no_duplicates(items, "topic")
        deadline = self._deadline(timeout_ms)
        results: dict[str | UUID, TopicDescription] = {}
        sendable: list[str | UUID] = []
        for t in items:
            problem = topic_name_problem(t) if isinstance(t, str) else None
            if problem is not None:
                results[t] = TopicDescription(
                    str(t), error=rejected(InvalidTopicError, f"topic {t!r}", problem)
                )
            else:
                sendable.append(t)

        def fail(key: str | UUID, exc: KafkaError) -> TopicDescription:
            return TopicDescription(key if isinstance(key, str) else "", error=exc)

        async def attempt(pending: list[str | UUID]) -> dict[str | UUID, TopicDescription]:
            ids = {t for t in pending if isinstance(t, UUID)}
            response = await self._metadata(
                [t for t in pending if isinstance(t, str)],
                deadline,
                authorized_operations=include_authorized_operations,
                topic_ids=ids,
            )
            out: dict[str | UUID, TopicDescription] = {}
            for t in response.topics:
                topic_id = t.topic_id if t.topic_id != _ZERO_UUID else None
                what = f"topic {t.name!r}" if t.name else f"topic id {topic_id}"
                error = final(broker_error(t.error_code, None, what))
                partitions = tuple(
                    PartitionInfo(
                        partition=p.partition_index,
                        leader=p.leader_id if p.leader_id >= 0 else None,
                        leader_epoch=p.leader_epoch,
                        replicas=tuple(p.replica_nodes),
                        isr=tuple(p.isr_nodes),
                        offline_replicas=tuple(p.offline_replicas),
                        error=broker_error(
                            p.error_code,
                            None,
                            f"partition {t.name}-{p.partition_index}",
                            missing_is_final=False,
                        ),
                    )
                    for p in sorted(t.partitions, key=lambda p: p.partition_index)
                )
                description = TopicDescription(
                    name=t.name or "",
                    topic_id=topic_id,
                    is_internal=t.is_internal,
                    partitions=partitions,
                    authorized_operations=authorized_operations(t.topic_authorized_operations)
                    if include_authorized_operations
                    else None,
                    error=error,
                )
                if t.name and t.name in pending:
                    out[t.name] = description
                if topic_id in ids:
                    out[topic_id] = description
            return out

        if sendable:
            results.update(await self._run_items(sendable, attempt, fail, deadline))
        return ResultMap((t, results[t]) for t in items)

    async def create_partitions(
        self,
        new_partitions: Mapping[str, int | NewPartitions],
        *,
        validate_only: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, TopicResult]:
        """Grow topics to a new total partition count (``{"t": 6}`` or :class:`NewPartitions`)."""
        deadline = self._deadline(timeout_ms)
        results: dict[str, TopicResult] = {}
        sendable: dict[str, NewPartitions] = {}
        for name, spec in new_partitions.items():
            item = f"topic {name!r}"
            if isinstance(spec, int) and not isinstance(spec, bool):
                spec = NewPartitions(spec)
            if not isinstance(spec, NewPartitions):
                raise TypeError(
                    f"{item}: expected a partition count or NewPartitions, got {spec!r}"
                )
            check_int(spec.total_count, f"{item}: total_count")
            problem = topic_name_problem(name)
            if problem is not None:
                results[name] = TopicResult(name, rejected(InvalidTopicError, item, problem))
            elif spec.total_count <= 0:
                results[name] = TopicResult(
                    name,
                    rejected(
                        InvalidPartitionsError,
                        item,
                        f"the partition count must be > 0, got {spec.total_count}",
                    ),
                )
            elif spec.assignments is not None and any(not a for a in spec.assignments):
                results[name] = TopicResult(
                    name,
                    rejected(InvalidReplicaAssignmentError, item, "a new partition has no broker"),
                )
            else:
                sendable[name] = spec

        def fail(name: str, exc: KafkaError) -> TopicResult:
            return TopicResult(name, exc)

        async def attempt(pending: list[str]) -> dict[str, TopicResult]:
            def build(version: int) -> Request:
                return CreatePartitionsRequest(
                    topics=[
                        CreatePartitionsTopic(
                            name=n,
                            count=sendable[n].total_count,
                            assignments=None
                            if sendable[n].assignments is None
                            else [
                                CreatePartitionsAssignment(broker_ids=list(a))
                                for a in sendable[n].assignments or ()
                            ],
                        )
                        for n in pending
                    ],
                    timeout_ms=self._broker_timeout_ms(deadline),
                    validate_only=validate_only,
                )

            response = await self._call_any(build, CreatePartitionsResponse, deadline)
            return {
                r.name: TopicResult(
                    r.name, final(broker_error(r.error_code, r.error_message, f"topic {r.name!r}"))
                )
                for r in response.results
            }

        if sendable:
            results.update(await self._run_items(list(sendable), attempt, fail, deadline))
        return ResultMap((n, results[n]) for n in new_partitions)


def _creatable(t: NewTopic) -> CreatableTopic:
    if t.replica_assignment is not None:
        return CreatableTopic(
            name=t.name,
            num_partitions=_NO_VALUE,
            replication_factor=_NO_VALUE,
            assignments=[
                CreatableReplicaAssignment(partition_index=p, broker_ids=list(b))
                for p, b in sorted(t.replica_assignment.items())
            ],
            configs=[
                CreatableTopicConfig(name=k, value=config_value(k, v)) for k, v in t.configs.items()
            ],
        )
    return CreatableTopic(
        name=t.name,
        num_partitions=_NO_VALUE if t.num_partitions is None else t.num_partitions,
        replication_factor=_NO_VALUE if t.replication_factor is None else t.replication_factor,
        configs=[
            CreatableTopicConfig(name=k, value=config_value(k, v)) for k, v in t.configs.items()
        ],
    )
