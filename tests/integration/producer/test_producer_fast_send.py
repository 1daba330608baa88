"""Producer.send's native fast path against a real broker: the same records, metadata and
errors as the Python reference (``Producer.send`` itself, which the fast path falls back to)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from producer_helpers import read_partition

from kafkaio.cluster import ClusterClient
from kafkaio.errors import MessageTooLargeError, ProducerClosedError
from kafkaio.producer import Producer, partition_for_key
from kafkaio.producer.fast_send import NATIVE_SEND
from kafkaio.records.v2 import _native
from kafkaio.testing.pytest_plugin import TopicFactory

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not NATIVE_SEND, reason="the native extension is not in use"),
]


def producer(cluster: Any, **kw: Any) -> Producer:
    kw.setdefault("linger_ms", 2)
    return Producer(bootstrap_servers=cluster.bootstrap_servers, **kw)


async def test_fast_path_records_and_metadata_match_the_log(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    n = 3000
    async with producer(kafka_cluster, batch_size=4096) as p:
        assert "send" in vars(p)  # the native path is installed
        await p.partitions_for(topic)
        futures = []
        for i in range(n):
            key = None if i % 3 == 0 else f"k{i % 17}".encode()
            value = None if i % 101 == 0 else f"v{i}".encode()
            if i % 7 == 0:
                futures.append(await p.send(topic, value, key, partition=i % 3))
            elif i % 11 == 0:
                futures.append(await p.send(topic, value=value, key=key, timestamp_ms=1_000 + i))
            else:
                futures.append(await p.send(topic, value, key=key))
        assert _native is not None and all(type(f) is _native.RecordFuture for f in futures)
        metadata = await asyncio.gather(*futures)
    async with ClusterClient(bootstrap_servers=kafka_cluster.bootstrap_servers) as client:
        logs = {
            part: {r.offset: r for r in await read_partition(client, topic, part, 1)}
            for part in range(3)
        }
    for i, md in enumerate(metadata):
        key = None if i % 3 == 0 else f"k{i % 17}".encode()
        value = None if i % 101 == 0 else f"v{i}".encode()
        record = logs[md.partition][md.offset]
        assert (record.key, record.value) == (key, value)
        assert md.timestamp == record.timestamp
        assert md.serialized_key_size == (-1 if key is None else len(key))
        assert md.serialized_value_size == (-1 if value is None else len(value))
        if i % 7 == 0:
            assert md.partition == i % 3
        elif key is not None:
            assert md.partition == partition_for_key(key, 3)
        if i % 11 == 0 and i % 7 != 0:
            assert md.timestamp == 1_000 + i
    assert sum(len(log) for log in logs.values()) == n


async def test_send_can_be_a_task_and_be_awaited_later(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    async with producer(kafka_cluster) as p:
        await p.partitions_for(topic)
        tasks = [asyncio.create_task(p.send(topic, b"x%d" % i)) for i in range(50)]
        futures = await asyncio.gather(*tasks)
        offsets = [md.offset for md in await asyncio.gather(*futures)]
        assert offsets == list(range(50))
        # A send never awaited still enqueues its record on the fast path.
        p.send(topic, b"unawaited")
        assert (await p.send_and_wait(topic, b"last")).offset == 51


async def test_bad_input_gets_the_reference_errors(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    async with producer(kafka_cluster, max_request_size=2_000) as p:
        await p.partitions_for(topic)
        with pytest.raises(TypeError, match="value must be bytes"):
            await p.send(topic, "text")
        with pytest.raises(TypeError, match="key must be bytes"):
            await p.send(topic, b"v", key=7)
        with pytest.raises(ValueError, match="partition 5 is out of range"):
            await p.send(topic, b"v", partition=5)
        with pytest.raises(TypeError, match="partition must be an int"):
            await p.send(topic, b"v", partition=True)
        with pytest.raises(TypeError, match="headers must be"):
            await p.send(topic, b"v", headers=[("h", "not bytes")])
        with pytest.raises(TypeError):
            await p.send(topic, b"v", colour="red")
        too_big = await p.send(topic, b"x" * 5_000)
        with pytest.raises(MessageTooLargeError, match="max_request_size"):
            await too_big
        # Headers and bytearrays take the Python path and still arrive.
        md = await (await p.send(topic, bytearray(b"ba"), headers=[("h", b"1")], partition=1))
        assert md.partition == 1 and md.serialized_value_size == 2
    assert "send" not in vars(p)
    with pytest.raises(ProducerClosedError):
        await p.send(topic, b"after stop")


async def test_serializers_and_custom_partitioners_keep_the_python_path_working(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=4)
    async with producer(kafka_cluster, value_serializer=str.encode) as p:
        assert "send" not in vars(p)
        assert (await p.send_and_wait(topic, "text", partition=0)).serialized_value_size == 4
    async with producer(
        kafka_cluster, partitioner=lambda topic, key, partitions, available: partitions[-1]
    ) as p:
        assert "send" in vars(p)
        metadata = [await p.send_and_wait(topic, b"v", key=b"k") for _ in range(3)]
        assert {md.partition for md in metadata} == {3}


async def test_blocked_on_memory_waits_then_goes_on(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    async with producer(kafka_cluster, buffer_memory=20_000, batch_size=2_000) as p:
        await p.partitions_for(topic)
        futures = [await p.send(topic, b"y" * 500) for _ in range(400)]
        offsets = [md.offset for md in await asyncio.gather(*futures)]
    assert offsets == list(range(400))
