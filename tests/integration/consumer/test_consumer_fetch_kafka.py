"""The consumer with manual assignment against a real broker: fetching, seeking, offsets,
pause, out-of-range resets, fetch sessions."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from consumer_helpers import collect, produce

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer
from kafkaio.errors import IllegalStateError, OffsetOutOfRangeError, RecordDeserializationError
from kafkaio.records import TimestampType

pytestmark = pytest.mark.kafka


async def test_produce_then_consume_exactly(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=3)
    bootstrap = kafka_cluster.bootstrap_servers
    sent = await produce(bootstrap, topic, 3, 200, headers=[("h", b"1")])
    tps = [TopicPartition(topic, p) for p in range(3)]
    async with Consumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest") as consumer:
        consumer.assign(tps)
        assert consumer.assignment() == frozenset(tps)
        records = await collect(consumer, 600)
        assert len(records) == 600
        got: dict[TopicPartition, list[bytes]] = {}
        for r in records:
            got.setdefault(TopicPartition(r.topic, r.partition), []).append(r.value)
            assert r.headers == (("h", b"1"),)
            assert r.timestamp_type is TimestampType.CREATE_TIME
            assert r.serialized_value_size == len(r.value)
            assert r.key is not None and r.serialized_key_size == len(r.key)
        assert got == sent
        for tp in tps:
            offsets = [r.offset for r in records if r.partition == tp.partition]
            assert offsets == list(range(200))
            assert await consumer.position(tp) == 200
            assert consumer.highwater(tp) == 200
        assert await consumer.getmany(timeout_ms=200) == {}


async def test_deserializers_and_getone(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic()
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 1, 3)
    tp = TopicPartition(topic, 0)
    async with Consumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        key_deserializer=lambda b: b.decode() if b is not None else None,
        value_deserializer=lambda b: b.decode().upper() if b is not None else None,
    ) as consumer:
        consumer.assign([tp])
        first = await asyncio.wait_for(consumer.getone(), 30)
        assert (first.offset, first.key, first.value) == (0, "k0", "V-0-0")
        seen = [first.value]
        async for record in consumer:
            seen.append(record.value)
            if len(seen) == 3:
                break
        assert seen == ["V-0-0", "V-0-1", "V-0-2"]


async def test_async_deserializers_and_nothing_lost_when_one_fails(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic()
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 1, 5)
    tp = TopicPartition(topic, 0)
    bad_offset: list[int] = [3]

    async def value_deser(t: str, data: bytes | None) -> Any:
        await asyncio.sleep(0)  # e.g. a Schema Registry lookup
        assert data is not None and t == topic
        if data.endswith(b"-%d" % bad_offset[0]):
            raise ValueError("unknown schema")
        return data.decode().upper()

    async with Consumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        async_value_deserializer=value_deser,
    ) as consumer:
        consumer.assign([tp])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        with pytest.raises(RecordDeserializationError) as info:
            while loop.time() < deadline:
                await consumer.getmany(timeout_ms=500)
        assert (info.value.offset, info.value.part) == (3, "value")
        # Nothing of the failed poll was handed out: it starts again at the first record.
        assert await consumer.position(tp) == 0
        bad_offset[0] = -1
        values = [r.value for r in await collect(consumer, 5)]
        assert values == ["V-0-0", "V-0-1", "V-0-2", "V-0-3", "V-0-4"]


async def test_seek_position_and_offset_apis(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=2)
    bootstrap = kafka_cluster.bootstrap_servers
    before = int(time.time() * 1000)
    await produce(bootstrap, topic, 2, 50)
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    async with Consumer(bootstrap_servers=bootstrap) as consumer:
        consumer.assign([tp0, tp1])
        assert topic in await consumer.topics()
        assert "__consumer_offsets" not in await consumer.topics()
        assert await consumer.beginning_offsets([tp0, tp1]) == {tp0: 0, tp1: 0}
        assert consumer.partitions_for_topic(topic) == {0, 1}
        assert await consumer.end_offsets([tp0, tp1]) == {tp0: 50, tp1: 50}
        # auto_offset_reset defaults to latest: nothing to read.
        assert await consumer.position(tp0) == 50
        assert await consumer.getmany(timeout_ms=300) == {}
        consumer.seek(tp0, 45)
        records = await collect(consumer, 5)
        assert [r.offset for r in records] == [45, 46, 47, 48, 49]
        await consumer.seek_to_beginning(tp1)
        assert await consumer.position(tp1) == 0
        records = await collect(consumer, 50)
        assert [r.offset for r in records] == list(range(50))
        await consumer.seek_to_end()
        assert await consumer.position(tp0) == 50 and await consumer.position(tp1) == 50
        found = await consumer.offsets_for_times(
            {tp0: before, tp1: int(time.time() * 1000) + 60_000}
        )
        assert found[tp0] is not None and found[tp0].offset == 0
        assert found[tp0].timestamp >= before
        assert found[tp1] is None
        with pytest.raises(IllegalStateError):
            consumer.seek(TopicPartition(topic, 7), 0)
        with pytest.raises(ValueError):
            consumer.seek(tp0, -1)


async def test_pause_hides_prefetched_records(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=2)
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 2, 20)
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    async with Consumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest") as consumer:
        consumer.assign([tp0, tp1])
        # Let both partitions be fetched into the buffer, then pause one.
        first = await consumer.getmany(tp1, timeout_ms=10_000, max_records=1)
        assert [r.offset for r in first[tp1]] == [0]
        await asyncio.sleep(0.5)
        consumer.pause(tp0)
        assert consumer.paused() == frozenset({tp0})
        records = await collect(consumer, 19)
        assert {r.partition for r in records} == {1}
        assert await consumer.getmany(timeout_ms=300) == {}
        consumer.resume(tp0)
        records = await collect(consumer, 20)
        assert {r.partition for r in records} == {0}
        assert [r.offset for r in records] == list(range(20))


async def test_out_of_range_resets_by_policy(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic()
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 1, 10)
    tp = TopicPartition(topic, 0)
    async with Consumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest") as consumer:
        consumer.assign([tp])
        consumer.seek(tp, 1000)
        records = await collect(consumer, 10)
        assert [r.offset for r in records] == list(range(10))
    async with Consumer(bootstrap_servers=bootstrap, auto_offset_reset="none") as consumer:
        consumer.assign([tp])
        consumer.seek(tp, 1000)
        with pytest.raises(OffsetOutOfRangeError):
            await collect(consumer, 1, timeout=10)
        # Still usable after seeking back.
        consumer.seek(tp, 8)
        records = await collect(consumer, 2)
        assert [r.offset for r in records] == [8, 9]


async def test_fetch_sessions_become_incremental(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=4)
    bootstrap = kafka_cluster.bootstrap_servers
    await produce(bootstrap, topic, 4, 5)
    async with Consumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=50
    ) as consumer:
        consumer.assign([TopicPartition(topic, p) for p in range(4)])
        await collect(consumer, 20)
        await asyncio.sleep(0.5)  # idle long-polls on the established session
        metrics = consumer.metrics()
        assert metrics["full_fetches"] >= 1
        assert metrics["incremental_fetches"] > metrics["full_fetches"]
        assert metrics["fetch_session_errors"] == 0
        # More data flows through the incremental session.
        await produce(bootstrap, topic, 4, 5, prefix="w")
        records = await collect(consumer, 20)
        assert sorted(r.value[:1] for r in records) == [b"w"] * 20
        assert consumer.metrics()["full_fetches"] == metrics["full_fetches"]
