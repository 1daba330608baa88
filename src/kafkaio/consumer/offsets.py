"""Offset look-ups (ListOffsets) and the group's committed offsets (OffsetCommit/OffsetFetch)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kafkaio.cluster import ClusterClient, ConnectionGroup, CoordinationType, TopicPartition
from kafkaio.consumer.record import OffsetAndMetadata, OffsetAndTimestamp
from kafkaio.errors import (
    KafkaError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RetriableError,
    StaleMetadataError,
    for_code,
)
from kafkaio.protocol.api import Request, Response
from kafkaio.protocol.messages import (
    ListOffsetsRequest,
    ListOffsetsResponse,
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetFetchRequest,
    OffsetFetchResponse,
)
from kafkaio.protocol.messages.list_offsets import ListOffsetsPartition, ListOffsetsTopic
from kafkaio.protocol.messages.offset_commit import (
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkaio.protocol.messages.offset_fetch import (
    OffsetFetchRequestGroup,
    OffsetFetchRequestTopic,
    OffsetFetchRequestTopics,
)

__all__ = [
    "EARLIEST_TIMESTAMP",
    "LATEST_TIMESTAMP",
    "OffsetsClient",
]

log = logging.getLogger("kafkaio.consumer")

LATEST_TIMESTAMP = -1
EARLIEST_TIMESTAMP = -2

# Versions from which these APIs address topics by id: stay below them (names suffice).
_OFFSET_COMMIT_MAX = 9
_OFFSET_FETCH_MAX = 9
_OFFSET_FETCH_GROUPS = 8

_COORDINATOR_MOVED = frozenset({15, 16})  # COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR
_RETRY_COMMIT = frozenset({7, 14, 15, 16})  # + REQUEST_TIMED_OUT, COORDINATOR_LOAD_IN_PROGRESS
_LEADER_MOVED = frozenset({3, 5, 6, 74, 75, 100})


class OffsetsClient:
    """ListOffsets against partition leaders; OffsetCommit/OffsetFetch against the group
    coordinator. Retries retriable errors until ``request_timeout_ms``."""

    def __init__(
        self,
        client: ClusterClient,
        *,
        request_timeout_ms: int,
        retry_backoff_ms: int,
        isolation_level: int,
    ) -> None:
        self._client = client
        self._timeout = request_timeout_ms / 1000
        self._backoff = retry_backoff_ms / 1000
        self._isolation = isolation_level

    # ------------------------------------------------------------------ ListOffsets

    async def list_offsets(
        self, timestamps: Mapping[TopicPartition, int], timeout: float | None = None
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        """Offsets for ``timestamps`` (``-2`` earliest, ``-1`` latest, else the first offset
        with a timestamp at or after it; ``None`` when there is none)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._timeout if timeout is None else timeout)
        remaining = dict(timestamps)
        result: dict[TopicPartition, OffsetAndTimestamp | None] = {}
        for topic in {tp.topic for tp in remaining}:
            await self._client.partitions_for(topic)
        last_error: BaseException | None = None
        while remaining:
            by_node: dict[int, dict[TopicPartition, int]] = {}
            for tp, ts in remaining.items():
                leader = self._client.leader_for(tp)
                if leader is not None:
                    by_node.setdefault(leader, {})[tp] = ts
            if by_node:
                outcomes = await asyncio.gather(
                    *(self._list_from(node, parts) for node, parts in by_node.items()),
                    return_exceptions=True,
                )
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        if not isinstance(outcome, (RetriableError, StaleMetadataError)):
                            raise outcome
                        last_error = outcome
                        continue
                    done, error = outcome
                    for tp, value in done.items():
                        result[tp] = value
                        remaining.pop(tp, None)
                    if error is not None:
                        last_error = error
            if not remaining:
                break
            if loop.time() >= deadline:
                raise KafkaTimeoutError(
                    f"ListOffsets for {sorted(remaining)} did not succeed in time"
                    f" (last error: {last_error})"
                )
            await self._client.force_metadata_update()
            await asyncio.sleep(self._backoff)
        return result

    async def _list_from(
        self, node: int, parts: Mapping[TopicPartition, int]
    ) -> tuple[dict[TopicPartition, OffsetAndTimestamp | None], KafkaError | None]:
        topics: dict[str, list[ListOffsetsPartition]] = {}
        for tp, ts in parts.items():
            topics.setdefault(tp.topic, []).append(
                ListOffsetsPartition(
                    partition_index=tp.partition,
                    current_leader_epoch=self._client.cluster.leader_epoch(tp),
                    timestamp=ts,
                )
            )
        request = ListOffsetsRequest(
            replica_id=-1,
            isolation_level=self._isolation,
            topics=[ListOffsetsTopic(name=t, partitions=p) for t, p in topics.items()],
            timeout_ms=int(self._timeout * 1000),
        )
        response = await self._client.send(node, request)
        assert isinstance(response, ListOffsetsResponse)
        done: dict[TopicPartition, OffsetAndTimestamp | None] = {}
        error: KafkaError | None = None
        for topic in response.topics:
            for part in topic.partitions:
                tp = TopicPartition(topic.name, part.partition_index)
                if tp not in parts:
                    continue
                code = part.error_code
                if code == 0:
                    done[tp] = (
                        None
                        if part.offset < 0
                        else OffsetAndTimestamp(
                            part.offset,
                            part.timestamp,
                            part.leader_epoch if part.leader_epoch >= 0 else None,
                        )
                    )
                elif code in _LEADER_MOVED:
                    error = for_code(code)(f"ListOffsets for {tp.topic}-{tp.partition}")
                else:
                    exc = for_code(code)(f"ListOffsets for {tp.topic}-{tp.partition}")
                    if not isinstance(exc, RetriableError):
                        raise exc
                    error = exc
        return done, error

    # ------------------------------------------------------------------ coordinator requests

    async def coordinator_send(
        self, group_id: str, build: Callable[[int], Request], max_version: int | None = None
    ) -> tuple[int, Response]:
        """Send ``build(version)`` to the group's coordinator; returns ``(node, response)``.

        Connection failures invalidate the coordinator and are raised (callers retry).
        """
        try:
            node = await self._client.coordinator_lookup(CoordinationType.GROUP, group_id)
        except KafkaError:
            self._client.invalidate_coordinator(CoordinationType.GROUP, group_id)
            raise
        try:
            probe = build(0)
            version = await self._client.api_version_for(
                node, type(probe), group=ConnectionGroup.COORDINATION
            )
            if max_version is not None:
                version = min(version, max_version)
            response = await self._client.send(
                node, build(version), group=ConnectionGroup.COORDINATION, version=version
            )
        except (NodeNotReadyError, StaleMetadataError, RetriableError):
            self._client.invalidate_coordinator(CoordinationType.GROUP, group_id)
            raise
        assert response is not None
        return node, response

    def coordinator_moved(self, group_id: str, code: int) -> bool:
        """Forget the coordinator after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE."""
        if code in _COORDINATOR_MOVED:
            self._client.invalidate_coordinator(CoordinationType.GROUP, group_id)
            return True
        return False

    # ------------------------------------------------------------------ OffsetFetch

    async def fetch_committed(
        self, group_id: str, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, OffsetAndMetadata | None]:
        """The group's committed offsets for ``partitions`` (``None``: nothing committed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        while True:
            try:
                return await self._fetch_committed_once(group_id, partitions)
            except RetriableError as exc:
                if loop.time() >= deadline:
                    raise KafkaTimeoutError(
                        f"OffsetFetch for group {group_id!r} did not succeed in time: {exc}"
                    ) from exc
                log.debug("OffsetFetch for group %r: %s; retrying", group_id, exc)
                await asyncio.sleep(self._backoff)

    async def _fetch_committed_once(
        self, group_id: str, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, OffsetAndMetadata | None]:
        by_topic: dict[str, list[int]] = {}
        for tp in partitions:
            by_topic.setdefault(tp.topic, []).append(tp.partition)

        def build(version: int) -> Request:
            if version >= _OFFSET_FETCH_GROUPS:
                return OffsetFetchRequest(
                    groups=[
                        OffsetFetchRequestGroup(
                            group_id=group_id,
                            topics=[
                                OffsetFetchRequestTopics(name=t, partition_indexes=p)
                                for t, p in by_topic.items()
                            ],
                        )
                    ],
                    require_stable=True,
                )
            return OffsetFetchRequest(
                group_id=group_id,
                topics=[
                    OffsetFetchRequestTopic(name=t, partition_indexes=p)
                    for t, p in by_topic.items()
                ],
                require_stable=version >= 7,
            )

        _node, response = await self.coordinator_send(group_id, build, _OFFSET_FETCH_MAX)
        assert isinstance(response, OffsetFetchResponse)
        rows: list[tuple[str, Any]] = []
        code = response.error_code
        if response.groups:
            group = response.groups[0]
            code = group.error_code
            rows = [(t.name, p) for t in group.topics for p in t.partitions]
        else:
            rows = [(t.name, p) for t in response.topics for p in t.partitions]
        if code:
            self.coordinator_moved(group_id, code)
            raise for_code(code)(f"OffsetFetch for group {group_id!r}")
        result: dict[TopicPartition, OffsetAndMetadata | None] = dict.fromkeys(partitions)
        for topic, part in rows:
            tp = TopicPartition(topic, part.partition_index)
            if part.error_code:
                self.coordinator_moved(group_id, part.error_code)
                raise for_code(part.error_code)(f"OffsetFetch of {topic}-{part.partition_index}")
            if part.committed_offset >= 0:
                epoch = part.committed_leader_epoch
                result[tp] = OffsetAndMetadata(
                    part.committed_offset, part.metadata or "", epoch if epoch >= 0 else None
                )
        return result

    # ------------------------------------------------------------------ OffsetCommit

    async def commit(
        self,
        group_id: str,
        offsets: Mapping[TopicPartition, OffsetAndMetadata],
        *,
        generation_id: int = -1,
        member_id: str = "",
        group_instance_id: str | None = None,
    ) -> None:
        """Commit ``offsets`` (each the next offset to read); retries coordinator moves.

        Group membership errors (``UNKNOWN_MEMBER_ID``, ``ILLEGAL_GENERATION``,
        ``REBALANCE_IN_PROGRESS``, ``FENCED_INSTANCE_ID``) are raised, never dropped.
        """
        if not offsets:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        while True:
            try:
                await self._commit_once(
                    group_id, offsets, generation_id, member_id, group_instance_id
                )
                return
            except RetriableError as exc:
                if loop.time() >= deadline:
                    raise KafkaTimeoutError(
                        f"OffsetCommit for group {group_id!r} did not succeed in time: {exc}"
                    ) from exc
                log.debug("OffsetCommit for group %r: %s; retrying", group_id, exc)
                await asyncio.sleep(self._backoff)

    async def _commit_once(
        self,
        group_id: str,
        offsets: Mapping[TopicPartition, OffsetAndMetadata],
        generation_id: int,
        member_id: str,
        group_instance_id: str | None,
    ) -> None:
        by_topic: dict[str, list[OffsetCommitRequestPartition]] = {}
        for tp, om in offsets.items():
            by_topic.setdefault(tp.topic, []).append(
                OffsetCommitRequestPartition(
                    partition_index=tp.partition,
                    committed_offset=om.offset,
                    committed_leader_epoch=-1 if om.leader_epoch is None else om.leader_epoch,
                    committed_metadata=om.metadata,
                )
            )

        def build(version: int) -> Request:
            return OffsetCommitRequest(
                group_id=group_id,
                generation_id_or_member_epoch=generation_id,
                member_id=member_id,
                group_instance_id=group_instance_id if version >= 7 else None,
                topics=[
                    OffsetCommitRequestTopic(name=t, partitions=p) for t, p in by_topic.items()
                ],
            )

        _node, response = await self.coordinator_send(group_id, build, _OFFSET_COMMIT_MAX)
        assert isinstance(response, OffsetCommitResponse)
        first: KafkaError | None = None
        for topic in response.topics:
            for part in topic.partitions:
                code = part.error_code
                if not code:
                    continue
                self.coordinator_moved(group_id, code)
                exc = for_code(code)(
                    f"OffsetCommit of {topic.name}-{part.partition_index} for group {group_id!r}"
                )
                if code in _RETRY_COMMIT:
                    raise exc
                if first is None:
                    first = exc
        if first is not None:
            raise first
