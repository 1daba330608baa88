"""Offsets and records: list offsets (earliest, latest, by timestamp, ...), delete records.

Both go to each partition's leader: partitions are grouped by leader from fresh
metadata, one request per broker, and partitions whose leader moved are retried.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kafkaio.admin._core import AdminCore
from kafkaio.admin.results import ResultMap, broker_error, rejected
from kafkaio.admin.types import IsolationLevel
from kafkaio.admin.validation import check_int, check_topic_partition
from kafkaio.cluster import TopicPartition
from kafkaio.errors import InvalidRequestError, KafkaError, UnsupportedVersionError
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
)
from kafkaio.protocol.messages.delete_records import DeleteRecordsPartition, DeleteRecordsTopic
from kafkaio.protocol.messages.list_offsets import ListOffsetsPartition, ListOffsetsTopic

__all__ = [
    "DeleteRecordsResult",
    "ListOffsetsResultInfo",
    "OffsetSpec",
    "OffsetsMixin",
]

_CONSUMER_REPLICA_ID = -1
_HIGH_WATERMARK = -1


@dataclass(frozen=True, slots=True)
class OffsetSpec:
    """Which offset :meth:`OffsetsMixin.list_offsets` looks up for a partition."""

    timestamp: int
    """A timestamp in ms, or one of the special values below."""

    EARLIEST_TS = -2
    LATEST_TS = -1
    MAX_TIMESTAMP_TS = -3
    EARLIEST_LOCAL_TS = -4
    LATEST_TIERED_TS = -5

    @classmethod
    def earliest(cls) -> OffsetSpec:
        """The log start offset."""
        return cls(cls.EARLIEST_TS)

    @classmethod
    def latest(cls) -> OffsetSpec:
        """The end offset (high watermark; last stable offset with READ_COMMITTED)."""
        return cls(cls.LATEST_TS)

    @classmethod
    def max_timestamp(cls) -> OffsetSpec:
        """The record with the largest timestamp (ListOffsets v7+)."""
        return cls(cls.MAX_TIMESTAMP_TS)

    @classmethod
    def earliest_local(cls) -> OffsetSpec:
        """The first offset still on the broker's local disk (tiered storage; v8+)."""
        return cls(cls.EARLIEST_LOCAL_TS)

    @classmethod
    def latest_tiered(cls) -> OffsetSpec:
        """The highest offset copied to remote storage (v9+)."""
        return cls(cls.LATEST_TIERED_TS)

    @classmethod
    def for_timestamp(cls, timestamp_ms: int) -> OffsetSpec:
        """The first offset whose timestamp is >= ``timestamp_ms``."""
        if check_int(timestamp_ms, "timestamp_ms") < 0:
            raise ValueError(f"timestamp_ms must be >= 0, got {timestamp_ms}")
        return cls(timestamp_ms)

    def min_version(self) -> tuple[int, str]:
        """Lowest ListOffsets version able to carry this spec, and what it is called."""
        return {
            self.MAX_TIMESTAMP_TS: (7, "max-timestamp offset lookup"),
            self.EARLIEST_LOCAL_TS: (8, "earliest-local offset lookup"),
            self.LATEST_TIERED_TS: (9, "latest-tiered offset lookup"),
        }.get(self.timestamp, (0, "offset lookup"))


@dataclass(frozen=True, slots=True)
class ListOffsetsResultInfo:
    """The offset found for one partition (``offset`` ``None``: no such record)."""

    tp: TopicPartition
    offset: int | None = None
    timestamp: int | None = None
    leader_epoch: int | None = None
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class DeleteRecordsResult:
    """The partition's new log start offset after deleting records."""

    tp: TopicPartition
    low_watermark: int | None = None
    error: KafkaError | None = None


def _by_topic(tps: Iterable[TopicPartition]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for tp in tps:
        out[tp.topic].append(tp.partition)
    return dict(out)


def _what(tp: TopicPartition) -> str:
    return f"partition {tp.topic}-{tp.partition}"


class OffsetsMixin(AdminCore):
    """Offset and record operations of :class:`~kafkaio.admin.Admin`."""

    async def list_offsets(
        self,
        specs: Mapping[TopicPartition, OffsetSpec],
        *,
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
        timeout_ms: int | None = None,
    ) -> ResultMap[TopicPartition, ListOffsetsResultInfo]:
        """Look up offsets per partition: earliest, latest, by timestamp, max timestamp..."""
        wanted: dict[TopicPartition, OffsetSpec] = {}
        for raw, spec in specs.items():
            if not isinstance(spec, OffsetSpec):
                raise TypeError(f"{raw!r}: expected an OffsetSpec, got {spec!r}")
            wanted[check_topic_partition(raw)] = spec
        level = IsolationLevel(isolation_level)
        deadline = self._deadline(timeout_ms)

        def fail(tp: TopicPartition, exc: KafkaError) -> ListOffsetsResultInfo:
            return ListOffsetsResultInfo(tp, error=exc)

        async def one(
            node: int, tps: list[TopicPartition]
        ) -> dict[TopicPartition, ListOffsetsResultInfo]:
            def build(version: int) -> Request:
                for tp in tps:
                    needed, feature = wanted[tp].min_version()
                    if version < needed:
                        raise UnsupportedVersionError(
                            f"{feature} needs ListOffsets v{needed}+, broker {node} offers"
                            f" v{version}"
                        )
                return ListOffsetsRequest(
                    replica_id=_CONSUMER_REPLICA_ID,
                    isolation_level=int(level),
                    topics=[
                        ListOffsetsTopic(
                            name=t,
                            partitions=[
                                ListOffsetsPartition(
                                    partition_index=p,
                                    timestamp=wanted[TopicPartition(t, p)].timestamp,
                                )
                                for p in ps
                            ],
                        )
                        for t, ps in _by_topic(tps).items()
                    ],
                    timeout_ms=self._broker_timeout_ms(deadline),
                )

            response = await self._send_node(node, build, ListOffsetsResponse, deadline)
            out = {}
            for t in response.topics:
                for p in t.partitions:
                    tp = TopicPartition(t.name, p.partition_index)
                    error = broker_error(p.error_code, None, _what(tp), missing_is_final=False)
                    out[tp] = ListOffsetsResultInfo(
                        tp,
                        offset=p.offset if not error and p.offset >= 0 else None,
                        timestamp=p.timestamp if not error and p.timestamp >= 0 else None,
                        leader_epoch=p.leader_epoch if p.leader_epoch >= 0 else None,
                        error=error,
                    )
            return out

        if not wanted:
            return ResultMap()
        results = await self._run_by_leader(list(wanted), one, fail, deadline)
        return ResultMap((tp, results[tp]) for tp in wanted)

    async def delete_records(
        self,
        before_offsets: Mapping[TopicPartition, int],
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[TopicPartition, DeleteRecordsResult]:
        """Delete records below the given offset of each partition (``-1``: the high
        watermark, i.e. everything); each result carries the new log start offset."""
        wanted: dict[TopicPartition, int] = {}
        results: dict[TopicPartition, DeleteRecordsResult] = {}
        for raw, offset in before_offsets.items():
            tp = check_topic_partition(raw)
            check_int(offset, f"the offset for {tp}")
            if offset < _HIGH_WATERMARK:
                results[tp] = DeleteRecordsResult(
                    tp,
                    error=rejected(
                        InvalidRequestError, _what(tp), f"offset must be >= -1, got {offset}"
                    ),
                )
            else:
                wanted[tp] = offset
        deadline = self._deadline(timeout_ms)

        def fail(tp: TopicPartition, exc: KafkaError) -> DeleteRecordsResult:
            return DeleteRecordsResult(tp, error=exc)

        async def one(
            node: int, tps: list[TopicPartition]
        ) -> dict[TopicPartition, DeleteRecordsResult]:
            def build(version: int) -> Request:
                return DeleteRecordsRequest(
                    topics=[
                        DeleteRecordsTopic(
                            name=t,
                            partitions=[
                                DeleteRecordsPartition(
                                    partition_index=p, offset=wanted[TopicPartition(t, p)]
                                )
                                for p in ps
                            ],
                        )
                        for t, ps in _by_topic(tps).items()
                    ],
                    timeout_ms=self._broker_timeout_ms(deadline),
                )

            response = await self._send_node(node, build, DeleteRecordsResponse, deadline)
            out = {}
            for t in response.topics:
                for p in t.partitions:
                    tp = TopicPartition(t.name, p.partition_index)
                    error = broker_error(p.error_code, None, _what(tp), missing_is_final=False)
                    out[tp] = DeleteRecordsResult(tp, None if error else p.low_watermark, error)
            return out

        if wanted:
            results.update(await self._run_by_leader(list(wanted), one, fail, deadline))
        return ResultMap(
            (check_topic_partition(tp), results[check_topic_partition(tp)]) for tp in before_offsets
        )
