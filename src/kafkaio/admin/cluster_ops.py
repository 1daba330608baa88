"""Cluster-wide operations: describe cluster and features, update features, log dirs,
leader elections, the metadata quorum and partition reassignments."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from uuid import UUID

from kafkaio import __version__
from kafkaio.admin._core import AdminCore
from kafkaio.admin.results import ResultMap, broker_error, final, rejected
from kafkaio.admin.types import AclOperation, authorized_operations
from kafkaio.admin.validation import check_int, check_topic_partition, no_duplicates
from kafkaio.cluster import TopicPartition
from kafkaio.errors import (
    BrokerNotAvailableError,
    InvalidRequestError,
    KafkaError,
    UnsupportedVersionError,
    for_code,
    raise_for_code,
)
from kafkaio.net.connection import CLIENT_SOFTWARE_NAME
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    AlterReplicaLogDirsRequest,
    AlterReplicaLogDirsResponse,
    ApiVersionsRequest,
    ApiVersionsResponse,
    DescribeClusterRequest,
    DescribeClusterResponse,
    DescribeLogDirsRequest,
    DescribeLogDirsResponse,
    DescribeQuorumRequest,
    DescribeQuorumResponse,
    ElectLeadersRequest,
    ElectLeadersResponse,
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
    UnregisterBrokerRequest,
    UnregisterBrokerResponse,
    UpdateFeaturesRequest,
    UpdateFeaturesResponse,
)
from kafkaio.protocol.messages.alter_partition_reassignments import (
    ReassignablePartition,
    ReassignableTopic,
)
from kafkaio.protocol.messages.alter_replica_log_dirs import (
    AlterReplicaLogDir,
    AlterReplicaLogDirTopic,
)
from kafkaio.protocol.messages.describe_quorum import (
    DescribeQuorumRequestPartitionData,
    DescribeQuorumRequestTopicData,
    ReplicaState,
)
from kafkaio.protocol.messages.elect_leaders import TopicPartitions as ElectTopicPartitions
from kafkaio.protocol.messages.list_partition_reassignments import (
    ListPartitionReassignmentsTopics,
)
from kafkaio.protocol.messages.update_features import FeatureUpdateKey

__all__ = [
    "BrokerDescription",
    "BrokerLogDirs",
    "ClusterDescription",
    "ClusterOpsMixin",
    "ElectionType",
    "FeatureMetadata",
    "FeatureResult",
    "FeatureUpdate",
    "LogDirDescription",
    "OngoingReassignment",
    "PartitionResult",
    "QuorumInfo",
    "QuorumReplica",
    "ReplicaLogDirInfo",
    "ReplicaResult",
    "TopicPartitionReplica",
    "UpgradeType",
    "VersionRange",
]

_METADATA_TOPIC = "__cluster_metadata"
_FENCED_MIN_VERSION = 2
_ELECTION_TYPE_MIN_VERSION = 1
_UPGRADE_TYPE_MIN_VERSION = 1
_PER_FEATURE_RESULTS_MAX_VERSION = 1


class ElectionType(enum.IntEnum):
    """Which leader to elect."""

    PREFERRED = 0
    """The first replica of the assignment, if in sync."""
    UNCLEAN = 1
    """Any live replica, even out of sync (may lose data)."""


class UpgradeType(enum.IntEnum):
    """How a feature level may change."""

    UPGRADE = 1
    SAFE_DOWNGRADE = 2
    UNSAFE_DOWNGRADE = 3


@dataclass(frozen=True, slots=True)
class BrokerDescription:
    """A broker of the cluster."""

    node_id: int
    host: str
    port: int
    rack: str | None = None
    is_fenced: bool = False


@dataclass(frozen=True, slots=True)
class ClusterDescription:
    """Cluster id, controller and brokers (DescribeCluster)."""

    cluster_id: str
    controller_id: int | None
    brokers: tuple[BrokerDescription, ...]
    authorized_operations: frozenset[AclOperation] | None = None


@dataclass(frozen=True, slots=True)
class VersionRange:
    """An inclusive range of feature levels."""

    min: int
    max: int


@dataclass(frozen=True, slots=True)
class FeatureMetadata:
    """Feature levels finalized for the cluster, and the ranges the broker supports."""

    finalized: Mapping[str, VersionRange]
    finalized_epoch: int | None
    supported: Mapping[str, VersionRange]


@dataclass(frozen=True, slots=True)
class FeatureUpdate:
    """A new maximum level for a feature (0 removes the feature)."""

    max_version_level: int
    upgrade_type: UpgradeType = UpgradeType.UPGRADE


@dataclass(frozen=True, slots=True)
class FeatureResult:
    """Outcome of updating one feature."""

    feature: str
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class ReplicaLogDirInfo:
    """One replica stored in a log dir."""

    size: int
    offset_lag: int
    is_future: bool
    """The replica is being moved into this dir (AlterReplicaLogDirs)."""


@dataclass(frozen=True, slots=True)
class LogDirDescription:
    """One log dir of a broker."""

    path: str
    error: KafkaError | None
    replicas: Mapping[TopicPartition, ReplicaLogDirInfo]
    total_bytes: int | None = None
    usable_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class BrokerLogDirs:
    """The log dirs of one broker."""

    node_id: int
    log_dirs: Mapping[str, LogDirDescription] = field(default_factory=dict)
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class PartitionResult:
    """Outcome of an operation on one partition."""

    tp: TopicPartition
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class QuorumReplica:
    """A voter or observer of the KRaft metadata quorum."""

    replica_id: int
    directory_id: UUID | None
    log_end_offset: int
    last_fetch_timestamp: int | None
    last_caught_up_timestamp: int | None


@dataclass(frozen=True, slots=True)
class QuorumInfo:
    """State of the KRaft metadata quorum (DescribeQuorum)."""

    leader_id: int
    leader_epoch: int
    high_watermark: int
    voters: tuple[QuorumReplica, ...]
    observers: tuple[QuorumReplica, ...]
    nodes: Mapping[int, tuple[tuple[str, str, int], ...]]
    """Listeners ``(name, host, port)`` of each voter (DescribeQuorum v2+)."""


class TopicPartitionReplica(NamedTuple):
    """One replica: a partition on a broker."""

    topic: str
    partition: int
    broker_id: int


@dataclass(frozen=True, slots=True)
class ReplicaResult:
    """Outcome of an operation on one replica."""

    replica: TopicPartitionReplica
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class OngoingReassignment:
    """A partition being reassigned."""

    replicas: tuple[int, ...]
    adding: tuple[int, ...]
    removing: tuple[int, ...]


def _replica(r: ReplicaState) -> QuorumReplica:
    return QuorumReplica(
        r.replica_id,
        r.replica_directory_id if r.replica_directory_id.int else None,
        r.log_end_offset,
        r.last_fetch_timestamp if r.last_fetch_timestamp >= 0 else None,
        r.last_caught_up_timestamp if r.last_caught_up_timestamp >= 0 else None,
    )


def _unknown_broker(node: int) -> KafkaError:
    error = BrokerNotAvailableError(f"broker {node} is not in the cluster metadata")
    error.retriable = False
    return error


def _by_topic(tps: Iterable[TopicPartition]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for tp in tps:
        out[tp.topic].append(tp.partition)
    return dict(out)


class ClusterOpsMixin(AdminCore):
    """Cluster-level operations of :class:`~kafkaio.admin.Admin`."""

    async def describe_cluster(
        self,
        *,
        include_authorized_operations: bool = False,
        include_fenced_brokers: bool = False,
        timeout_ms: int | None = None,
    ) -> ClusterDescription:
        """Cluster id, controller and brokers (``include_fenced_brokers`` needs v2+)."""
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            if include_fenced_brokers and version < _FENCED_MIN_VERSION:
                raise UnsupportedVersionError(
                    f"listing fenced brokers needs DescribeCluster v2+, the broker offers"
                    f" v{version}"
                )
            return DescribeClusterRequest(
                include_cluster_authorized_operations=include_authorized_operations,
                include_fenced_brokers=include_fenced_brokers,
            )

        response = await self._call_any(
            build, DescribeClusterResponse, deadline, retry_codes=lambda r: r.error_code
        )
        raise_for_code(response.error_code, response.error_message)
        return ClusterDescription(
            cluster_id=response.cluster_id,
            controller_id=response.controller_id if response.controller_id >= 0 else None,
            brokers=tuple(
                BrokerDescription(b.broker_id, b.host, b.port, b.rack, b.is_fenced)
                for b in sorted(response.brokers, key=lambda b: b.broker_id)
            ),
            authorized_operations=authorized_operations(response.cluster_authorized_operations)
            if include_authorized_operations
            else None,
        )

    async def describe_features(self, *, timeout_ms: int | None = None) -> FeatureMetadata:
        """Finalized feature levels of the cluster and the ranges a broker supports."""
        deadline = self._deadline(timeout_ms)
        response = await self._call_any(
            lambda version: ApiVersionsRequest(
                client_software_name=CLIENT_SOFTWARE_NAME, client_software_version=__version__
            ),
            ApiVersionsResponse,
            deadline,
        )
        raise_for_code(response.error_code, "ApiVersions failed")
        return FeatureMetadata(
            finalized={
                f.name: VersionRange(f.min_version_level, f.max_version_level)
                for f in response.finalized_features
            },
            finalized_epoch=response.finalized_features_epoch
            if response.finalized_features_epoch >= 0
            else None,
            supported={
                f.name: VersionRange(f.min_version, f.max_version)
                for f in response.supported_features
            },
        )

    async def update_features(
        self,
        updates: Mapping[str, FeatureUpdate],
        *,
        validate_only: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, FeatureResult]:
        """Change finalized feature levels (e.g. ``metadata.version``); per-feature results.

        UpdateFeatures v2+ answers with one error for the whole request; it is then
        reported for every feature.
        """
        for name, update in updates.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"a feature name must be a non-empty str, got {name!r}")
            if not isinstance(update, FeatureUpdate):
                raise TypeError(f"feature {name!r}: expected FeatureUpdate, got {update!r}")
            if check_int(update.max_version_level, f"feature {name!r} level") < 0:
                raise ValueError(f"feature {name!r}: level must be >= 0")
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            keys = []
            for name, u in updates.items():
                kind = UpgradeType(u.upgrade_type)
                if version < _UPGRADE_TYPE_MIN_VERSION:
                    if kind is UpgradeType.UNSAFE_DOWNGRADE:
                        raise UnsupportedVersionError(
                            "unsafe downgrades need UpdateFeatures v1+, the broker offers v0"
                        )
                    keys.append(
                        FeatureUpdateKey(
                            feature=name,
                            max_version_level=u.max_version_level,
                            allow_downgrade=kind is not UpgradeType.UPGRADE,
                        )
                    )
                else:
                    keys.append(
                        FeatureUpdateKey(
                            feature=name,
                            max_version_level=u.max_version_level,
                            upgrade_type=int(kind),
                        )
                    )
            return UpdateFeaturesRequest(
                timeout_ms=self._broker_timeout_ms(deadline),
                feature_updates=keys,
                validate_only=validate_only,
            )

        response = await self._call_any(
            build, UpdateFeaturesResponse, deadline, retry_codes=lambda r: r.error_code
        )
        top = broker_error(response.error_code, response.error_message, "UpdateFeatures")
        per = {r.feature: r for r in response.results}
        out: ResultMap[str, FeatureResult] = ResultMap()
        for name in updates:
            r = per.get(name)
            if r is not None and top is None:
                out[name] = FeatureResult(
                    name, broker_error(r.error_code, r.error_message, f"feature {name!r}")
                )
            else:
                error = (
                    None
                    if top is None
                    else for_code(response.error_code)(
                        f"feature {name!r}: {response.error_message or top.message}"
                    )
                )
                out[name] = FeatureResult(name, error)
        return out

    async def describe_log_dirs(
        self,
        brokers: Iterable[int] | None = None,
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[int, BrokerLogDirs]:
        """Log dirs of each broker (default: all) with the replicas they hold."""
        deadline = self._deadline(timeout_ms)
        if brokers is None:
            await self._ensure_started()
            nodes = [b.node_id for b in self._client.cluster.brokers()]
        else:
            nodes = [check_int(b, "a broker id") for b in brokers]
        no_duplicates(nodes, "broker")

        def fail(node: int, exc: KafkaError) -> BrokerLogDirs:
            return BrokerLogDirs(node, error=exc)

        async def one(node: int, _items: list[int]) -> dict[int, BrokerLogDirs]:
            response = await self._send_node(
                node,
                lambda v: DescribeLogDirsRequest(topics=None),
                DescribeLogDirsResponse,
                deadline,
            )
            error = broker_error(response.error_code, None, f"broker {node}")
            dirs = {}
            for d in response.results:
                replicas = {
                    TopicPartition(t.name, p.partition_index): ReplicaLogDirInfo(
                        p.partition_size, p.offset_lag, p.is_future_key
                    )
                    for t in d.topics
                    for p in t.partitions
                }
                dirs[d.log_dir] = LogDirDescription(
                    d.log_dir,
                    broker_error(d.error_code, None, f"log dir {d.log_dir!r} of broker {node}"),
                    replicas,
                    d.total_bytes if d.total_bytes >= 0 else None,
                    d.usable_bytes if d.usable_bytes >= 0 else None,
                )
            return {node: BrokerLogDirs(node, dirs, error)}

        async def attempt(pending: list[int]) -> Mapping[int, BrokerLogDirs]:
            known = [n for n in pending if self._client.cluster.broker(n) is not None]
            results = await self._gather_nodes({n: [n] for n in known}, one, fail)
            results.update(
                {n: BrokerLogDirs(n, error=_unknown_broker(n)) for n in pending if n not in known}
            )
            return results

        return ResultMap((await self._run_items(nodes, attempt, fail, deadline)).items())

    async def elect_leaders(
        self,
        partitions: Iterable[TopicPartition] | None = None,
        *,
        election_type: ElectionType = ElectionType.PREFERRED,
        timeout_ms: int | None = None,
    ) -> ResultMap[TopicPartition, PartitionResult]:
        """Elect leaders for ``partitions`` (``None``: every eligible partition).

        A partition whose preferred leader already leads reports
        :class:`~kafkaio.errors.ElectionNotNeededError`.
        """
        tps = None if partitions is None else [check_topic_partition(tp) for tp in partitions]
        if tps is not None:
            no_duplicates(tps, "partition")
        kind = ElectionType(election_type)
        deadline = self._deadline(timeout_ms)

        def fail(tp: TopicPartition, exc: KafkaError) -> PartitionResult:
            return PartitionResult(tp, exc)

        async def attempt(
            pending: list[TopicPartition] | None,
        ) -> dict[TopicPartition, PartitionResult]:
            def build(version: int) -> Request:
                if kind is not ElectionType.PREFERRED and version < _ELECTION_TYPE_MIN_VERSION:
                    raise UnsupportedVersionError(
                        "unclean leader election needs ElectLeaders v1+, the broker offers v0"
                    )
                return ElectLeadersRequest(
                    election_type=int(kind),
                    topic_partitions=None
                    if pending is None
                    else [
                        ElectTopicPartitions(topic=t, partitions=ps)
                        for t, ps in _by_topic(pending).items()
                    ],
                    timeout_ms=self._broker_timeout_ms(deadline),
                )

            response = await self._call_any(
                build, ElectLeadersResponse, deadline, retry_codes=lambda r: r.error_code
            )
            raise_for_code(response.error_code, "ElectLeaders failed")
            out = {}
            for t in response.replica_election_results:
                for p in t.partition_result:
                    tp = TopicPartition(t.topic, p.partition_id)
                    out[tp] = PartitionResult(
                        tp,
                        final(
                            broker_error(
                                p.error_code,
                                p.error_message,
                                f"partition {t.topic}-{p.partition_id}",
                            )
                        ),
                    )
            return out

        if tps is None:
            return ResultMap(sorted((await attempt(None)).items()))
        if not tps:
            return ResultMap()
        return ResultMap((await self._run_items(tps, attempt, fail, deadline)).items())

    async def describe_metadata_quorum(self, *, timeout_ms: int | None = None) -> QuorumInfo:
        """Leader, voters and observers of the KRaft metadata quorum."""
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            return DescribeQuorumRequest(
                topics=[
                    DescribeQuorumRequestTopicData(
                        topic_name=_METADATA_TOPIC,
                        partitions=[DescribeQuorumRequestPartitionData(partition_index=0)],
                    )
                ]
            )

        response = await self._call_any(
            build, DescribeQuorumResponse, deadline, retry_codes=lambda r: r.error_code
        )
        raise_for_code(response.error_code, response.error_message)
        for t in response.topics:
            for p in t.partitions:
                raise_for_code(p.error_code, p.error_message)
                return QuorumInfo(
                    leader_id=p.leader_id,
                    leader_epoch=p.leader_epoch,
                    high_watermark=p.high_watermark,
                    voters=tuple(_replica(r) for r in p.current_voters),
                    observers=tuple(_replica(r) for r in p.observers),
                    nodes={
                        n.node_id: tuple((li.name, li.host, li.port) for li in n.listeners)
                        for n in response.nodes
                    },
                )
        raise KafkaError("DescribeQuorum answered without the metadata partition")

    async def list_partition_reassignments(
        self,
        partitions: Iterable[TopicPartition] | None = None,
        *,
        timeout_ms: int | None = None,
    ) -> dict[TopicPartition, OngoingReassignment]:
        """Reassignments in progress (of ``partitions``, or all)."""
        tps = None if partitions is None else [check_topic_partition(tp) for tp in partitions]
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            return ListPartitionReassignmentsRequest(
                timeout_ms=self._broker_timeout_ms(deadline),
                topics=None
                if tps is None
                else [
                    ListPartitionReassignmentsTopics(name=t, partition_indexes=ps)
                    for t, ps in _by_topic(tps).items()
                ],
            )

        response = await self._call_any(
            build, ListPartitionReassignmentsResponse, deadline, retry_codes=lambda r: r.error_code
        )
        raise_for_code(response.error_code, response.error_message)
        return {
            TopicPartition(t.name, p.partition_index): OngoingReassignment(
                tuple(p.replicas), tuple(p.adding_replicas), tuple(p.removing_replicas)
            )
            for t in response.topics
            for p in t.partitions
        }

    async def alter_partition_reassignments(
        self,
        reassignments: Mapping[TopicPartition, Sequence[int] | None],
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[TopicPartition, PartitionResult]:
        """Move partitions to new replica lists (``None`` cancels a pending move)."""
        deadline = self._deadline(timeout_ms)
        targets: dict[TopicPartition, list[int] | None] = {}
        results: dict[TopicPartition, PartitionResult] = {}
        for raw, replicas in reassignments.items():
            tp = check_topic_partition(raw)
            if replicas is None:
                targets[tp] = None
                continue
            brokers = [check_int(b, f"a broker id for {tp}") for b in replicas]
            if not brokers or len(set(brokers)) != len(brokers):
                results[tp] = PartitionResult(
                    tp,
                    rejected(
                        InvalidRequestError,
                        f"partition {tp.topic}-{tp.partition}",
                        f"the replica list must be non-empty and distinct, got {brokers}",
                    ),
                )
                continue
            targets[tp] = brokers

        def fail(tp: TopicPartition, exc: KafkaError) -> PartitionResult:
            return PartitionResult(tp, exc)

        async def attempt(pending: list[TopicPartition]) -> dict[TopicPartition, PartitionResult]:
            def build(version: int) -> Request:
                return AlterPartitionReassignmentsRequest(
                    timeout_ms=self._broker_timeout_ms(deadline),
                    topics=[
                        ReassignableTopic(
                            name=t,
                            partitions=[
                                ReassignablePartition(
                                    partition_index=p, replicas=targets[TopicPartition(t, p)]
                                )
                                for p in ps
                            ],
                        )
                        for t, ps in _by_topic(pending).items()
                    ],
                )

            response = await self._call_any(
                build,
                AlterPartitionReassignmentsResponse,
                deadline,
                retry_codes=lambda r: r.error_code,
            )
            raise_for_code(response.error_code, response.error_message)
            return {
                TopicPartition(t.name, p.partition_index): PartitionResult(
                    TopicPartition(t.name, p.partition_index),
                    broker_error(
                        p.error_code, p.error_message, f"partition {t.name}-{p.partition_index}"
                    ),
                )
                for t in response.responses
                for p in t.partitions
            }

        if targets:
            results.update(await self._run_items(list(targets), attempt, fail, deadline))
        return ResultMap(
            (check_topic_partition(tp), results[check_topic_partition(tp)]) for tp in reassignments
        )

    async def alter_replica_log_dirs(
        self,
        assignments: Mapping[TopicPartitionReplica, str],
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[TopicPartitionReplica, ReplicaResult]:
        """Move replicas between the log dirs of their broker (JBOD); each request goes to
        the broker holding the replica. The move completes in the background: watch
        :meth:`describe_log_dirs` (``is_future``) for progress."""
        targets: dict[TopicPartitionReplica, str] = {}
        for raw, path in assignments.items():
            if not (isinstance(raw, tuple) and len(raw) == 3):
                raise TypeError(
                    f"expected TopicPartitionReplica(topic, partition, broker_id), got {raw!r}"
                )
            replica = TopicPartitionReplica(
                raw[0], check_int(raw[1], "a partition"), check_int(raw[2], "a broker id")
            )
            if not isinstance(path, str) or not path:
                raise ValueError(f"{replica}: the log dir must be a non-empty path, got {path!r}")
            targets[replica] = path
        deadline = self._deadline(timeout_ms)

        def fail(r: TopicPartitionReplica, exc: KafkaError) -> ReplicaResult:
            return ReplicaResult(r, exc)

        async def one(
            node: int, replicas: list[TopicPartitionReplica]
        ) -> dict[TopicPartitionReplica, ReplicaResult]:
            by_dir: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
            for r in replicas:
                by_dir[targets[r]][r.topic].append(r.partition)
            response = await self._send_node(
                node,
                lambda v: AlterReplicaLogDirsRequest(
                    dirs=[
                        AlterReplicaLogDir(
                            path=path,
                            topics=[
                                AlterReplicaLogDirTopic(name=t, partitions=ps)
                                for t, ps in topics.items()
                            ],
                        )
                        for path, topics in by_dir.items()
                    ]
                ),
                AlterReplicaLogDirsResponse,
                deadline,
            )
            out = {}
            for t in response.results:
                for p in t.partitions:
                    r = TopicPartitionReplica(t.topic_name, p.partition_index, node)
                    out[r] = ReplicaResult(
                        r,
                        broker_error(
                            p.error_code,
                            None,
                            f"replica {t.topic_name}-{p.partition_index} on broker {node}",
                        ),
                    )
            return out

        async def attempt(
            pending: list[TopicPartitionReplica],
        ) -> Mapping[TopicPartitionReplica, ReplicaResult]:
            by_node: dict[int, list[TopicPartitionReplica]] = defaultdict(list)
            unknown: dict[TopicPartitionReplica, ReplicaResult] = {}
            for r in pending:
                if self._client.cluster.broker(r.broker_id) is None:
                    unknown[r] = ReplicaResult(r, _unknown_broker(r.broker_id))
                else:
                    by_node[r.broker_id].append(r)
            results = await self._gather_nodes(by_node, one, fail)
            results.update(unknown)
            return results

        if not targets:
            return ResultMap()
        return ResultMap((await self._run_items(list(targets), attempt, fail, deadline)).items())

    async def unregister_broker(self, broker_id: int, *, timeout_ms: int | None = None) -> None:
        """Remove a shut-down broker's registration from the KRaft cluster (Kafka 3.1+).

        Raises the broker's error, e.g. ``BrokerIdNotRegisteredError``.
        """
        node = check_int(broker_id, "broker_id")
        deadline = self._deadline(timeout_ms)
        response = await self._call_any(
            lambda v: UnregisterBrokerRequest(broker_id=node),
            UnregisterBrokerResponse,
            deadline,
            retry_codes=lambda r: r.error_code,
        )
        raise_for_code(response.error_code, response.error_message or f"broker {node}")
