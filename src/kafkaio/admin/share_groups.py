"""Share groups (KIP-932): describe, and list / alter / delete their start offsets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kafkaio.admin._core import AdminCore
from kafkaio.admin.groups import PartitionOffsetResult
from kafkaio.admin.results import ResultMap, broker_error, rejected
from kafkaio.admin.topics import TopicResult
from kafkaio.admin.types import AclOperation, authorized_operations
from kafkaio.admin.validation import check_int, check_topic_partition, no_duplicates
from kafkaio.cluster import CoordinationType, TopicPartition
from kafkaio.errors import InvalidGroupIdError, InvalidRequestError, KafkaError
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    AlterShareGroupOffsetsRequest,
    AlterShareGroupOffsetsResponse,
    DeleteShareGroupOffsetsRequest,
    DeleteShareGroupOffsetsResponse,
    DescribeShareGroupOffsetsRequest,
    DescribeShareGroupOffsetsResponse,
    ShareGroupDescribeRequest,
    ShareGroupDescribeResponse,
)
from kafkaio.protocol.messages import alter_share_group_offsets as _asgo
from kafkaio.protocol.messages import describe_share_group_offsets as _dsgo
from kafkaio.protocol.messages.delete_share_group_offsets import (
    DeleteShareGroupOffsetsRequestTopic,
)
from kafkaio.protocol.messages.share_group_describe import Assignment

__all__ = [
    "ShareGroupDescription",
    "ShareGroupMember",
    "ShareGroupOffsets",
    "ShareGroupsMixin",
    "SharePartitionOffset",
]

_GROUP = CoordinationType.GROUP


@dataclass(frozen=True, slots=True)
class ShareGroupMember:
    """A member of a share group."""

    member_id: str
    rack_id: str | None
    member_epoch: int
    client_id: str
    client_host: str
    subscribed_topic_names: tuple[str, ...]
    assignment: tuple[TopicPartition, ...]


@dataclass(frozen=True, slots=True)
class ShareGroupDescription:
    """A share group (ShareGroupDescribe)."""

    group_id: str
    state: str = ""
    group_epoch: int = -1
    assignment_epoch: int = -1
    assignor_name: str = ""
    members: tuple[ShareGroupMember, ...] = ()
    coordinator: int | None = None
    authorized_operations: frozenset[AclOperation] | None = None
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class SharePartitionOffset:
    """Where a share group starts delivering a partition from."""

    start_offset: int
    leader_epoch: int | None = None
    lag: int | None = None
    """Records not yet acknowledged (DescribeShareGroupOffsets v1+)."""


@dataclass(frozen=True, slots=True)
class ShareGroupOffsets:
    """A share group's start offsets per partition."""

    group_id: str
    offsets: Mapping[TopicPartition, SharePartitionOffset] = field(default_factory=dict)
    partition_errors: Mapping[TopicPartition, KafkaError] = field(default_factory=dict)
    error: KafkaError | None = None


def _assigned(a: Assignment) -> tuple[TopicPartition, ...]:
    return tuple(
        sorted(TopicPartition(t.topic_name, p) for t in a.topic_partitions for p in t.partitions)
    )


def _what(group_id: str) -> str:
    return f"share group {group_id!r}"


class ShareGroupsMixin(AdminCore):
    """Share-group operations of :class:`~kafkaio.admin.Admin`."""

    async def describe_share_groups(
        self,
        group_ids: Iterable[str],
        *,
        include_authorized_operations: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, ShareGroupDescription]:
        """State, epochs and members (with assignments) of share groups."""
        ids = list(group_ids)
        no_duplicates(ids, "group")
        deadline = self._deadline(timeout_ms)
        bad = {
            g: rejected(InvalidGroupIdError, "group ''", "the group id is empty")
            for g in ids
            if not g
        }

        def fail(g: str, exc: KafkaError) -> ShareGroupDescription:
            return ShareGroupDescription(g, error=exc)

        async def one(node: int, batch: list[str]) -> dict[str, ShareGroupDescription]:
            response = await self._send_coordinator(
                node,
                lambda v: ShareGroupDescribeRequest(
                    group_ids=batch, include_authorized_operations=include_authorized_operations
                ),
                ShareGroupDescribeResponse,
                deadline,
            )
            return {
                g.group_id: ShareGroupDescription(
                    group_id=g.group_id,
                    state=g.group_state,
                    group_epoch=g.group_epoch,
                    assignment_epoch=g.assignment_epoch,
                    assignor_name=g.assignor_name,
                    members=tuple(
                        ShareGroupMember(
                            m.member_id,
                            m.rack_id,
                            m.member_epoch,
                            m.client_id,
                            m.client_host,
                            tuple(m.subscribed_topic_names),
                            _assigned(m.assignment),
                        )
                        for m in g.members
                    ),
                    coordinator=node,
                    authorized_operations=authorized_operations(g.authorized_operations)
                    if include_authorized_operations
                    else None,
                    error=broker_error(g.error_code, g.error_message, _what(g.group_id)),
                )
                for g in response.groups
            }

        good = [g for g in ids if g not in bad]
        results = await self._run_by_coordinator(_GROUP, good, one, fail, deadline)
        results.update({g: ShareGroupDescription(g, error=e) for g, e in bad.items()})
        return ResultMap((g, results[g]) for g in ids)

    async def list_share_group_offsets(
        self,
        groups: Mapping[str, Iterable[TopicPartition] | None] | Iterable[str],
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, ShareGroupOffsets]:
        """Start offsets of many share groups (all their partitions, or the ones given)."""
        if isinstance(groups, Mapping):
            wanted: dict[str, list[TopicPartition] | None] = {
                g: None if tps is None else [check_topic_partition(tp) for tp in tps]
                for g, tps in groups.items()
            }
        else:
            wanted = {g: None for g in groups}
        deadline = self._deadline(timeout_ms)

        def fail(g: str, exc: KafkaError) -> ShareGroupOffsets:
            return ShareGroupOffsets(g, error=exc)

        def topics_of(g: str) -> list[_dsgo.DescribeShareGroupOffsetsRequestTopic] | None:
            tps = wanted[g]
            if tps is None:
                return None
            by_topic: dict[str, list[int]] = defaultdict(list)
            for tp in tps:
                by_topic[tp.topic].append(tp.partition)
            return [
                _dsgo.DescribeShareGroupOffsetsRequestTopic(topic_name=t, partitions=ps)
                for t, ps in by_topic.items()
            ]

        async def one(node: int, batch: list[str]) -> dict[str, ShareGroupOffsets]:
            def build(version: int) -> Request:
                return DescribeShareGroupOffsetsRequest(
                    groups=[
                        _dsgo.DescribeShareGroupOffsetsRequestGroup(group_id=g, topics=topics_of(g))
                        for g in batch
                    ]
                )

            response = await self._send_coordinator(
                node, build, DescribeShareGroupOffsetsResponse, deadline
            )
            out = {}
            for rg in response.groups:
                offsets: dict[TopicPartition, SharePartitionOffset] = {}
                perrors: dict[TopicPartition, KafkaError] = {}
                for t in rg.topics:
                    for p in t.partitions:
                        tp = TopicPartition(t.topic_name, p.partition_index)
                        error = broker_error(
                            p.error_code, p.error_message, f"{_what(rg.group_id)} {tp}"
                        )
                        if error is not None:
                            perrors[tp] = error
                        elif p.start_offset >= 0:
                            offsets[tp] = SharePartitionOffset(
                                p.start_offset,
                                p.leader_epoch if p.leader_epoch >= 0 else None,
                                p.lag if p.lag >= 0 else None,
                            )
                out[rg.group_id] = ShareGroupOffsets(
                    rg.group_id,
                    offsets,
                    perrors,
                    broker_error(rg.error_code, rg.error_message, _what(rg.group_id)),
                )
            return out

        results = await self._run_by_coordinator(_GROUP, list(wanted), one, fail, deadline)
        return ResultMap((g, results[g]) for g in wanted)

    async def alter_share_group_offsets(
        self,
        group_id: str,
        offsets: Mapping[TopicPartition, int],
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[TopicPartition, PartitionOffsetResult]:
        """Set a share group's start offsets (the group must have no members)."""
        targets: dict[TopicPartition, int] = {}
        results: dict[TopicPartition, PartitionOffsetResult] = {}
        for raw, offset in offsets.items():
            tp = check_topic_partition(raw)
            if check_int(offset, f"offset of {tp}") < 0:
                results[tp] = PartitionOffsetResult(
                    tp,
                    rejected(InvalidRequestError, f"{_what(group_id)} {tp}", "offset must be >= 0"),
                )
            else:
                targets[tp] = offset
        deadline = self._deadline(timeout_ms)

        def fail(tp: TopicPartition, exc: KafkaError) -> PartitionOffsetResult:
            return PartitionOffsetResult(tp, exc)

        async def attempt(
            pending: list[TopicPartition],
        ) -> dict[TopicPartition, PartitionOffsetResult]:
            node = await self._client.coordinator_lookup(_GROUP, group_id)
            by_topic: dict[str, list[int]] = defaultdict(list)
            for tp in pending:
                by_topic[tp.topic].append(tp.partition)

            def build(version: int) -> Request:
                return AlterShareGroupOffsetsRequest(
                    group_id=group_id,
                    topics=[
                        _asgo.AlterShareGroupOffsetsRequestTopic(
                            topic_name=t,
                            partitions=[
                                _asgo.AlterShareGroupOffsetsRequestPartition(
                                    partition_index=p, start_offset=targets[TopicPartition(t, p)]
                                )
                                for p in ps
                            ],
                        )
                        for t, ps in by_topic.items()
                    ],
                )

            response = await self._send_coordinator(
                node, build, AlterShareGroupOffsetsResponse, deadline
            )
            if response.error_code:
                error = broker_error(response.error_code, response.error_message, _what(group_id))
                self._coordinator_error(_GROUP, group_id, error)
                return {tp: PartitionOffsetResult(tp, error) for tp in pending}
            return {
                TopicPartition(t.topic_name, p.partition_index): PartitionOffsetResult(
                    TopicPartition(t.topic_name, p.partition_index),
                    broker_error(
                        p.error_code,
                        p.error_message,
                        f"{_what(group_id)} {t.topic_name}-{p.partition_index}",
                    ),
                )
                for t in response.responses
                for p in t.partitions
            }

        if targets:
            results.update(await self._run_items(list(targets), attempt, fail, deadline))
        return ResultMap((tp, results[tp]) for tp in map(check_topic_partition, offsets))

    async def delete_share_group_offsets(
        self, group_id: str, topics: Iterable[str], *, timeout_ms: int | None = None
    ) -> ResultMap[str, TopicResult]:
        """Forget a share group's offsets for whole topics (the group must have no members)."""
        names = list(topics)
        no_duplicates(names, "topic")
        deadline = self._deadline(timeout_ms)

        def fail(t: str, exc: KafkaError) -> TopicResult:
            return TopicResult(t, exc)

        async def attempt(pending: list[str]) -> dict[str, TopicResult]:
            node = await self._client.coordinator_lookup(_GROUP, group_id)
            response = await self._send_coordinator(
                node,
                lambda v: DeleteShareGroupOffsetsRequest(
                    group_id=group_id,
                    topics=[DeleteShareGroupOffsetsRequestTopic(topic_name=t) for t in pending],
                ),
                DeleteShareGroupOffsetsResponse,
                deadline,
            )
            if response.error_code:
                error = broker_error(response.error_code, response.error_message, _what(group_id))
                self._coordinator_error(_GROUP, group_id, error)
                return {t: TopicResult(t, error) for t in pending}
            return {
                r.topic_name: TopicResult(
                    r.topic_name,
                    broker_error(
                        r.error_code, r.error_message, f"{_what(group_id)} topic {r.topic_name!r}"
                    ),
                )
                for r in response.responses
            }

        return ResultMap((await self._run_items(names, attempt, fail, deadline)).items())
