"""List offsets and delete records against a real broker."""

from __future__ import annotations

import pytest
from admin_helpers import create_topic, produce

from kafkaio.admin import Admin, IsolationLevel, NewTopic, OffsetSpec, TopicPartition
from kafkaio.errors import InvalidRequestError, UnknownTopicOrPartitionError

pytestmark = pytest.mark.kafka


async def test_list_offsets_specs(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 2, 1))
    tp = TopicPartition(topic_name, 0)
    empty = TopicPartition(topic_name, 1)
    assert await produce(admin, tp, [b"a", b"b", b"c"], timestamps=[1_000, 3_000, 2_000]) == 0
    results = await admin.list_offsets(
        {
            tp: OffsetSpec.latest(),
            empty: OffsetSpec.earliest(),
            TopicPartition(topic_name, 7): OffsetSpec.latest(),
            TopicPartition(f"{topic_name}-nope", 0): OffsetSpec.latest(),
        }
    )
    assert results[tp].offset == 3
    assert results[empty].offset == 0
    assert isinstance(results[TopicPartition(topic_name, 7)].error, UnknownTopicOrPartitionError)
    assert isinstance(
        results[TopicPartition(f"{topic_name}-nope", 0)].error, UnknownTopicOrPartitionError
    )
    by_kind = {
        "earliest": OffsetSpec.earliest(),
        "ts": OffsetSpec.for_timestamp(1_500),
        "max": OffsetSpec.max_timestamp(),
        "future": OffsetSpec.for_timestamp(2**62),
        "earliest_local": OffsetSpec.earliest_local(),
    }
    found = {k: (await admin.list_offsets({tp: s}))[tp] for k, s in by_kind.items()}
    assert found["earliest"].offset == 0
    assert found["ts"].offset == 1 and found["ts"].timestamp == 3_000
    assert found["max"].offset == 1 and found["max"].timestamp == 3_000
    assert found["future"].offset is None and found["future"].error is None
    assert found["earliest_local"].offset == 0  # no tiered storage: all of it is local
    committed = await admin.list_offsets(
        {tp: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED
    )
    assert committed[tp].offset == 3


async def test_delete_records_moves_log_start(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 2, 1))
    tp0, tp1 = TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)
    await produce(admin, tp0, [b"%d" % i for i in range(5)])
    await produce(admin, tp1, [b"x", b"y"])
    results = await admin.delete_records(
        {
            tp0: 3,
            tp1: -1,
            TopicPartition(topic_name, 9): 1,
            TopicPartition(topic_name, 0 + 1000): -5,
        }
    )
    assert results[tp0].low_watermark == 3
    assert results[tp1].low_watermark == 2
    assert isinstance(results[TopicPartition(topic_name, 9)].error, UnknownTopicOrPartitionError)
    assert isinstance(results[TopicPartition(topic_name, 1000)].error, InvalidRequestError)
    earliest = await admin.list_offsets({tp0: OffsetSpec.earliest(), tp1: OffsetSpec.earliest()})
    assert earliest[tp0].offset == 3
    assert earliest[tp1].offset == 2
    latest = await admin.list_offsets({tp0: OffsetSpec.latest()})
    assert latest[tp0].offset == 5
