"""Groups: list, describe (classic and KIP-848 consumer groups), delete, committed offsets
(list for many groups, alter, delete) and a lag helper.

Group requests go to each group's coordinator (looked up in batches, cached, and
looked up again when a coordinator moves); ListGroups goes to every broker.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from uuid import UUID

from kafkaio.admin._core import AdminCore
from kafkaio.admin.offsets import OffsetsMixin, OffsetSpec
from kafkaio.admin.results import ResultMap, broker_error, final, rejected
from kafkaio.admin.types import AclOperation, IsolationLevel, authorized_operations
from kafkaio.admin.validation import check_int, check_topic_partition, no_duplicates
from kafkaio.cluster import ConnectionGroup, CoordinationType, TopicPartition
from kafkaio.errors import (
    BrokerResponseError,
    InvalidGroupIdError,
    InvalidRequestError,
    KafkaError,
    UnsupportedVersionError,
    for_code,
)
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    ConsumerGroupDescribeRequest,
    ConsumerGroupDescribeResponse,
    DeleteGroupsRequest,
    DeleteGroupsResponse,
    DescribeGroupsRequest,
    DescribeGroupsResponse,
    LeaveGroupRequest,
    LeaveGroupResponse,
    ListGroupsRequest,
    ListGroupsResponse,
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetDeleteRequest,
    OffsetDeleteResponse,
    OffsetFetchRequest,
    OffsetFetchResponse,
)
from kafkaio.protocol.messages import offset_commit as _oc
from kafkaio.protocol.messages import offset_delete as _od
from kafkaio.protocol.messages import offset_fetch as _of
from kafkaio.protocol.messages.consumer_group_describe import Assignment
from kafkaio.protocol.messages.consumer_protocol_assignment import ConsumerProtocolAssignment
from kafkaio.protocol.messages.leave_group import MemberIdentity
from kafkaio.structs import OffsetAndMetadata

__all__ = [
    "ConsumerGroupDescription",
    "ConsumerGroupMember",
    "GroupDescription",
    "GroupListing",
    "GroupOffsets",
    "GroupResult",
    "GroupsMixin",
    "ListGroupsResult",
    "MemberDescription",
    "MemberResult",
    "MemberToRemove",
    "OffsetAndMetadata",
    "PartitionLag",
    "PartitionOffsetResult",
]

log = logging.getLogger("kafkaio.admin")

_ZERO_UUID = UUID(int=0)
_STATES_MIN_VERSION = 4
_TYPES_MIN_VERSION = 5
_MULTI_GROUP_MIN_VERSION = 8
_TOPIC_IDS_MIN_VERSION = 10
_NO_OFFSET = -1
_NO_GENERATION = -1
_CONSUMER_PROTOCOL = "consumer"
_LEAVE_MANY_MIN_VERSION = 3
_GROUP = CoordinationType.GROUP


@dataclass(frozen=True, slots=True)
class GroupListing:
    """A group as ListGroups reports it."""

    group_id: str
    protocol_type: str
    state: str | None = None
    """``Stable``, ``Empty``... (ListGroups v4+)."""
    type: str | None = None
    """``classic``, ``consumer``, ``share``, ``streams`` (ListGroups v5+)."""


@dataclass(frozen=True, slots=True)
class ListGroupsResult:
    """Groups of every broker that answered, and the brokers that did not."""

    groups: tuple[GroupListing, ...]
    errors: Mapping[int, KafkaError] = field(default_factory=dict)

    def raise_on_error(self) -> ListGroupsResult:
        """Raise the first broker's error if any broker failed."""
        for error in self.errors.values():
            raise error
        return self


@dataclass(frozen=True, slots=True)
class MemberDescription:
    """A member of a classic group; ``assignment`` decoded for consumer groups."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    assignment: tuple[TopicPartition, ...] | None
    raw_metadata: bytes = b""
    raw_assignment: bytes = b""


@dataclass(frozen=True, slots=True)
class GroupDescription:
    """A classic group (DescribeGroups)."""

    group_id: str
    state: str = ""
    protocol_type: str = ""
    protocol: str = ""
    """The assignor (consumer groups) or protocol name chosen by the group."""
    members: tuple[MemberDescription, ...] = ()
    coordinator: int | None = None
    authorized_operations: frozenset[AclOperation] | None = None
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class ConsumerGroupMember:
    """A member of a KIP-848 consumer group."""

    member_id: str
    instance_id: str | None
    rack_id: str | None
    member_epoch: int
    client_id: str
    client_host: str
    subscribed_topic_names: tuple[str, ...]
    subscribed_topic_regex: str | None
    assignment: tuple[TopicPartition, ...]
    target_assignment: tuple[TopicPartition, ...]


@dataclass(frozen=True, slots=True)
class ConsumerGroupDescription:
    """A KIP-848 consumer group (ConsumerGroupDescribe)."""

    group_id: str
    state: str = ""
    group_epoch: int = -1
    assignment_epoch: int = -1
    assignor_name: str = ""
    members: tuple[ConsumerGroupMember, ...] = ()
    coordinator: int | None = None
    authorized_operations: frozenset[AclOperation] | None = None
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class GroupResult:
    """Outcome of an operation on one group."""

    group_id: str
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class GroupOffsets:
    """A group's committed offsets (``None``: nothing committed for that partition)."""

    group_id: str
    offsets: Mapping[TopicPartition, OffsetAndMetadata | None] = field(default_factory=dict)
    partition_errors: Mapping[TopicPartition, KafkaError] = field(default_factory=dict)
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class PartitionOffsetResult:
    """Outcome of altering or deleting one partition's committed offset."""

    tp: TopicPartition
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """Committed offset vs end offset of one partition."""

    tp: TopicPartition
    committed: int | None
    end_offset: int | None
    error: KafkaError | None = None

    @property
    def lag(self) -> int | None:
        """Records not yet consumed (``None`` when either offset is unknown)."""
        if self.committed is None or self.end_offset is None:
            return None
        return max(0, self.end_offset - self.committed)


@dataclass(frozen=True, slots=True)
class MemberToRemove:
    """A member to remove: a static member by ``group_instance_id``, or a dynamic one by
    ``member_id``."""

    group_instance_id: str | None = None
    member_id: str = ""

    @property
    def key(self) -> str:
        """How results name this member (the instance id, else the member id)."""
        return self.group_instance_id if self.group_instance_id is not None else self.member_id


@dataclass(frozen=True, slots=True)
class MemberResult:
    """Outcome of removing one member."""

    member: str
    error: KafkaError | None = None


def _group_problem(group_id: object) -> BrokerResponseError | None:
    if not isinstance(group_id, str):
        raise TypeError(f"a group id must be a str, got {group_id!r}")
    if not group_id:
        return rejected(InvalidGroupIdError, "group ''", "the group id is empty")
    return None


def _decode_assignment(data: bytes) -> tuple[TopicPartition, ...] | None:
    """Partitions of a consumer-protocol assignment (``None`` when undecodable)."""
    if len(data) < 2:
        return None
    version = min(
        int.from_bytes(data[:2], "big", signed=True), ConsumerProtocolAssignment.MAX_VERSION
    )
    if version < 0:
        return None
    try:
        decoded = ConsumerProtocolAssignment.decode(data[2:], version)
    except KafkaError:
        # Newer versions may add fields after ours; decode of a prefix is not possible
        # with a whole-buffer decoder, so report the raw bytes only.
        return None
    return tuple(
        TopicPartition(t.topic, p) for t in decoded.assigned_partitions for p in t.partitions
    )


def _assigned(a: Assignment) -> tuple[TopicPartition, ...]:
    return tuple(
        sorted(TopicPartition(t.topic_name, p) for t in a.topic_partitions for p in t.partitions)
    )


def _by_topic(tps: Iterable[TopicPartition]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for tp in tps:
        out[tp.topic].append(tp.partition)
    return dict(out)


def _what(group_id: str) -> str:
    return f"group {group_id!r}"


class GroupsMixin(OffsetsMixin, AdminCore):
    """Group operations of :class:`~kafkaio.admin.Admin`."""

    # ------------------------------------------------------------------ list / describe

    async def list_groups(
        self,
        *,
        states: Iterable[str] | None = None,
        types: Iterable[str] | None = None,
        timeout_ms: int | None = None,
    ) -> ListGroupsResult:
        """Groups of every broker, optionally filtered by state (``"Stable"``, ``"Empty"``...,
        ListGroups v4+) and type (``"classic"``, ``"consumer"``, ``"share"``, v5+)."""
        state_filter = [] if states is None else list(states)
        type_filter = [] if types is None else list(types)
        deadline = self._deadline(timeout_ms)
        await self._ensure_started()
        nodes = [b.node_id for b in self._client.cluster.brokers()]
        listed: dict[str, GroupListing] = {}
        errors: dict[int, KafkaError] = {}

        def build(version: int) -> Request:
            if state_filter and version < _STATES_MIN_VERSION:
                raise UnsupportedVersionError(
                    f"filtering groups by state needs ListGroups v4+, the broker offers v{version}"
                )
            if type_filter and version < _TYPES_MIN_VERSION:
                raise UnsupportedVersionError(
                    f"filtering groups by type needs ListGroups v5+, the broker offers v{version}"
                )
            return ListGroupsRequest(states_filter=state_filter, types_filter=type_filter)

        @dataclass(frozen=True, slots=True)
        class _NodeResult:
            groups: tuple[GroupListing, ...] = ()
            error: KafkaError | None = None

        def fail(node: int, exc: KafkaError) -> _NodeResult:
            return _NodeResult(error=exc)

        async def one(node: int, _items: list[int]) -> dict[int, _NodeResult]:
            response = await self._send_node(node, build, ListGroupsResponse, deadline)
            error = broker_error(response.error_code, None, f"ListGroups on broker {node}")
            groups = tuple(
                GroupListing(
                    g.group_id, g.protocol_type, g.group_state or None, g.group_type or None
                )
                for g in response.groups
            )
            return {node: _NodeResult(groups, error)}

        async def attempt(pending: list[int]) -> Mapping[int, _NodeResult]:
            return await self._gather_nodes({n: [n] for n in pending}, one, fail)

        for node, result in (await self._run_items(nodes, attempt, fail, deadline)).items():
            if result.error is not None:
                errors[node] = result.error
            for g in result.groups:
                listed[g.group_id] = g
        return ListGroupsResult(tuple(listed[k] for k in sorted(listed)), errors)

    def _group_keys(
        self, group_ids: Iterable[str]
    ) -> tuple[list[str], dict[str, BrokerResponseError]]:
        ids = list(group_ids)
        no_duplicates(ids, "group")
        bad: dict[str, BrokerResponseError] = {}
        good = []
        for g in ids:
            problem = _group_problem(g)
            if problem is not None:
                bad[g] = problem
            else:
                good.append(g)
        return good, bad

    async def describe_groups(
        self,
        group_ids: Iterable[str],
        *,
        include_authorized_operations: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, GroupDescription]:
        """Describe classic groups: state, protocol, members and their assignments."""
        ids = list(group_ids)
        good, bad = self._group_keys(ids)
        deadline = self._deadline(timeout_ms)

        def fail(g: str, exc: KafkaError) -> GroupDescription:
            return GroupDescription(g, error=exc)

        async def one(node: int, groups: list[str]) -> dict[str, GroupDescription]:
            response = await self._send_coordinator(
                node,
                lambda v: DescribeGroupsRequest(
                    groups=groups, include_authorized_operations=include_authorized_operations
                ),
                DescribeGroupsResponse,
                deadline,
            )
            out = {}
            for g in response.groups:
                consumer = g.protocol_type == _CONSUMER_PROTOCOL
                out[g.group_id] = GroupDescription(
                    group_id=g.group_id,
                    state=g.group_state,
                    protocol_type=g.protocol_type,
                    protocol=g.protocol_data,
                    members=tuple(
                        MemberDescription(
                            m.member_id,
                            m.group_instance_id,
                            m.client_id,
                            m.client_host,
                            _decode_assignment(m.member_assignment) if consumer else None,
                            m.member_metadata,
                            m.member_assignment,
                        )
                        for m in g.members
                    ),
                    coordinator=node,
                    authorized_operations=authorized_operations(g.authorized_operations)
                    if include_authorized_operations
                    else None,
                    error=broker_error(g.error_code, g.error_message, _what(g.group_id)),
                )
            return out

        results = await self._run_by_coordinator(_GROUP, good, one, fail, deadline)
        results.update({g: GroupDescription(g, error=e) for g, e in bad.items()})
        return ResultMap((g, results[g]) for g in ids)

    async def describe_consumer_groups(
        self,
        group_ids: Iterable[str],
        *,
        include_authorized_operations: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, ConsumerGroupDescription]:
        """Describe KIP-848 consumer groups (ConsumerGroupDescribe; Kafka 4.0+).

        A classic group answers with :class:`~kafkaio.errors.GroupIdNotFoundError`
        here; use :meth:`describe_groups` for it.
        """
        ids = list(group_ids)
        good, bad = self._group_keys(ids)
        deadline = self._deadline(timeout_ms)

        def fail(g: str, exc: KafkaError) -> ConsumerGroupDescription:
            return ConsumerGroupDescription(g, error=exc)

        async def one(node: int, groups: list[str]) -> dict[str, ConsumerGroupDescription]:
            response = await self._send_coordinator(
                node,
                lambda v: ConsumerGroupDescribeRequest(
                    group_ids=groups, include_authorized_operations=include_authorized_operations
                ),
                ConsumerGroupDescribeResponse,
                deadline,
            )
            out = {}
            for g in response.groups:
                error = broker_error(g.error_code, g.error_message, _what(g.group_id))
                final(error)
                out[g.group_id] = ConsumerGroupDescription(
                    group_id=g.group_id,
                    state=g.group_state,
                    group_epoch=g.group_epoch,
                    assignment_epoch=g.assignment_epoch,
                    assignor_name=g.assignor_name,
                    members=tuple(
                        ConsumerGroupMember(
                            member_id=m.member_id,
                            instance_id=m.instance_id,
                            rack_id=m.rack_id,
                            member_epoch=m.member_epoch,
                            client_id=m.client_id,
                            client_host=m.client_host,
                            subscribed_topic_names=tuple(m.subscribed_topic_names),
                            subscribed_topic_regex=m.subscribed_topic_regex,
                            assignment=_assigned(m.assignment),
                            target_assignment=_assigned(m.target_assignment),
                        )
                        for m in g.members
                    ),
                    coordinator=node,
                    authorized_operations=authorized_operations(g.authorized_operations)
                    if include_authorized_operations
                    else None,
                    error=error,
                )
            return out

        results = await self._run_by_coordinator(_GROUP, good, one, fail, deadline)
        results.update({g: ConsumerGroupDescription(g, error=e) for g, e in bad.items()})
        return ResultMap((g, results[g]) for g in ids)

    async def delete_groups(
        self, group_ids: Iterable[str], *, timeout_ms: int | None = None
    ) -> ResultMap[str, GroupResult]:
        """Delete empty groups (a group with members reports ``NonEmptyGroupError``)."""
        ids = list(group_ids)
        good, bad = self._group_keys(ids)
        deadline = self._deadline(timeout_ms)

        def fail(g: str, exc: KafkaError) -> GroupResult:
            return GroupResult(g, exc)

        async def one(node: int, groups: list[str]) -> dict[str, GroupResult]:
            response = await self._send_coordinator(
                node,
                lambda v: DeleteGroupsRequest(groups_names=groups),
                DeleteGroupsResponse,
                deadline,
            )
            return {
                r.group_id: GroupResult(
                    r.group_id, broker_error(r.error_code, None, _what(r.group_id))
                )
                for r in response.results
            }

        results = await self._run_by_coordinator(_GROUP, good, one, fail, deadline)
        results.update({g: GroupResult(g, e) for g, e in bad.items()})
        return ResultMap((g, results[g]) for g in ids)

    async def remove_members_from_consumer_group(
        self,
        group_id: str,
        members: Iterable[str | MemberToRemove],
        *,
        reason: str | None = None,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, MemberResult]:
        """Remove members from a classic group (a str is a static member's instance id).

        Needs LeaveGroup v3+ (Kafka 2.4+); results are keyed by instance id, or member id
        for dynamic members.
        """
        targets = [
            MemberToRemove(group_instance_id=m) if isinstance(m, str) else m for m in members
        ]
        for m in targets:
            if not isinstance(m, MemberToRemove):
                raise TypeError(f"expected an instance id or MemberToRemove, got {m!r}")
            if m.group_instance_id is None and not m.member_id:
                raise ValueError(f"{m!r} names neither an instance id nor a member id")
        keys = [m.key for m in targets]
        no_duplicates(keys, "member")
        problem = _group_problem(group_id)
        if problem is not None:
            return ResultMap((k, MemberResult(k, problem)) for k in keys)
        by_key = {m.key: m for m in targets}
        deadline = self._deadline(timeout_ms)

        def fail(k: str, exc: KafkaError) -> MemberResult:
            return MemberResult(k, exc)

        async def attempt(pending: list[str]) -> dict[str, MemberResult]:
            node = await self._client.coordinator_lookup(_GROUP, group_id)

            def build(version: int) -> Request:
                if version < _LEAVE_MANY_MIN_VERSION:
                    raise UnsupportedVersionError(
                        f"removing group members needs LeaveGroup v3+, the broker offers v{version}"
                    )
                return LeaveGroupRequest(
                    group_id=group_id,
                    members=[
                        MemberIdentity(
                            member_id=by_key[k].member_id,
                            group_instance_id=by_key[k].group_instance_id,
                            reason=reason,
                        )
                        for k in pending
                    ],
                )

            response = await self._send_coordinator(node, build, LeaveGroupResponse, deadline)
            if response.error_code:
                error = broker_error(response.error_code, None, _what(group_id))
                self._coordinator_error(_GROUP, group_id, error)
                return {k: MemberResult(k, error) for k in pending}
            out = {}
            for r in response.members:
                key = r.group_instance_id if r.group_instance_id is not None else r.member_id
                out[key] = MemberResult(
                    key, broker_error(r.error_code, None, f"{_what(group_id)} member {key!r}")
                )
            return out

        return ResultMap((await self._run_items(keys, attempt, fail, deadline)).items())

    # ------------------------------------------------------------------ committed offsets

    async def list_consumer_group_offsets(
        self,
        groups: Mapping[str, Iterable[TopicPartition] | None] | Iterable[str],
        *,
        require_stable: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, GroupOffsets]:
        """Committed offsets of many groups at once (all partitions, or the ones given).

        ``require_stable`` waits for pending transactional commits (OffsetFetch v7+).
        Groups sharing a coordinator share one request on brokers with OffsetFetch v8+.
        """
        if isinstance(groups, Mapping):
            wanted: dict[str, list[TopicPartition] | None] = {
                g: None if tps is None else [check_topic_partition(tp) for tp in tps]
                for g, tps in groups.items()
            }
        else:
            wanted = {g: None for g in groups}
        good, bad = self._group_keys(list(wanted))
        deadline = self._deadline(timeout_ms)

        def fail(g: str, exc: KafkaError) -> GroupOffsets:
            return GroupOffsets(g, error=exc)

        async def one(node: int, batch: list[str]) -> dict[str, GroupOffsets]:
            version = await self._client.api_version_for(
                node, OffsetFetchRequest, group=ConnectionGroup.COORDINATION
            )
            if require_stable and version < 7:
                raise UnsupportedVersionError(
                    f"require_stable needs OffsetFetch v7+, broker {node} offers v{version}"
                )
            if version < _MULTI_GROUP_MIN_VERSION:
                out: dict[str, GroupOffsets] = {}
                for g in batch:
                    out.update(
                        await self._fetch_offsets_single(
                            node, g, wanted[g], require_stable, deadline
                        )
                    )
                return out
            ids: dict[str, UUID] = {}
            names: dict[UUID, str] = {}
            if version >= _TOPIC_IDS_MIN_VERSION:
                names = await self._topic_names(deadline)
                ids = {n: i for i, n in names.items()}

            def build(v: int) -> Request:
                return OffsetFetchRequest(
                    groups=[
                        _of.OffsetFetchRequestGroup(
                            group_id=g,
                            topics=None
                            if wanted[g] is None
                            else [
                                _of.OffsetFetchRequestTopics(
                                    name=t if v < _TOPIC_IDS_MIN_VERSION else "",
                                    topic_id=ids.get(t, _ZERO_UUID)
                                    if v >= _TOPIC_IDS_MIN_VERSION
                                    else _ZERO_UUID,
                                    partition_indexes=ps,
                                )
                                for t, ps in _by_topic(wanted[g] or ()).items()
                            ],
                        )
                        for g in batch
                    ],
                    require_stable=require_stable,
                )

            response = await self._send_coordinator(node, build, OffsetFetchResponse, deadline)
            result = {}
            for rg in response.groups:
                offsets: dict[TopicPartition, OffsetAndMetadata | None] = {}
                perrors: dict[TopicPartition, KafkaError] = {}
                for t in rg.topics:
                    name = t.name or names.get(t.topic_id, str(t.topic_id))
                    for p in t.partitions:
                        tp = TopicPartition(name, p.partition_index)
                        error = broker_error(p.error_code, None, f"{_what(rg.group_id)} {tp}")
                        if error is not None:
                            perrors[tp] = error
                        elif p.committed_offset == _NO_OFFSET:
                            offsets[tp] = None
                        else:
                            offsets[tp] = OffsetAndMetadata(
                                p.committed_offset,
                                p.metadata,
                                p.committed_leader_epoch if p.committed_leader_epoch >= 0 else None,
                            )
                result[rg.group_id] = GroupOffsets(
                    rg.group_id,
                    offsets,
                    perrors,
                    broker_error(rg.error_code, None, _what(rg.group_id)),
                )
            return result

        results = await self._run_by_coordinator(_GROUP, good, one, fail, deadline)
        results.update({g: GroupOffsets(g, error=e) for g, e in bad.items()})
        return ResultMap((g, results[g]) for g in wanted)

    async def _fetch_offsets_single(
        self,
        node: int,
        group_id: str,
        tps: list[TopicPartition] | None,
        require_stable: bool,
        deadline: float,
    ) -> dict[str, GroupOffsets]:
        def build(version: int) -> Request:
            if tps is None and version < 2:
                raise UnsupportedVersionError(
                    f"listing all committed offsets needs OffsetFetch v2+, broker offers v{version}"
                )
            return OffsetFetchRequest(
                group_id=group_id,
                topics=None
                if tps is None
                else [
                    _of.OffsetFetchRequestTopic(name=t, partition_indexes=ps)
                    for t, ps in _by_topic(tps).items()
                ],
                require_stable=require_stable,
            )

        response = await self._send_coordinator(node, build, OffsetFetchResponse, deadline)
        offsets: dict[TopicPartition, OffsetAndMetadata | None] = {}
        perrors: dict[TopicPartition, KafkaError] = {}
        for t in response.topics:
            for p in t.partitions:
                tp = TopicPartition(t.name, p.partition_index)
                error = broker_error(p.error_code, None, f"{_what(group_id)} {tp}")
                if error is not None:
                    perrors[tp] = error
                elif p.committed_offset == _NO_OFFSET:
                    offsets[tp] = None
                else:
                    offsets[tp] = OffsetAndMetadata(
                        p.committed_offset,
                        p.metadata,
                        p.committed_leader_epoch if p.committed_leader_epoch >= 0 else None,
                    )
        return {
            group_id: GroupOffsets(
                group_id, offsets, perrors, broker_error(response.error_code, None, _what(group_id))
            )
        }

    async def alter_consumer_group_offsets(
        self,
        group_id: str,
        offsets: Mapping[TopicPartition, int | OffsetAndMetadata],
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[TopicPartition, PartitionOffsetResult]:
        """Set a group's committed offsets (the group must have no active members)."""
        problem = _group_problem(group_id)
        targets: dict[TopicPartition, OffsetAndMetadata] = {}
        results: dict[TopicPartition, PartitionOffsetResult] = {}
        for raw, value in offsets.items():
            tp = check_topic_partition(raw)
            om = (
                value
                if isinstance(value, OffsetAndMetadata)
                else OffsetAndMetadata(check_int(value, f"offset of {tp}"))
            )
            if problem is not None:
                results[tp] = PartitionOffsetResult(tp, problem)
            elif om.offset < 0:
                results[tp] = PartitionOffsetResult(
                    tp,
                    rejected(
                        InvalidRequestError,
                        f"{_what(group_id)} {tp}",
                        f"offset must be >= 0, got {om.offset}",
                    ),
                )
            else:
                targets[tp] = om
        deadline = self._deadline(timeout_ms)

        def fail(tp: TopicPartition, exc: KafkaError) -> PartitionOffsetResult:
            return PartitionOffsetResult(tp, exc)

        async def attempt(
            pending: list[TopicPartition],
        ) -> dict[TopicPartition, PartitionOffsetResult]:
            node = await self._client.coordinator_lookup(_GROUP, group_id)
            version = await self._client.api_version_for(
                node, OffsetCommitRequest, group=ConnectionGroup.COORDINATION
            )
            ids: dict[str, UUID] = {}
            if version >= _TOPIC_IDS_MIN_VERSION:
                ids = await self._topic_ids({tp.topic for tp in pending}, deadline)

            def build(v: int) -> Request:
                return OffsetCommitRequest(
                    group_id=group_id,
                    generation_id_or_member_epoch=_NO_GENERATION,
                    member_id="",
                    group_instance_id=None,
                    topics=[
                        _oc.OffsetCommitRequestTopic(
                            name=t,
                            topic_id=ids.get(t, _ZERO_UUID),
                            partitions=[
                                _oc.OffsetCommitRequestPartition(
                                    partition_index=p,
                                    committed_offset=targets[TopicPartition(t, p)].offset,
                                    committed_leader_epoch=_epoch(targets[TopicPartition(t, p)]),
                                    committed_metadata=targets[TopicPartition(t, p)].metadata,
                                )
                                for p in ps
                            ],
                        )
                        for t, ps in _by_topic(pending).items()
                    ],
                )

            response = await self._send_coordinator(node, build, OffsetCommitResponse, deadline)
            by_id = {i: n for n, i in ids.items()}
            out = {}
            for t in response.topics:
                name = t.name or by_id.get(t.topic_id, str(t.topic_id))
                for p in t.partitions:
                    tp = TopicPartition(name, p.partition_index)
                    error = broker_error(p.error_code, None, f"{_what(group_id)} {tp}")
                    self._coordinator_error(_GROUP, group_id, error)
                    out[tp] = PartitionOffsetResult(tp, error)
            return out

        if targets:
            results.update(await self._run_items(list(targets), attempt, fail, deadline))
        return ResultMap((tp, results[tp]) for tp in map(check_topic_partition, offsets))

    async def delete_consumer_group_offsets(
        self,
        group_id: str,
        partitions: Iterable[TopicPartition],
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[TopicPartition, PartitionOffsetResult]:
        """Delete a group's committed offsets for partitions it no longer consumes."""
        tps = [check_topic_partition(tp) for tp in partitions]
        no_duplicates(tps, "partition")
        problem = _group_problem(group_id)
        if problem is not None:
            return ResultMap((tp, PartitionOffsetResult(tp, problem)) for tp in tps)
        deadline = self._deadline(timeout_ms)

        def fail(tp: TopicPartition, exc: KafkaError) -> PartitionOffsetResult:
            return PartitionOffsetResult(tp, exc)

        async def attempt(
            pending: list[TopicPartition],
        ) -> dict[TopicPartition, PartitionOffsetResult]:
            node = await self._client.coordinator_lookup(_GROUP, group_id)

            def build(v: int) -> Request:
                return OffsetDeleteRequest(
                    group_id=group_id,
                    topics=[
                        _od.OffsetDeleteRequestTopic(
                            name=t,
                            partitions=[
                                _od.OffsetDeleteRequestPartition(partition_index=p) for p in ps
                            ],
                        )
                        for t, ps in _by_topic(pending).items()
                    ],
                )

            response = await self._send_coordinator(node, build, OffsetDeleteResponse, deadline)
            if response.error_code:
                self._coordinator_error(_GROUP, group_id, for_code(response.error_code)())
                return {
                    tp: PartitionOffsetResult(
                        tp, broker_error(response.error_code, None, f"{_what(group_id)} {tp}")
                    )
                    for tp in pending
                }
            return {
                TopicPartition(t.name, p.partition_index): PartitionOffsetResult(
                    TopicPartition(t.name, p.partition_index),
                    broker_error(
                        p.error_code, None, f"{_what(group_id)} {t.name}-{p.partition_index}"
                    ),
                )
                for t in response.topics
                for p in t.partitions
            }

        return ResultMap((await self._run_items(tps, attempt, fail, deadline)).items())

    async def consumer_group_lag(
        self,
        group_id: str,
        *,
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
        timeout_ms: int | None = None,
    ) -> ResultMap[TopicPartition, PartitionLag]:
        """Committed offset, end offset and lag of every partition the group committed.

        Raises the group's error (e.g. coordinator unavailable) if its offsets cannot
        be read; per-partition failures are in each :class:`PartitionLag`.
        """
        committed = (await self.list_consumer_group_offsets([group_id], timeout_ms=timeout_ms))[
            group_id
        ]
        if committed.error is not None:
            raise committed.error
        tps = sorted(set(committed.offsets) | set(committed.partition_errors))
        ends = await self.list_offsets(
            {tp: OffsetSpec.latest() for tp in tps},
            isolation_level=isolation_level,
            timeout_ms=timeout_ms,
        )
        out: ResultMap[TopicPartition, PartitionLag] = ResultMap()
        for tp in tps:
            om = committed.offsets.get(tp)
            end = ends[tp]
            out[tp] = PartitionLag(
                tp,
                om.offset if om is not None else None,
                end.offset,
                committed.partition_errors.get(tp) or end.error,
            )
        return out


def _epoch(om: OffsetAndMetadata) -> int:
    return -1 if om.leader_epoch is None else om.leader_epoch
