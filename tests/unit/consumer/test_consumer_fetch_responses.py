"""How the fetcher handles Fetch responses: errors, out-of-range, truncation, stale data."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from kafkaio.cluster import BrokerMetadata, ClusterMetadata, TopicPartition
from kafkaio.consumer.fetch_session import FetchRequestData, PartitionFetchData
from kafkaio.consumer.fetcher import Fetcher
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.subscription import SubscriptionState
from kafkaio.errors import OffsetOutOfRangeError, TopicAuthorizationFailedError
from kafkaio.protocol.messages import FetchResponse
from kafkaio.protocol.messages.fetch import EpochEndOffset, FetchableTopicResponse, PartitionData
from kafkaio.records import RecordBatchBuilder

TP = TopicPartition("t", 0)
NODE = 1


class FakeClient:
    def __init__(self) -> None:
        self.cluster = ClusterMetadata()
        self.closed = False
        self.options = SimpleNamespace(metadata_max_age_ms=300_000)
        self.refreshes = 0

    def force_metadata_update(self) -> asyncio.Future[bool]:
        self.refreshes += 1
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        fut.set_result(True)
        return fut

    def leader_for(self, tp: TopicPartition) -> int | None:
        return None


def setup(**options: Any) -> tuple[Fetcher, SubscriptionState, FakeClient]:
    client = FakeClient()
    subs = SubscriptionState()
    fetcher = Fetcher(client, subs, ConsumerOptions.from_kwargs(options))  # type: ignore[arg-type]
    subs.assign_from_user([TP])
    subs.seek(TP, 10)
    return fetcher, subs, client


def request(offset: int = 10) -> FetchRequestData:
    data = {TP: PartitionFetchData(fetch_offset=offset, max_bytes=1000)}
    return FetchRequestData(0, 0, data, [], data)


def response(**partition: Any) -> FetchResponse:
    return FetchResponse(
        responses=[
            FetchableTopicResponse(
                topic="t", partitions=[PartitionData(partition_index=0, **partition)]
            )
        ]
    )


def records(base: int, count: int) -> bytes:
    builder = RecordBatchBuilder(base_offset=base, partition_leader_epoch=2)
    for i in range(count):
        builder.append(0, None, b"v%d" % (base + i))
    return builder.build()


async def test_records_are_buffered_with_watermarks() -> None:
    fetcher, subs, _client = setup()
    fetcher._handle_response(
        NODE,
        request(),
        response(high_watermark=12, last_stable_offset=12, records=records(10, 2)),
        {},
    )
    assert subs.state(TP).highwater == 12
    assert [r.offset for r in fetcher.take(10)[TP]] == [10, 11]


async def test_data_for_a_position_changed_meanwhile_is_dropped() -> None:
    fetcher, subs, _client = setup()
    subs.seek(TP, 3)
    fetcher._handle_response(NODE, request(), response(records=records(10, 2)), {})
    assert fetcher.take(10) == {}


async def test_out_of_range_resets_only_if_the_position_is_unchanged() -> None:
    fetcher, subs, _client = setup(auto_offset_reset="earliest")
    subs.seek(TP, 99)  # the user seeked while the fetch was in flight
    fetcher._handle_response(NODE, request(), response(error_code=1), {})
    assert subs.state(TP).position == 99 and subs.awaiting_reset() == {}
    subs.seek(TP, 10)
    fetcher._handle_response(NODE, request(), response(error_code=1), {})
    assert subs.awaiting_reset() == {TP: "earliest"}


async def test_out_of_range_without_reset_policy_raises() -> None:
    fetcher, _subs, _client = setup(auto_offset_reset="none")
    fetcher._handle_response(NODE, request(), response(error_code=1), {})
    try:
        fetcher.take(10)
    except OffsetOutOfRangeError as exc:
        assert "offset 10" in str(exc)
    else:
        raise AssertionError("expected OffsetOutOfRangeError")


async def test_leader_errors_back_off_and_refresh_metadata() -> None:
    fetcher, subs, client = setup()
    fetcher._handle_response(NODE, request(), response(error_code=6), {})  # NOT_LEADER
    assert client.refreshes >= 1
    assert subs.state(TP).backoff_until > 0
    assert fetcher._wanted(NODE, 0.0) == {}


async def test_authorization_errors_reach_the_application() -> None:
    fetcher, _subs, _client = setup()
    fetcher._handle_response(NODE, request(), response(error_code=29), {})
    with pytest.raises(TopicAuthorizationFailedError):
        fetcher.take(10)


async def test_diverging_epoch_seeks_back_to_where_the_logs_agree() -> None:
    fetcher, subs, _client = setup()
    fetcher._handle_response(
        NODE, request(), response(diverging_epoch=EpochEndOffset(epoch=4, end_offset=7)), {}
    )
    assert subs.state(TP).position == 7 and subs.state(TP).position_epoch == 4


async def test_preferred_read_replica_is_followed() -> None:
    fetcher, subs, client = setup()
    client.cluster.add_coordinator_broker(BrokerMetadata(3, "h", 1))
    fetcher._handle_response(NODE, request(), response(preferred_read_replica=3), {})
    assert subs.state(TP).preferred_read_replica == 3
    assert set(fetcher._wanted(3, 0.0)) == {TP}
    # Out of range on the follower: go back to the leader instead of resetting.
    fetcher._handle_response(3, request(), response(error_code=1), {})
    assert subs.state(TP).preferred_read_replica is None and subs.awaiting_reset() == {}
